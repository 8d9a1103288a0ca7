import type { Locator, Page } from 'playwright-core';
import type { BrowserTarget } from '../../journey/browser-schema.js';
import { describeTarget } from '../../journey/load.js';

type AriaRole = Parameters<Page['getByRole']>[0];

/** A YAML target as the Playwright locator users would have written by hand; Playwright's auto-waiting applies to all of them. */
export function locatorFor(page: Page, target: BrowserTarget): Locator {
  const exact = target.exact === undefined ? {} : { exact: target.exact };
  let locator: Locator;
  if (target.role !== undefined) {
    locator = page.getByRole(target.role as AriaRole, { ...(target.name !== undefined ? { name: target.name } : {}), ...exact });
  } else if (target.label !== undefined) locator = page.getByLabel(target.label, exact);
  else if (target.text !== undefined) locator = page.getByText(target.text, exact);
  else if (target.placeholder !== undefined) locator = page.getByPlaceholder(target.placeholder, exact);
  else if (target.testId !== undefined) locator = page.getByTestId(target.testId);
  else if (target.css !== undefined) locator = page.locator(target.css);
  else throw new Error('a browser target without a locator passed validation');
  return target.nth === undefined ? locator : locator.nth(target.nth);
}

/** `button "Save"`, `label "Comment" (match 2)`: what failure messages call the element. */
export function describeLocator(target: BrowserTarget): string {
  const base = describeTarget(target as Record<string, unknown>);
  return target.nth === undefined ? base : `${base} (match ${target.nth + 1})`;
}
