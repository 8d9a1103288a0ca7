/**
 * Console output. Pure renderers build every line; ConsoleReporter only
 * decides when to write them.
 *
 * Live mode (a TTY) shows progress as steps and journeys finish. Plain mode
 * (CI logs, pipes) writes one stable line per journey, so logs can be grepped
 * and diffed; colour is its own switch and off means no ANSI at all. Details
 * of every journey that did not pass come after the progress lines, next to
 * the summary, where a reader looks first.
 */
import { lastAttempt, type JourneyResult, type JourneyStatus, type RunResult, type RunStatus, type StepResult } from '../core/result.js';
import { formatMs } from '../journey/duration.js';
import type { JourneyRef, Reporter, RunStartInfo } from './reporter.js';
import { writeToStream, type OutputStream } from './output.js';
import { terminalSafeDeep } from './terminal-text.js';
import {
  attemptLabel,
  failedStepOf,
  indent,
  paletteFor,
  renderFailureDetails,
  renderFailureSummary,
  renderStepLine,
  type Hue,
  type TextOptions,
} from './text.js';

export { renderFailureDetails, renderFailureSummary, renderStepLine, type TextOptions } from './text.js';

const journeyMarks: Record<JourneyStatus, { label: string; hue: Hue }> = {
  passed: { label: 'PASS', hue: 'green' },
  failed: { label: 'FAIL', hue: 'red' },
  error: { label: 'ERROR', hue: 'magenta' },
  flaky: { label: 'FLAKY', hue: 'yellow' },
};

export interface JourneyLineOptions extends TextOptions {
  /** The retry budget, when the engine told us; the result model does not carry it. */
  maxAttempts?: number;
}

function budgetOf(journey: JourneyResult, options: JourneyLineOptions): number | undefined {
  if (options.maxAttempts !== undefined) return options.maxAttempts;
  // A journey that failed used up its retries, so the attempts made are the budget; a flaky one may have had more left.
  return journey.status === 'flaky' ? undefined : journey.attempts.length;
}

export function renderJourneyLine(journey: JourneyResult, options: JourneyLineOptions): string {
  const colors = paletteFor(options);
  const mark = journeyMarks[journey.status];
  const timing = [formatMs(journey.durationMs)];
  const last = lastAttempt(journey);
  if (last && journey.attempts.length > 1) timing.push(attemptLabel(last.attempt, budgetOf(journey, options)));
  return `${colors[mark.hue](mark.label.padEnd(5))} ${journey.name} ${colors.dim(`(${timing.join(', ')})`)}`;
}

/** The journey line followed by why it did not pass; one block per attempt when it was retried. */
export function renderJourneyDetails(journey: JourneyResult, options: JourneyLineOptions): string {
  const colors = paletteFor(options);
  const blocks = [renderJourneyLine(journey, options)];
  if (journey.attempts.length === 0) {
    blocks.push(indent(`${journey.file}\nno attempt was recorded`));
    return blocks.join('\n');
  }
  const budget = budgetOf(journey, options);
  const lastBroken = journey.attempts.filter((attempt) => attempt.status !== 'passed').at(-1);
  for (const attempt of journey.attempts) {
    const header = `${attemptLabel(attempt.attempt, budget)}: ${attempt.status} ${colors.dim(`(${formatMs(attempt.durationMs)})`)}`;
    if (attempt !== lastBroken) {
      const summary = attempt.status === 'passed' ? '' : ` ${renderFailureSummary(attempt, options)}`;
      blocks.push(indent(header + summary));
      continue;
    }
    const details: string[] = [];
    // Without a failing step (a journey-wide deadline, say) the file is the only pointer left.
    if (!failedStepOf(attempt) && !attempt.failure?.location) details.push(colors.cyan(journey.file));
    details.push(renderFailureDetails(attempt, options));
    const text = details.filter(Boolean).join('\n');
    // A journey run once needs no attempt header: the journey line says it all.
    blocks.push(journey.attempts.length > 1 ? indent(`${header}\n${indent(text)}`) : indent(text));
  }
  return blocks.join('\n');
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

export function renderRunStart(info: RunStartInfo): string {
  return `running ${plural(info.journeys.length, 'journey')}`;
}

const verdicts: Record<RunStatus, { text: string; hue: Hue }> = {
  passed: { text: 'passed', hue: 'green' },
  failed: { text: 'failed', hue: 'red' },
  'nothing-tested': { text: 'nothing tested: no journey made a single check', hue: 'yellow' },
  inconclusive: { text: 'inconclusive: the runner itself stalled twice during a journey; give it more CPU or fewer concurrent journeys', hue: 'yellow' },
  interrupted: { text: 'interrupted', hue: 'yellow' },
  invalid: { text: 'invalid: fix the reported problems and run again', hue: 'red' },
};

/** With no journey at all, "no journey made a single check" would blame journeys that were never selected. */
const noJourneyRan: { text: string; hue: Hue } = { text: 'nothing tested: no journey was run (none found, or none matched --tag/--grep)', hue: 'yellow' };

export function renderRunStatus(result: RunResult, options: TextOptions): string {
  const colors = paletteFor(options);
  // An interrupt wins: whatever else the result says, the run did not finish.
  const verdict =
    result.status === 'nothing-tested' && result.journeys.length === 0 && !result.interrupted
      ? noJourneyRan
      : verdicts[result.interrupted ? 'interrupted' : result.status];
  return `${colors[verdict.hue](verdict.text)} ${colors.dim(`(exit code ${result.exitCode})`)}`;
}

export function renderSummary(result: RunResult, options: TextOptions): string {
  const { totals } = result;
  const counts = `${totals.passed} passed, ${totals.failed} failed, ${totals.errored} errored, ${totals.flaky} flaky`;
  const line = `${plural(totals.journeys, 'journey')}: ${counts} (${formatMs(result.durationMs)})`;
  return `${line}\n${renderRunStatus(result, options)}`;
}

export interface ConsoleReporterOptions {
  stream: OutputStream & { isTTY?: boolean };
  /** Defaults to whether the stream is a TTY. */
  color?: boolean;
  /** Defaults to whether the stream is a TTY. */
  live?: boolean;
  /** Only journeys that did not pass, and the summary: no start line, no PASS lines, no live progress. */
  quiet?: boolean;
}

// Expected and actual are printed as JSON, which escapes control characters on its own.
const renderedAsJson: ReadonlySet<string> = new Set(['expected', 'actual']);
const terminalSafePayload = <T>(value: T): T => terminalSafeDeep(value, renderedAsJson);

const journeyKey = (journey: { name: string; file: string }): string => `${journey.file}\u0000${journey.name}`;

export class ConsoleReporter implements Reporter {
  readonly name = 'console';
  private readonly stream: OutputStream;
  private readonly color: boolean;
  private readonly live: boolean;
  private readonly quiet: boolean;
  private readonly printed = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly budgets = new Map<string, number>();

  constructor(options: ConsoleReporterOptions) {
    this.stream = options.stream;
    this.color = options.color ?? options.stream.isTTY === true;
    this.quiet = options.quiet === true;
    this.live = !this.quiet && (options.live ?? options.stream.isTTY === true);
  }

  onRunStart(info: RunStartInfo): void {
    if (this.quiet) return;
    this.write(renderRunStart(info));
  }

  onJourneyStart(unsafeJourney: JourneyRef): void {
    const journey = terminalSafePayload(unsafeJourney);
    const key = journeyKey(journey);
    this.inFlight.add(key);
    if (journey.maxAttempts !== undefined) this.budgets.set(key, journey.maxAttempts);
    if (this.live && journey.attempt > 1) {
      const colors = paletteFor(this.text);
      this.write(`${colors.yellow('RETRY')} ${journey.name} ${colors.dim(`(${attemptLabel(journey.attempt, journey.maxAttempts)})`)}`);
    }
  }

  onStepEnd(unsafeJourney: JourneyRef, unsafeStep: StepResult): void {
    if (!this.live) return;
    const journey = terminalSafePayload(unsafeJourney);
    const step = terminalSafePayload(unsafeStep);
    // Concurrent journeys interleave their steps; only then is the owner worth naming.
    const owner = this.inFlight.size > 1 ? `${paletteFor(this.text).dim(`${journey.name} ›`)} ` : '';
    this.write(indent(owner + renderStepLine(step, this.text)));
  }

  onJourneyEnd(unsafeResult: JourneyResult): void {
    const result = terminalSafePayload(unsafeResult);
    const key = journeyKey(result);
    this.inFlight.delete(key);
    this.printed.add(key);
    if (this.quiet && result.status === 'passed') return;
    this.write(renderJourneyLine(result, this.lineOptions(key)));
  }

  async onRunEnd(unsafeResult: RunResult): Promise<void> {
    const result = terminalSafePayload(unsafeResult);
    const lines: string[] = [];
    for (const journey of result.journeys) {
      if (this.quiet && journey.status === 'passed') continue;
      if (!this.printed.has(journeyKey(journey))) lines.push(renderJourneyLine(journey, this.lineOptions(journeyKey(journey))));
    }
    for (const journey of result.journeys) {
      if (journey.status !== 'passed') lines.push('', renderJourneyDetails(journey, this.lineOptions(journeyKey(journey))));
    }
    lines.push('', renderSummary(result, this.text));
    await writeToStream(this.stream, `${lines.join('\n')}\n`);
  }

  private get text(): TextOptions {
    return { color: this.color };
  }

  private lineOptions(key: string): JourneyLineOptions {
    const maxAttempts = this.budgets.get(key);
    return maxAttempts === undefined ? { color: this.color } : { color: this.color, maxAttempts };
  }

  private write(line: string): void {
    this.stream.write(`${line}\n`);
  }
}
