import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyResult } from '../../src/core/result.js';
import { runJourneys, type RunOptions } from '../../src/engine/run.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { VERSION } from '../../src/version.js';

/**
 * The http step on the wire: what it sends by default, how it reads encoded
 * bodies, how expect.latency bounds the request, and where the time went.
 */

const payload = JSON.stringify({ ok: true, items: [1, 2, 3] });
const encoders: Record<string, (data: Buffer) => Buffer> = {
  gzip: (data) => zlib.gzipSync(data),
  deflate: (data) => zlib.deflateSync(data),
  br: (data) => zlib.brotliCompressSync(data),
};
/** 64 MiB of zeros, about 64 KiB on the wire. */
const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 ** 2), { level: 9 });

let server: Server;
let base: string;
let lastHeaders: IncomingHttpHeaders = {};
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((request, response) => {
    lastHeaders = request.headers;
    const url = new URL(request.url ?? '/', 'http://x');
    const encoding = url.searchParams.get('encoding');
    if (url.pathname === '/encoded' && encoding) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      return response.end(encoders[encoding]!(Buffer.from(payload)));
    }
    if (url.pathname === '/lying') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return response.end(payload);
    }
    if (url.pathname === '/bomb') {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      return response.end(bomb);
    }
    if (url.pathname === '/never') {
      hanging.add(response);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function options(): RunOptions {
  return {
    concurrency: 1,
    failOnFlaky: false,
    reporter: { name: 'none', onRunEnd() {} },
    version: 'test',
    vars: {},
    env: () => undefined,
    secret: () => undefined,
    redactor: new Redactor(),
    signal: new AbortController().signal,
    outDir: 'ceiling-out',
  };
}

async function run(steps: string, extra = ''): Promise<JourneyResult> {
  const loaded = await loadJourneyText('wire.yaml', `name: wire\n${extra}steps:\n${steps}`);
  if (!loaded.journey) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  const result = await runJourneys([loaded.journey], options());
  return result.journeys[0]!;
}

describe('default request headers', () => {
  it('sends User-Agent ceiling/VERSION and Accept-Encoding gzip, deflate, br', async () => {
    const result = await run(`  - http: { url: "${base}/" }\n    expect: { status: 200 }\n`);
    expect(result.status).toBe('passed');
    expect(lastHeaders['user-agent']).toBe(`ceiling/${VERSION}`);
    expect(lastHeaders['accept-encoding']).toBe('gzip, deflate, br');
  });

  it("lets the journey's own headers override both", async () => {
    const result = await run(`  - http: { url: "${base}/", headers: { User-Agent: probe/1, Accept-Encoding: identity } }\n    expect: { status: 200 }\n`);
    expect(result.status).toBe('passed');
    expect(lastHeaders['user-agent']).toBe('probe/1');
    expect(lastHeaders['accept-encoding']).toBe('identity');
  });
});

describe('content encodings', () => {
  for (const encoding of Object.keys(encoders)) {
    it(`decodes a ${encoding} JSON body`, async () => {
      const result = await run(
        `  - http: { url: "${base}/encoded?encoding=${encoding}" }\n    expect: { status: 200, json: { ok: true, items: [1, 2, 3] } }\n`,
      );
      expect(result.attempts[0]!.failure).toBeUndefined();
      expect(result.status).toBe('passed');
    });
  }

  it('fails a body that declares an encoding it does not have as a protocol error naming the encoding', async () => {
    const result = await run(`  - http: { url: "${base}/lying" }\n    expect: { status: 200 }\n`);
    const failure = result.attempts[0]!.failure!;
    expect(failure).toMatchObject({ class: 'protocol', code: 'CEIL_HTTP_BAD_ENCODING' });
    expect(failure.message).toContain('gzip');
  });

  it('caps the decoded size: a compression bomb fails as CEIL_HTTP_BODY_TOO_LARGE', async () => {
    const before = process.memoryUsage().rss;
    const result = await run(`  - http: { url: "${base}/bomb", maxBody: 1MiB }\n    expect: { status: 200 }\n`);
    expect(result.attempts[0]!.failure).toMatchObject({ class: 'protocol', code: 'CEIL_HTTP_BODY_TOO_LARGE' });
    // The 64 MiB it would inflate to never sat in memory.
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 ** 2);
  });
});

describe('expect.latency bounds the request', () => {
  it('abandons a request that never answers at the bound and fails it as an assertion, not a journey timeout', async () => {
    const result = await run(`  - http: { url: "${base}/never" }\n    expect: { status: 200, latency: 300ms }\n`, 'timeout: 30s\n');
    const failure = result.attempts.at(-1)!.failure!;
    // On a machine busy enough to freeze the runner twice, the same failure carries no verdict: an error, not a failure.
    expect(result.status).toBe(failure.runnerStallMs === undefined ? 'failed' : 'error');
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_LATENCY', path: 'latency', expected: '< 300ms' });
    expect(failure.message).toMatch(/waited \d/);
  });

  it('still passes a request that answers within the bound', async () => {
    const result = await run(`  - http: { url: "${base}/" }\n    expect: { status: 200, latency: 10s }\n`);
    expect(result.status).toBe('passed');
  });
});

describe('phases', () => {
  it('records DNS, connect, TLS, first byte and body, and a reused connection has no connection phases', async () => {
    // The pause lets undici put the connection back in its pool (it does so a tick after the body ends).
    const result = await run(
      `  - http: { url: "${base}/" }\n    expect: { status: 200 }\n  - wait: 100ms\n  - http: { url: "${base}/" }\n    expect: { status: 200 }\n`,
    );
    expect(result.status).toBe('passed');
    const [first, , second] = result.attempts[0]!.steps;
    for (const step of [first!, second!]) {
      const phases = step.phases!;
      expect(Object.keys(phases).sort()).toEqual(['bodyMs', 'connectMs', 'dnsMs', 'firstByteMs', 'tlsMs', 'totalMs']);
      for (const value of Object.values(phases)) expect(value).toBeGreaterThanOrEqual(0);
      // The parts never add up to more than the whole (0.5 ms for rounding).
      expect(phases.dnsMs + phases.connectMs + phases.tlsMs + phases.firstByteMs + phases.bodyMs).toBeLessThanOrEqual(phases.totalMs + 0.5);
      // An IP address is not looked up, and plain HTTP has no handshake.
      expect(phases.dnsMs).toBe(0);
      expect(phases.tlsMs).toBe(0);
    }
    expect(second!.phases!.connectMs).toBe(0);
  });

  it('keeps the phases of a step that failed', async () => {
    const result = await run(`  - http: { url: "${base}/" }\n    expect: { status: 201 }\n`);
    expect(result.status).toBe('failed');
    expect(result.attempts[0]!.steps[0]!.phases?.totalMs).toBeGreaterThanOrEqual(0);
  });
});
