import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { CHAT_BUGS, startChat } from '../../fixtures/chat.js';
import type { RunningService } from '../../fixtures/service.js';

type Msg = { type: string; nick?: string; text?: string; reason?: string };

/** Collects every frame so assertions can also check what did NOT arrive. */
class Inbox {
  readonly seen: Msg[] = [];
  #cursor = 0;
  #wake: (() => void) | undefined;

  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      this.seen.push(JSON.parse(String(data)) as Msg);
      this.#wake?.();
    });
  }

  /** Next unread message matching `pred`; earlier non-matching ones are skipped. */
  async next(pred: (m: Msg) => boolean = () => true, timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.seen.length) {
        const msg = this.seen[this.#cursor++]!;
        if (pred(msg)) return msg;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs}ms; saw ${JSON.stringify(this.seen)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

let service: RunningService | undefined;
const clients: WebSocket[] = [];
let agent: Agent | undefined;

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await service?.close();
  service = undefined;
  await agent?.close();
  agent = undefined;
});

async function connect(options: ClientOptions = {}): Promise<{ ws: WebSocket; inbox: Inbox }> {
  const ws = new WebSocket(service!.wsUrl!, { handshakeTimeout: 3000, ...options });
  clients.push(ws);
  const inbox = new Inbox(ws);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, inbox };
}

async function join(nick: string, options: ClientOptions = {}): Promise<{ ws: WebSocket; inbox: Inbox }> {
  const client = await connect(options);
  client.ws.send(JSON.stringify({ type: 'join', nick }));
  await client.inbox.next((m) => m.type === 'joined' && m.nick === nick);
  return client;
}

function closed(ws: WebSocket, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return reject(new Error('already closed'));
    const timer = setTimeout(() => reject(new Error(`no close within ${timeoutMs}ms`)), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Resolves after `count` server pings: a keepalive clock that ignores wall time. */
function pings(ws: WebSocket, count: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`saw ${seen}/${count} pings`)), timeoutMs);
    const onPing = (): void => {
      if (++seen < count) return;
      clearTimeout(timer);
      ws.off('ping', onPing);
      resolve();
    };
    ws.on('ping', onPing);
  });
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  agent ??= new Agent();
  const res = await request(new URL(path, service!.url), { dispatcher: agent, headersTimeout: 3000 });
  return { status: res.statusCode, body: await res.body.json() };
}

/** Stops reading and never pongs: the shape of a client that died without a FIN. */
function stall(ws: WebSocket): void {
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

function resume(ws: WebSocket): void {
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
}

describe('chat fixture', () => {
  it('reports url, wsUrl, health and version', async () => {
    service = await startChat({ version: '2.3.4' });
    expect(service.name).toBe('chat');
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(service.wsUrl).toBe(`ws://127.0.0.1:${service.port}/`);
    expect(await getJson('/health')).toEqual({ status: 200, body: { ok: true } });
    expect(await getJson('/version')).toEqual({ status: 200, body: { version: '2.3.4' } });
    expect((await getJson('/nope')).status).toBe(404);
  });

  it('defaults version to 1.0.0', async () => {
    service = await startChat();
    expect((await getJson('/version')).body).toEqual({ version: '1.0.0' });
  });

  it('rejects unknown bug names and lists the valid ones', async () => {
    await expect(startChat({ bugs: ['nope'] })).rejects.toThrow(/nope.*ghost-leave/);
    expect(CHAT_BUGS).toEqual(['ghost-leave']);
  });

  it('refuses websocket upgrades on other paths', async () => {
    service = await startChat();
    const ws = new WebSocket(new URL('/elsewhere', service.wsUrl), { handshakeTimeout: 3000 });
    clients.push(ws);
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toMatch(/404/);
  });

  it('broadcasts joined to every member including the joiner, and messages to all', async () => {
    service = await startChat();
    const alice = await join('alice');
    const bob = await connect();
    bob.ws.send(JSON.stringify({ type: 'join', nick: 'bob' }));
    expect(await bob.inbox.next()).toEqual({ type: 'joined', nick: 'bob' });
    expect(await alice.inbox.next()).toEqual({ type: 'joined', nick: 'bob' });

    alice.ws.send(JSON.stringify({ type: 'say', text: 'hi bob' }));
    const expected = { type: 'message', nick: 'alice', text: 'hi bob' };
    expect(await alice.inbox.next()).toEqual(expected);
    expect(await bob.inbox.next()).toEqual(expected);
  });

  it('announces left to the rest when a member closes gracefully', async () => {
    service = await startChat();
    const alice = await join('alice');
    const bob = await join('bob');
    bob.ws.close();
    expect(await alice.inbox.next((m) => m.type === 'left')).toEqual({ type: 'left', nick: 'bob' });
  });

  it('answers invalid JSON with an error to that client only', async () => {
    service = await startChat();
    const alice = await join('alice');
    const bob = await join('bob');
    await alice.inbox.next((m) => m.nick === 'bob');

    bob.ws.send('{not json');
    expect(await bob.inbox.next()).toMatchObject({ type: 'error', reason: expect.any(String) });
    // Messages on one socket arrive in order, so if alice had been sent the
    // error it would come before this broadcast.
    bob.ws.send(JSON.stringify({ type: 'say', text: 'after' }));
    expect(await alice.inbox.next()).toEqual({ type: 'message', nick: 'bob', text: 'after' });
    expect(alice.inbox.seen.some((m) => m.type === 'error')).toBe(false);
  });

  it('rejects say before join without broadcasting it', async () => {
    service = await startChat();
    const lurker = await connect();
    lurker.ws.send(JSON.stringify({ type: 'say', text: 'psst' }));
    expect(await lurker.inbox.next()).toMatchObject({ type: 'error' });
  });

  it('reaps a client that stops answering pings and announces left', async () => {
    service = await startChat({ keepaliveMs: 150 });
    const watcher = await join('watcher');
    const ghost = await join('ghost', { autoPong: false });
    await watcher.inbox.next((m) => m.type === 'joined' && m.nick === 'ghost');
    stall(ghost.ws);

    expect(await watcher.inbox.next((m) => m.type === 'left', 5000)).toEqual({ type: 'left', nick: 'ghost' });
    // The watcher answers pings, so it must survive the very rounds that reaped the ghost.
    expect(watcher.ws.readyState).toBe(WebSocket.OPEN);
    const code = closed(ghost.ws);
    resume(ghost.ws);
    expect(await code).toBe(1006);
  });

  it('does not reap a live client because the reaper itself ran late (a frozen process)', async () => {
    service = await startChat({ keepaliveMs: 100 });
    const watcher = await join('watcher');
    await pings(watcher.ws, 1);
    // Freeze the whole process (server and client share it) for several keepalive rounds.
    const until = performance.now() + 450;
    while (performance.now() < until) {
      // busy
    }
    await pings(watcher.ws, 3);
    expect(watcher.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('with ghost-leave, reaps silently: no left broadcast, health still green', async () => {
    service = await startChat({ keepaliveMs: 150, bugs: ['ghost-leave'] });
    const watcher = await join('watcher');
    const ghost = await join('ghost', { autoPong: false });
    await watcher.inbox.next((m) => m.type === 'joined' && m.nick === 'ghost');
    stall(ghost.ws);

    // The ghost never pongs, so it is reaped by the second round after it
    // connected; four rounds seen by the watcher leave a round of slack for
    // a left broadcast that, with the bug, must never come.
    await pings(watcher.ws, 4);
    expect(watcher.inbox.seen.filter((m) => m.type === 'left')).toEqual([]);
    expect(await getJson('/health')).toEqual({ status: 200, body: { ok: true } });

    // 1006 proves the server terminated the socket rather than closing it politely.
    const code = closed(ghost.ws);
    resume(ghost.ws);
    expect(await code).toBe(1006);
    await pings(watcher.ws, 1);
    expect(watcher.inbox.seen.filter((m) => m.type === 'left')).toEqual([]);
  });

  it('with ghost-leave, graceful closes still announce left', async () => {
    service = await startChat({ bugs: ['ghost-leave'] });
    const alice = await join('alice');
    const bob = await join('bob');
    bob.ws.close();
    expect(await alice.inbox.next((m) => m.type === 'left')).toEqual({ type: 'left', nick: 'bob' });
  });

  it('slowMs delays broadcasts but not direct replies', async () => {
    service = await startChat({ slowMs: 500 });
    const alice = await connect();
    alice.ws.send(JSON.stringify({ type: 'join', nick: 'alice' }));
    alice.ws.send('{oops');
    expect((await alice.inbox.next()).type).toBe('error');
    expect(await alice.inbox.next()).toEqual({ type: 'joined', nick: 'alice' });
  });

  it('close() terminates connected clients and is idempotent', async () => {
    service = await startChat({ keepaliveMs: 100, slowMs: 50 });
    const alice = await join('alice');
    await join('bob');
    const code = closed(alice.ws);
    await Promise.all([service.close(), service.close()]);
    expect(await code).toBe(1006);
    const late = new WebSocket(service.wsUrl!, { handshakeTimeout: 1000 });
    clients.push(late);
    await expect(
      new Promise((resolve, reject) => {
        late.once('open', resolve);
        late.once('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
