/**
 * The HTML report: one self-contained file a person opens after a run. The
 * verdict and totals, then each journey with its attempts and steps (kind,
 * name, file:line:col, duration, HTTP phases), and for what did not pass the
 * code, class, message, expected against actual and the hint. Screenshots are
 * embedded as data: URIs; traces and other files are relative links.
 *
 * It works offline and cannot run anything: inline CSS, no script, and a
 * Content-Security-Policy that allows no network at all. Like every reporter
 * it is handed a result the multiplexer has already redacted; all text goes
 * through the `markup` tag, which escapes it (html-text.ts).
 *
 * renderHtml is pure; HtmlReporter reads the screenshot files and writes.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AttemptResult, Attachment, FailureInfo, HttpPhases, JourneyResult, RunResult, StepResult } from '../core/result.js';
import { formatMs } from '../journey/duration.js';
import { fileHref, markup, type Interpolation, type Markup } from './html-text.js';
import type { Reporter } from './reporter.js';
import { writeOutput, type OutputTarget } from './output.js';
import { failedStepOf, formatLocation, truncateText } from './text.js';

/** What the report shows for one attachment: always a link, and for a screenshot the picture itself when it could be embedded. */
export interface AttachmentView {
  /** Relative to the report's folder, percent-encoded. */
  href: string;
  /** A data: URI of the picture. */
  embedded?: string;
  /** Why a screenshot is not embedded (too large, missing, not a PNG). */
  note?: string;
}

export type AttachmentViews = ReadonlyMap<string, AttachmentView>;

/** A screenshot larger than this is linked, not embedded: the report must stay quick to open and to attach to a CI run. */
export const MAX_EMBEDDED_IMAGE_BYTES = 5 * 1024 * 1024;
/** And all of them together, for a run where every journey failed with several pages open. */
export const MAX_EMBEDDED_TOTAL_BYTES = 50 * 1024 * 1024;

// Expected and actual can be whole response bodies; the JSON report has them complete.
const VALUE_LIMITS = { maxLines: 400, maxChars: 60_000 };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// A constant template, so it is markup as written: escaping would break `>` selectors and quoted font names.
const STYLE = markup`
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --err: #8250df; --warn: #9a6700; --dim: #6e7781; --line: #d0d7de; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --ok: #3fb950; --bad: #f85149; --err: #bc8cff; --warn: #d29922; --dim: #8b949e; --line: #30363d; --panel: #161b22; } }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
code, pre, .loc { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 4px 0; overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-word; }
.meta { color: var(--dim); }
.badge { display: inline-block; min-width: 56px; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; text-align: center; color: #fff; background: var(--dim); }
.passed { background: var(--ok); } .failed { background: var(--bad); } .error { background: var(--err); } .flaky, .inconclusive { background: var(--warn); }
.totals { display: flex; gap: 16px; flex-wrap: wrap; margin: 12px 0; }
.totals div { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; }
.totals b { font-size: 18px; display: block; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--dim); font-size: 12px; }
td.num { text-align: right; white-space: nowrap; }
details.journey { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 0 12px; }
details.journey > summary { cursor: pointer; padding: 8px 0; list-style-position: inside; }
details.journey > summary .name { font-weight: 600; }
.attempt { margin: 8px 0 16px; }
.attempt h3 { font-size: 14px; margin: 12px 0 6px; }
.failure { border-left: 3px solid var(--bad); padding: 4px 12px; margin: 6px 0; }
.failure.error-class { border-left-color: var(--err); }
.failure .code { font-weight: 600; }
.compare { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
@media (max-width: 800px) { .compare { grid-template-columns: 1fr; } }
.hint { color: var(--warn); }
.phases { color: var(--dim); font-size: 12px; }
.shot { margin: 8px 0; }
.shot img { max-width: 100%; border: 1px solid var(--line); border-radius: 4px; }
ul.files { margin: 4px 0; padding-left: 20px; }
`;

function badge(status: string): Markup {
  return markup`<span class="badge ${status}">${status}</span>`;
}

function prettyJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    // A value JSON cannot hold (a cycle, a BigInt): the report shows what it can rather than failing.
    text = String(value);
  }
  return truncateText(text, VALUE_LIMITS);
}

const PHASE_LABELS: [keyof HttpPhases, string][] = [
  ['dnsMs', 'dns'],
  ['connectMs', 'connect'],
  ['tlsMs', 'tls'],
  ['firstByteMs', 'first byte'],
  ['bodyMs', 'body'],
];

function phasesOf(phases: HttpPhases | undefined): Interpolation {
  if (!phases) return undefined;
  const parts = PHASE_LABELS.map(([key, label]) => `${label} ${formatMs(phases[key])}`).join(' · ');
  return markup`<div class="phases">${parts} (total ${formatMs(phases.totalMs)})</div>`;
}

function renderFailure(failure: FailureInfo, location?: string): Markup {
  const errorClass = failure.class === 'assertion' ? '' : ' error-class';
  const stall =
    failure.runnerStallMs !== undefined &&
    markup`<div class="hint">Ceiling's own event loop was frozen for ${formatMs(failure.runnerStallMs)} during this step: the runner may be to blame.</div>`;
  const compare =
    (failure.expected !== undefined || failure.actual !== undefined) &&
    markup`<div class="compare">
      <div>
        <div class="meta">expected</div>
        <pre class="expected">${failure.expected === undefined ? '(not given)' : prettyJson(failure.expected)}</pre>
      </div>
      <div>
        <div class="meta">actual</div>
        <pre class="actual">${failure.actual === undefined ? '(not given)' : prettyJson(failure.actual)}</pre>
      </div>
    </div>`;
  return markup`<div class="failure${errorClass}">
    ${location !== undefined && markup`<div class="loc">${location}</div>`}
    <div><span class="code">${failure.code}</span> <span class="meta">(${failure.class})</span></div>
    <pre class="message">${truncateText(failure.message, VALUE_LIMITS)}</pre>
    ${failure.path !== undefined && markup`<div>at <code>${failure.path}</code></div>`} ${compare}
    ${failure.hint !== undefined && markup`<div class="hint">hint: ${failure.hint}</div>`} ${stall}
  </div>`;
}

function renderAttachments(attachments: readonly Attachment[] | undefined, views: AttachmentViews): Interpolation {
  if (!attachments || attachments.length === 0) return undefined;
  const shots = attachments.filter((attachment) => views.get(attachment.path)?.embedded !== undefined);
  const items = attachments.map((attachment) => {
    const view = views.get(attachment.path);
    const note = view?.note !== undefined && markup` <span class="meta">(${view.note})</span>`;
    const link = view ? markup`<a href="${view.href}">${attachment.path}</a>` : markup`<code>${attachment.path}</code>`;
    const viewer = attachment.contentType === 'application/zip' && markup` <span class="meta">open with <code>npx playwright show-trace</code></span>`;
    return markup`<li>${attachment.name}: ${link}${note}${viewer}</li>`;
  });
  return markup`${shots.map(
    (attachment) =>
      markup`<figure class="shot">
          <img src="${views.get(attachment.path)?.embedded ?? ''}" alt="${attachment.name}" />
          <figcaption class="meta">${attachment.name}</figcaption>
        </figure>`,
  )}
    <ul class="files">
      ${items}
    </ul>`;
}

function renderStep(step: StepResult, views: AttachmentViews): Markup {
  const duration = step.status === 'skipped' ? '' : formatMs(step.durationMs);
  const details =
    (step.failure !== undefined || (step.attachments?.length ?? 0) > 0) &&
    markup`<tr class="step-details">
      <td></td>
      <td colspan="4">${step.failure && renderFailure(step.failure)}${renderAttachments(step.attachments, views)}</td>
    </tr>`;
  return markup`<tr class="step">
      <td>${badge(step.status)}</td>
      <td><code>${step.kind}</code></td>
      <td>${step.name}${phasesOf(step.phases)}</td>
      <td class="loc">${formatLocation(step.location)}</td>
      <td class="num">${duration}</td>
    </tr>
    ${details}`;
}

/** The attempt's own failure is shown only when no step shows it already: a journey deadline, a var that failed to render. */
function attemptFailure(attempt: AttemptResult): Interpolation {
  const failure = attempt.failure;
  if (!failure) return attempt.status === 'passed' ? undefined : markup`<div class="failure">${attempt.status} without failure details</div>`;
  const step = failedStepOf(attempt);
  if (step?.failure && step.failure.code === failure.code && step.failure.message === failure.message) return undefined;
  return renderFailure(failure, failure.location ? formatLocation(failure.location) : undefined);
}

function renderAttempt(attempt: AttemptResult, total: number, views: AttachmentViews): Markup {
  const heading =
    total > 1 &&
    markup`<h3>
      attempt ${attempt.attempt} of ${total} ${badge(attempt.status)}
      <span class="meta">${formatMs(attempt.durationMs)}${attempt.afterRunnerStall ? ', made because the runner stalled' : ''}</span>
    </h3>`;
  const steps =
    attempt.steps.length > 0 &&
    markup`<table>
      <thead>
        <tr>
          <th>status</th>
          <th>kind</th>
          <th>step</th>
          <th>where</th>
          <th class="num">time</th>
        </tr>
      </thead>
      <tbody>
        ${attempt.steps.map((step) => renderStep(step, views))}
      </tbody>
    </table>`;
  const cleanup =
    attempt.cleanupErrors.length > 0 &&
    markup`<div class="meta">cleanup:</div>
      <ul class="files">
        ${attempt.cleanupErrors.map((text) => markup`<li>${text}</li>`)}
      </ul>`;
  return markup`<section class="attempt">${heading}${steps}${attemptFailure(attempt)}${renderAttachments(attempt.attachments, views)}${cleanup}</section>`;
}

function renderJourney(journey: JourneyResult, index: number, views: AttachmentViews): Markup {
  const open = journey.status !== 'passed';
  const tags = journey.tags.length > 0 && markup` <span class="meta">[${journey.tags.join(', ')}]</span>`;
  const attempts = journey.attempts.length;
  return markup`<details class="journey" id="journey-${index + 1}"${open ? markup` open` : ''}>
    <summary>
      ${badge(journey.status)} <span class="name">${journey.name}</span>${tags}
      <span class="meta"
        >${journey.file} · ${formatMs(journey.durationMs)} · ${attempts} attempt${attempts === 1 ? '' : 's'} · ${journey.assertions}
        assertion${journey.assertions === 1 ? '' : 's'}</span
      >
    </summary>
    ${journey.attempts.map((attempt) => renderAttempt(attempt, attempts, views))}
  </details>`;
}

// Failing first: what needs a person is at the top, as on the console.
const STATUS_ORDER: Record<JourneyResult['status'], number> = { failed: 0, error: 1, flaky: 2, passed: 3 };

export function renderHtml(result: RunResult, views: AttachmentViews = new Map()): string {
  const { totals } = result;
  const journeys = result.journeys
    .map((journey, index) => ({ journey, index }))
    .sort((a, b) => STATUS_ORDER[a.journey.status] - STATUS_ORDER[b.journey.status] || a.index - b.index);
  const verdictClass = result.status === 'passed' ? 'passed' : result.status === 'failed' ? 'failed' : 'inconclusive';
  const page = markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta
          http-equiv="Content-Security-Policy"
          content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
        />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="generator" content="ceiling ${result.tool.version}" />
        <title>Ceiling report: ${result.status}</title>
        <style>
          ${STYLE}
        </style>
      </head>
      <body>
        <header>
          <h1>Ceiling run <span class="badge ${verdictClass}">${result.status}</span></h1>
          <div class="meta">
            started ${result.startedAt} · took ${formatMs(result.durationMs)} · exit code ${result.exitCode} · ceiling
            ${result.tool.version}${result.interrupted ? ' · interrupted: journeys not started are not listed' : ''}${result.failOnFlaky ? ' · --fail-on-flaky' : ''}
          </div>
          <div class="totals">
            <div><b>${totals.journeys}</b>journeys</div>
            <div><b>${totals.passed}</b>passed</div>
            <div><b>${totals.failed}</b>failed</div>
            <div><b>${totals.errored}</b>errored</div>
            <div><b>${totals.flaky}</b>flaky</div>
          </div>
          ${result.runner !== undefined && markup`<div class="meta">runner event-loop delay, max: ${formatMs(result.runner.eventLoopDelayMaxMs)}</div>`}
        </header>
        <main>
          <h2>Journeys</h2>
          ${journeys.length === 0 ? markup`<p class="meta">No journey was run.</p>` : journeys.map(({ journey, index }) => renderJourney(journey, index, views))}
        </main>
      </body>
    </html> `;
  return page.text;
}

// ---- the writer: evidence from disk, then the file -----------------------------

export interface HtmlReporterOptions {
  /** What attachment paths in the result are relative to: the run's working directory. */
  baseDir: string;
}

function allAttachments(result: RunResult): Attachment[] {
  return result.journeys.flatMap((journey) =>
    journey.attempts.flatMap((attempt) => [...attempt.steps.flatMap((step) => step.attachments ?? []), ...(attempt.attachments ?? [])]),
  );
}

const mebibytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Links relative to the report's folder, and PNG screenshots read as data:
 * URIs within the size bounds. Reading is best effort: a missing file is
 * noted on the page, never a reason to lose the report.
 */
export async function loadAttachmentViews(result: RunResult, reportDir: string, baseDir: string): Promise<Map<string, AttachmentView>> {
  const views = new Map<string, AttachmentView>();
  let embeddedBytes = 0;
  for (const attachment of allAttachments(result)) {
    if (views.has(attachment.path)) continue;
    const onDisk = path.resolve(baseDir, attachment.path);
    const view: AttachmentView = { href: fileHref(path.relative(reportDir, onDisk)) };
    views.set(attachment.path, view);
    if (!attachment.contentType.startsWith('image/')) continue;
    try {
      const { size } = await stat(onDisk);
      if (size > MAX_EMBEDDED_IMAGE_BYTES) {
        view.note = `not embedded: ${mebibytes(size)}, over the ${mebibytes(MAX_EMBEDDED_IMAGE_BYTES)} the report embeds per screenshot`;
        continue;
      }
      if (embeddedBytes + size > MAX_EMBEDDED_TOTAL_BYTES) {
        view.note = `not embedded: the report already holds ${mebibytes(embeddedBytes)} of screenshots`;
        continue;
      }
      const bytes = await readFile(onDisk);
      if (!bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
        view.note = 'not embedded: not a PNG file';
        continue;
      }
      embeddedBytes += bytes.length;
      view.embedded = `data:image/png;base64,${bytes.toString('base64')}`;
    } catch (error) {
      view.note = `not embedded: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file is missing' : 'the file cannot be read'}`;
    }
  }
  return views;
}

export class HtmlReporter implements Reporter {
  readonly name = 'html';

  constructor(
    private readonly target: OutputTarget,
    private readonly options: HtmlReporterOptions,
  ) {}

  async onRunEnd(result: RunResult): Promise<void> {
    // Written to stdout, the page's links are relative to where it was run.
    const reportDir = this.target.path === undefined ? this.options.baseDir : path.dirname(path.resolve(this.options.baseDir, this.target.path));
    const views = await loadAttachmentViews(result, reportDir, this.options.baseDir);
    await writeOutput(this.target, renderHtml(result, views));
  }
}
