import type { Journey } from '../journey/journey.js';
import type { JourneyView, PersistedState } from './model.js';

export type RecentRun = JourneyView['recent'][number];

/** One journey the daemon probes: what it does, and what its runs have shown so far. */
export interface ProbeEntry {
  journey: Journey;
  /** A digest of what the journey does, so a reload can tell an edit from a re-read. */
  signature: string;
  state: PersistedState;
  recent: RecentRun[];
}

/**
 * The journeys loaded now, and the last state of every journey the history
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

  /** False once a reload removed or replaced the journey this entry was made for. */
  isCurrent(entry: ProbeEntry): boolean {
    return this.loaded.get(entry.journey.name) === entry;
  }

  savedState(name: string): PersistedState | undefined {
    return this.saved.get(name);
  }

  /** Adds the entry, or replaces the one of the same name. */
  put(entry: ProbeEntry): void {
    this.loaded.set(entry.journey.name, entry);
  }

  remove(name: string): ProbeEntry | undefined {
    const entry = this.loaded.get(name);
    this.loaded.delete(name);
    return entry;
  }

  /** The journey's state from now on, on its entry when it is loaded and as the state a later load starts from. */
  setState(state: PersistedState): void {
    const entry = this.loaded.get(state.journey);
    if (entry) entry.state = state;
    this.saved.set(state.journey, state);
  }
}
