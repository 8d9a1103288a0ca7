/**
 * Where traces go, read the way every OpenTelemetry SDK reads it: the flag
 * first, then OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is), then
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL that gets /v1/traces). Nothing set
 * means no tracing, and the SDK is never loaded.
 */

export interface OtlpSettings {
  /** The OTLP/HTTP traces URL, without user info. */
  url: string;
  /** Basic auth from user info in the URL, which Node's HTTP client would otherwise drop. */
  headers: Record<string, string>;
  /** Values to redact from every output: the URL's credentials. */
  secrets: string[];
  serviceName: string;
}

export const DEFAULT_SERVICE_NAME = 'ceiling';
const TRACES_PATH = '/v1/traces';

export type OtlpResolution = { ok: true; settings: OtlpSettings | undefined } | { ok: false; error: string };

/** A base URL gets /v1/traces, as the spec says for OTEL_EXPORTER_OTLP_ENDPOINT; one already ending in it is kept. */
function withTracesPath(url: URL): void {
  if (!url.pathname.endsWith(TRACES_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${TRACES_PATH}`;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function resolveOtlpSettings(flag: string | undefined, env: (name: string) => string | undefined): OtlpResolution {
  const candidates: { source: string; value: string | undefined; base: boolean }[] = [
    { source: '--otlp-endpoint', value: flag, base: true },
    { source: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', value: env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), base: false },
    { source: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: env('OTEL_EXPORTER_OTLP_ENDPOINT'), base: true },
  ];
  const chosen = candidates.find((candidate) => candidate.value !== undefined && candidate.value.trim() !== '');
  if (!chosen) return { ok: true, settings: undefined };
  const text = chosen.value!.trim();
  const hint = 'give an http:// or https:// URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318';
  if (!URL.canParse(text)) return { ok: false, error: `${chosen.source}: not a URL; ${hint}` };
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `${chosen.source}: ${url.protocol} is not supported (OTLP over HTTP only); ${hint}` };
  }
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  if (url.username !== '' || url.password !== '') {
    const user = decoded(url.username);
    const password = decoded(url.password);
    secrets.push(...[url.password, password, url.username, user].filter((value) => value !== ''));
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  if (chosen.base) withTracesPath(url);
  url.hash = '';
  const serviceName = env('OTEL_SERVICE_NAME')?.trim() || DEFAULT_SERVICE_NAME;
  return { ok: true, settings: { url: url.href, headers, secrets, serviceName } };
}
