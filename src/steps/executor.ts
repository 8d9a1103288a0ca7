import type { Attachment, HttpPhases } from '../core/result.js';
import type { TeardownStack } from '../core/teardown.js';
import type { StepOf } from '../journey/journey.js';
import type { StepKind } from '../journey/schema.js';
import type { Redactor } from '../secrets/redactor.js';

/** Long-lived things a step creates and later steps use, such as WebSocket clients, by name. */
export class Actors {
  private readonly byName = new Map<string, { kind: string; actor: unknown }>();

  set(name: string, kind: string, actor: unknown): void {
    this.byName.set(name, { kind, actor });
  }

  get<T>(name: string, kind: string): T | undefined {
    const entry = this.byName.get(name);
    return entry && entry.kind === kind ? (entry.actor as T) : undefined;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  delete(name: string): void {
    this.byName.delete(name);
  }
}

/** The key under which the run's one browser host is shared by all its journeys. */
export const BROWSER_RESOURCE = 'browser';

/**
 * Resources worth keeping across runs in a long-lived process (serve's
 * daemon, the gate's rounds): a browser costs over a second to start, a fresh
 * context in a running one a fraction of that.
 */
export const LONG_LIVED_RESOURCES: ReadonlySet<string> = new Set([BROWSER_RESOURCE]);

/** Shared by every journey of one run, closed once at its end (connection pools and the like). */
export interface RunResources {
  /** Returns a resource created once per run under this key; close runs at run end. */
  shared<T>(key: string, create: () => T, close: (value: T) => Promise<void> | void): T;
}

/**
 * Writes evidence of a failure into `dir` (which exists) and says what it
 * wrote. Actors register one when they are created; the engine calls them
 * only when an attempt fails, before the teardown closes the actors.
 */
export type EvidenceCollector = (dir: string) => Promise<Attachment[]>;

/** Settings of the whole run that some steps need. */
export interface RunSettings {
  /** Where artifacts go (--out). */
  outDir: string;
  /** An explicit browser executable (--browser-path or CEILING_BROWSER_PATH). */
  browserPath?: string;
  /** Browser traces: recorded and kept when a journey fails (the default), or not recorded (--trace off). */
  trace?: 'retain-on-failure' | 'off';
}

export interface StepContext {
  /** Aborts at the step's timeout, the journey's deadline or an interrupt; its reason is a StepFailure. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds of the earlier of the step timeout and the journey deadline. */
  readonly deadline: number;
  readonly vars: Record<string, unknown>;
  readonly actors: Actors;
  readonly teardown: TeardownStack;
  readonly evidence: EvidenceCollector[];
  readonly redactor: Redactor;
  readonly resources: RunResources;
  readonly settings: RunSettings;
  /** The journey this step belongs to, for files a step writes. */
  readonly journey: { readonly name: string; readonly file: string };
  /** Renders {{ templates }} in a value with the journey's current scope. */
  render<T>(value: T): T;
  /**
   * The W3C traceparent of this step's span, set only while OpenTelemetry
   * tracing is on and the journey propagates it: HTTP requests, WebSocket
   * upgrades and page loads send it unless the journey set its own.
   */
  readonly traceparent?: string;
  /** HTTP steps report where the request's time went, kept in the step's result even when it fails. */
  recordPhases?(phases: HttpPhases): void;
}

export interface StepOutcome {
  /** The number of checks made; 0 for pure actions. */
  assertions: number;
  /** Values to store in vars for later steps. */
  captured?: Record<string, unknown>;
  /** Files the step wrote on purpose (a named screenshot), listed in the reports. */
  attachments?: Attachment[];
}

export type Executor<K extends StepKind> = (step: StepOf<K>, context: StepContext) => Promise<StepOutcome>;
