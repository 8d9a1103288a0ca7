import type { Journey } from '../journey/journey.js';
import { EXIT } from '../core/exit-codes.js';
import type { Reporter } from '../report/reporter.js';
import { runJourney, type JourneyRunOptions } from './journey-runner.js';
import { SharedResources } from './shared-resources.js';
import { EventLoopDelayMonitor } from './runner-health.js';
import { raceAbort } from '../core/deadline.js';
import { prepareSteps } from '../steps/registry.js';
import type { RunResources } from '../steps/executor.js';
import { stalledWithoutVerdict, totalsOf, type JourneyResult, type RunResult, type RunStatus } from '../core/result.js';

/** A collector that is down costs the run at most this long at its end (one export's own timeout is shorter). */
export const TRACE_FLUSH_LIMIT_MS = 5_000;

export interface RunOptions extends Omit<JourneyRunOptions, 'resources' | 'onJourneyStart' | 'onStepEnd'> {
  concurrency: number;
  /** Vars of one journey's own target (run --target over a discovered group runs each journey once per instance); they win over `vars`. */
  varsOf?: (journey: Journey) => Readonly<Record<string, string>> | undefined;
  failOnFlaky: boolean;
  reporter: Reporter;
  version: string;
  /** The owner of the long-lived resources (the browser), which outlive this run: `run --watch` keeps one browser across runs. */
  longLived?: RunResources;
}

export function decideStatus(journeys: readonly JourneyResult[], interrupted: boolean, failOnFlaky: boolean): { status: RunStatus; exitCode: number } {
  if (interrupted) return { status: 'interrupted', exitCode: EXIT.interrupted };
  if (journeys.some((journey) => journey.attempts.at(-1)?.failure?.class === 'config')) return { status: 'invalid', exitCode: EXIT.invalid };
  const failing = journeys.filter((journey) => journey.status === 'failed' || journey.status === 'error' || (failOnFlaky && journey.status === 'flaky'));
  // Exit 1 is a verdict on the service; a journey the runner's stall kept from one gives exit 3, as the gate's inconclusive does.
  if (failing.length > 0 && failing.every(stalledWithoutVerdict)) return { status: 'inconclusive', exitCode: EXIT.nothingTested };
  if (failing.length > 0) return { status: 'failed', exitCode: EXIT.failed };
  if (journeys.length === 0 || journeys.some((journey) => journey.assertions === 0)) return { status: 'nothing-tested', exitCode: EXIT.nothingTested };
  return { status: 'passed', exitCode: EXIT.passed };
}

/**
 * Loads what the journeys need (step code, Playwright, the browser itself)
 * before the first one starts, so none of it stalls a journey in flight.
 */
export function prepareJourneys(
  journeys: readonly Journey[],
  resources: RunResources,
  settings: { outDir: string; browserPath?: string; trace?: 'retain-on-failure' | 'off' },
): Promise<void> {
  return prepareSteps(
    journeys.flatMap((journey) => journey.steps.map((step) => step.kind)),
    resources,
    settings,
  );
}

/**
 * Works through `items` with at most `concurrency` in flight, taking them in
 * order; stops taking new ones once `signal` is aborted. `run` and the gate's
 * rounds share it.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, () => worker()));
}

/** Runs journeys with at most `concurrency` in flight, in file order, and reports as they finish. */
export async function runJourneys(journeys: readonly Journey[], options: RunOptions): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const resources = new SharedResources(options.longLived);
  const results: (JourneyResult | undefined)[] = new Array(journeys.length);
  const eventLoop = new EventLoopDelayMonitor();
  let eventLoopDelayMaxMs: number;
  options.reporter.onRunStart?.({ startedAt, journeys: journeys.map((journey) => ({ name: journey.name, file: journey.file })) });
  const journeyOptions: JourneyRunOptions = {
    ...options,
    resources,
    onJourneyStart: (ref) => options.reporter.onJourneyStart?.(ref),
    onStepEnd: (ref, step) => options.reporter.onStepEnd?.(ref, step),
  };
  try {
    // An interrupt during a slow browser start ends the wait; a failure here is reported by the steps that need the thing.
    await raceAbort(
      prepareJourneys(journeys, resources, {
        outDir: options.outDir,
        ...(options.browserPath !== undefined ? { browserPath: options.browserPath } : {}),
        ...(options.trace !== undefined ? { trace: options.trace } : {}),
      }),
      options.signal,
    ).catch(() => undefined);
    // The preparation's own delay is expected; what counts is the delay while journeys are live.
    eventLoop.takeMaxSeconds();
    await runPool(journeys, options.concurrency, options.signal, async (journey, index) => {
      const own = options.varsOf?.(journey);
      const result = await runJourney(journey, own ? { ...journeyOptions, vars: { ...options.vars, ...own } } : journeyOptions);
      results[index] = result;
      options.reporter.onJourneyEnd?.(result);
    });
    eventLoopDelayMaxMs = Math.round(eventLoop.takeMaxSeconds() * 1000);
    // The spans go out before the reports, so the JSON result can say how many arrived.
    await options.tracing?.tracer.flush(TRACE_FLUSH_LIMIT_MS);
  } finally {
    eventLoop.stop();
    await resources.closeAll();
  }
  const finished = results.filter((result): result is JourneyResult => result !== undefined);
  const interrupted = options.signal.aborted;
  const { status, exitCode } = decideStatus(finished, interrupted, options.failOnFlaky);
  const result: RunResult = {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: options.version },
    startedAt,
    durationMs: Math.round(performance.now() - started),
    status,
    interrupted,
    failOnFlaky: options.failOnFlaky,
    exitCode,
    totals: totalsOf(finished),
    runner: { eventLoopDelayMaxMs },
    ...(options.tracing ? { tracing: options.tracing.tracer.stats() } : {}),
    journeys: finished,
  };
  await options.reporter.onRunEnd(result);
  return result;
}
