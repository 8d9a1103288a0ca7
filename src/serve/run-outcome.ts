import { applyRun, type AlertKind, type AlertPolicy } from './alert-policy.js';
import { stateKey } from '../history/records.js';
import type { PersistedState, RunRecord } from './model.js';
import type { RecentRun } from './probe-entries.js';

/**
 * What a finished run means for its journey, decided without I/O: the next
 * state, the strip of recent runs, and the effects the daemon must carry out
 * (in order). run-outcome-pipeline.ts carries them out.
 */

/** Runs kept per journey for the status page's strip and sparkline. */
export const RECENT_RUNS = 30;

/** What the daemon holds of a journey between runs. */
export interface JourneyStanding {
  state: PersistedState;
  recent: readonly RecentRun[];
}

export type RunOutcomeEffect =
  /** Write the run to the history and count it in the metrics: it happened, whatever it means. */
  | { kind: 'record-run'; record: RunRecord }
  /** The journey's state moved: keep it and write it to the history. */
  | { kind: 'save-state'; state: PersistedState }
  | { kind: 'log'; line: string }
  /** Receivers are owed this alert: the state says failing (or recovered) but they were last told otherwise. `journey` is the entry's key. */
  | { kind: 'alert'; journey: string; alert: AlertKind };

export interface RunOutcomeDecision {
  standing: { state: PersistedState; recent: RecentRun[] };
  effects: RunOutcomeEffect[];
}

/**
 * `runnerStalled`: the run failed while Ceiling's own event loop was stalled.
 * That is an error of the probe, not a finding about the target: it is
 * recorded and counted as an error, but raises no alert and moves no state.
 */
export function decideRunOutcome(standing: JourneyStanding, run: RunRecord, policy: AlertPolicy, runnerStalled: boolean): RunOutcomeDecision {
  const record: RunRecord = runnerStalled ? { ...run, result: 'error' } : run;
  const recent = [...standing.recent, { startedAt: record.startedAt, durationMs: record.durationMs, result: record.result }].slice(-RECENT_RUNS);
  const effects: RunOutcomeEffect[] = [{ kind: 'record-run', record }];
  if (runnerStalled) {
    effects.push({
      kind: 'log',
      line: `journey "${record.journey}": ${record.failureCode ?? 'error'} while the runner itself stalled; not counted against the target`,
    });
    return { standing: { state: standing.state, recent }, effects };
  }
  const { state } = applyRun(standing.state, record, policy);
  effects.push({ kind: 'save-state', state });
  if (state.health !== standing.state.health) {
    const why = record.failureCode ? `: ${record.failedStep ? `step "${record.failedStep}": ` : ''}${record.failureCode} ${record.failureMessage ?? ''}` : '';
    effects.push({ kind: 'log', line: `journey "${record.journey}" is ${state.health}${why}` });
  }
  const alert = owedAlert(state);
  if (alert !== undefined) effects.push({ kind: 'alert', journey: stateKey(state.journey, state.target), alert });
  return { standing: { state, recent }, effects };
}

/**
 * The alert receivers are owed, if any. Not only the run that changed the
 * state owes one: an alert a dead receiver, a shutdown or kill -9 lost is
 * still owed on the next run, and after a restart.
 */
export function owedAlert(state: PersistedState): AlertKind | undefined {
  if (state.lastRunAt === undefined || state.alerting === (state.notifiedFailing ?? false)) return undefined;
  return state.alerting ? 'failing' : 'recovered';
}
