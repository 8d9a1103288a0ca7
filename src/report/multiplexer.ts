/**
 * Fans every event out to the configured reporters. Two guarantees live here
 * and nowhere else:
 * - the secrets boundary: each payload is redacted once, before any reporter
 *   sees it, so a reporter cannot leak what it never received;
 * - isolation: a reporter that throws or rejects is recorded and reported
 *   on the warning sink, and the run and the other reporters carry on.
 */
import type { JourneyResult, RunResult, StepResult } from '../core/result.js';
import type { Redactor } from '../secrets/redactor.js';
import type { JourneyRef, Reporter, RunStartInfo } from './reporter.js';
import { logSafe } from './terminal-text.js';

export type ReporterHook = 'onRunStart' | 'onJourneyStart' | 'onStepEnd' | 'onJourneyEnd' | 'onRunEnd';

export interface ReporterFault {
  reporter: string;
  hook: ReporterHook;
  /** The value thrown, as it was; it may hold secrets, so print `message` instead. */
  error: unknown;
  /** Redacted, one line. */
  message: string;
}

export interface ReporterMultiplexerOptions {
  reporters: readonly Reporter[];
  redactor: Redactor;
  /** Receives one redacted line per reporter fault; stderr when not given. */
  warn?: (text: string) => void;
}

const writeToStderr = (text: string): void => {
  process.stderr.write(`${logSafe(text)}\n`);
};

function describe(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    // Some thrown values (Object.create(null)) cannot even be turned into a string.
    text = 'a value that cannot be printed';
  }
  return text.replace(/\s+/g, ' ').trim();
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

export class ReporterMultiplexer implements Reporter {
  readonly name = 'multiplexer';
  private readonly reporters: readonly Reporter[];
  private readonly redactor: Redactor;
  private readonly warn: (text: string) => void;
  private readonly faults: ReporterFault[] = [];
  // Live hooks are fire-and-forget for the engine; their rejections are awaited at the end so none goes unrecorded.
  private readonly pending = new Set<Promise<void>>();

  constructor(options: ReporterMultiplexerOptions) {
    this.reporters = [...options.reporters];
    this.redactor = options.redactor;
    this.warn = options.warn ?? writeToStderr;
  }

  get errors(): readonly ReporterFault[] {
    return this.faults;
  }

  onRunStart(info: RunStartInfo): void {
    const safe = this.redactor.redactDeep(info);
    this.dispatch('onRunStart', (reporter) => reporter.onRunStart?.(safe));
  }

  onJourneyStart(journey: JourneyRef): void {
    const safe = this.redactor.redactDeep(journey);
    this.dispatch('onJourneyStart', (reporter) => reporter.onJourneyStart?.(safe));
  }

  onStepEnd(journey: JourneyRef, step: StepResult): void {
    const safeJourney = this.redactor.redactDeep(journey);
    const safeStep = this.redactor.redactDeep(step);
    this.dispatch('onStepEnd', (reporter) => reporter.onStepEnd?.(safeJourney, safeStep));
  }

  onJourneyEnd(result: JourneyResult): void {
    const safe = this.redactor.redactDeep(result);
    this.dispatch('onJourneyEnd', (reporter) => reporter.onJourneyEnd?.(safe));
  }

  /** Reporters finish one after another, so outputs that share stdout do not interleave. */
  async onRunEnd(result: RunResult): Promise<void> {
    await Promise.all(this.pending);
    const safe = this.redactor.redactDeep(result);
    for (const reporter of this.reporters) {
      try {
        await reporter.onRunEnd(safe);
      } catch (error) {
        this.record(reporter, 'onRunEnd', error);
      }
    }
  }

  private dispatch(hook: ReporterHook, call: (reporter: Reporter) => unknown): void {
    for (const reporter of this.reporters) {
      try {
        const returned = call(reporter);
        if (isPromiseLike(returned)) this.track(reporter, hook, returned);
      } catch (error) {
        this.record(reporter, hook, error);
      }
    }
  }

  private track(reporter: Reporter, hook: ReporterHook, promise: PromiseLike<unknown>): void {
    const settled = Promise.resolve(promise).then(
      () => undefined,
      (error: unknown) => this.record(reporter, hook, error),
    );
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  private record(reporter: Reporter, hook: ReporterHook, error: unknown): void {
    const message = this.redactor.redact(describe(error));
    const reporterName = this.redactor.redact(reporter.name);
    this.faults.push({ reporter: reporterName, hook, error, message });
    try {
      this.warn(`ceiling: reporter "${reporterName}" failed in ${hook}: ${message}`);
    } catch {
      // The warning sink is the last resort; if it fails too, the fault is still in `errors`.
    }
  }
}
