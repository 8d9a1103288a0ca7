import { ALERTMANAGER_REFRESH_MS, alertEvent, type AlertOrigin } from './alert-payloads.js';
import type { Clock } from './model.js';
import type { ProbeEntries } from './probe-entries.js';
import type { AlertDispatcher } from './webhook-delivery.js';

export interface AlertmanagerRefreshOptions {
  clock: Clock;
  entries: Pick<ProbeEntries, 'values'>;
  dispatcher: Pick<AlertDispatcher, 'send' | 'idleReceivers'>;
  /** The dispatcher's Alertmanager receivers, by index. */
  alertmanagers: ReadonlySet<number>;
  /** How many receivers the dispatcher has in all. */
  receivers: number;
  origin: () => AlertOrigin;
  intervalMs?: number;
}

/**
 * Alertmanager forgets an alert that is not posted again before its endsAt,
 * so while a journey is failing its alert is re-posted to the Alertmanager
 * receivers every ALERTMANAGER_REFRESH_MS. Webhooks and Slack are told once,
 * on the state change (AlertReconciler); a re-post never changes what the
 * journey's state says was delivered. A receiver still busy with earlier
 * deliveries is skipped, so a dead Alertmanager never piles up re-posts.
 */
export class AlertmanagerRefresh {
  private timer: unknown;
  private stopped = false;

  constructor(private readonly options: AlertmanagerRefreshOptions) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
  }

  /** Re-posts every failing journey's alert to each idle Alertmanager; returns how many journeys were re-posted. */
  refresh(): number {
    const idle = this.options.dispatcher.idleReceivers();
    const skip = new Set<number>();
    for (let index = 0; index < this.options.receivers; index++) if (!this.options.alertmanagers.has(index) || !idle.has(index)) skip.add(index);
    if (skip.size === this.options.receivers) return 0;
    let sent = 0;
    for (const entry of this.options.entries.values()) {
      if (!entry.state.alerting || entry.state.lastRunAt === undefined) continue;
      const origin = this.options.origin();
      // A fleet instance's alert names the instance, as the first post did (AlertReconciler).
      void this.options.dispatcher.send(alertEvent('failing', entry.state, entry.journey, entry.target ? { ...origin, target: entry.target.name } : origin), {
        skip,
      });
      sent++;
    }
    return sent;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.refresh();
      this.schedule();
    }, this.options.intervalMs ?? ALERTMANAGER_REFRESH_MS);
  }
}
