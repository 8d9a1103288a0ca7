import type { JourneyTracer, OtelTracerOptions } from './journey-tracer.js';

/**
 * Loads the OpenTelemetry SDK and starts a tracer. The import is dynamic on
 * purpose: a run without an OTLP endpoint never loads (or bundles into its
 * start-up path) a line of it.
 */
export async function startTracing(options: OtelTracerOptions): Promise<JourneyTracer> {
  const { OtelJourneyTracer } = await import('./otel-tracer.js');
  return new OtelJourneyTracer(options);
}
