import type { HttpPhases, StepStatus } from '../core/result.js';

/**
 * The records of probe runs and journey state. They are plain JSON, so the
 * history store, the daemon's API, status page, metrics and alerts, and the
 * gate's baseline all read the same shape. Every string in them has already
 * been through the redactor.
 */

/** error covers timeouts, connect failures and runs the watchdog ended. */
export type RunOutcome = 'passed' | 'failed' | 'error' | 'flaky';

export type RunTrigger = 'schedule' | 'manual';

export interface StepTiming {
  name: string;
  /** The step's label (see CompiledStep.label), for metric series; kept in memory only, the history stores `name`. */
  label?: string;
  status: StepStatus;
  durationMs: number;
  /** An HTTP step's whole request (its phases' total, redirects included): what latency baselines compare. Stored. */
  requestMs?: number;
  /** An HTTP step's phases, for the daemon's metrics; kept in memory only, the history stores `requestMs`. */
  phases?: HttpPhases;
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
  /** The OpenTelemetry trace of the last attempt, when tracing is on; not stored with the run. */
  traceId?: string;
  steps: StepTiming[];
}

/** passing/failing/flaky follow the last run; unknown until the first run ends. */
export type JourneyHealth = 'unknown' | 'passing' | 'failing' | 'flaky';

export interface LastFailure {
  at: number;
  step?: string;
  code: string;
  message: string;
  /** The failed attempt's OpenTelemetry trace, when tracing is on. */
  traceId?: string;
}

/** What survives a restart: enough to keep alert state and the status page honest. */
export interface PersistedState {
  journey: string;
  /**
   * The target the state is of, when the daemon probes several (serve --config):
   * each journey × target pair has its own. Absent for the one target of a daemon without --config.
   */
  target?: string;
  health: JourneyHealth;
  lastRunAt?: number;
  lastPassAt?: number;
  lastFailure?: LastFailure;
  /** Failed or errored runs in a row; a pass or flaky run resets it. */
  consecutiveFailures: number;
  /** True once the policy decided on a failing alert, until it decides on the recovery. */
  alerting: boolean;
  /**
   * True while the last alert every receiver took for this journey was a
   * failing one. It lags `alerting` while an alert is on its way or could not
   * be delivered; a restarted daemon sends what is missing. Absent means false.
   */
  notifiedFailing?: boolean;
}

/**
 * The key of a journey's state against a target: the journey's name alone for
 * the single target of a daemon without --config (as before targets existed),
 * `journey @ target` otherwise. Target names cannot hold " @ ".
 */
export function stateKey(journey: string, target: string | undefined): string {
  return target === undefined ? journey : `${journey} @ ${target}`;
}
