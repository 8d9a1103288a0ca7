import { resolveOtlpSettings, type OtlpSettings } from '../engine/tracing/otlp-endpoint.js';
import type { JourneyTracer } from '../engine/tracing/journey-tracer.js';
import { startTracing } from '../engine/tracing/start-tracing.js';
import type { Redactor } from '../secrets/redactor.js';
import { VERSION } from '../version.js';
import { InputError } from './flag-values.js';

/** At exit, queued spans get this long to go out; a collector that hangs never holds the CLI longer. */
export const TRACING_SHUTDOWN_LIMIT_MS = 5_000;

/**
 * --otlp-endpoint, or the standard OTEL_EXPORTER_OTLP_* variables: a tracer
 * when one is set, undefined (and no SDK loaded) otherwise. A bad URL is
 * bad input (exit 2) naming the flag or variable, never its value.
 */
export async function tracerFromFlags(flag: string | undefined, redactor: Redactor, warn: (line: string) => void): Promise<JourneyTracer | undefined> {
  const settings = otlpSettingsFromFlags(flag);
  if (!settings) return undefined;
  for (const secret of settings.secrets) redactor.add(secret, 'otlp credentials');
  return startTracing({ ...settings, version: VERSION, env, warn: (line) => warn(redactor.redact(line)) });
}

/** Checks the endpoint without loading anything, so bad input is reported before journeys are even read. */
export function otlpSettingsFromFlags(flag: string | undefined): OtlpSettings | undefined {
  const resolved = resolveOtlpSettings(flag, env);
  if (!resolved.ok) throw new InputError(resolved.error);
  return resolved.settings;
}

function env(name: string): string | undefined {
  return process.env[name];
}
