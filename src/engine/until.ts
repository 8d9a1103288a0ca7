import { abortFailure, raceAbort, sleep } from '../core/deadline.js';
import { StepFailure } from '../core/failure.js';
import { formatMs } from '../journey/duration.js';

/**
 * `until:` polling: a step is tried again, every `everyMs`, until it passes.
 * The bounds are the step's signal (its timeout and the journey's deadline)
 * and an optional number of attempts. When they run out, the failure is the
 * last attempt's, saying how many attempts were made over how long, so the
 * reader sees what the service still answered, not just "timed out".
 */

export interface PollBounds {
  everyMs: number;
  attempts?: number;
  signal: AbortSignal;
  /** Epoch ms when the signal will abort on time; no attempt starts after it. */
  deadline: number;
}

/** A misconfigured step or a stopped run will not get better by asking again. */
function worthRetrying(error: unknown): error is StepFailure {
  return error instanceof StepFailure && error.failureClass !== 'config' && error.failureClass !== 'interrupted';
}

function stillFailing(last: StepFailure, attempts: number, elapsedMs: number, stoppedBy?: string): StepFailure {
  const count = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  const stopped = stoppedBy ? ` (polling stopped: ${stoppedBy})` : '';
  return new StepFailure(last.failureClass, last.code, `still failing after ${count} over ${formatMs(elapsedMs)}: ${last.message}${stopped}`, last.details);
}

/**
 * Settles promptly when the signal aborts (each attempt and each pause race
 * it), so callers need no race of their own around it.
 */
export async function pollUntil<T>(attempt: () => Promise<T>, bounds: PollBounds): Promise<T> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let made = 0;
  let last: StepFailure | undefined;
  for (;;) {
    if (bounds.signal.aborted) break;
    let failure: StepFailure;
    try {
      return await raceAbort(attempt(), bounds.signal);
    } catch (error) {
      // An attempt cut by the deadline did not finish: it is not counted, and the one before it stands.
      if (bounds.signal.aborted) break;
      if (!worthRetrying(error)) throw error;
      failure = error;
    }
    made++;
    last = failure;
    if (bounds.attempts !== undefined && made >= bounds.attempts) throw stillFailing(failure, made, elapsed());
    // A pause that would end past the deadline could only end in a timeout: stop with what the service last said.
    if (Date.now() + bounds.everyMs >= bounds.deadline) {
      throw stillFailing(failure, made, elapsed(), "the next attempt would start after the step's time runs out");
    }
    try {
      await sleep(bounds.everyMs, bounds.signal);
    } catch {
      break;
    }
  }
  const cut = abortFailure(bounds.signal);
  if (!last || cut.failureClass === 'interrupted') throw cut;
  throw stillFailing(last, made, elapsed(), cut.message);
}
