import { scopedSignal, type ScopedSignal } from '../core/deadline.js';
import { StepFailure } from '../core/failure.js';
import type { AttemptResult, FailureInfo, StepResult } from '../core/result.js';
import { formatMs } from '../journey/duration.js';
import type { CompiledStep } from '../journey/journey.js';

/**
 * A journey's finally steps: cleanup that runs after the steps whatever
 * happened to them. They get a budget of their own on a fresh signal, since
 * by the time they run the journey's deadline may have passed and the run's
 * signal may be aborted (an interrupt): that is exactly when cleanup matters.
 */

export interface FinallyOutcome {
  steps: StepResult[];
  /** The first finally step that did not pass, labelled as cleanup. */
  failure?: FailureInfo;
  failedIndex?: number;
}

export type RunOneStep = (step: CompiledStep, deadline: ScopedSignal) => Promise<StepResult>;

function skippedFinally(step: CompiledStep): StepResult {
  return {
    index: step.index,
    name: step.name,
    kind: step.kind,
    location: step.location,
    status: 'skipped',
    durationMs: 0,
    assertions: 0,
    section: 'finally',
  };
}

/** Says in the message that cleanup failed, and points at the finally step, so it is never mistaken for the journey's own check. */
function asCleanupFailure(step: StepResult, failure: FailureInfo): FailureInfo {
  return { ...failure, message: `cleanup failed in finally step "${step.name}": ${failure.message}`, location: step.location };
}

/**
 * Runs every finally step in order, even after one fails, so one failed delete
 * does not leave the next record behind; only a spent budget skips the rest.
 */
export async function runFinallySteps(
  steps: readonly CompiledStep[],
  budgetMs: number,
  runOne: RunOneStep,
  onStepEnd?: (step: StepResult) => void,
): Promise<FinallyOutcome> {
  const budget = scopedSignal(
    new AbortController().signal,
    budgetMs,
    () =>
      new StepFailure('timeout', 'CEIL_TIMEOUT_FINALLY', `the finally steps did not finish within their ${formatMs(budgetMs)} budget`, {
        hint: 'raise finallyTimeout on the journey, or find the cleanup step that hangs',
      }),
  );
  const outcome: FinallyOutcome = { steps: [] };
  try {
    for (const step of steps) {
      if (budget.signal.aborted) {
        outcome.steps.push(skippedFinally(step));
        continue;
      }
      const result: StepResult = { ...(await runOne(step, budget)), section: 'finally' };
      outcome.steps.push(result);
      onStepEnd?.(result);
      if (result.failure && !outcome.failure) {
        outcome.failure = asCleanupFailure(result, result.failure);
        outcome.failedIndex = step.index;
      }
    }
  } finally {
    budget.dispose();
  }
  return outcome;
}

/**
 * The attempt's failure once cleanup has run: a finally failure never masks
 * the steps' own failure; it becomes the attempt's failure only when the steps
 * passed, and is always kept apart in finallyFailure.
 */
export function withFinallyOutcome(
  mainFailure: FailureInfo | undefined,
  outcome: FinallyOutcome | undefined,
): { failure: FailureInfo | undefined; fields: Pick<AttemptResult, 'finallySteps' | 'finallyFailure' | 'failedFinallyStep'> } {
  if (!outcome) return { failure: mainFailure, fields: {} };
  return {
    failure: mainFailure ?? outcome.failure,
    fields: {
      finallySteps: outcome.steps,
      ...(outcome.failure ? { finallyFailure: outcome.failure } : {}),
      ...(outcome.failedIndex !== undefined ? { failedFinallyStep: outcome.failedIndex } : {}),
    },
  };
}
