import type { FailureInfo, TracingTotals } from '../../core/result.js';
import type { Redactor } from '../../secrets/redactor.js';
import type { OtlpSettings } from './otlp-endpoint.js';

/**
 * What the engine asks of tracing: one trace per journey attempt, one span per
 * step. This file names no OpenTelemetry type, so the engine can hold a
 * tracer without loading the SDK; otel-tracer.ts implements it and is only
 * imported when an OTLP endpoint is configured.
 */

export interface SpanOutcome {
  status: string;
  failure?: FailureInfo;
}

export interface StepTrace {
  /** `00-<trace id>-<span id>-01`: what the step's requests send so the backend's spans join this one. */
  readonly traceparent: string;
  end(outcome: SpanOutcome): void;
}

export interface AttemptTrace {
  readonly traceId: string;
  startStep(step: { name: string; kind: string; index: number }): StepTrace;
  end(outcome: SpanOutcome): void;
}

export interface AttemptInfo {
  journey: string;
  file: string;
  attempt: number;
  /** The journey's values are redacted with the attempt's own redactor, which learns derived secrets as the steps run. */
  redactor: Redactor;
}

export type TracingStats = TracingTotals;

export interface JourneyTracer {
  startAttempt(info: AttemptInfo, where: TraceLabels): AttemptTrace;
  stats(): TracingStats;
  /** Sends what is queued; gives up after limitMs and counts what is left as dropped. */
  flush(limitMs: number): Promise<void>;
  /** Flushes and stops the exporter, bounded by limitMs: a collector that hangs never holds the process. */
  shutdown(limitMs: number): Promise<void>;
}

/** Where a journey runs, recorded on every span: the target (a gate target, run --target, serve --target) and serve's location. */
export interface TraceLabels {
  target?: string;
  location?: string;
}

/** What journeys are given: the tracer and the labels of this run. */
export interface JourneyTracing extends TraceLabels {
  tracer: JourneyTracer;
}

/** What the OpenTelemetry tracer is started with: where to export, and how to say that it cannot. */
export interface OtelTracerOptions extends OtlpSettings {
  version: string;
  /** Called once, at the first export that fails. */
  warn: (line: string) => void;
  env: (name: string) => string | undefined;
}
