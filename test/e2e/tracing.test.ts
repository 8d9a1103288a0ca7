/**
 * OpenTelemetry traces through the real CLI: a local OTLP/HTTP receiver
 * decodes what `ceiling run --otlp-endpoint` exports, and a traced demo
 * service records the traceparent header of every request, WebSocket upgrade
 * and page load it receives. The ids it saw must be the exported spans' ids.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTracedService, type TracedService } from '../../fixtures/traced.js';
import type { JourneyView } from '../../src/serve/model.js';
import { runCli } from './cli.js';
import { Cleanup, closedPort, runWithJson, show, startServer } from './helpers.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { eventually, getJson, startServe } from './serve-process.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let traced: TracedService;
beforeAll(async () => {
  traced = await startTracedService();
});
afterAll(() => traced?.close());

/** A secret that must never reach the collector, planted in a URL query and a header. */
const CANARY = 'Canary-7f3a/otlp+LEAK';

const TEST_TIMEOUT_MS = 60_000;

function journey(name: string, extra = ''): string {
  return `name: ${name}
${extra}
vars:
  base: "{{ env.TRACED_URL }}"
  ws: "{{ env.TRACED_WS }}"
steps:
  - name: call the api
    http:
      url: "{{ vars.base }}/api?token={{ secrets.CANARY }}"
      headers: { x-api-key: "{{ secrets.CANARY }}" }
    expect: { status: 200 }
  - name: open the socket
    ws.connect: { as: alice, url: "{{ vars.ws }}ws" }
  - ws.send: { as: alice, text: ping }
  - name: echo comes back
    ws.expect: { as: alice, text: ping, within: 5s }
`;
}

async function journeyDir(files: Record<string, string>): Promise<{ dir: string; secretsFile: string }> {
  const dir = await cleanup.dir(files);
  const secretsFile = path.join(await cleanup.dir(), 'secrets.env');
  await writeFile(secretsFile, `CANARY=${CANARY}\n`);
  return { dir, secretsFile };
}

function tracedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // The developer's own OTEL_* settings must not leak into a test run.
  const cleared = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_EXPORTER_OTLP_HEADERS: '', OTEL_SERVICE_NAME: '' };
  return { TRACED_URL: traced.url, TRACED_WS: traced.wsUrl, ...cleared, ...extra };
}

/** What the traced service received since `from`, for one path. */
function receivedOn(from: number, requestPath: string) {
  return traced
    .received()
    .slice(from)
    .filter((request) => request.path === requestPath);
}

function receiver(): Promise<OtlpReceiver> {
  return startOtlpReceiver().then((started) => cleanup.add(started));
}

function spanNamed(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.find((span) => span.name === name);
  if (!found) throw new Error(`no span "${name}" among ${spans.map((span) => span.name).join(', ')}`);
  return found;
}

describe('ceiling run --otlp-endpoint', () => {
  it(
    'exports a trace per attempt and a span per step, and the service receives each step span as traceparent',
    async () => {
      const collector = await receiver();
      const { dir, secretsFile } = await journeyDir({ 'traced.yaml': journey('traced journey') });
      const from = traced.received().length;
      const run = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', collector.url], { env: tracedEnv() });
      expect(run.code, show(run)).toBe(0);

      const attempt = run.json!.journeys[0]!.attempts[0]!;
      expect(attempt.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(run.json!.tracing).toEqual({ endpoint: `${collector.url}/v1/traces`, spansExported: 5, spansDropped: 0 });

      const spans = collector.spans();
      expect(spans).toHaveLength(5);
      expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([attempt.traceId]));
      const root = spanNamed(spans, 'traced journey');
      expect(root.parentSpanId).toBeUndefined();
      expect(root.attributes).toMatchObject({ 'ceiling.journey': 'traced journey', 'ceiling.attempt': 1, 'ceiling.status': 'passed' });
      expect(root.resource['service.name']).toBe('ceiling');

      const steps = spans.filter((span) => span !== root);
      expect(steps.map((span) => span.parentSpanId)).toEqual(steps.map(() => root.spanId));
      const api = spanNamed(spans, 'call the api');
      expect(api.attributes).toMatchObject({
        'ceiling.journey': 'traced journey',
        'ceiling.step': 'call the api',
        'ceiling.step.kind': 'http',
        'ceiling.status': 'passed',
      });
      const socket = spanNamed(spans, 'open the socket');
      expect(socket.attributes['ceiling.step.kind']).toBe('ws.connect');

      // The backend's side: it received exactly the ids of its step's span, so its own spans join this trace.
      expect(receivedOn(from, '/api').map((request) => request.traceparent)).toEqual([`00-${attempt.traceId}-${api.spanId}-01`]);
      expect(receivedOn(from, '/ws').map((request) => request.traceparent)).toEqual([`00-${attempt.traceId}-${socket.spanId}-01`]);

      // The secret went out to the service in the query and a header, never to the collector.
      expect(collector.rawBodies().join('\n')).not.toContain('Canary-7f3a');
      expect(collector.rawBodies().join('\n')).not.toContain(encodeURIComponent(CANARY));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps a traceparent the journey sets itself, and sends none with trace: { propagate: false }',
    async () => {
      const collector = await receiver();
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const { dir, secretsFile } = await journeyDir({
        'own.yaml': `name: own traceparent
vars:
  base: "{{ env.TRACED_URL }}"
steps:
  - name: own header
    http: { url: "{{ vars.base }}/api", headers: { traceparent: "${own}" } }
    expect: { status: 200, json: { traceparent: "${own}" } }
`,
        'quiet.yaml': journey('no propagation', 'trace: { propagate: false }'),
      });
      const from = traced.received().length;
      const run = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', collector.url, '--concurrency', '1'], {
        env: tracedEnv(),
      });
      expect(run.code, show(run)).toBe(0);
      const received = traced.received().slice(from);
      expect(received.filter((request) => request.traceparent !== undefined).map((request) => request.traceparent)).toEqual([own]);
      expect(received.length).toBe(3);
      // The journey that opted out is still traced on Ceiling's side.
      const quiet = run.json!.journeys.find((result) => result.name === 'no propagation')!;
      expect(collector.spans().some((span) => span.traceId === quiet.attempts[0]!.traceId && span.name === 'no propagation')).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'marks a failing step and attempt as errors with the failure code, and the console report shows the trace id',
    async () => {
      const collector = await receiver();
      const { dir, secretsFile } = await journeyDir({
        'fails.yaml': `name: fails on purpose
vars:
  base: "{{ env.TRACED_URL }}"
steps:
  - name: wrong answer
    http: { url: "{{ vars.base }}/api?token={{ secrets.CANARY }}" }
    expect: { status: 200, json: { ok: "{{ secrets.CANARY }}" } }
  - name: never runs
    http: { url: "{{ vars.base }}/api" }
    expect: { status: 200 }
`,
      });
      const run = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', collector.url], {
        env: tracedEnv({ OTEL_SERVICE_NAME: 'synthetics-eu' }),
      });
      expect(run.code, show(run)).toBe(1);
      const traceId = run.json!.journeys[0]!.attempts[0]!.traceId!;
      expect(run.stdout).toContain(`trace: ${traceId}`);
      const spans = collector.spans();
      // The skipped step has no span: it never ran.
      expect(spans.map((span) => span.name).sort()).toEqual(['fails on purpose', 'wrong answer']);
      const code = run.json!.journeys[0]!.attempts[0]!.failure!.code;
      const step = spanNamed(spans, 'wrong answer');
      expect(step.statusCode).toBe(2);
      expect(step.attributes).toMatchObject({ 'ceiling.status': 'failed', 'ceiling.failure.code': code });
      expect(spanNamed(spans, 'fails on purpose').attributes).toMatchObject({ 'ceiling.status': 'failed', 'ceiling.failure.code': code });
      expect(step.resource['service.name']).toBe('synthetics-eu');
      // The failure names the expected secret; the span's status message carries it redacted.
      expect(step.statusMessage).toContain('[REDACTED:');
      expect(collector.rawBodies().join('\n')).not.toContain('Canary-7f3a');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS) when no flag is given, and sends no traceparent and no trace id without an endpoint',
    async () => {
      const collector = await receiver();
      const { dir, secretsFile } = await journeyDir({ 'traced.yaml': journey('env configured') });
      const viaEnv = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile], {
        env: tracedEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=lab-7' }),
      });
      expect(viaEnv.code, show(viaEnv)).toBe(0);
      expect(collector.spans()).toHaveLength(5);
      // The exporter's own variables still apply: headers for a collector that wants a tenant or a key.
      expect(collector.requests().map((request) => request.headers['x-tenant'])).toContain('lab-7');

      const from = traced.received().length;
      const off = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile], { env: tracedEnv() });
      expect(off.code, show(off)).toBe(0);
      expect(off.json!.journeys[0]!.attempts[0]!.traceId).toBeUndefined();
      expect(off.json!.tracing).toBeUndefined();
      expect(
        traced
          .received()
          .slice(from)
          .every((request) => request.traceparent === undefined),
      ).toBe(true);
      expect(collector.spans()).toHaveLength(5);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'goes on when the collector is down: the run passes, one warning, every span counted as dropped',
    async () => {
      const port = await closedPort();
      const files: Record<string, string> = {};
      for (let index = 1; index <= 3; index++) files[`j${index}.yaml`] = journey(`down ${index}`);
      const { dir, secretsFile } = await journeyDir(files);
      const run = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', `http://127.0.0.1:${port}`], {
        env: tracedEnv(),
        killAfterMs: 45_000,
      });
      expect(run.killed).toBe(false);
      expect(run.code, show(run)).toBe(0);
      expect(run.stderr.match(/could not export/g) ?? []).toHaveLength(1);
      expect(run.json!.tracing).toMatchObject({ spansExported: 0, spansDropped: 15 });
    },
    TEST_TIMEOUT_MS,
  );

  it('refuses a bad endpoint with exit 2, naming the flag or variable', async () => {
    const { dir, secretsFile } = await journeyDir({ 'traced.yaml': journey('bad endpoint') });
    const badFlag = await runCli(['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', 'not a url'], { env: tracedEnv() });
    expect(badFlag.code, show(badFlag)).toBe(2);
    expect(badFlag.stderr).toContain('--otlp-endpoint: not a URL');
    const badEnv = await runCli(['run', dir, '--secrets-file', secretsFile], {
      env: tracedEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }),
    });
    expect(badEnv.code, show(badEnv)).toBe(2);
    expect(badEnv.stderr).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: grpc: is not supported');
  });
});

describe('traceparent on page loads (real Chromium)', () => {
  it(
    "a browser.goto's document request carries its step's span as traceparent",
    async () => {
      const collector = await receiver();
      const { dir, secretsFile } = await journeyDir({
        'page.yaml': `name: traced page
vars:
  base: "{{ env.TRACED_URL }}"
steps:
  - browser.open: { as: web }
  - name: load the page
    browser.goto: { as: web, url: "{{ vars.base }}/page" }
  - name: the heading shows
    browser.expectVisible: { as: web, target: { role: heading, name: Traced page } }
`,
      });
      const from = traced.received().length;
      const run = await runWithJson(cleanup, ['run', dir, '--secrets-file', secretsFile, '--otlp-endpoint', collector.url], {
        env: tracedEnv(),
        killAfterMs: 45_000,
      });
      expect(run.code, show(run)).toBe(0);
      const traceId = run.json!.journeys[0]!.attempts[0]!.traceId!;
      const goto = spanNamed(collector.spans(), 'load the page');
      expect(goto.traceId).toBe(traceId);
      expect(receivedOn(from, '/page').map((request) => request.traceparent)).toEqual([`00-${traceId}-${goto.spanId}-01`]);
    },
    TEST_TIMEOUT_MS,
  );
});

/** A journey that always fails against the traced service: the service answers 200, the journey wants 418. */
const FAILING = `name: probe fails
schedule: { every: 1s }
steps:
  - name: wants a teapot
    http: { url: "{{ env.TRACED_URL }}/api" }
    expect: { status: 418 }
`;

describe('ceiling serve and gate --otlp-endpoint', () => {
  it(
    'serve exports each probe run with its location and target, and alerts, state and status page carry the trace id',
    async () => {
      const collector = await receiver();
      const alerts: Record<string, unknown>[] = [];
      const webhook = cleanup.add(
        await startServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (chunk: Buffer) => chunks.push(chunk));
          req.on('end', () => {
            alerts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
            res.writeHead(200).end('ok');
          });
        }),
      );
      const dir = await cleanup.dir({ 'fails.yaml': FAILING });
      const daemon = cleanup.add(
        await startServe(
          [
            path.join(dir, 'fails.yaml'),
            '--listen',
            '127.0.0.1:0',
            '--db',
            path.join(dir, 'history.db'),
            '--alert-after',
            '1',
            '--webhook',
            webhook.url,
            '--location',
            'lab',
            '--target',
            'prod-eu',
            '--otlp-endpoint',
            collector.url,
          ],
          { env: tracedEnv() },
        ),
      );
      const alert = await eventually(async () => alerts.find((body) => body.event === 'failing'), 'a failing alert');
      const alertTrace = (alert.failure as { traceId?: string }).traceId;
      expect(alertTrace).toMatch(/^[0-9a-f]{32}$/);

      // The alert's trace is one the collector received, with the probe's labels on every span.
      const spans = await eventually(async () => {
        const trace = collector.spans().filter((span) => span.traceId === alertTrace);
        return trace.length === 2 ? trace : undefined;
      }, 'the alerted run in the collector');
      expect(spanNamed(spans, 'probe fails').attributes).toMatchObject({ 'ceiling.location': 'lab', 'ceiling.target': 'prod-eu', 'ceiling.status': 'failed' });
      expect(spanNamed(spans, 'wants a teapot').attributes).toMatchObject({ 'ceiling.failure.code': 'CEIL_HTTP_STATUS', 'ceiling.step.kind': 'http' });

      const state = (await getJson<{ journeys: JourneyView[] }>(`${daemon.url}/api/v1/journeys`)).body.journeys[0]!;
      expect(state.lastFailure?.traceId).toMatch(/^[0-9a-f]{32}$/);
      const page = await (await fetch(`${daemon.url}/`)).text();
      expect(page).toMatch(/data-trace-id>[0-9a-f]{32}</);
      const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
      expect(metrics).toContain('ceiling_trace_spans_dropped_total{location="lab",target="prod-eu"} 0');

      const stopped = await daemon.stop('SIGTERM');
      expect(stopped).toMatchObject({ code: 0, killed: false });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'gate exports every journey run with its target name',
    async () => {
      const collector = await receiver();
      const dir = await cleanup.dir({
        'ceiling.yaml': ['targets:', `  blue: { vars: { base: "${traced.url}" } }`, `  green: { vars: { base: "${traced.url}" } }`, ''].join('\n'),
        'api.yaml': ['name: api answers', 'steps:', '  - http: { url: "{{ vars.base }}/api" }', '    expect: { status: 200 }', ''].join('\n'),
      });
      const from = traced.received().length;
      const run = await runCli(
        [
          'gate',
          path.join(dir, 'api.yaml'),
          '--config',
          path.join(dir, 'ceiling.yaml'),
          '--verdict-out',
          path.join(dir, 'verdict.json'),
          '--out',
          path.join(dir, 'out'),
          '--otlp-endpoint',
          collector.url,
        ],
        { env: tracedEnv(), killAfterMs: 45_000 },
      );
      expect(run.code, show(run)).toBe(0);
      const roots = collector.spans().filter((span) => span.parentSpanId === undefined);
      expect(roots.map((span) => span.attributes['ceiling.target']).sort()).toEqual(['blue', 'green']);
      const steps = collector.spans().filter((span) => span.parentSpanId !== undefined);
      const sent = receivedOn(from, '/api').map((request) => request.traceparent);
      expect(sent.sort()).toEqual(steps.map((span) => `00-${span.traceId}-${span.spanId}-01`).sort());
    },
    TEST_TIMEOUT_MS,
  );
});
