import type { Locator } from 'playwright-core';
import { raceAbort } from '../../core/deadline.js';
import { formatMs } from '../../journey/duration.js';
import { StepFailure } from '../../core/failure.js';
import type { StepContext } from '../executor.js';
import type { BrowserActor } from './actor.js';
import { isTimeout, msLeft, stepWindow } from './bounds.js';
import type { Element } from './element.js';
import { elementFailure } from './element-failures.js';
import { browserFailure } from './failures.js';

/** Runs one locator action bounded by the step deadline; Playwright waits for the element to be actionable meanwhile. */
export async function act(
  context: StepContext,
  actor: BrowserActor,
  element: Element,
  verb: string,
  run: (locator: Locator, timeoutMs: number) => Promise<unknown>,
): Promise<void> {
  const window = stepWindow(context.deadline);
  try {
    await raceAbort(run(element.locator, msLeft(window)), context.signal);
  } catch (error) {
    throw await elementFailure(error, actor, element, window, context, verb);
  }
}

/** Loads a page bounded by the step deadline; a timeout says whether the page arrived but never finished, or never came. */
export async function navigate(
  context: StepContext,
  actor: BrowserActor,
  url: string,
  waitUntil: string,
  go: (timeoutMs: number) => Promise<unknown>,
): Promise<void> {
  const window = stepWindow(context.deadline);
  const documentsBefore = actor.documentsReceived;
  try {
    await raceAbort(go(msLeft(window)), context.signal);
  } catch (error) {
    if (!isTimeout(error) || context.signal.aborted) throw browserFailure(error, context.signal, actor.name, url);
    const waited = formatMs(Date.now() - window.started);
    if (actor.documentsReceived > documentsBefore) {
      throw new StepFailure(
        'timeout',
        'CEIL_BROWSER_LOAD_TIMEOUT',
        `${url} did not finish loading within ${waited}: the page arrived, but its "${waitUntil}" event never came`,
        {
          hint: 'a script, stylesheet, image or frame of the page never finished loading; fix it, or wait for less with waitUntil: domcontentloaded',
        },
      );
    }
    throw new StepFailure('timeout', 'CEIL_BROWSER_LOAD_TIMEOUT', `${url} sent no page within ${waited}`, {
      hint: 'the server accepted the connection but never answered; is it stuck or overloaded?',
    });
  }
}
