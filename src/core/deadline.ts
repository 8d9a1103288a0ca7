import { StepFailure } from './failure.js';

/**
 * A child AbortSignal that aborts when its parent does or when its own time
 * runs out. The timer is unref'd and cleared on dispose, so nothing lingers
 * after the step, and the reason says which deadline fired.
 */
export interface ScopedSignal {
  signal: AbortSignal;
  deadline: number;
  dispose(): void;
}

export function scopedSignal(parent: AbortSignal, timeoutMs: number, reason: () => StepFailure): ScopedSignal {
  // Most steps have no timeout of their own: the parent's signal serves as is, and AbortControllers are not cheap.
  if (!Number.isFinite(timeoutMs)) return { signal: parent, deadline: Number.POSITIVE_INFINITY, dispose: () => undefined };
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => controller.abort(reason()), Math.max(0, timeoutMs));
  timer.unref();
  return {
    signal: controller.signal,
    deadline: Date.now() + timeoutMs,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}

/** The failure an aborted signal stands for; a bare abort becomes an interruption. */
export function abortFailure(signal: AbortSignal): StepFailure {
  const reason: unknown = signal.reason;
  if (reason instanceof StepFailure) return reason;
  return new StepFailure('interrupted', 'CEIL_INTERRUPTED', 'the run was interrupted');
}

/**
 * Resolves after ms, or rejects with the abort failure. The timer is ref'd on
 * purpose: a step's wait may be the only thing keeping the event loop alive,
 * and an unref'd one let Node exit mid-wait with code 0, a false pass. It is
 * cleared on abort, so it never outlives the step.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortFailure(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortFailure(signal));
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles with the work, or with the abort failure as soon as the signal
 * aborts, so work that cannot be cancelled (or forgets to listen) cannot hold
 * a step past its deadline. The work's late rejection is swallowed here.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(abortFailure(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortFailure(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
