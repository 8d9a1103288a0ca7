import type { PersistedState, RunOutcome, RunRecord } from './model.js';

/**
 * Alerts fire on state change, not on every failed run: one "failing" alert
 * when a journey has failed `failAfter` times in a row, one "recovered" alert
 * when it next passes. A single blip below the threshold never pages anyone.
 */

export interface AlertPolicy {
  /** Consecutive failed or errored runs before a "failing" alert (at least 1). */
  failAfter: number;
}

export type AlertKind = 'failing' | 'recovered';

const FALLBACK_FAILURE_CODE = 'CEIL_FAILED';

export function initialState(journey: string): PersistedState {
  return { journey, health: 'unknown', consecutiveFailures: 0, alerting: false };
}

function isFailure(outcome: RunOutcome): boolean {
  return outcome === 'failed' || outcome === 'error';
}

/** Returns the next state and, when this run changes what people were told, the alert to send. */
export function applyRun(state: PersistedState, run: RunRecord, policy: AlertPolicy): { state: PersistedState; alert?: AlertKind } {
  // A threshold below 1 would alert before anything failed; treat it as the strictest sensible policy.
  const failAfter = Number.isFinite(policy.failAfter) ? Math.max(1, Math.floor(policy.failAfter)) : 1;

  if (isFailure(run.result)) {
    const consecutiveFailures = state.consecutiveFailures + 1;
    const startsAlerting = !state.alerting && consecutiveFailures >= failAfter;
    const next: PersistedState = {
      ...state,
      health: 'failing',
      lastRunAt: run.startedAt,
      lastFailure: {
        at: run.startedAt,
        ...(run.failedStep !== undefined ? { step: run.failedStep } : {}),
        code: run.failureCode ?? FALLBACK_FAILURE_CODE,
        message: run.failureMessage ?? (run.result === 'error' ? 'the run ended with an error' : 'the run failed'),
        ...(run.traceId !== undefined ? { traceId: run.traceId } : {}),
      },
      consecutiveFailures,
      alerting: state.alerting || startsAlerting,
    };
    return startsAlerting ? { state: next, alert: 'failing' } : { state: next };
  }

  // A flaky run reached the end, so users were served: it ends an incident just as a clean pass does.
  const next: PersistedState = {
    ...state,
    health: run.result === 'passed' ? 'passing' : 'flaky',
    lastRunAt: run.startedAt,
    lastPassAt: run.startedAt,
    consecutiveFailures: 0,
    alerting: false,
  };
  return state.alerting ? { state: next, alert: 'recovered' } : { state: next };
}
