import type { Locator } from 'playwright-core';
import type { FailureCode } from '../../core/failure-codes.js';
import { abortFailure, raceAbort } from '../../core/deadline.js';
import { formatMs } from '../../journey/duration.js';
import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import type { StepContext } from '../executor.js';
import type { BrowserActor } from './actor.js';
import { isTimeout, lastLogLine, plainMessage, withTimeout, type Window } from './bounds.js';
import type { Element } from './element.js';
import { ambiguous, browserFailure, isStrictViolation, noElement } from './failures.js';
import type { TextExpectation } from './match.js';

/**
 * What went wrong with an element, said in terms of the page: missing,
 * ambiguous, present but unusable, or showing the wrong text.
 */

/** Asking how many elements match is one round trip; after a timeout it must not eat into what is left. */
const COUNT_LIMIT_MS = 1_000;
/** Texts in messages are cut here; the full text is in actual. */
const SHOWN_TEXT = 200;
export const DETAIL_TEXT = 2_000;

export function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}

/** How many elements match, or undefined when even that cannot be learned in time. */
export async function countOf(locator: Locator, signal: AbortSignal): Promise<number | undefined> {
  try {
    return await raceAbort(withTimeout(locator.count(), COUNT_LIMIT_MS), signal);
  } catch {
    if (signal.aborted) throw abortFailure(signal);
    return undefined;
  }
}

/** A note for "no element" messages when the page itself answered with an error, the likelier cause. */
function pageNote(actor: BrowserActor): string | undefined {
  const last = actor.lastDocument;
  return last && last.status >= 400 ? `the page answered HTTP ${last.status} (${last.url})` : undefined;
}

function pageDetails(actor: BrowserActor): string {
  return `no matching element on ${actor.page.url()}`;
}

export function missing(actor: BrowserActor, element: Element, window: Window): StepFailure {
  const failure = noElement(element.description, Date.now() - window.started, pageNote(actor));
  return new StepFailure(failure.failureClass, failure.code, failure.message, { ...failure.details, actual: pageDetails(actor) });
}

/** What an element's action or wait threw, said in terms of the page: missing, ambiguous, or present but unusable. */
export async function elementFailure(
  error: unknown,
  actor: BrowserActor,
  element: Element,
  window: Window,
  context: StepContext,
  verb: string,
): Promise<StepFailure> {
  if (error instanceof StepFailure) return error;
  if (context.signal.aborted) return abortFailure(context.signal);
  if (isStrictViolation(error)) return ambiguous(error, element.description);
  const message = plainMessage(error);
  if (/Unknown key/i.test(message)) {
    return configError('CEIL_BROWSER_KEY', `${message.split('\n')[0]}`, {
      hint: 'use key names such as Enter, Tab, Escape, ArrowDown, or combinations such as Control+A',
    });
  }
  if (isTimeout(error)) {
    const count = await countOf(element.locator, context.signal);
    if (count === 0) return missing(actor, element, window);
    const why = lastLogLine(error);
    const waited = formatMs(Date.now() - window.started);
    return assertionFailed(
      'CEIL_BROWSER_NOT_ACTIONABLE',
      count === undefined
        ? `${element.description} could not be ${verb} within ${waited}`
        : `${element.description} is on the page but could not be ${verb} within ${waited}${why ? `: ${why}` : ''}`,
      { hint: 'an element must be visible, enabled, stable and not covered by another one to be used; the screenshot in the evidence shows the page' },
    );
  }
  const failure = browserFailure(error, context.signal, actor.name);
  if (failure.code !== 'CEIL_BROWSER_ERROR') return failure;
  // Anything else Playwright refuses (filling a <div>, selecting from a <p>) is a finding about the page, not the run.
  return assertionFailed('CEIL_BROWSER_ACTION', `${element.description} could not be ${verb}: ${message.split('\n')[0]}`);
}

/** Fails with "expected X, got Y" once a poll of a text ran out. */
export function mismatch(code: FailureCode, subject: string, expectation: TextExpectation, actual: string, window: Window): StepFailure {
  const shown = shorten(actual, SHOWN_TEXT);
  return assertionFailed(code, `${subject} is "${shown}", expected ${expectation.wording} (waited ${formatMs(Date.now() - window.started)})`, {
    expected: expectation.expected,
    actual: shorten(actual, DETAIL_TEXT),
  });
}
