import type { RunResources } from '../steps/executor.js';

/** Run-scoped shared resources (connection pools), closed once when the run ends. */
export class SharedResources implements RunResources {
  private readonly entries = new Map<string, { value: unknown; close: (value: never) => Promise<void> | void }>();

  shared<T>(key: string, create: () => T, close: (value: T) => Promise<void> | void): T {
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
