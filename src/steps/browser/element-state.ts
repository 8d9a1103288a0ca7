import { raceAbort } from '../../core/deadline.js';
import { formatMs } from '../../journey/duration.js';
import { assertionFailed } from '../../core/failure.js';
import type { StepContext } from '../executor.js';
import type { BrowserActor } from './actor.js';
import { isTimeout, msLeft, type Window } from './bounds.js';
import type { Element } from './element.js';
import { countOf, elementFailure, missing } from './element-failures.js';

export type WaitState = 'visible' | 'hidden' | 'attached' | 'detached';

/** Waits for an element's state, and on timeout says which of missing, hidden or still there it is. */
export async function waitForState(context: StepContext, actor: BrowserActor, element: Element, state: WaitState, window: Window): Promise<void> {
  try {
    await raceAbort(element.locator.waitFor({ state, timeout: msLeft(window) }), context.signal);
    return;
  } catch (error) {
    if (!isTimeout(error)) throw await elementFailure(error, actor, element, window, context, 'found');
  }
  const waited = formatMs(Date.now() - window.started);
  if (state === 'hidden') {
    throw assertionFailed('CEIL_BROWSER_STILL_VISIBLE', `${element.description} is still visible after ${waited}`, {
      expected: 'hidden or absent',
      actual: 'visible',
    });
  }
  if (state === 'detached') {
    throw assertionFailed('CEIL_BROWSER_STILL_ATTACHED', `${element.description} is still on the page after ${waited}`, {
      expected: 'absent',
      actual: 'on the page',
    });
  }
  const count = await countOf(element.locator, context.signal);
  if (count === 0 || state === 'attached') throw missing(actor, element, window);
  throw assertionFailed(
    'CEIL_BROWSER_NOT_VISIBLE',
    count === undefined
      ? `${element.description} did not become visible within ${waited}`
      : `${element.description} is on the page but not visible after ${waited}`,
    { expected: 'visible', actual: count === undefined ? 'unknown' : 'hidden' },
  );
}
