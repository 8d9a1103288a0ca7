import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Redactor } from '../../secrets/redactor.js';
import type { AttemptInfo, AttemptTrace, JourneyTracer, OtelTracerOptions, SpanOutcome, StepTrace, TraceLabels, TracingStats } from './journey-tracer.js';

/**
 * The OpenTelemetry SDK behind JourneyTracer, loaded only when an OTLP
 * endpoint is set. Spans go out in batches over OTLP/HTTP (JSON); a
 * collector that is down costs dropped spans and one warning, never a run.
 */

/** One export, retries included, gives up after this unless OTEL_EXPORTER_OTLP(_TRACES)_TIMEOUT says otherwise. */
const EXPORT_TIMEOUT_MS = 4_000;

/** Counts what the exporter sent and what it lost, and warns the first time it loses any. */
class CountingExporter implements SpanExporter {
  exported = 0;
  failed = 0;
  private warned = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly onFirstFailure: (spans: number, error: Error | undefined) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.exported += spans.length;
      } else {
        this.failed += spans.length;
        if (!this.warned) {
          this.warned = true;
          this.onFirstFailure(spans.length, result.error);
        }
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Resolves after limitMs at the latest, saying whether the work finished in time. */
async function within(work: Promise<unknown>, limitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), limitMs);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true).catch(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function labelAttributes(where: TraceLabels, redactor: Redactor): Attributes {
  return {
    ...(where.target !== undefined ? { 'ceiling.target': redactor.redact(where.target) } : {}),
    ...(where.location !== undefined ? { 'ceiling.location': redactor.redact(where.location) } : {}),
  };
}

/** Status and failure code as attributes; the failure's message (redacted) as the span's status, as OpenTelemetry expects errors. */
function endSpan(span: Span, outcome: SpanOutcome, redactor: Redactor): void {
  span.setAttribute('ceiling.status', outcome.status);
  if (outcome.failure) {
    span.setAttribute('ceiling.failure.code', outcome.failure.code);
    span.setAttribute('ceiling.failure.class', outcome.failure.class);
    span.setStatus({ code: SpanStatusCode.ERROR, message: redactor.redact(outcome.failure.message) });
  } else if (outcome.status === 'passed') {
    span.setStatus({ code: SpanStatusCode.OK });
  }
  span.end();
}

class OtelAttemptTrace implements AttemptTrace {
  readonly traceId: string;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly info: AttemptInfo,
    private readonly where: TraceLabels,
  ) {
    this.traceId = span.spanContext().traceId;
  }

  startStep(step: { name: string; kind: string; index: number }): StepTrace {
    const redactor = this.info.redactor;
    const span = this.tracer.startSpan(
      redactor.redact(step.name),
      {
        kind: step.kind === 'http' || step.kind === 'ws.connect' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes: {
          'ceiling.journey': redactor.redact(this.info.journey),
          'ceiling.step': redactor.redact(step.name),
          'ceiling.step.kind': step.kind,
          'ceiling.step.index': step.index,
          ...labelAttributes(this.where, redactor),
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.span),
    );
    return {
      traceparent: traceparentOf(span),
      // A secret the step derived while running (a captured token) may sit in its name: redact again with what is known now.
      end: (outcome) => {
        span.updateName(redactor.redact(step.name));
        span.setAttribute('ceiling.step', redactor.redact(step.name));
        endSpan(span, outcome, redactor);
      },
    };
  }

  end(outcome: SpanOutcome): void {
    this.span.updateName(this.info.redactor.redact(this.info.journey));
    endSpan(this.span, outcome, this.info.redactor);
  }
}

export class OtelJourneyTracer implements JourneyTracer {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly exporter: CountingExporter;
  private ended = 0;
  /** Spans still queued when a bounded flush gave up; they count as dropped. */
  private abandoned = 0;
  private stopped = false;

  constructor(private readonly options: OtelTracerOptions) {
    const timeoutSet = options.env('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') || options.env('OTEL_EXPORTER_OTLP_TIMEOUT');
    const otlp = new OTLPTraceExporter({
      url: options.url,
      headers: options.headers,
      ...(timeoutSet ? {} : { timeoutMillis: EXPORT_TIMEOUT_MS }),
    });
    this.exporter = new CountingExporter(otlp, (spans, error) => {
      options.warn(
        `warning: traces: could not export ${spans} span${spans === 1 ? '' : 's'} to ${options.url}` +
          `${error?.message ? ` (${error.message})` : ''}; journeys go on, and dropped spans are counted (this warning is shown once)`,
      );
    });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, [ATTR_SERVICE_VERSION]: options.version }),
      spanProcessors: [new BatchSpanProcessor(this.exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS + 1_000 }), this.endedSpans()],
    });
    this.tracer = this.provider.getTracer('ceiling', options.version);
  }

  /** Counts ended spans, so spans still queued when a bounded flush gives up can be counted as dropped. */
  private endedSpans(): SpanProcessor {
    return {
      onStart: () => undefined,
      onEnd: () => {
        this.ended++;
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }

  startAttempt(info: AttemptInfo, where: TraceLabels): AttemptTrace {
    const span = this.tracer.startSpan(info.redactor.redact(info.journey), {
      kind: SpanKind.INTERNAL,
      attributes: {
        'ceiling.journey': info.redactor.redact(info.journey),
        'ceiling.journey.file': info.file,
        'ceiling.attempt': info.attempt,
        ...labelAttributes(where, info.redactor),
      },
    });
    return new OtelAttemptTrace(this.tracer, span, info, where);
  }

  stats(): TracingStats {
    // A batch abandoned by a bounded flush may still fail later: never count a span as dropped twice.
    const dropped = Math.min(this.exporter.failed + this.abandoned, this.ended - this.exporter.exported);
    return { endpoint: this.options.url, spansExported: this.exporter.exported, spansDropped: dropped };
  }

  async flush(limitMs: number): Promise<void> {
    if (this.stopped) return;
    const finished = await within(this.provider.forceFlush(), limitMs);
    if (!finished) this.abandonQueued();
  }

  async shutdown(limitMs: number): Promise<void> {
    if (this.stopped) return;
    const finished = await within(this.provider.shutdown(), limitMs);
    if (!finished) this.abandonQueued();
    this.stopped = true;
  }

  private abandonQueued(): void {
    this.abandoned = Math.max(this.abandoned, this.ended - this.exporter.exported - this.exporter.failed);
  }
}
