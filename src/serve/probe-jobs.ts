import type { Journey, Schedule } from '../journey/journey.js';
import { scheduleIntervalMs } from '../journey/schedule.js';
import type { ScheduledJob } from './scheduler.js';

/** Teardown (5 s) and evidence (10 s) run after a journey's own deadline; the watchdog allows for both. */
const AFTER_DEADLINE_MS = 15_000;

export interface JobDefaults {
  defaultSchedule: Schedule;
  /** --retries and --timeout, which override the journey's own. */
  retries?: number;
  timeoutMs?: number;
}

/** The scheduler's view of a journey: when it runs, and how long a run may take before the watchdog ends it. */
export function scheduledJobOf(journey: Journey, defaults: JobDefaults): ScheduledJob {
  // One attempt more than the retries: runJourney makes it when the runner's own stall explains the last failure.
  const attempts = (defaults.retries ?? journey.retries) + 2;
  // Finally steps run after the deadline, within a budget of their own.
  const timeoutMs = (defaults.timeoutMs ?? journey.timeoutMs) + (journey.finallyTimeoutMs ?? 0);
  return { name: journey.name, schedule: journey.schedule ?? defaults.defaultSchedule, deadlineMs: attempts * (timeoutMs + AFTER_DEADLINE_MS) };
}

/** A result older than two intervals plus the run's own deadline is stale: the probe has stopped seeing the target. */
export function freshnessWindowMs(job: ScheduledJob, now: number): number {
  return 2 * scheduleIntervalMs(job.schedule, new Date(now)) + job.deadlineMs;
}
