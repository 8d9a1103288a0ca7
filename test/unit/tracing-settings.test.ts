/**
 * Where traces go (--otlp-endpoint and the standard OTEL_* variables) and the
 * journey's `trace:` key. The export itself is tested end to end in
 * test/e2e/tracing.test.ts against a local OTLP receiver.
 */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { resolveOtlpSettings } from '../../src/engine/tracing/otlp-endpoint.js';

const envOf =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name];

describe('resolveOtlpSettings', () => {
  it('is off when nothing is set, so the SDK is never loaded', () => {
    expect(resolveOtlpSettings(undefined, envOf({}))).toEqual({ ok: true, settings: undefined });
    expect(resolveOtlpSettings(undefined, envOf({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }))).toEqual({ ok: true, settings: undefined });
  });

  it('appends /v1/traces to a base endpoint (flag or OTEL_EXPORTER_OTLP_ENDPOINT), keeps a signal endpoint as it is', () => {
    const url = (flag: string | undefined, env: Record<string, string>) => {
      const resolved = resolveOtlpSettings(flag, envOf(env));
      return resolved.ok ? resolved.settings?.url : resolved.error;
    };
    expect(url('http://127.0.0.1:4318', {})).toBe('http://127.0.0.1:4318/v1/traces');
    expect(url('http://collector:4318/otlp/', {})).toBe('http://collector:4318/otlp/v1/traces');
    expect(url('https://collector/v1/traces', {})).toBe('https://collector/v1/traces');
    expect(url(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318' })).toBe('http://base:4318/v1/traces');
    expect(url(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://signal:4318/custom' })).toBe('http://signal:4318/custom');
    // The flag wins over both variables, the signal-specific variable over the general one.
    expect(url('http://flag:1', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://signal:2/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:3' })).toBe(
      'http://flag:1/v1/traces',
    );
    expect(url(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://signal:2/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:3' })).toBe('http://signal:2/x');
  });

  it('names the flag or variable of a bad URL, never its value', () => {
    expect(resolveOtlpSettings('not a url', envOf({}))).toMatchObject({ ok: false, error: expect.stringMatching(/^--otlp-endpoint: not a URL/) });
    const grpc = resolveOtlpSettings(undefined, envOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://secret-host:4317' }));
    expect(grpc).toMatchObject({ ok: false, error: expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: grpc: is not supported/) });
    expect(JSON.stringify(grpc)).not.toContain('secret-host');
  });

  it('turns credentials in the URL into Basic auth and secrets, and takes them out of the URL', () => {
    const resolved = resolveOtlpSettings('https://tenant:s3cr3t-key@otlp.example.com', envOf({}));
    expect(resolved.ok && resolved.settings).toMatchObject({
      url: 'https://otlp.example.com/v1/traces',
      headers: { authorization: `Basic ${Buffer.from('tenant:s3cr3t-key').toString('base64')}` },
    });
    expect(resolved.ok && resolved.settings?.secrets).toContain('s3cr3t-key');
  });

  it('names the service ceiling unless OTEL_SERVICE_NAME says otherwise', () => {
    const name = (env: Record<string, string>) => {
      const resolved = resolveOtlpSettings('http://127.0.0.1:4318', envOf(env));
      return resolved.ok ? resolved.settings?.serviceName : undefined;
    };
    expect(name({})).toBe('ceiling');
    expect(name({ OTEL_SERVICE_NAME: 'synthetics' })).toBe('synthetics');
  });
});

describe('the journey trace: key', () => {
  const journey = (trace: string) => `name: traced\n${trace}\nsteps:\n  - http: { url: "http://127.0.0.1:1/" }\n    expect: { status: 200 }\n`;

  it('propagates by default and stops with propagate: false', async () => {
    const plain = await loadJourneyText('j.yaml', journey(''));
    expect(plain.journey?.propagateTrace).toBeUndefined();
    const off = await loadJourneyText('j.yaml', journey('trace: { propagate: false }'));
    expect(off.journey?.propagateTrace).toBe(false);
    const on = await loadJourneyText('j.yaml', journey('trace: { propagate: true }'));
    expect(on.journey?.propagateTrace).toBeUndefined();
  });

  it('refuses an unknown key or a non-boolean, with its position', async () => {
    const typo = await loadJourneyText('j.yaml', journey('trace: { propogate: false }'));
    expect(typo.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/j\.yaml:2:\d+ › trace/);
    const text = await loadJourneyText('j.yaml', journey('trace: { propagate: "no" }'));
    expect(text.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/j\.yaml:2:\d+ › trace\.propagate/);
  });
});
