import type { PersistedState, RunRecord } from '../history/records.js';

/** The record shapes live with the history store, which the gate reads too; serve's modules import them from here. */
export type { JourneyHealth, LastFailure, PersistedState, RunOutcome, RunRecord, RunTrigger, StepTiming } from '../history/records.js';

export interface JourneyView extends PersistedState {
  /** With --config: the target group `target` belongs to (a static target is its own group). */
  targetGroup?: string;
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
