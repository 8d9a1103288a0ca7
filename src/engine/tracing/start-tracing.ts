import type { JourneyTracer } from './journey-tracer.js';
import type { OtlpSettings } from './otlp-endpoint.js';

export interface OtelTracerOptions extends OtlpSettings {
  version: string;
  /** Called once, at the first export that fails. */
  warn: (line: string) => void;
  env: (name: string) => string | undefined;
}

/**
 * Loads the OpenTelemetry SDK and starts a tracer. The import is dynamic on
 * purpose: a run without an OTLP endpoint never loads (or bundles into its
 * start-up path) a line of it.
 */
export async function startTracing(options: OtelTracerOptions): Promise<JourneyTracer> {
  const { OtelJourneyTracer } = await import('./otel-tracer.js');
  return new OtelJourneyTracer(options);
}
