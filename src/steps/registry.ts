import type { StepKind } from '../journey/schema.js';
import type { Executor } from './executor.js';

/**
 * The closed registry of step executors. Each is loaded on first use, so a run
 * of HTTP journeys never loads the WebSocket (or browser) code. The compiler
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
