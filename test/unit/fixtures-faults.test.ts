import { connect, type Socket } from 'node:net';
import { Agent, errors, fetch, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DRIP_LENGTH, faultTlsCredentials, startBlackHole, startFaultServer, type FaultServer } from '../../fixtures/faults.js';

const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function faults(): Promise<FaultServer> {
  const server = await startFaultServer();
  cleanups.push(() => server.close());
  return server;
}

function agent(options: Agent.Options = {}): Agent {
  const dispatcher = new Agent(options);
  // destroy(), not close(): close() would wait for hung requests forever.
  cleanups.push(() => dispatcher.destroy());
  return dispatcher;
}

function ws(url: string | URL, handshakeTimeout = 3000): WebSocket {
  const socket = new WebSocket(url, { handshakeTimeout });
  socket.on('error', () => {});
  cleanups.push(() => socket.terminate());
  return socket;
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

function closed(socket: WebSocket | Socket, timeoutMs = 3000): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close within ${timeoutMs}ms`)), timeoutMs);
    socket.once('close', (code?: number | boolean) => {
      clearTimeout(timer);
      resolve(typeof code === 'number' ? code : undefined);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('fault server: http routes', () => {
  it('exposes url, wsUrl and tlsUrl on 127.0.0.1', async () => {
    const server = await faults();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}/`);
    expect(server.tlsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.tlsUrl).not.toBe(`https://127.0.0.1:${server.port}`);
  });

  it('/json answers {"ok":true} whatever the query', async () => {
    const server = await faults();
    const res = await request(`${server.url}/json?a=1&b=two`, { dispatcher: agent() });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ ok: true });
  });

  it('/not-json claims JSON but sends HTML', async () => {
    const server = await faults();
    const res = await request(`${server.url}/not-json`, { dispatcher: agent() });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const text = await res.body.text();
    expect(text).toBe('<html>oops</html>');
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('/echo-headers returns the request headers', async () => {
    const server = await faults();
    const res = await request(`${server.url}/echo-headers`, {
      dispatcher: agent(),
      headers: { authorization: 'Bearer t0k3n', 'x-probe': 'yes' },
    });
    expect(await res.body.json()).toMatchObject({ authorization: 'Bearer t0k3n', 'x-probe': 'yes' });
  });

  it('/loop redirects to itself, so following it never ends', async () => {
    const server = await faults();
    const dispatcher = agent();
    const res = await request(`${server.url}/loop`, { dispatcher });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/loop');
    await res.body.dump();

    const failure = await fetch(`${server.url}/loop`, { dispatcher }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TypeError);
    expect(String((failure as TypeError).cause)).toMatch(/redirect count exceeded/);
  });

  it('/redirect-cross points wherever it is told, and rejects junk targets', async () => {
    const server = await faults();
    const dispatcher = agent();
    const target = 'http://example.invalid/landing?x=1';
    const res = await request(`${server.url}/redirect-cross?to=${encodeURIComponent(target)}`, { dispatcher });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(target);
    await res.body.dump();

    for (const bad of ['', '?to=', '?to=javascript%3Aalert(1)', '?to=%2Frelative']) {
      const rejected = await request(`${server.url}/redirect-cross${bad}`, { dispatcher });
      expect(rejected.statusCode).toBe(400);
      await rejected.body.dump();
    }
  });

  it('/redirect-cross to another origin lets a fetch client drop Authorization', async () => {
    const [origin, other] = [await faults(), await faults()];
    const to = encodeURIComponent(`${other.url}/echo-headers`);
    const res = await fetch(`${origin.url}/redirect-cross?to=${to}`, {
      dispatcher: agent(),
      headers: { authorization: 'Bearer secret', 'x-kept': '1' },
    });
    const seen = (await res.json()) as Record<string, string>;
    expect(seen['x-kept']).toBe('1');
    expect(seen.authorization).toBeUndefined();
  });

  it('/big streams exactly N bytes of filler', async () => {
    const server = await faults();
    const bytes = 3 * 1024 * 1024 + 7;
    const res = await request(`${server.url}/big?bytes=${bytes}`, { dispatcher: agent() });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(bytes));
    let received = 0;
    let head = '';
    for await (const chunk of res.body) {
      if (head.length < 16) head += String(chunk).slice(0, 16);
      received += (chunk as Buffer).length;
    }
    expect(received).toBe(bytes);
    expect(head).toMatch(/^\{"filler":/);
  });

  it('/big handles zero and rejects nonsense sizes', async () => {
    const server = await faults();
    const dispatcher = agent();
    const empty = await request(`${server.url}/big?bytes=0`, { dispatcher });
    expect(empty.statusCode).toBe(200);
    expect(await empty.body.text()).toBe('');
    for (const bad of ['', '?bytes=-1', '?bytes=1e3', '?bytes=lots']) {
      const res = await request(`${server.url}/big${bad}`, { dispatcher });
      expect(res.statusCode).toBe(400);
      await res.body.dump();
    }
  });

  it('/hang never sends headers', async () => {
    const server = await faults();
    const pending = request(`${server.url}/hang`, { dispatcher: agent(), headersTimeout: 300 });
    await expect(pending).rejects.toBeInstanceOf(errors.HeadersTimeoutError);
  });

  it('/drip promises 100000 bytes and trickles them one at a time', async () => {
    const server = await faults();
    const res = await request(`${server.url}/drip`, { dispatcher: agent(), bodyTimeout: 5000 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(DRIP_LENGTH));
    let got = '';
    for await (const chunk of res.body) {
      got += String(chunk);
      if (got.length >= 2) break;
    }
    expect(got).toBe('..');
  });

  it('/drip never finishes within a whole-request deadline', async () => {
    // Not a bodyTimeout test: undici 7 runs headers/body timeouts on a
    // ~1 s-resolution timer wheel, so a per-chunk timeout can never be
    // shorter than the 200 ms drip gap. An overall deadline is what catches it.
    const server = await faults();
    const res = await request(`${server.url}/drip`, { dispatcher: agent(), signal: AbortSignal.timeout(700) });
    let received = 0;
    const failure = await (async () => {
      for await (const chunk of res.body) received += (chunk as Buffer).length;
    })().catch((err: unknown) => err);
    expect((failure as Error).name).toMatch(/TimeoutError|AbortError/);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(100);
  });

  it('unknown paths are 404', async () => {
    const server = await faults();
    const res = await request(`${server.url}/nothing-here`, { dispatcher: agent() });
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });
});

describe('fault server: websocket routes', () => {
  it('/ws-hang never answers the upgrade', async () => {
    const server = await faults();
    const socket = ws(new URL('ws-hang', server.wsUrl), 300);
    await expect(opened(socket)).rejects.toThrow(/handshake has timed out/);
  });

  it('/ws-silent opens, then sends nothing, not even pongs', async () => {
    const server = await faults();
    const socket = ws(new URL('ws-silent', server.wsUrl));
    await opened(socket);
    const heard: string[] = [];
    socket.on('message', () => heard.push('message'));
    socket.on('pong', () => heard.push('pong'));
    socket.on('ping', () => heard.push('ping'));
    socket.ping();
    socket.send('anyone?');
    await delay(300);
    expect(heard).toEqual([]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('/ws-abrupt says hello then drops the TCP socket (1006)', async () => {
    const server = await faults();
    const socket = ws(new URL('ws-abrupt', server.wsUrl));
    const message = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    const code = closed(socket);
    await opened(socket);
    expect(await message).toBe('hello');
    expect(await code).toBe(1006);
  });

  it('/ws-echo echoes text and binary frames', async () => {
    const server = await faults();
    const socket = ws(new URL('ws-echo', server.wsUrl));
    await opened(socket);
    const next = (): Promise<{ data: string; isBinary: boolean }> =>
      new Promise((resolve) => socket.once('message', (data, isBinary) => resolve({ data: String(data), isBinary })));

    let reply = next();
    socket.send('ping me');
    expect(await reply).toEqual({ data: 'ping me', isBinary: false });
    reply = next();
    socket.send(Buffer.from('bin'));
    expect(await reply).toEqual({ data: 'bin', isBinary: true });
  });

  it('refuses upgrades on unknown paths', async () => {
    const server = await faults();
    await expect(opened(ws(new URL('ws-nope', server.wsUrl)))).rejects.toThrow(/404/);
  });
});

describe('fault server: TLS', () => {
  it('serves /json to a client that trusts the committed certificate', async () => {
    const server = await faults();
    const dispatcher = agent({ connect: { ca: faultTlsCredentials().cert } });
    const res = await request(`${server.tlsUrl}/json`, { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ ok: true });
  });

  it('is rejected by a client using the default trust store', async () => {
    const server = await faults();
    const failure = await request(`${server.tlsUrl}/json`, { dispatcher: agent() }).catch((err: unknown) => err);
    expect((failure as { code?: string }).code).toMatch(/SELF_SIGNED/);
  });
});

describe('fault server: close()', () => {
  it('cuts every held connection and is idempotent', async () => {
    const server = await startFaultServer();
    cleanups.push(() => server.close());
    const dispatcher = agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });

    const hang = request(`${server.url}/hang`, { dispatcher }).catch((err: unknown) => err);
    const drip = await request(`${server.url}/drip`, { dispatcher });
    const dripBody = drip.body.text().catch((err: unknown) => err);
    const silent = ws(new URL('ws-silent', server.wsUrl));
    await opened(silent);
    const silentClosed = closed(silent);
    const echo = ws(new URL('ws-echo', server.wsUrl));
    await opened(echo);
    const echoClosed = closed(echo);
    const hung = ws(new URL('ws-hang', server.wsUrl), 10_000);
    const hungFailed = opened(hung).catch((err: unknown) => err);
    await delay(50);

    await Promise.all([server.close(), server.close()]);
    expect(await hang).toBeInstanceOf(Error);
    expect(await dripBody).toBeInstanceOf(Error);
    expect(await silentClosed).toBe(1006);
    expect(await echoClosed).toBe(1006);
    expect(await hungFailed).toBeInstanceOf(Error);

    await expect(request(`${server.url}/json`, { dispatcher: agent() })).rejects.toThrow(/ECONNREFUSED/);
    await expect(request(`${server.tlsUrl}/json`, { dispatcher: agent() })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('black hole', () => {
  it('accepts TCP connections and never writes', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const socket = connect(hole.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await delay(300);
    expect(received).toEqual([]);

    const gone = closed(socket);
    await hole.close();
    await gone;
    await hole.close();
  });

  it('makes HTTP clients time out waiting for headers', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const pending = request(`http://127.0.0.1:${hole.port}/`, { dispatcher: agent(), headersTimeout: 300 });
    await expect(pending).rejects.toBeInstanceOf(errors.HeadersTimeoutError);
  });
});
