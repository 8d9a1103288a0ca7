import type { FailureClass } from './failure.js';
import type { SourceLocation } from './source-location.js';

/**
 * The result model: what every reporter renders. It is plain JSON (no class
 * instances, no Dates) so the JSON reporter can write it as it is.
 */

export interface FailureInfo {
  class: FailureClass;
  code: string;
  message: string;
  /** Where in the response or value the mismatch sits, e.g. `json.items[0].id`. */
  path?: string;
  expected?: unknown;
  actual?: unknown;
  hint?: string;
  /**
   * Set when the failure is on time (a timeout, a latency bound, a dropped
   * WebSocket) and Ceiling's own event loop was frozen for this long, a large
   * share of the step: the runner may be to blame, not the service.
   */
  runnerStallMs?: number;
  /** Where it went wrong when no step did: a journey var whose template failed. */
  location?: SourceLocation;
}

/** Where an HTTP step's time went, as blackbox_exporter splits it; ms, summed over redirects. */
export interface HttpPhases {
  /** Name resolution; 0 for an IP address or a reused connection. */
  dnsMs: number;
  /** TCP connect; 0 for a reused connection. */
  connectMs: number;
  /** TLS handshake; 0 for plain HTTP or a reused connection. */
  tlsMs: number;
  /** From the request being written to the response headers (server processing). */
  firstByteMs: number;
  /** Reading (and decoding) the body. */
  bodyMs: number;
  /** The whole request, from its start to the last byte of the body. */
  totalMs: number;
}

export type StepStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepResult {
  index: number;
  name: string;
  kind: string;
  location: SourceLocation;
  status: StepStatus;
  /** From the step's work starting (after its code is loaded) to its end. */
  durationMs: number;
  /** HTTP steps: where the request's time went. */
  phases?: HttpPhases;
  /** How many checks the step made; a journey with none tested nothing. */
  assertions: number;
  failure?: FailureInfo;
  /** Files the step wrote on purpose, such as a named screenshot. */
  attachments?: Attachment[];
  /** Set on the journey's finally (cleanup) steps; index then counts within finally. */
  section?: 'finally';
}

/** A file written as evidence of a failure (a screenshot, a trace), relative to the working directory. */
export interface Attachment {
  name: string;
  path: string;
  contentType: string;
}

/** failed: an assertion did not hold. error: the journey could not be carried out (timeout, connect, …). */
export type AttemptStatus = 'passed' | 'failed' | 'error';

export interface AttemptResult {
  attempt: number;
  status: AttemptStatus;
  startedAt: string;
  durationMs: number;
  steps: StepResult[];
  /** The step that ended the attempt, when it did not pass. */
  failedStep?: number;
  failure?: FailureInfo;
  /** The journey's finally (cleanup) steps, run once per attempt after the steps whatever happened. */
  finallySteps?: StepResult[];
  /**
   * The first finally step's failure. When the steps passed it is also the
   * attempt's failure; when they did not, it stands beside that failure and
   * never replaces it.
   */
  finallyFailure?: FailureInfo;
  /** The finally step that failed (its index within finally). */
  failedFinallyStep?: number;
  /** Errors raised while tearing down actors; they never change the status. */
  cleanupErrors: string[];
  /** Evidence collected when the attempt did not pass. */
  attachments?: Attachment[];
  /** An attempt beyond the retries, made because the runner's own stall explained the one before it. */
  afterRunnerStall?: true;
  /** The OpenTelemetry trace of this attempt, when tracing is on (--otlp-endpoint): find the backend's side of it by this id. */
  traceId?: string;
}

/** flaky: passed after at least one failed attempt. */
export type JourneyStatus = 'passed' | 'failed' | 'error' | 'flaky';

export interface JourneyResult {
  name: string;
  file: string;
  tags: string[];
  status: JourneyStatus;
  startedAt: string;
  durationMs: number;
  /** Checks made by the last attempt. */
  assertions: number;
  /** The longest the runner's own event loop was blocked while this journey ran, ms. */
  eventLoopDelayMaxMs?: number;
  attempts: AttemptResult[];
}

export interface TracingTotals {
  /** The OTLP/HTTP traces URL, without credentials. */
  endpoint: string;
  spansExported: number;
  /** Spans the collector refused or never received (down, timed out, still queued when the run ended). */
  spansDropped: number;
}

/** inconclusive: nothing failed but journeys the runner's own stall kept from a verdict. */
export type RunStatus = 'passed' | 'failed' | 'nothing-tested' | 'inconclusive' | 'interrupted' | 'invalid';

export interface RunTotals {
  journeys: number;
  passed: number;
  failed: number;
  errored: number;
  flaky: number;
}

export interface RunResult {
  schemaVersion: 1;
  tool: { name: 'ceiling'; version: string };
  startedAt: string;
  durationMs: number;
  status: RunStatus;
  interrupted: boolean;
  failOnFlaky: boolean;
  exitCode: number;
  totals: RunTotals;
  /** The runner's own health over the whole run. */
  runner?: { eventLoopDelayMaxMs: number };
  /** OpenTelemetry export, when tracing is on: where spans went, how many arrived and how many were lost. */
  tracing?: TracingTotals;
  journeys: JourneyResult[];
}

/** Failed again on the attempt made because the runner stalled: no verdict on the service either way. */
export function stalledWithoutVerdict(journey: JourneyResult): boolean {
  return journey.status === 'error' && journey.attempts.at(-1)?.failure?.runnerStallMs !== undefined;
}

export function totalsOf(journeys: readonly JourneyResult[]): RunTotals {
  const count = (status: JourneyStatus) => journeys.filter((journey) => journey.status === status).length;
  return { journeys: journeys.length, passed: count('passed'), failed: count('failed'), errored: count('error'), flaky: count('flaky') };
}

/** The last attempt decides the journey's failure details. */
export function lastAttempt(journey: JourneyResult): AttemptResult | undefined {
  return journey.attempts[journey.attempts.length - 1];
}
