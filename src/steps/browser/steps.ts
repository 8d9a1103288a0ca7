import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import type { FailureCode } from '../../core/failure-codes.js';
import { abortFailure, raceAbort, sleep } from '../../core/deadline.js';
import type { BrowserTarget } from '../../journey/browser-schema.js';
import { durationMs, formatMs } from '../../journey/duration.js';
import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import type { CaptureMap, StepKind } from '../../journey/schema.js';
import { journeyFolderName, type StepOf } from '../../journey/journey.js';
import type { Redactor } from '../../secrets/redactor.js';
import type { Executor, StepContext, StepOutcome } from '../executor.js';
import { BROWSER_ACTOR_KIND, BrowserActor } from './actor.js';
import { isTimeout, lastLogLine, msLeft, plainMessage, stepWindow, withTimeout, type Window } from './bounds.js';
import { ambiguous, browserFailure, isStrictViolation, noElement } from './failures.js';
import { describeLocator, locatorFor } from './locate.js';
import { browserHost } from './launch.js';
import { compileRegex, normalizeWhitespace, resolveUrl, textExpectation, urlExpectation, urlPattern, type TextExpectation } from './match.js';

/** The first re-checks come quickly because most pages settle within a few frames; a read is one round trip to the browser. */
const POLL_INTERVALS_MS = [10, 25, 50, 100, 250, 500];
/** Asking how many elements match is one round trip; after a timeout it must not eat into what is left. */
const COUNT_LIMIT_MS = 1_000;
/** A read given less time than this may time out merely for lack of time. */
const INCONCLUSIVE_READ_MS = 100;
/** Texts in messages are cut here; the full text is in actual. */
const SHOWN_TEXT = 200;
const DETAIL_TEXT = 2_000;

type BrowserKind = Extract<StepKind, `browser.${string}`>;

/** An element as steps see it: the locator, and how messages name it. */
interface Element {
  locator: Locator;
  description: string;
}

function actorFor(context: StepContext, name: string): BrowserActor {
  const actor = context.actors.get<BrowserActor>(name, BROWSER_ACTOR_KIND);
  if (!actor || actor.closed) {
    throw configError('CEIL_ACTOR_UNKNOWN', `there is no open browser page "${name}"`, { hint: `open it first with a browser.open step with as: ${name}` });
  }
  return actor;
}

function elementOf(actor: BrowserActor, target: BrowserTarget): Element {
  return { locator: locatorFor(actor.page, target), description: describeLocator(target) };
}

function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}

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
function browserStep<K extends BrowserKind>(run: (step: StepOf<K>, context: StepContext) => Promise<StepOutcome>): Executor<K> {
  return async (step, context) => {
    try {
      return await run(step, context);
    } catch (error) {
      const actor = ((step as { spec?: { as?: unknown } }).spec ?? {}).as;
      throw redacted(browserFailure(error, context.signal, typeof actor === 'string' ? actor : 'the browser'), context.redactor);
    }
  };
}

/** How many elements match, or undefined when even that cannot be learned in time. */
async function countOf(locator: Locator, signal: AbortSignal): Promise<number | undefined> {
  try {
    return await raceAbort(withTimeout(locator.count(), COUNT_LIMIT_MS), signal);
  } catch (error) {
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

function missing(actor: BrowserActor, element: Element, window: Window): StepFailure {
  const failure = noElement(element.description, Date.now() - window.started, pageNote(actor));
  return new StepFailure(failure.failureClass, failure.code, failure.message, { ...failure.details, actual: pageDetails(actor) });
}

/** What an element's action or wait threw, said in terms of the page: missing, ambiguous, or present but unusable. */
async function elementFailure(error: unknown, actor: BrowserActor, element: Element, window: Window, context: StepContext, verb: string): Promise<StepFailure> {
  if (error instanceof StepFailure) return error;
  if (context.signal.aborted) return abortFailure(context.signal);
  if (isStrictViolation(error)) return ambiguous(error, element.description);
  const message = plainMessage(error);
  if (/Unknown key/i.test(message)) {
    return configError('CEIL_BROWSER_KEY', `${message.split('\n')[0]}`, { hint: 'use key names such as Enter, Tab, Escape, ArrowDown, or combinations such as Control+A' });
  }
  if (isTimeout(error)) {
    const count = await countOf(element.locator, context.signal);
    if (count === 0) return missing(actor, element, window);
    const why = lastLogLine(error);
    const waited = formatMs(Date.now() - window.started);
    return assertionFailed(
      'CEIL_BROWSER_NOT_ACTIONABLE',
      count === undefined ? `${element.description} could not be ${verb} within ${waited}` : `${element.description} is on the page but could not be ${verb} within ${waited}${why ? `: ${why}` : ''}`,
      { hint: 'an element must be visible, enabled, stable and not covered by another one to be used; the screenshot in the evidence shows the page' },
    );
  }
  const failure = browserFailure(error, context.signal, actor.name);
  if (failure.code !== 'CEIL_BROWSER_ERROR') return failure;
  // Anything else Playwright refuses (filling a <div>, selecting from a <p>) is a finding about the page, not the run.
  return assertionFailed('CEIL_BROWSER_ACTION', `${element.description} could not be ${verb}: ${message.split('\n')[0]}`);
}

/** Runs one locator action bounded by the step deadline; Playwright waits for the element to be actionable meanwhile. */
async function act(context: StepContext, actor: BrowserActor, element: Element, verb: string, run: (locator: Locator, timeoutMs: number) => Promise<unknown>): Promise<void> {
  const window = stepWindow(context.deadline);
  try {
    await raceAbort(run(element.locator, msLeft(window)), context.signal);
  } catch (error) {
    throw await elementFailure(error, actor, element, window, context, verb);
  }
}

async function navigate(context: StepContext, actor: BrowserActor, url: string, waitUntil: string, go: (timeoutMs: number) => Promise<unknown>): Promise<void> {
  const window = stepWindow(context.deadline);
  const documentsBefore = actor.documentsReceived;
  try {
    await raceAbort(go(msLeft(window)), context.signal);
  } catch (error) {
    if (!isTimeout(error) || context.signal.aborted) throw browserFailure(error, context.signal, actor.name, url);
    const waited = formatMs(Date.now() - window.started);
    if (actor.documentsReceived > documentsBefore) {
      throw new StepFailure('timeout', 'CEIL_BROWSER_LOAD_TIMEOUT', `${url} did not finish loading within ${waited}: the page arrived, but its "${waitUntil}" event never came`, {
        hint: 'a script, stylesheet, image or frame of the page never finished loading; fix it, or wait for less with waitUntil: domcontentloaded',
      });
    }
    throw new StepFailure('timeout', 'CEIL_BROWSER_LOAD_TIMEOUT', `${url} sent no page within ${waited}`, {
      hint: 'the server accepted the connection but never answered; is it stuck or overloaded?',
    });
  }
}

interface PollResult<T> {
  matched: boolean;
  /** The last value read, if any read succeeded. */
  last?: { value: T };
  /** Set when the last read failed (the element was missing, the page was navigating). */
  error?: unknown;
}

/**
 * Reads and checks again until the check holds or the window ends, like
 * Playwright's web-first assertions. A read may itself wait (for the element
 * to appear) up to the end of the window. Failures that cannot heal (strict
 * mode, a closed page) end the poll at once.
 */
async function poll<T>(window: Window, signal: AbortSignal, read: (timeoutMs: number) => Promise<T>, accept: (value: T) => boolean): Promise<PollResult<T>> {
  let last: { value: T } | undefined;
  let error: unknown;
  for (let round = 0; ; round++) {
    const timeoutMs = msLeft(window);
    try {
      const value = await raceAbort(read(timeoutMs), signal);
      last = { value };
      error = undefined;
      if (accept(value)) return { matched: true, last };
    } catch (caught) {
      if (caught instanceof StepFailure || signal.aborted || isStrictViolation(caught) || browserFailure(caught, signal, '').code === 'CEIL_BROWSER_CLOSED') throw caught;
      // A read squeezed into the last few milliseconds times out without saying the element went away; the earlier reading stands.
      if (!(isTimeout(caught) && timeoutMs < INCONCLUSIVE_READ_MS && last !== undefined)) error = caught;
    }
    const left = window.until - Date.now();
    if (left <= 0) return { matched: false, ...(last ? { last } : {}), ...(error !== undefined ? { error } : {}) };
    await sleep(Math.min(POLL_INTERVALS_MS[Math.min(round, POLL_INTERVALS_MS.length - 1)]!, left), signal);
  }
}

/** What a person reads in the element: a field's value, otherwise its rendered text. Runs in the page. */
function elementText(node: Node): string {
  const element = node as HTMLElement;
  if (element.tagName === 'INPUT' || element.tagName === 'TEXTAREA') return (element as HTMLInputElement).value;
  return element.innerText ?? element.textContent ?? '';
}

const readElementText = (element: Element) => (timeoutMs: number) => element.locator.evaluate(elementText, undefined, { timeout: timeoutMs });

/** As Playwright's own expect: a check that has not come true in 5 s is a failure, not a wait for the journey's deadline. */
export const DEFAULT_EXPECT_WITHIN_MS = 5_000;

function within(spec: { within?: string | undefined }): number {
  return spec.within === undefined ? DEFAULT_EXPECT_WITHIN_MS : durationMs(spec.within);
}

type WaitState = 'visible' | 'hidden' | 'attached' | 'detached';

/** Waits for an element's state, and on timeout says which of missing, hidden or still there it is. */
async function waitForState(context: StepContext, actor: BrowserActor, element: Element, state: WaitState, window: Window): Promise<void> {
  try {
    await raceAbort(element.locator.waitFor({ state, timeout: msLeft(window) }), context.signal);
    return;
  } catch (error) {
    if (!isTimeout(error)) throw await elementFailure(error, actor, element, window, context, 'found');
  }
  const waited = formatMs(Date.now() - window.started);
  if (state === 'hidden') {
    throw assertionFailed('CEIL_BROWSER_STILL_VISIBLE', `${element.description} is still visible after ${waited}`, { expected: 'hidden or absent', actual: 'visible' });
  }
  if (state === 'detached') {
    throw assertionFailed('CEIL_BROWSER_STILL_ATTACHED', `${element.description} is still on the page after ${waited}`, { expected: 'absent', actual: 'on the page' });
  }
  const count = await countOf(element.locator, context.signal);
  if (count === 0 || state === 'attached') throw missing(actor, element, window);
  throw assertionFailed(
    'CEIL_BROWSER_NOT_VISIBLE',
    count === undefined ? `${element.description} did not become visible within ${waited}` : `${element.description} is on the page but not visible after ${waited}`,
    { expected: 'visible', actual: count === undefined ? 'unknown' : 'hidden' },
  );
}

/** Fails with "expected X, got Y" once a poll of a text ran out. */
function mismatch(code: FailureCode, subject: string, expectation: TextExpectation, actual: string, window: Window): StepFailure {
  const shown = shorten(actual, SHOWN_TEXT);
  return assertionFailed(code, `${subject} is "${shown}", expected ${expectation.wording} (waited ${formatMs(Date.now() - window.started)})`, {
    expected: expectation.expected,
    actual: shorten(actual, DETAIL_TEXT),
  });
}

// ---- capture ----------------------------------------------------------------

const captureHint = 'browser steps capture text, value, attribute.<name>, url, title, or { regex, group, from } over one of those';

async function readCaptureSource(name: string, source: string, actor: BrowserActor, element: Element | undefined, context: StepContext): Promise<string> {
  if (source === 'url') return actor.page.url();
  const window = stepWindow(context.deadline);
  if (source === 'title') return raceAbort(withTimeout(actor.page.title(), msLeft(window)), context.signal);
  const attribute = /^attribute\.(.+)$/.exec(source)?.[1];
  if (source !== 'text' && source !== 'value' && attribute === undefined) {
    throw configError('CEIL_CAPTURE_SOURCE', `capture ${name}: unknown source "${source}"`, { hint: captureHint });
  }
  if (!element) throw configError('CEIL_CAPTURE_SOURCE', `capture ${name}: "${source}" is read from an element, and this step has no target`, { hint: 'add a target, or capture url or title' });
  try {
    if (source === 'text') return normalizeWhitespace(await raceAbort(readElementText(element)(msLeft(window)), context.signal));
    if (source === 'value') return await raceAbort(element.locator.inputValue({ timeout: msLeft(window) }), context.signal);
    const value = await raceAbort(element.locator.getAttribute(attribute!, { timeout: msLeft(window) }), context.signal);
    if (value === null) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: ${element.description} has no attribute ${attribute}`, { path: `capture.${name}` });
    return value;
  } catch (error) {
    if (error instanceof StepFailure || context.signal.aborted) throw error;
    if (isStrictViolation(error)) throw ambiguous(error, element.description);
    throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: cannot read the ${source} of ${element.description}: ${plainMessage(error).split('\n')[0]}`, { path: `capture.${name}` });
  }
}

async function captureAll(map: CaptureMap | undefined, actor: BrowserActor, element: Element | undefined, context: StepContext): Promise<Record<string, unknown> | undefined> {
  if (!map) return undefined;
  const captured: Record<string, unknown> = {};
  for (const [name, source] of Object.entries(map)) {
    if (typeof source === 'string') {
      captured[name] = await readCaptureSource(name, source, actor, element, context);
      continue;
    }
    const from = source.from ?? (element ? 'text' : 'url');
    const input = await readCaptureSource(name, from, actor, element, context);
    const found = compileRegex(source.regex, `capture ${name}`).exec(input);
    if (!found) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: /${source.regex}/ found nothing in the ${from}`, { path: `capture.${name}`, actual: shorten(input, DETAIL_TEXT) });
    // As with http and ws: without a group, the first group is what "id=(\d+)" is written for; a pattern without groups gives the whole match.
    const group = source.group ?? (found.length > 1 ? 1 : 0);
    const value = typeof group === 'number' ? found[group] : found.groups?.[group];
    if (value === undefined) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: group ${String(group)} of /${source.regex}/ is empty`, { path: `capture.${name}` });
    captured[name] = value;
  }
  return captured;
}

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
    throw configError('CEIL_ACTOR_OPEN', `actor "${spec.as}" already exists`, { hint: 'each browser.open needs a name of its own: one actor is one user with one page' });
  }
  if (spec.baseUrl !== undefined && !/^https?:$/.test(safeProtocol(spec.baseUrl))) {
    throw configError('CEIL_BROWSER_URL_INVALID', `browser.open: baseUrl "${spec.baseUrl}" is not an http(s) URL`, { hint: 'use a URL such as http://127.0.0.1:8080' });
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
    throw configError('CEIL_BROWSER_SELECT', 'browser.select needs exactly one of value (the option value, or a list of them) or label (the visible option text)');
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
      throw configError('CEIL_BROWSER_KEY', plainMessage(error).split('\n')[0]!, { hint: 'use key names such as Enter, Tab, Escape, ArrowDown, or combinations such as Control+A' });
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
      throw assertionFailed('CEIL_BROWSER_URL', `the URL is still ${actor.page.url()} after ${formatMs(Date.now() - window.started)}, expected ${pattern.wording}`, {
        expected: pattern.expected,
        actual: actor.page.url(),
      });
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
  await raceAbort(actor.screenshot(file, context.redactor, { timeoutMs: msLeft(window), ...(spec.fullPage !== undefined ? { fullPage: spec.fullPage } : {}) }), context.signal);
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
    throw assertionFailed('CEIL_BROWSER_URL', `URL is ${actual}, expected ${expectation.wording} (waited ${formatMs(Date.now() - window.started)})`, { expected: expectation.expected, actual });
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
    if (result.last === undefined) throw new StepFailure('timeout', 'CEIL_BROWSER_TITLE_UNREAD', `the title of ${actor.name}'s page could not be read within ${formatMs(Date.now() - window.started)}: ${plainMessage(result.error)}`);
    throw mismatch('CEIL_BROWSER_TITLE', 'title', expectation, normalizeWhitespace(result.last.value), window);
  }
  return { assertions: 1 };
});
