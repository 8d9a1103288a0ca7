import { renderedDurationMs } from '../journey/duration.js';
import { assertionFailed } from '../core/failure.js';
import { deepEqual, matchJson } from '../journey/matchers.js';
import { sleep } from '../core/deadline.js';
import type { Executor } from './executor.js';

export const waitStep: Executor<'wait'> = async (step, context) => {
  await sleep(renderedDurationMs('wait', step.spec, context.render), context.signal);
  return { assertions: 0 };
};

export const setStep: Executor<'set'> = async (step, context) => ({ assertions: 0, captured: context.render(step.spec) });

export const assertStep: Executor<'assert'> = async (step, context) => {
  const checks = Array.isArray(step.spec) ? step.spec : [step.spec];
  let assertions = 0;
  for (const check of context.render(checks)) {
    if (check.equals !== undefined) {
      assertions++;
      if (!deepEqual(check.equals, check.value)) {
        throw assertionFailed('CEIL_ASSERT_EQUALS', `value is ${JSON.stringify(check.value)}, expected ${JSON.stringify(check.equals)}`, {
          path: 'value',
          expected: check.equals,
          actual: check.value,
        });
      }
    }
    if (check.matches !== undefined) {
      assertions++;
      const first = matchJson(check.matches, check.value, 'value', (text) => context.redactor.redact(text))[0];
      if (first) throw assertionFailed('CEIL_ASSERT_MATCHES', first.message, { path: first.path, expected: first.expected, actual: first.actual });
    }
    if (check.equals === undefined && check.matches === undefined) {
      assertions++;
      if (!check.value)
        throw assertionFailed('CEIL_ASSERT_TRUTHY', `value ${JSON.stringify(check.value)} is not truthy`, {
          path: 'value',
          expected: true,
          actual: check.value,
        });
    }
  }
  return { assertions };
};
