import { StepFailure } from '../../core/failure.js';
import type { StepKind } from '../../journey/schema.js';
import type { StepOf } from '../../journey/journey.js';
import type { Redactor } from '../../secrets/redactor.js';
import type { Executor, StepContext, StepOutcome } from '../executor.js';
import { browserFailure } from './failures.js';

export type BrowserKind = Extract<StepKind, `browser.${string}`>;

/**
 * Failure messages and details name URLs, texts read from the page and the
 * journey's own expected values, any of which may hold a secret. The report
 * boundary redacts too; this keeps them out of every exception from the start.
 */
function redacted(failure: StepFailure, redactor: Redactor): StepFailure {
  if (redactor.size === 0) return failure;
  const { path: at, expected, actual, hint } = failure.details;
  return new StepFailure(failure.failureClass, failure.code, redactor.redact(failure.message), {
    ...(at !== undefined ? { path: redactor.redact(at) } : {}),
    ...(expected !== undefined ? { expected: redactor.redactDeep(expected) } : {}),
    ...(actual !== undefined ? { actual: redactor.redactDeep(actual) } : {}),
    ...(hint !== undefined ? { hint: redactor.redact(hint) } : {}),
  });
}

/** Every browser step: whatever escapes it becomes a classified, redacted StepFailure. */
export function browserStep<K extends BrowserKind>(run: (step: StepOf<K>, context: StepContext) => Promise<StepOutcome>): Executor<K> {
  return async (step, context) => {
    try {
      return await run(step, context);
    } catch (error) {
      const actor = ((step as { spec?: { as?: unknown } }).spec ?? {}).as;
      throw redacted(browserFailure(error, context.signal, typeof actor === 'string' ? actor : 'the browser'), context.redactor);
    }
  };
}
