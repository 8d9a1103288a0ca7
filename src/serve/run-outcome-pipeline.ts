import type { AlertPolicy } from './alert-policy.js';
import type { AlertReconciler } from './alert-reconciler.js';
import type { HistoryWrites } from './history-writes.js';
import type { ProbeMetrics } from './metrics.js';
import type { Clock, PersistedState, RunRecord } from './model.js';
import type { ProbeEntries, ProbeEntry } from './probe-entries.js';
import { decideRunOutcome, type RunOutcomeEffect } from './run-outcome.js';

export interface RunOutcomePipelineOptions {
  clock: Clock;
  policy: AlertPolicy;
  entries: ProbeEntries;
  history: { record(run: RunRecord): void; saveState(state: PersistedState): void };
  /** A write that fails is counted and logged there; nothing after it is skipped. */
  historyWrites: HistoryWrites;
  metrics: Pick<ProbeMetrics, 'recordRun'>;
  alerts: Pick<AlertReconciler, 'reconcile'>;
  log: (line: string) => void;
}

/**
 * What happens after a run ends: decideRunOutcome says what it means, this
 * carries it out (history, metrics, recent runs, state, log, alert).
 */
export class RunOutcomePipeline {
  constructor(private readonly options: RunOutcomePipelineOptions) {}

  /** `entry` is the one the run started with; `runnerStalled` see decideRunOutcome. */
  finish(record: RunRecord, entry: ProbeEntry, runnerStalled = false): void {
    // The journey may have been removed or replaced by a reload while it ran.
    if (!this.options.entries.isCurrent(entry)) return;
    const decision = decideRunOutcome(entry, record, this.options.policy, runnerStalled);
    entry.recent = decision.standing.recent;
    for (const effect of decision.effects) this.apply(effect, entry);
  }

  private apply(effect: RunOutcomeEffect, entry: ProbeEntry): void {
    const { clock, history, historyWrites } = this.options;
    switch (effect.kind) {
      case 'record-run': {
        const { record } = effect;
        historyWrites.attempt(`record a run of "${record.journey}"`, clock.now(), () => history.record(record));
        this.options.metrics.recordRun(record, entry.target?.name);
        return;
      }
      case 'save-state': {
        const { state } = effect;
        this.options.entries.setState(state);
        historyWrites.attempt(`save the state of "${state.journey}"`, clock.now(), () => history.saveState(state));
        return;
      }
      case 'log':
        this.options.log(effect.line);
        return;
      case 'alert':
        this.options.alerts.reconcile(effect.journey);
        return;
    }
  }
}
