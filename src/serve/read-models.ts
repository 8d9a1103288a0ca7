import type { Schedule } from '../journey/journey.js';
import { describeSchedule } from '../journey/schedule.js';
import type { HistoryWriteStatus } from './history-writes.js';
import type { JourneyView } from './model.js';
import type { ProbeEntry } from './probe-entries.js';
import type { JobState } from './scheduler.js';
import type { DeliveryStats } from './webhook-delivery.js';
import type { FleetGroupStatus } from './fleet-watch.js';
import { entryKey } from './probe-entries.js';

/** What the API, the status page and the delivery endpoints read: the daemon's state, shaped for them. No I/O. */

export function journeyViews(entries: Iterable<ProbeEntry>, jobState: (name: string) => JobState | undefined, defaultSchedule: Schedule): JourneyView[] {
  return [...entries].map((entry) => {
    const job = jobState(entryKey(entry));
    return {
      ...entry.state,
      ...(entry.target ? { target: entry.target.name, targetGroup: entry.target.group } : {}),
      file: entry.journey.file,
      tags: entry.journey.tags,
      schedule: describeSchedule(entry.journey.schedule ?? defaultSchedule),
      running: job?.running ?? false,
      ...(job?.queued ? { queued: true } : {}),
      skippedRuns: job?.skipped ?? 0,
      recent: entry.recent,
      ...(job?.nextRunAt !== undefined ? { nextRunAt: job.nextRunAt } : {}),
    };
  });
}

export interface HealthFacts {
  now: number;
  startedAt: number;
  stopping: boolean;
  journeys: number;
  /** serve --config with discovered groups: each group's size and its last discovery fault. */
  fleet?: FleetGroupStatus[];
  inFlight: number;
  reloadErrors: string[];
  alerts: DeliveryStats;
  history: HistoryWriteStatus;
  /** The history has failed to write for long enough to count as an outage (HistoryWrites.unwritable). */
  historyUnwritable: boolean;
  version: string;
  location: string;
  target: string;
}

/** /healthz: ok decides 200 or 503; detail says why. */
export function daemonHealth(facts: HealthFacts): { ok: boolean; detail: Record<string, unknown> } {
  const problems: string[] = [];
  if (facts.journeys === 0) problems.push('no journey is loaded: the last reload left none (see reloadErrors, --tag, --grep and --shard)');
  for (const group of facts.fleet ?? []) {
    if (group.error)
      problems.push(
        `discovery of ${group.group} failed at ${new Date(group.error.at).toISOString()} (${group.error.code}): ${group.error.message}; probing the last good fleet (${group.instances} instances)`,
      );
  }
  const history = facts.history;
  if (history.failingSince !== undefined)
    problems.push(`the history cannot be written since ${new Date(history.failingSince).toISOString()}: ${history.lastError ?? ''}`);
  // A full disk for a minute is an outage of the record, worth a 503; a blip, or nothing to probe, is only degraded.
  const ok = !facts.stopping && !facts.historyUnwritable;
  return {
    ok,
    detail: {
      status: facts.stopping ? 'stopping' : problems.length > 0 ? 'degraded' : 'ok',
      ...(problems.length > 0 ? { problems } : {}),
      version: facts.version,
      location: facts.location,
      target: facts.target,
      journeys: facts.journeys,
      ...(facts.fleet ? { fleet: facts.fleet } : {}),
      inFlight: facts.inFlight,
      uptimeSeconds: Math.round((facts.now - facts.startedAt) / 1000),
      reloadErrors: facts.reloadErrors,
      alerts: facts.alerts,
      history,
    },
  };
}
