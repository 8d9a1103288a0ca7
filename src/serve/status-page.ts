import escapeHtml from 'escape-html';
import type { JourneyHealth, JourneyView, RunOutcome } from './model.js';

/**
 * The status page: one self-contained HTML document, rendered on the server
 * from the journey views. No scripts, no external assets (the daemon may run
 * where nothing else is reachable, and its HTTP layer forbids both with a
 * Content-Security-Policy); colours come with text labels so the state does not
 * depend on seeing colour.
 */

export interface StatusPageMeta {
  location: string;
  target: string;
  version: string;
  /** Epoch milliseconds; every "ago" and "in" on the page is relative to it. */
  now: number;
  /** How often the browser reloads the page; 0 turns reloading off. Defaults to 30. */
  refreshSeconds?: number;
}

const DEFAULT_REFRESH_SECONDS = 30;
/** Enough runs to see a pattern at a glance, few enough to fit a table cell. */
const RECENT_RUNS_SHOWN = 30;
/** Failure messages can be long (a whole response body); the API has the full text. */
const MESSAGE_LIMIT = 300;
const SPARKLINE_WIDTH = 120;
const SPARKLINE_HEIGHT = 24;

const HEALTH_LABEL: Record<JourneyHealth, string> = {
  failing: 'Failing',
  flaky: 'Flaky',
  passing: 'Passing',
  unknown: 'Unknown',
};

/** Failing first: what needs a person is at the top. */
const HEALTH_RANK: Record<JourneyHealth, number> = { failing: 0, flaky: 1, passing: 2, unknown: 2 };

const byName = new Intl.Collator('en', { numeric: true });

export function renderStatusPage(journeys: JourneyView[], meta: StatusPageMeta): string {
  const sorted = [...journeys].sort(
    (a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || byName.compare(a.journey, b.journey) || byName.compare(a.target ?? '', b.target ?? ''),
  );
  const counts = countHealth(journeys);
  const overall: JourneyHealth = counts.failing > 0 ? 'failing' : counts.flaky > 0 ? 'flaky' : counts.passing > 0 ? 'passing' : 'unknown';
  const refresh = Math.max(0, Math.round(meta.refreshSeconds ?? DEFAULT_REFRESH_SECONDS));
  const title = `${counts.failing > 0 ? `${counts.failing} failing · ` : ''}Ceiling status · ${meta.location}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh > 0 ? `<meta http-equiv="refresh" content="${refresh}">\n` : ''}<title>${escapeHtml(title)}</title>
<link rel="icon" href="${favicon(overall)}">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Ceiling status</h1>
<p class="probe">Location <strong>${escapeHtml(meta.location)}</strong> · target <strong>${escapeHtml(meta.target)}</strong> · ceiling ${escapeHtml(meta.version)} · updated <time datetime="${isoTime(meta.now)}">${isoTime(meta.now)}</time></p>
<p class="summary ${overall}" data-summary>${summaryText(counts)}</p>
</header>
<main>
<table>
<caption>Journeys, failing first</caption>
<thead><tr><th scope="col">Status</th><th scope="col">Journey</th><th scope="col">Last pass</th><th scope="col">Last failure</th><th scope="col">Recent runs</th><th scope="col">Latency</th><th scope="col">Schedule</th></tr></thead>
${tableBody(sorted, meta.now)}
</table>
</main>
</body>
</html>
`;
}

type HealthCounts = Record<JourneyHealth, number>;

function countHealth(journeys: JourneyView[]): HealthCounts {
  const counts: HealthCounts = { passing: 0, failing: 0, flaky: 0, unknown: 0 };
  for (const journey of journeys) counts[journey.health] += 1;
  return counts;
}

function summaryText(counts: HealthCounts): string {
  const parts = [`${counts.passing} passing`, `${counts.failing} failing`, `${counts.flaky} flaky`];
  if (counts.unknown > 0) parts.push(`${counts.unknown} not run yet`);
  return parts.join(' · ');
}

/**
 * One body for a single target; with --config, one per target group (a
 * discovered group lists its instances together), headed by the group's name
 * and health, so a fleet's one bad instance stands out beside its siblings.
 */
function tableBody(sorted: JourneyView[], now: number): string {
  if (sorted.length === 0) return '<tbody>\n<tr><td colspan="7" class="empty">No journeys are loaded.</td></tr>\n</tbody>';
  if (!sorted.some((journey) => journey.targetGroup !== undefined)) return `<tbody>\n${sorted.map((journey) => journeyRow(journey, now)).join('\n')}\n</tbody>`;
  const groups = new Map<string, JourneyView[]>();
  for (const journey of sorted) {
    const group = journey.targetGroup ?? '';
    groups.set(group, [...(groups.get(group) ?? []), journey]);
  }
  return [...groups]
    .sort(([a], [b]) => byName.compare(a, b))
    .map(([group, views]) => {
      const targets = new Set(views.map((view) => view.target)).size;
      const heading = `${escapeHtml(group)} <span class="file">${targets} target${targets === 1 ? '' : 's'} · ${summaryText(countHealth(views))}</span>`;
      return `<tbody data-target-group="${escapeHtml(group)}">\n<tr class="group"><th scope="rowgroup" colspan="7">${heading}</th></tr>\n${views.map((journey) => journeyRow(journey, now)).join('\n')}\n</tbody>`;
    })
    .join('\n');
}

function journeyRow(journey: JourneyView, now: number): string {
  const name = escapeHtml(journey.journey);
  const target = journey.target !== undefined ? escapeHtml(journey.target) : undefined;
  return `<tr data-journey="${name}"${target !== undefined ? ` data-target="${target}"` : ''} data-health="${journey.health}">
<td><span class="badge ${journey.health}" data-status>${HEALTH_LABEL[journey.health]}</span>${journey.running ? ' <span class="running">running</span>' : journey.queued ? ' <span class="running">queued</span>' : ''}</td>
<th scope="row"><span class="name">${name}</span>${tags(journey.tags)}${target !== undefined ? `<br><span class="target">${target}</span>` : ''}<br><span class="file">${escapeHtml(journey.file)}</span></th>
<td>${lastPass(journey, now)}</td>
<td>${lastFailure(journey, now)}</td>
<td>${recentStrip(journey.recent)}</td>
<td>${sparkline(journey.recent)}</td>
<td>${schedule(journey, now)}</td>
</tr>`;
}

function tags(names: string[]): string {
  if (names.length === 0) return '';
  const items = names.map((tag) => `<li class="tag${tag === 'critical' ? ' critical' : ''}">${escapeHtml(tag)}</li>`);
  return ` <ul class="tags" aria-label="tags">${items.join('')}</ul>`;
}

function lastPass(journey: JourneyView, now: number): string {
  if (journey.lastPassAt === undefined) return '<span class="never">never</span>';
  return timeTag(journey.lastPassAt, `${durationText(now - journey.lastPassAt)} ago`);
}

function lastFailure(journey: JourneyView, now: number): string {
  const failure = journey.lastFailure;
  if ((journey.health !== 'failing' && journey.health !== 'flaky') || failure === undefined) return '';
  const message = failure.message.length > MESSAGE_LIMIT ? `${failure.message.slice(0, MESSAGE_LIMIT)}…` : failure.message;
  const streak = journey.health === 'failing' && journey.consecutiveFailures > 1 ? ` · ${journey.consecutiveFailures} runs in a row` : '';
  return `<div class="failure" data-failure>${failure.step !== undefined ? `<span class="step">Step <strong>${escapeHtml(failure.step)}</strong></span>: ` : ''}<code>${escapeHtml(failure.code)}</code> <span class="reason">${escapeHtml(message)}</span></div>
<div class="when">${timeTag(failure.at, `${durationText(now - failure.at)} ago`)}${streak}</div>${failure.traceId !== undefined ? `\n<div class="trace">trace <code data-trace-id>${escapeHtml(failure.traceId)}</code></div>` : ''}`;
}

function recentStrip(recent: JourneyView['recent']): string {
  const shown = recent.slice(-RECENT_RUNS_SHOWN);
  if (shown.length === 0) return '<span class="never">no runs yet</span>';
  const tally = new Map<RunOutcome, number>();
  for (const run of shown) tally.set(run.result, (tally.get(run.result) ?? 0) + 1);
  const label = `last ${shown.length} runs, oldest first: ${[...tally].map(([result, count]) => `${count} ${result}`).join(', ')}`;
  const squares = shown.map(
    (run) => `<span class="run ${run.result}" title="${run.result} · ${isoTime(run.startedAt)} · ${secondsText(run.durationMs)}"></span>`,
  );
  return `<span class="strip" role="img" aria-label="${label}">${squares.join('')}</span>`;
}

/** Latency over the recent runs, scaled to the slowest; a flat line means steady, not fast. */
function sparkline(recent: JourneyView['recent']): string {
  const durations = recent.slice(-RECENT_RUNS_SHOWN).map((run) => run.durationMs);
  const last = durations.at(-1);
  if (last === undefined) return '';
  const slowest = Math.max(...durations, 1);
  const usable = SPARKLINE_HEIGHT - 4;
  const step = durations.length > 1 ? SPARKLINE_WIDTH / (durations.length - 1) : 0;
  const points = durations.map((ms, index) => `${round(index * step)},${round(2 + usable - (ms / slowest) * usable)}`);
  const label = `latency of the last ${durations.length} runs: latest ${secondsText(last)}, slowest ${secondsText(slowest)}`;
  const shape =
    points.length > 1
      ? `<polyline points="${points.join(' ')}" fill="none" stroke="#1a56b0" stroke-width="1.5" stroke-linejoin="round"/>`
      : `<circle cx="${SPARKLINE_WIDTH / 2}" cy="${points[0]?.split(',')[1] ?? 0}" r="2" fill="#1a56b0"/>`;
  return `<svg class="spark" width="${SPARKLINE_WIDTH}" height="${SPARKLINE_HEIGHT}" viewBox="0 0 ${SPARKLINE_WIDTH} ${SPARKLINE_HEIGHT}" role="img" aria-label="${label}"><title>${label}</title>${shape}</svg><span class="latest">${secondsText(last)}</span>`;
}

function schedule(journey: JourneyView, now: number): string {
  const parts = [escapeHtml(journey.schedule)];
  if (journey.nextRunAt !== undefined) {
    const next = journey.nextRunAt > now ? `next in ${durationText(journey.nextRunAt - now)}` : 'next run due';
    parts.push(timeTag(journey.nextRunAt, next));
  }
  if (journey.skippedRuns > 0) {
    parts.push(`<span class="skipped" title="runs skipped because the previous run was still going">${journey.skippedRuns} skipped</span>`);
  }
  return parts.join('<br>');
}

function timeTag(at: number, text: string): string {
  return `<time datetime="${isoTime(at)}" title="${isoTime(at)}">${text}</time>`;
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** "45s", "12m", "5h", "3d": coarse on purpose, a glance needs no more. */
function durationText(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function secondsText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A dot in the overall colour, so a browser tab shows the state too. */
function favicon(overall: JourneyHealth): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${HEALTH_COLOUR[overall]}"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** Badge backgrounds; each meets WCAG AA contrast against its text colour in STYLE. */
const HEALTH_COLOUR: Record<JourneyHealth, string> = {
  passing: '#1e7b34',
  failing: '#c5221f',
  flaky: '#f2a600',
  unknown: '#5f6368',
};

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f1f1f;background:#fafafa}
body{margin:0 auto;max-width:80rem;padding:1rem 1.5rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.probe{margin:0;color:#444}
.summary{display:inline-block;margin:.75rem 0;padding:.4rem .8rem;border-radius:.3rem;font-weight:600;border-left:.4rem solid ${HEALTH_COLOUR.unknown};background:#fff}
.summary.failing{border-color:${HEALTH_COLOUR.failing}}.summary.flaky{border-color:${HEALTH_COLOUR.flaky}}.summary.passing{border-color:${HEALTH_COLOUR.passing}}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{text-align:left;vertical-align:top;padding:.5rem .6rem;border-bottom:1px solid #ddd}
thead th{font-size:.85rem;color:#444;border-bottom:2px solid #bbb}
tbody th{font-weight:normal}
.name{font-weight:600}
.file{font-size:.8rem;color:#555}
.target{font-size:.85rem;font-family:ui-monospace,monospace}
tr.group th{text-align:left;background:#f3f3f3;padding-top:.6rem}
.badge{display:inline-block;min-width:4.5rem;padding:.3rem .6rem;border-radius:.25rem;font-weight:700;text-align:center;color:#fff}
.badge.passing{background:${HEALTH_COLOUR.passing}}.badge.failing{background:${HEALTH_COLOUR.failing}}
.badge.flaky{background:${HEALTH_COLOUR.flaky};color:#1f1f1f}.badge.unknown{background:${HEALTH_COLOUR.unknown}}
.running{display:inline-block;margin-top:.3rem;padding:.1rem .4rem;border-radius:.25rem;font-size:.75rem;background:#e3ecfa;color:#1a3d7a}
.tags{display:inline;list-style:none;margin:0;padding:0}
.tag{display:inline-block;margin-left:.3rem;padding:0 .35rem;border-radius:.7rem;font-size:.75rem;background:#eee;color:#333}
.tag.critical{background:#fde7e6;color:#8c1512;font-weight:700}
.failure{max-width:28rem;overflow-wrap:anywhere}
.failure code{background:#f3f3f3;padding:0 .2rem}
.when,.latest,.skipped{font-size:.8rem;color:#555}
.never{color:#555;font-style:italic}
.strip{display:inline-flex;flex-wrap:wrap;gap:2px;max-width:12rem}
.run{display:inline-block;width:8px;height:14px;border-radius:1px}
.run.passed{background:${HEALTH_COLOUR.passing}}.run.failed{background:${HEALTH_COLOUR.failing}}
.run.error{background:#7a1010}.run.flaky{background:${HEALTH_COLOUR.flaky}}
.spark{display:block;margin-bottom:.2rem}
time{white-space:nowrap}
.empty{color:#555;font-style:italic}
`;
