import type { Journey } from '../journey/journey.js';
import { stateKey } from '../history/records.js';
import type { ProbeTarget } from './fleet-watch.js';
import type { JourneyView, PersistedState } from './model.js';

export type RecentRun = JourneyView['recent'][number];

/** One journey the daemon probes against one target: what it does, and what its runs have shown so far. */
export interface ProbeEntry {
  journey: Journey;
  /** Absent for the one target of a daemon without --config. */
  target?: ProbeTarget;
  /** A digest of what the journey does, so a reload can tell an edit from a re-read. */
  signature: string;
  state: PersistedState;
  recent: RecentRun[];
}

/** The entry's key: the journey's name for the single target, `journey @ target` for each target of a --config daemon. */
export const entryKey = (entry: { journey: { name: string }; target?: { name: string } | undefined }): string =>
  stateKey(entry.journey.name, entry.target?.name);

/**
 * Entries are keyed by entryKey. The journeys loaded now, and the last state of every journey the history
 * knows, loaded or not: a journey a reload removed and brings back starts from
 * where it was, and an alert owed to it is still owed.
 *
 * A reload replaces an edited journey's entry by a new object, so whoever
 * holds the entry a run started with can tell it is no longer current.
 */
export class ProbeEntries {
  private readonly loaded = new Map<string, ProbeEntry>();

  constructor(private readonly saved: Map<string, PersistedState>) {}

  get size(): number {
    return this.loaded.size;
  }

  get(name: string): ProbeEntry | undefined {
    return this.loaded.get(name);
  }

  has(name: string): boolean {
    return this.loaded.has(name);
  }

  /** Loaded now, or known to the history from an earlier load. */
  knows(name: string): boolean {
    return this.loaded.has(name) || this.saved.has(name);
  }

  values(): IterableIterator<ProbeEntry> {
    return this.loaded.values();
  }

  names(): string[] {
    return [...this.loaded.keys()];
  }

  /** The keys of every loaded entry of this journey, one per target. */
  keysOf(journey: string): string[] {
    return [...this.loaded].filter(([, entry]) => entry.journey.name === journey).map(([key]) => key);
  }

  /** Loaded now against some target, or known to the history from an earlier load. */
  knowsJourney(journey: string): boolean {
    return this.keysOf(journey).length > 0 || [...this.saved.values()].some((state) => state.journey === journey);
  }

  /** False once a reload removed or replaced the journey this entry was made for. */
  isCurrent(entry: ProbeEntry): boolean {
    return this.loaded.get(entryKey(entry)) === entry;
  }

  savedState(name: string): PersistedState | undefined {
    return this.saved.get(name);
  }

  /** Adds the entry, or replaces the one of the same name. */
  put(entry: ProbeEntry): void {
    this.loaded.set(entryKey(entry), entry);
  }

  remove(name: string): ProbeEntry | undefined {
    const entry = this.loaded.get(name);
    this.loaded.delete(name);
    return entry;
  }

  /** The journey's state from now on, on its entry when it is loaded and as the state a later load starts from. */
  setState(state: PersistedState): void {
    const key = stateKey(state.journey, state.target);
    const entry = this.loaded.get(key);
    if (entry) entry.state = state;
    this.saved.set(key, state);
  }
}
