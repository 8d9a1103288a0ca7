import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { raceAbort } from '../../core/deadline.js';
import { formatMs } from '../../journey/duration.js';
import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import { journeyFolderName } from '../../journey/journey.js';
import type { StepOutcome } from '../executor.js';
import { BROWSER_ACTOR_KIND, BrowserActor } from './actor.js';
import { isTimeout, msLeft, plainMessage, stepWindow, withTimeout } from './bounds.js';
import { browserStep } from './browser-step.js';
import { captureAll } from './capture.js';
import { actorFor, elementOf, readElementText } from './element.js';
import { elementFailure, mismatch, missing } from './element-failures.js';
import { waitForState } from './element-state.js';
import { browserHost } from './launch.js';
import { normalizeWhitespace, resolveUrl, textExpectation, urlExpectation, urlPattern } from './match.js';
import { act, navigate } from './page-actions.js';
import { poll, within, type PollResult } from './poll.js';

/**
 * The browser steps' executors. What they share lives beside them: element
 * lookup (element.ts), polling (poll.ts), element states (element-state.ts),
 * actions and navigation (page-actions.ts), captures (capture.ts), and how
 * failures are shaped and redacted (element-failures.ts, browser-step.ts).
 */

function outcome(assertions: number, captured: Record<string, unknown> | undefined): StepOutcome {
  return captured ? { assertions, captured } : { assertions };
}

// ---- screenshots ------------------------------------------------------------

/** Each journey's screenshots get a folder of their own, named like its evidence folder. */
export function screenshotDir(outDir: string, journey: { name: string; file: string }): string {
  return path.join(outDir, 'screenshots', journeyFolderName(journey));
}

// ---- executors --------------------------------------------------------------

export const browserOpen = browserStep<'browser.open'>(async (step, context) => {
  const spec = context.render(step.spec);
  if (context.actors.has(spec.as)) {
    throw configError('CEIL_ACTOR_OPEN', `actor "${spec.as}" already exists`, {
      hint: 'each browser.open needs a name of its own: one actor is one user with one page',
    });
  }
  if (spec.baseUrl !== undefined && !/^https?:$/.test(safeProtocol(spec.baseUrl))) {
    throw configError('CEIL_BROWSER_URL_INVALID', `browser.open: baseUrl "${spec.baseUrl}" is not an http(s) URL`, {
      hint: 'use a URL such as http://127.0.0.1:8080',
    });
  }
  const host = browserHost(context.resources, context.settings);
  const release = await host.acquireContext(context.signal);
  let actor: BrowserActor;
  try {
    const { browser } = await raceAbort(host.browser(), context.signal);
    actor = await BrowserActor.open(
      browser,
      {
        name: spec.as,
        insecure: spec.insecure ?? false,
        trace: context.settings.trace !== 'off',
        propagateTrace: context.traceparent !== undefined,
        ...(spec.baseUrl !== undefined ? { baseUrl: spec.baseUrl } : {}),
        ...(spec.viewport !== undefined ? { viewport: spec.viewport } : {}),
        ...(spec.userAgent !== undefined ? { userAgent: spec.userAgent } : {}),
        ...(spec.locale !== undefined ? { locale: spec.locale } : {}),
      },
      context.signal,
    );
  } catch (error) {
    release();
    throw error;
  }
  context.actors.set(spec.as, BROWSER_ACTOR_KIND, actor);
  const redactor = context.redactor;
  context.evidence.push(
    (dir) => actor.collectScreenshot(dir, redactor),
    (dir) => actor.collectTrace(dir, redactor),
  );
  context.teardown.defer(`browser ${spec.as}`, async () => {
    try {
      await actor.shutdown();
    } finally {
      release();
    }
    if (context.actors.get<BrowserActor>(spec.as, BROWSER_ACTOR_KIND) === actor) context.actors.delete(spec.as);
  });
  return { assertions: 0 };
});

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

export const browserGoto = browserStep<'browser.goto'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const url = resolveUrl(spec.url, actor.baseUrl, 'browser.goto');
  const waitUntil = spec.waitUntil ?? 'load';
  await navigate(context, actor, url, waitUntil, (timeout) => actor.page.goto(url, { timeout, waitUntil }));
  return { assertions: 0 };
});

export const browserReload = browserStep<'browser.reload'>(async (step, context) => {
  const actor = actorFor(context, context.render(step.spec).as);
  await navigate(context, actor, actor.page.url(), 'load', (timeout) => actor.page.reload({ timeout, waitUntil: 'load' }));
  return { assertions: 0 };
});

export const browserClick = browserStep<'browser.click'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  await act(context, actor, elementOf(actor, spec.target), 'clicked', (locator, timeout) => locator.click({ timeout }));
  return { assertions: 0 };
});

export const browserFill = browserStep<'browser.fill'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const element = elementOf(actor, spec.target);
  // Remembered before typing: a fill that fails halfway may already show part of the secret in the failure screenshot.
  if (context.redactor.contains(spec.value)) actor.rememberSecretField(element.locator);
  await act(context, actor, element, 'filled', (locator, timeout) => locator.fill(spec.value, { timeout }));
  return { assertions: 0 };
});

export const browserSelect = browserStep<'browser.select'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  if ((spec.value === undefined) === (spec.label === undefined)) {
    throw configError(
      'CEIL_BROWSER_SELECT',
      'browser.select needs exactly one of value (the option value, or a list of them) or label (the visible option text)',
    );
  }
  const options = spec.label !== undefined ? [{ label: spec.label }] : (Array.isArray(spec.value) ? spec.value : [spec.value!]).map((value) => ({ value }));
  await act(context, actor, elementOf(actor, spec.target), 'selected', (locator, timeout) => locator.selectOption(options, { timeout }));
  return { assertions: 0 };
});

export const browserCheck = browserStep<'browser.check'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const checked = spec.checked ?? true;
  await act(context, actor, elementOf(actor, spec.target), checked ? 'checked' : 'unchecked', (locator, timeout) => locator.setChecked(checked, { timeout }));
  return { assertions: 0 };
});

export const browserPress = browserStep<'browser.press'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  if (spec.target) {
    await act(context, actor, elementOf(actor, spec.target), `sent ${spec.key}`, (locator, timeout) => locator.press(spec.key, { timeout }));
    return { assertions: 0 };
  }
  try {
    await raceAbort(actor.page.keyboard.press(spec.key), context.signal);
  } catch (error) {
    if (/Unknown key/i.test(plainMessage(error))) {
      throw configError('CEIL_BROWSER_KEY', plainMessage(error).split('\n')[0]!, {
        hint: 'use key names such as Enter, Tab, Escape, ArrowDown, or combinations such as Control+A',
      });
    }
    throw error;
  }
  return { assertions: 0 };
});

export const browserWaitFor = browserStep<'browser.waitFor'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  if (spec.target === undefined && spec.url === undefined) {
    throw configError('CEIL_BROWSER_WAIT_NOTHING', 'browser.waitFor needs a target, a url, or both');
  }
  const window = stepWindow(context.deadline);
  if (spec.url !== undefined) {
    const pattern = urlPattern(spec.url, actor.baseUrl, 'browser.waitFor');
    const result = await poll(window, context.signal, async () => actor.page.url(), pattern.test);
    if (!result.matched) {
      throw assertionFailed(
        'CEIL_BROWSER_URL',
        `the URL is still ${actor.page.url()} after ${formatMs(Date.now() - window.started)}, expected ${pattern.wording}`,
        {
          expected: pattern.expected,
          actual: actor.page.url(),
        },
      );
    }
  }
  const element = spec.target ? elementOf(actor, spec.target) : undefined;
  if (element) await waitForState(context, actor, element, spec.state ?? 'visible', window);
  return outcome(0, await captureAll(step.capture, actor, element, context));
});

export const browserScreenshot = browserStep<'browser.screenshot'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const dir = screenshotDir(context.settings.outDir, context.journey);
  await mkdir(dir, { recursive: true });
  const window = stepWindow(context.deadline);
  const file = path.join(dir, `${spec.name}.png`);
  await raceAbort(
    actor.screenshot(file, context.redactor, { timeoutMs: msLeft(window), ...(spec.fullPage !== undefined ? { fullPage: spec.fullPage } : {}) }),
    context.signal,
  );
  return { assertions: 0, attachments: [{ name: `screenshot ${spec.name}`, path: file, contentType: 'image/png' }] };
});

export const browserExpectText = browserStep<'browser.expectText'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const expectation = textExpectation(spec, 'browser.expectText');
  const element = elementOf(actor, spec.target);
  const window = stepWindow(context.deadline, within(spec));
  let result: PollResult<string>;
  try {
    result = await poll(window, context.signal, readElementText(element), expectation.test);
  } catch (error) {
    throw await elementFailure(error, actor, element, window, context, 'read');
  }
  if (!result.matched) {
    if (result.last === undefined || result.error !== undefined) {
      if (result.error !== undefined && !isTimeout(result.error)) throw await elementFailure(result.error, actor, element, window, context, 'read');
      throw missing(actor, element, window);
    }
    throw mismatch('CEIL_BROWSER_TEXT', `text of ${element.description}`, expectation, normalizeWhitespace(result.last.value), window);
  }
  return outcome(1, await captureAll(step.capture, actor, element, context));
});

export const browserExpectVisible = browserStep<'browser.expectVisible'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const element = elementOf(actor, spec.target);
  await waitForState(context, actor, element, 'visible', stepWindow(context.deadline, within(spec)));
  return outcome(1, await captureAll(step.capture, actor, element, context));
});

export const browserExpectHidden = browserStep<'browser.expectHidden'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  await waitForState(context, actor, elementOf(actor, spec.target), 'hidden', stepWindow(context.deadline, within(spec)));
  return { assertions: 1 };
});

export const browserExpectUrl = browserStep<'browser.expectUrl'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const expectation = urlExpectation(spec, actor.baseUrl, 'browser.expectUrl');
  const window = stepWindow(context.deadline, within(spec));
  const result = await poll(window, context.signal, async () => actor.page.url(), expectation.test);
  if (!result.matched) {
    const actual = actor.page.url();
    throw assertionFailed('CEIL_BROWSER_URL', `URL is ${actual}, expected ${expectation.wording} (waited ${formatMs(Date.now() - window.started)})`, {
      expected: expectation.expected,
      actual,
    });
  }
  return { assertions: 1 };
});

export const browserExpectTitle = browserStep<'browser.expectTitle'>(async (step, context) => {
  const spec = context.render(step.spec);
  const actor = actorFor(context, spec.as);
  const expectation = textExpectation(spec, 'browser.expectTitle');
  const window = stepWindow(context.deadline, within(spec));
  const result = await poll(window, context.signal, (timeout) => withTimeout(actor.page.title(), timeout, 'the page title'), expectation.test);
  if (!result.matched) {
    if (result.last === undefined)
      throw new StepFailure(
        'timeout',
        'CEIL_BROWSER_TITLE_UNREAD',
        `the title of ${actor.name}'s page could not be read within ${formatMs(Date.now() - window.started)}: ${plainMessage(result.error)}`,
      );
    throw mismatch('CEIL_BROWSER_TITLE', 'title', expectation, normalizeWhitespace(result.last.value), window);
  }
  return { assertions: 1 };
});
