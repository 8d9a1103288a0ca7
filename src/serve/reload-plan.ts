import type { Journey } from '../journey/journey.js';
import type { ProbeEntry } from './probe-entries.js';

/** A digest of what the journey does, so a reload can tell an edit from a re-read. */
export function signatureOf(journey: Journey): string {
  return JSON.stringify([
    journey.file,
    journey.tags,
    journey.vars,
    journey.timeoutMs,
    journey.retries,
    journey.schedule,
    journey.steps,
    journey.finally,
    journey.finallyTimeoutMs,
  ]);
}

export type ReloadChange =
  | { kind: 'add'; journey: Journey }
  /**
   * An edited journey. `droppedSteps` (the old step labels) is set when a step
   * name went away: its series must go from the metrics.
   */
  | { kind: 'change'; journey: Journey; signature: string; droppedSteps?: string[] };

export interface ReloadPlan {
  /** Loaded journeys no longer wanted, by name. */
  remove: string[];
  /** In the order of `wanted`; journeys whose signature did not change are left out. */
  changes: ReloadChange[];
}

/** What a reload does to the journeys loaded now (`loaded`) to serve `wanted`, decided without touching either. */
export function planReload(loaded: Iterable<Pick<ProbeEntry, 'journey' | 'signature'>>, wanted: readonly Journey[]): ReloadPlan {
  const current = new Map([...loaded].map((entry) => [entry.journey.name, entry]));
  const wantedNames = new Set(wanted.map((journey) => journey.name));
  const remove = [...current.keys()].filter((name) => !wantedNames.has(name));
  const changes: ReloadChange[] = [];
  for (const journey of wanted) {
    const entry = current.get(journey.name);
    if (!entry) {
      changes.push({ kind: 'add', journey });
      continue;
    }
    const signature = signatureOf(journey);
    if (signature === entry.signature) continue;
    const oldSteps = entry.journey.steps.map((step) => step.label);
    const newSteps = new Set(journey.steps.map((step) => step.label));
    const dropped = oldSteps.some((step) => !newSteps.has(step));
    changes.push({ kind: 'change', journey, signature, ...(dropped ? { droppedSteps: oldSteps } : {}) });
  }
  return { remove, changes };
}
