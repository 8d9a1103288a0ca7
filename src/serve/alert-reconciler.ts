import type { AlertKind } from './alert-policy.js';
import { alertEvent, type AlertOrigin } from './alert-payloads.js';
import type { HistoryWrites } from './history-writes.js';
import type { Clock, PersistedState } from './model.js';
import type { ProbeEntries } from './probe-entries.js';
import { owedAlert } from './run-outcome.js';
import type { AlertDispatcher } from './webhook-delivery.js';

export interface AlertReconcilerOptions {
  clock: Clock;
  entries: ProbeEntries;
  dispatcher: Pick<AlertDispatcher, 'send'>;
  /** How many receivers are configured; with none, an owed alert counts as told at once. */
  receivers: number;
  /** Where the probe runs and where people look; read at each alert, since the listening address is known late. */
  origin: () => AlertOrigin;
  history: { saveState(state: PersistedState): void };
  historyWrites: HistoryWrites;
  /** True once the daemon is shutting down: no new alert is started, the owed ones go out after the restart. */
  stopping: () => boolean;
}

/**
 * Sends the alert a journey is owed (see owedAlert). The state is written as
 * notified only once every receiver took the alert (or refused it for good
 * with a 4xx), so an alert lost to a dead receiver, a shutdown or kill -9 is
 * sent again on the next run or after a restart, and a delivered one is not.
 */
export class AlertReconciler {
  /** Alerts on their way, by journey: one at a time per journey, so a slow receiver cannot pile them up. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Receivers (by index) that already took the alert still owed for a journey, so a re-send skips them. */
  private readonly takenBy = new Map<string, { kind: AlertKind; receivers: Set<number> }>();

  constructor(private readonly options: AlertReconcilerOptions) {}

  reconcile(name: string): void {
    const entry = this.options.entries.get(name);
    if (!entry || this.options.stopping() || this.inFlight.has(name)) return;
    const kind = owedAlert(entry.state);
    if (kind === undefined) return;
    if (this.options.receivers === 0) {
      this.markNotified(name, kind);
      return;
    }
    const owed = this.takenBy.get(name);
    const receivers = owed?.kind === kind ? owed.receivers : new Set<number>();
    this.takenBy.set(name, { kind, receivers });
    const origin = this.options.origin();
    const event = alertEvent(kind, entry.state, entry.journey, entry.target ? { ...origin, target: entry.target.name } : origin);
    const sending = this.options.dispatcher.send(event, { skip: receivers }).then((outcomes) => {
      this.inFlight.delete(name);
      for (const [receiver, outcome] of outcomes) if (outcome !== 'failed') receivers.add(receiver);
      // Someone has not got it: the next run, or a restart, sends it to them again.
      if (receivers.size < this.options.receivers) return;
      this.takenBy.delete(name);
      this.markNotified(name, kind);
      // The journey may have moved on while the alert was on its way.
      this.reconcile(name);
    });
    this.inFlight.set(name, sending);
  }

  /** Resolves once every alert on its way has been written as delivered, or left owed. */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  private markNotified(name: string, kind: AlertKind): void {
    const base = this.options.entries.get(name)?.state ?? this.options.entries.savedState(name);
    if (!base) return;
    const state: PersistedState = { ...base, notifiedFailing: kind === 'failing' };
    this.options.entries.setState(state);
    this.options.historyWrites.attempt(`save the alert state of "${name}"`, this.options.clock.now(), () => this.options.history.saveState(state));
  }
}
