import type { StepStatus } from '../engine/result.js';

/**
 * The daemon's own records. They are plain JSON, so the history store, the
 * API, the status page, the metrics and the alerts all read the same shape.
 * Every string in them has already been through the redactor.
 */

/** error covers timeouts, connect failures and runs the watchdog ended. */
export type RunOutcome = 'passed' | 'failed' | 'error' | 'flaky';

export type RunTrigger = 'schedule' | 'manual';

export interface StepTiming {
  name: string;
  status: StepStatus;
  durationMs: number;
}

export interface RunRecord {
  /** Exact journey name; history is keyed by it and never matched by pattern. */
  journey: string;
  location: string;
  target: string;
  trigger: RunTrigger;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  result: RunOutcome;
  /** The failing step's name, when the run did not pass. */
  failedStep?: string;
  failureCode?: string;
  failureMessage?: string;
  steps: StepTiming[];
}

/** passing/failing/flaky follow the last run; unknown until the first run ends. */
export type JourneyHealth = 'unknown' | 'passing' | 'failing' | 'flaky';

export interface LastFailure {
  at: number;
  step?: string;
  code: string;
  message: string;
}

/** What survives a restart: enough to keep alert state and the status page honest. */
export interface PersistedState {
  journey: string;
  health: JourneyHealth;
  lastRunAt?: number;
  lastPassAt?: number;
  lastFailure?: LastFailure;
  /** Failed or errored runs in a row; a pass or flaky run resets it. */
  consecutiveFailures: number;
  /** True once a failing alert went out, until the recovery alert does. */
  alerting: boolean;
}

export interface JourneyView extends PersistedState {
  file: string;
  tags: string[];
  schedule: string;
  running: boolean;
  /** Due, but waiting for a free slot under --concurrency. */
  queued?: boolean;
  nextRunAt?: number;
  skippedRuns: number;
  /** Newest last, for the status page's strip and sparkline. */
  recent: Pick<RunRecord, 'startedAt' | 'durationMs' | 'result'>[];
}

/** A clock the scheduler can be driven by in tests. Timers must not keep the process alive. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
