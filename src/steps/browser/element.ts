import type { Locator } from 'playwright-core';
import type { BrowserTarget } from '../../journey/browser-schema.js';
import { configError } from '../../core/failure.js';
import type { StepContext } from '../executor.js';
import { BROWSER_ACTOR_KIND, BrowserActor } from './actor.js';
import { describeLocator, locatorFor } from './locate.js';

/** An element as steps see it: the locator, and how messages name it. */
export interface Element {
  locator: Locator;
  description: string;
}

export function actorFor(context: StepContext, name: string): BrowserActor {
  const actor = context.actors.get<BrowserActor>(name, BROWSER_ACTOR_KIND);
  if (!actor || actor.closed) {
    throw configError('CEIL_ACTOR_UNKNOWN', `there is no open browser page "${name}"`, { hint: `open it first with a browser.open step with as: ${name}` });
  }
  // Every browser step looks its page up here, so a page load it causes carries its own span's traceparent.
  actor.traceparent = context.traceparent;
  return actor;
}

export function elementOf(actor: BrowserActor, target: BrowserTarget): Element {
  return { locator: locatorFor(actor.page, target), description: describeLocator(target) };
}

/** What a person reads in the element: a field's value, otherwise its rendered text. Runs in the page. */
function elementText(node: Node): string {
  const element = node as HTMLElement;
  if (element.tagName === 'INPUT' || element.tagName === 'TEXTAREA') return (element as HTMLInputElement).value;
  return element.innerText ?? element.textContent ?? '';
}

export const readElementText = (element: Element) => (timeoutMs: number) => element.locator.evaluate(elementText, undefined, { timeout: timeoutMs });
