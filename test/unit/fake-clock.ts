import type { Clock } from '../../src/serve/model.js';

/** Node turns a longer delay into 1 ms (with a warning); the fake refuses it so a missing chunking shows up. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

interface FakeTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/** Lets every queued promise continuation run, including chains that queue more continuations. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A `Clock` that only moves when a test moves it. Timers fire in due order
 * (creation order breaks ties), each at its own due time, with the microtask
 * queue flushed after each one so async bodies they start can make progress.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();
  /** Every timer ever armed; a scheduler that spins shows up here. */
  timersArmed = 0;

  constructor(startAt: number | string | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof startAt === 'number' ? startAt : new Date(startAt).getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    if (ms > MAX_TIMER_DELAY_MS) throw new RangeError(`timer delay ${ms} ms exceeds ${MAX_TIMER_DELAY_MS} ms; arm it in chunks`);
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: FakeTimer = { id: this.nextId++, dueAt: this.current + delay, callback };
    this.timers.set(timer.id, timer);
    this.timersArmed += 1;
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers armed and not yet fired or cleared. */
  pendingTimers(): number {
    return this.timers.size;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms);
  }

  async advanceTo(epochMs: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      const due = this.earliestDueBy(epochMs);
      if (due === undefined) break;
      this.timers.delete(due.id);
      this.current = Math.max(this.current, due.dueAt);
      due.callback();
      await flushMicrotasks();
    }
    this.current = Math.max(this.current, epochMs);
    await flushMicrotasks();
  }

  /**
   * Moves the wall clock without firing anything, as when the process was
   * suspended: overdue timers fire late, at the next advance, all at once.
   */
  jump(ms: number): void {
    this.current += ms;
  }

  /** Resolves after `ms` of fake time; for run bodies that take a while. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  private earliestDueBy(epochMs: number): FakeTimer | undefined {
    let earliest: FakeTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.dueAt > epochMs) continue;
      // Map iteration is insertion order, so a strict comparison keeps creation order for ties.
      if (earliest === undefined || timer.dueAt < earliest.dueAt) earliest = timer;
    }
    return earliest;
  }
}
