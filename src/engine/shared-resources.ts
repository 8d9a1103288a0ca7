import { LONG_LIVED_RESOURCES, type RunResources } from '../steps/executor.js';

/**
 * Run-scoped shared resources (connection pools), closed once when the run
 * ends. A run inside a long-lived process (serve's daemon, the gate's rounds)
 * borrows the long-lived ones (the browser) from its owner, which closes them
 * when it stops.
 */
export class SharedResources implements RunResources {
  private readonly entries = new Map<string, { value: unknown; close: (value: never) => Promise<void> | void }>();

  constructor(private readonly owner?: RunResources) {}

  shared<T>(key: string, create: () => T, close: (value: T) => Promise<void> | void): T {
    if (this.owner && LONG_LIVED_RESOURCES.has(key)) return this.owner.shared(key, create, close);
    const existing = this.entries.get(key);
    if (existing) return existing.value as T;
    const value = create();
    this.entries.set(key, { value, close: close as (value: never) => Promise<void> | void });
    return value;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map((entry) => entry.close(entry.value as never)));
  }
}
