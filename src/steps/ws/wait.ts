import { abortFailure } from '../../core/deadline.js';

/** What a bounded wait resolves to when its window ran out before the probe found anything. */
export const EXPIRED: unique symbol = Symbol('expired');
export type Expired = typeof EXPIRED;

/** Node fires a longer setTimeout at once (it overflows a 32-bit int), so long windows are waited in slices. */
const MAX_TIMER_SLICE_MS = 2_147_483_647;

export type Subscribe = (listener: () => void) => () => void;

/**
 * Resolves with the first defined value `probe` returns, checked now and after
 * every change `subscribe` announces; resolves EXPIRED at `until` (epoch ms);
 * rejects with the step's failure when the signal aborts first. Every timer
 * and listener is released however it ends.
 */
export function waitUntil<T>(subscribe: Subscribe, probe: () => T | undefined, until: number, signal?: AbortSignal): Promise<T | Expired> {
  return new Promise<T | Expired>((resolve, reject) => {
    if (signal?.aborted) return reject(abortFailure(signal));
    const immediate = probe();
    if (immediate !== undefined) return resolve(immediate);
    if (Date.now() >= until) return resolve(EXPIRED);

    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const onChange = (): void => {
      let found: T | undefined;
      try {
        found = probe();
      } catch (error) {
        settle(() => reject(error));
        return;
      }
      if (found !== undefined) settle(() => resolve(found));
    };
    const onAbort = (): void => settle(() => reject(abortFailure(signal!)));
    const arm = (): void => {
      if (!Number.isFinite(until)) return;
      const left = until - Date.now();
      if (left <= 0) {
        settle(() => resolve(EXPIRED));
        return;
      }
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_SLICE_MS));
      timer.unref();
    };

    const unsubscribe = subscribe(onChange);
    signal?.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}

/**
 * A window cut by the step deadline ends this much before it: at the deadline
 * itself the engine fails the step with a bare timeout, while a window that
 * ends first lets the step report its own finding (what it expected, what
 * arrived instead).
 */
export const DEADLINE_MARGIN_MS = 20;

/** The end of a wait window: `windowMs` from now when given, always inside the step deadline. */
export function windowEnd(windowMs: number | undefined, stepDeadline: number): number {
  const requested = windowMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + windowMs;
  return Math.min(requested, stepDeadline - DEADLINE_MARGIN_MS);
}
