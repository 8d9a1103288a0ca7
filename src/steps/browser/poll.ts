import { raceAbort, sleep } from '../../core/deadline.js';
import { renderedDurationMs } from '../../journey/duration.js';
import { StepFailure } from '../../core/failure.js';
import { isStrictViolation, browserFailure } from './failures.js';
import { isTimeout, msLeft, type Window } from './bounds.js';

/** The first re-checks come quickly because most pages settle within a few frames; a read is one round trip to the browser. */
const POLL_INTERVALS_MS = [10, 25, 50, 100, 250, 500];
/** A read given less time than this may time out merely for lack of time. */
const INCONCLUSIVE_READ_MS = 100;

export interface PollResult<T> {
  matched: boolean;
  /** The last value read, if any read succeeded. */
  last?: { value: T };
  /** Set when the last read failed (the element was missing, the page was navigating). */
  error?: unknown;
}

/**
 * Reads and checks again until the check holds or the window ends, like
 * Playwright's web-first assertions. A read may itself wait (for the element
 * to appear) up to the end of the window. Failures that cannot heal (strict
 * mode, a closed page) end the poll at once.
 */
export async function poll<T>(
  window: Window,
  signal: AbortSignal,
  read: (timeoutMs: number) => Promise<T>,
  accept: (value: T) => boolean,
): Promise<PollResult<T>> {
  let last: { value: T } | undefined;
  let error: unknown;
  for (let round = 0; ; round++) {
    const timeoutMs = msLeft(window);
    try {
      const value = await raceAbort(read(timeoutMs), signal);
      last = { value };
      error = undefined;
      if (accept(value)) return { matched: true, last };
    } catch (caught) {
      if (caught instanceof StepFailure || signal.aborted || isStrictViolation(caught) || browserFailure(caught, signal, '').code === 'CEIL_BROWSER_CLOSED')
        throw caught;
      // A read squeezed into the last few milliseconds times out without saying the element went away; the earlier reading stands.
      if (!(isTimeout(caught) && timeoutMs < INCONCLUSIVE_READ_MS && last !== undefined)) error = caught;
    }
    const left = window.until - Date.now();
    if (left <= 0) return { matched: false, ...(last ? { last } : {}), ...(error !== undefined ? { error } : {}) };
    await sleep(Math.min(POLL_INTERVALS_MS[Math.min(round, POLL_INTERVALS_MS.length - 1)]!, left), signal);
  }
}

/** As Playwright's own expect: a check that has not come true in 5 s is a failure, not a wait for the journey's deadline. */
export const DEFAULT_EXPECT_WITHIN_MS = 5_000;

/** How long an expectation keeps polling: its own within:, else the default. */
export function within(spec: { within?: string | undefined }): number {
  return spec.within === undefined ? DEFAULT_EXPECT_WITHIN_MS : renderedDurationMs('within', spec.within);
}
