import type { StepKind } from '../journey/schema.js';
import type { Executor, RunResources, RunSettings } from './executor.js';

/**
 * The closed registry of step executors. Each is loaded on first use, so a run
 * of HTTP journeys never loads the WebSocket client or Playwright. The compiler
 * checks that every step kind has exactly one executor.
 */
type ExecutorLoaders = { [K in StepKind]: () => Promise<Executor<K>> };

const executorLoaders = {
  http: () => import('./http/step.js').then((module) => module.httpStep),
  'ws.connect': () => import('./ws/steps.js').then((module) => module.wsConnect),
  'ws.send': () => import('./ws/steps.js').then((module) => module.wsSend),
  'ws.expect': () => import('./ws/steps.js').then((module) => module.wsExpect),
  'ws.expectNone': () => import('./ws/steps.js').then((module) => module.wsExpectNone),
  'ws.close': () => import('./ws/steps.js').then((module) => module.wsClose),
  'ws.drop': () => import('./ws/steps.js').then((module) => module.wsDrop),
  'ws.ghost': () => import('./ws/steps.js').then((module) => module.wsGhost),
  'ws.expectClosed': () => import('./ws/steps.js').then((module) => module.wsExpectClosed),
  wait: () => import('./flow.js').then((module) => module.waitStep),
  assert: () => import('./flow.js').then((module) => module.assertStep),
  set: () => import('./flow.js').then((module) => module.setStep),
  'browser.open': () => import('./browser/steps.js').then((module) => module.browserOpen),
  'browser.goto': () => import('./browser/steps.js').then((module) => module.browserGoto),
  'browser.reload': () => import('./browser/steps.js').then((module) => module.browserReload),
  'browser.click': () => import('./browser/steps.js').then((module) => module.browserClick),
  'browser.fill': () => import('./browser/steps.js').then((module) => module.browserFill),
  'browser.select': () => import('./browser/steps.js').then((module) => module.browserSelect),
  'browser.check': () => import('./browser/steps.js').then((module) => module.browserCheck),
  'browser.press': () => import('./browser/steps.js').then((module) => module.browserPress),
  'browser.waitFor': () => import('./browser/steps.js').then((module) => module.browserWaitFor),
  'browser.screenshot': () => import('./browser/steps.js').then((module) => module.browserScreenshot),
  'browser.expectText': () => import('./browser/steps.js').then((module) => module.browserExpectText),
  'browser.expectVisible': () => import('./browser/steps.js').then((module) => module.browserExpectVisible),
  'browser.expectHidden': () => import('./browser/steps.js').then((module) => module.browserExpectHidden),
  'browser.expectUrl': () => import('./browser/steps.js').then((module) => module.browserExpectUrl),
  'browser.expectTitle': () => import('./browser/steps.js').then((module) => module.browserExpectTitle),
} satisfies ExecutorLoaders;

const loaded = new Map<StepKind, Promise<Executor<StepKind>>>();

export function loadExecutor<K extends StepKind>(kind: K): Promise<Executor<K>> {
  let executor = loaded.get(kind);
  if (!executor) {
    executor = (executorLoaders[kind] as () => Promise<Executor<StepKind>>)();
    loaded.set(kind, executor);
  }
  return executor as unknown as Promise<Executor<K>>;
}

/**
 * Loads every executor the given steps need, warms the HTTP client and starts
 * the browser when one is needed, before the first journey runs. Loading Playwright blocks the
 * event loop for half a second on a busy machine; done mid-run, that froze
 * WebSocket actors until the server's keepalive dropped them. A browser that
 * cannot start is not an error here: the browser steps report it, and the
 * next one tries again.
 */
export async function prepareSteps(kinds: Iterable<StepKind>, resources: RunResources, settings: RunSettings): Promise<void> {
  const needed = new Set(kinds);
  await Promise.all([...needed].map((kind) => loadExecutor(kind)));
  if (needed.has('http')) {
    const { warmHttpClient } = await import('./http/warm-up.js');
    await warmHttpClient();
  }
  if (needed.has('browser.open')) {
    const { browserHost } = await import('./browser/launch.js');
    await browserHost(resources, settings)
      .browser()
      .catch(() => undefined);
  }
}
