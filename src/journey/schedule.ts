import { Cron } from 'croner';
import { didYouMean } from './did-you-mean.js';
import { durationMs, formatMs } from './duration.js';
import type { FileReport } from './file-report.js';
import type { Schedule } from './journey.js';
import type { ScheduleSpec } from './schema.js';

/**
 * Checks a journey's schedule when the file is loaded, so a cron that never
 * fires or a misspelt time zone is a `file:line` error at start-up (or on a hot
 * reload), never a probe that silently stops running. Kept out of schema.ts so
 * `ceiling run` does not load croner for files that have no schedule.
 */

/** Probing faster than once a second is a load test, not a probe. */
export const MIN_INTERVAL_MS = 1_000;

let zones: string[] | undefined;

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function zoneSuggestion(zone: string): string {
  zones ??= Intl.supportedValuesOf('timeZone');
  return didYouMean(zone, zones);
}

/** Returns the compiled schedule, or undefined after adding the problems to the report. */
export function compileSchedule(report: FileReport, spec: ScheduleSpec): Schedule | undefined {
  const jitterMs = spec.jitter !== undefined ? durationMs(spec.jitter) : 0;
  if (spec.every !== undefined) {
    const everyMs = durationMs(spec.every);
    let ok = true;
    if (everyMs < MIN_INTERVAL_MS) {
      report.add('error', 'CEIL_SCHEDULE_TOO_OFTEN', ['schedule', 'every'], `every ${formatMs(everyMs)} is too often for a probe; the shortest interval is 1s`);
      ok = false;
    }
    if (jitterMs >= everyMs) {
      report.add(
        'error',
        'CEIL_SCHEDULE_JITTER',
        ['schedule', 'jitter'],
        `jitter ${formatMs(jitterMs)} must be shorter than the interval (${formatMs(everyMs)}), or runs would bunch up`,
      );
      ok = false;
    }
    return ok ? { kind: 'every', everyMs, jitterMs } : undefined;
  }
  const pattern = spec.cron ?? '';
  if (spec.timezone !== undefined && !isTimeZone(spec.timezone)) {
    report.add(
      'error',
      'CEIL_SCHEDULE_TIMEZONE',
      ['schedule', 'timezone'],
      `unknown time zone "${spec.timezone}"${zoneSuggestion(spec.timezone)}; use an IANA name such as "Europe/Berlin" or "UTC"`,
    );
    return undefined;
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}) });
  } catch (error) {
    report.add(
      'error',
      'CEIL_SCHEDULE_CRON',
      ['schedule', 'cron'],
      `invalid cron expression "${pattern}": ${(error as Error).message}; write five fields such as "*/5 * * * *"`,
    );
    return undefined;
  }
  if (cron.nextRun() === null) {
    report.add('error', 'CEIL_SCHEDULE_NEVER', ['schedule', 'cron'], `cron expression "${pattern}" never fires; check the day and month fields`);
    return undefined;
  }
  return { kind: 'cron', cron: pattern, jitterMs, ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}) };
}

export function describeSchedule(schedule: Schedule): string {
  const jitter = schedule.jitterMs > 0 ? ` ±${formatMs(schedule.jitterMs)}` : '';
  if (schedule.kind === 'every') return `every ${formatMs(schedule.everyMs)}${jitter}`;
  return `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}${jitter}`;
}

/** The usual gap between runs: the interval, or for a cron the gap between its next two ticks. */
export function scheduleIntervalMs(schedule: Schedule, from: Date = new Date()): number {
  if (schedule.kind === 'every') return schedule.everyMs;
  const cron = new Cron(schedule.cron, { paused: true, ...(schedule.timezone !== undefined ? { timezone: schedule.timezone } : {}) });
  const [first, second] = cron.nextRuns(2, from);
  return first && second ? second.getTime() - first.getTime() : 3_600_000;
}
