import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type VerifyClientCallbackAsync } from 'ws';
import type { CompiledStep } from '../../src/journey/journey.js';
import { StepSession, compile, failureOf } from './step-session.js';
import type { WsActor } from '../../src/steps/ws/actor.js';
import { INBOX_LIMITS } from '../../src/steps/ws/inbox.js';

const DEFAULT_STEP_TIMEOUT_MS = 3000;
const WAIT_LIMIT_MS = 3000;

/** Polls a condition the test cannot subscribe to; bounded so a regression fails instead of hanging. */
async function eventually(condition: () => boolean, what: string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  const giveUpAt = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function within<T>(promise: Promise<T>, what: string, limitMs = WAIT_LIMIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), limitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** A journey session for ws steps, which also hands out its actors to look inside. */
class Session extends StepSession {
  constructor(vars: Record<string, unknown>, secrets: Record<string, string> = {}) {
    super({
      vars,
      secrets,
      env: (name) => process.env[name],
      defaultTimeoutMs: DEFAULT_STEP_TIMEOUT_MS,
      journey: { name: 'ws steps', file: 'ws-steps.test.ts' },
    });
  }

  actor(name: string): WsActor {
    const actor = this.actors.get<WsActor>(name, 'ws');
    if (!actor) throw new Error(`no actor ${name}`);
    return actor;
  }
}

interface ServerConnection {
  readonly socket: WebSocket;
  readonly received: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

type Command = { cmd: 'send'; frames: unknown[]; delayMs?: number } | { cmd: 'close'; code?: number; reason?: string } | { cmd: 'destroy' };

/**
 * Echoes every frame except commands, which make it send frames (optionally
 * later), close with a code, or cut the TCP connection.
 */
class TestServer {
  readonly connections: ServerConnection[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly wss: WebSocketServer,
    readonly url: string,
  ) {
    wss.on('connection', (socket) => this.#accept(socket));
  }

  static async start(verifyClient?: VerifyClientCallbackAsync): Promise<TestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...(verifyClient ? { verifyClient } : {}) });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const { port } = wss.address() as AddressInfo;
    return new TestServer(wss, `ws://127.0.0.1:${port}/`);
  }

  async connection(index: number): Promise<ServerConnection> {
    await eventually(() => this.connections.length > index, `server connection #${index}`);
    return this.connections[index]!;
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  #accept(socket: WebSocket): void {
    const received: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('error', () => {});
    socket.on('message', (data) => {
      const text = String(data);
      received.push(text);
      const command = this.#commandIn(text);
      if (command) this.#obey(socket, command);
      else socket.send(text);
    });
    this.connections.push({ socket, received, closed });
  }

  #commandIn(text: string): Command | undefined {
    try {
      const parsed = JSON.parse(text) as { cmd?: unknown };
      return parsed && typeof parsed === 'object' && typeof parsed.cmd === 'string' ? (parsed as Command) : undefined;
    } catch {
      return undefined;
    }
  }

  #obey(socket: WebSocket, command: Command): void {
    if (command.cmd === 'close') return socket.close(command.code, command.reason);
    if (command.cmd === 'destroy') return socket.terminate();
    const sendAll = () => {
      for (const frame of command.frames) socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    };
    if (!command.delayMs) return sendAll();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      sendAll();
    }, command.delayMs);
    this.#timers.add(timer);
  }
}

/** A server-side keepalive like a real service runs: a ping per interval, and a client that missed the last one is cut. */
function keepalive(connection: ServerConnection, intervalMs: number): { readonly lastPing: number; readonly answered: number[] } {
  let lastPing = 0;
  let awaitingPong = false;
  const answered: number[] = [];
  connection.socket.on('pong', (payload) => {
    answered.push(Number(String(payload)));
    awaitingPong = false;
  });
  const timer = setInterval(() => {
    if (awaitingPong) {
      clearInterval(timer);
      connection.socket.terminate();
      return;
    }
    awaitingPong = true;
    connection.socket.ping(String(++lastPing));
  }, intervalMs);
  void connection.closed.then(() => clearInterval(timer));
  return {
    get lastPing() {
      return lastPing;
    },
    answered,
  };
}

async function listenRaw(onSocket: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const closeRaw = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

let server: TestServer | undefined;
let session: Session | undefined;

async function setup(
  verifyClient?: VerifyClientCallbackAsync,
): Promise<{ server: TestServer; session: Session; steps: (yaml: string) => Promise<CompiledStep[]> }> {
  server = await TestServer.start(verifyClient);
  const vars = { url: server.url };
  session = new Session(vars);
  return { server, session, steps: (yaml) => compile(yaml, vars) };
}

afterEach(async () => {
  try {
    if (session) {
      expect(await session.teardown.runAll()).toEqual([]);
      // Teardown must leave no socket behind: the server sees every client gone.
      const clients = server?.wss.clients;
      if (clients) await eventually(() => clients.size === 0, 'the server to see every client gone');
    }
  } finally {
    await server?.stop();
    server = undefined;
    session = undefined;
  }
});

afterAll(async () => {
  // Every server and client of this file is gone: no TCP handle may outlive the tests.
  await eventually(() => !process.getActiveResourcesInfo().some((resource) => resource.startsWith('TCP')), 'every TCP handle to close');
});

describe('ws.send and ws.expect', () => {
  it('matches json as a subset, consumes the first match and leaves the rest unread', async () => {
    const { session, steps } = await setup();
    const [connect, send, expectB, expectFirstA, expectSecondA, echo, expectEcho] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: [{ type: a, n: 1 }, { type: b, n: 2 }, { type: a, n: 3 }] } }
- ws.expect: { as: alice, json: { type: b }, capture: { b: json.n } }
- ws.expect: { as: alice, json: { type: a }, capture: { first: json.n } }
- ws.expect: { as: alice, json: { type: a, n: { $gt: 1 } }, capture: { second: json.n } }
- ws.send: { as: alice, text: "hello {{ vars.first }}" }
- ws.expect: { as: alice, text: hello 1 }
`);
    await session.runAll([connect!, send!]);
    expect(await session.run(expectB)).toEqual({ assertions: 1, captured: { b: 2 } });
    // Message a/1 arrived before b/2 and did not match it, so it must still be there for this expect.
    expect(await session.run(expectFirstA)).toEqual({ assertions: 1, captured: { first: 1 } });
    expect(await session.run(expectSecondA)).toEqual({ assertions: 1, captured: { second: 3 } });
    await session.runAll([echo!, expectEcho!]);
    expect(session.actor('alice').inbox.messages.map((message) => message.consumed)).toEqual([true, true, true, true]);
  });

  it('fails a timed-out expect listing the latest 20 unread messages and counting the earlier ones', async () => {
    const { session, steps } = await setup();
    const chatter = Array.from({ length: 27 }, (_, n) => ({ type: 'chatter', n: n + 1 }));
    const frames = JSON.stringify([{ type: 'marker', n: 0 }, ...chatter, 'plain text, not JSON', 'x'.repeat(900)]);
    const [connect, send, expectMarker, expectMissing] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ${frames} } }
- ws.expect: { as: alice, json: { type: marker } }
- ws.expect: { as: alice, json: { type: joined }, within: 150ms }
`);
    await session.runAll([connect!, send!, expectMarker!]);
    await eventually(() => session.actor('alice').inbox.messages.length === 30, 'every frame to arrive');
    const failure = await failureOf(session.run(expectMissing));
    expect(failure.failureClass).toBe('assertion');
    expect(failure.code).toBe('CEIL_WS_EXPECT_TIMEOUT');
    expect(failure.message).toContain('json {"type":"joined"}');
    expect(failure.message).toContain('29 other messages arrived (the latest 20 in actual); 1 earlier one was claimed by previous ws.expect steps');
    const actual = failure.details.actual as unknown[];
    expect(actual).toHaveLength(21);
    expect(actual[0]).toBe('… 9 earlier messages not shown');
    expect(actual.slice(1, 19)).toEqual(chatter.slice(9));
    // A JSON string frame is shown as its value; a long frame is cut to a preview that says its length.
    expect(actual[19]).toBe('plain text, not JSON');
    expect(actual[20]).toBe(`${'x'.repeat(300)}… (900 chars)`);
  });

  it('lists every unread message, with no count, when they fit', async () => {
    const { session, steps } = await setup();
    const frames = JSON.stringify([1, 2, 3].map((n) => ({ type: 'chatter', n })));
    const [connect, send, expectMissing] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ${frames} } }
- ws.expect: { as: alice, text: never, within: 150ms }
`);
    await session.runAll([connect!, send!]);
    await eventually(() => session.actor('alice').inbox.messages.length === 3, 'every frame to arrive');
    const failure = await failureOf(session.run(expectMissing));
    expect(failure.message).toContain('3 other messages arrived (all in actual)');
    expect(failure.details.actual).toEqual([1, 2, 3].map((n) => ({ type: 'chatter', n })));
    // A text expectation has no paths to compare, so no closest-message diff.
    expect(failure.message).not.toContain('closest');
  });

  it('shows a path-level diff against the message with the fewest mismatching paths', async () => {
    const { session, steps } = await setup();
    const frames = JSON.stringify([
      { kind: 'presence', who: 'carol' },
      { type: 'joined', nick: 'bobby', room: 'lobby' },
      { type: 'left', nick: 'dave', room: 'attic' },
      'not json at all',
    ]);
    const [connect, send, expectMissing] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ${frames} } }
- ws.expect: { as: alice, json: { type: joined, nick: bob, room: lobby }, within: 150ms }
`);
    await session.runAll([connect!, send!]);
    await eventually(() => session.actor('alice').inbox.messages.length === 4, 'every frame to arrive');
    const failure = await failureOf(session.run(expectMissing));
    expect(failure.message).toContain('\nclosest: message 2 of 4 unread differs:\n  json.nick is "bobby", expected "bob"');
    expect(failure.message.split('\n')).toHaveLength(3);
  });

  it('names a missing path in the diff and redacts a secret expected value', async () => {
    const { server } = await setup();
    const secretSession = new Session({ url: server.url }, { TOKEN: 'hunter2-very-secret' });
    session = secretSession;
    const frames = JSON.stringify([{ nick: 'bob', token: 'wrong' }]);
    const [connect, send, expectMissing] = await compile(
      String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ${frames} } }
- ws.expect: { as: alice, json: { type: joined, nick: bob, token: "{{ secrets.TOKEN }}" }, within: 150ms }
`,
      { url: server.url },
    );
    await secretSession.runAll([connect!, send!]);
    await eventually(() => secretSession.actor('alice').inbox.messages.length === 1, 'the frame to arrive');
    const failure = await failureOf(secretSession.run(expectMissing));
    expect(failure.message).toContain('closest: message 1 of 1 unread differs:');
    expect(failure.message).toContain('json.type is missing; expected "joined"');
    expect(failure.message).toMatch(/json\.token is "wrong", expected "\[REDACTED[^\]]*\]"/);
    expect(failure.message).not.toContain('hunter2');
  });

  it('hangs up on a peer that floods the inbox and fails the wait as a protocol error', async () => {
    const { session, steps } = await setup();
    const frames = JSON.stringify(Array.from({ length: INBOX_LIMITS.messages + 5 }, (_, n) => n));
    const [connect, send, expectMissing] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ${frames} } }
- ws.expect: { as: alice, json: { type: never }, within: 25s }
  timeout: 25s
`);
    await session.runAll([connect!, send!]);
    const failure = await failureOf(session.run(expectMissing));
    expect(failure.failureClass).toBe('protocol');
    expect(failure.code).toBe('CEIL_WS_FLOOD');
    expect(session.actor('alice').inbox.messages.length).toBe(INBOX_LIMITS.messages);
  });

  it('treats the step deadline as the window when within is not given', async () => {
    const { session, steps } = await setup();
    const [connect, expectMissing] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.expect: { as: alice, text: never }
  timeout: 200ms
`);
    await session.run(connect);
    const failure = await failureOf(session.run(expectMissing));
    expect(failure.code).toBe('CEIL_WS_EXPECT_TIMEOUT');
    expect(failure.details.actual).toEqual([]);
  });

  it('matches text exactly and regex anywhere', async () => {
    const { session, steps } = await setup();
    const [connect, send, exact, regex, exactMiss] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: ["status: ok", "status: ok!"] } }
- ws.expect: { as: alice, text: "status: ok!" }
- ws.expect: { as: alice, regex: '^status: (\w+)$' }
- ws.expect: { as: alice, text: "status:", within: 100ms }
`);
    await session.runAll([connect!, send!, exact!, regex!]);
    expect((await failureOf(session.run(exactMiss))).code).toBe('CEIL_WS_EXPECT_TIMEOUT');
  });

  it('captures json paths, the text and regex groups from the matched message', async () => {
    const { session, steps } = await setup();
    const [connect, send, expectUser] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: [{ user: { id: u-7, tags: [a, b] }, note: "order=42; ref=x9" }] } }
- ws.expect:
    as: alice
    json: { user: { id: { $type: string } } }
    capture:
      userId: json.user.id
      secondTag: 'json.user.tags[1]'
      user: json.user
      raw: text
      order: { regex: 'order=(\d+)', from: json.note }
      ref: { regex: '(?<key>ref)=(?<value>\w+)', group: value, from: json.note }
      whole: { regex: 'order=\d+', from: json.note }
`);
    await session.runAll([connect!, send!]);
    const outcome = await session.run(expectUser);
    expect(outcome.captured).toEqual({
      userId: 'u-7',
      secondTag: 'b',
      user: { id: 'u-7', tags: ['a', 'b'] },
      raw: '{"user":{"id":"u-7","tags":["a","b"]},"note":"order=42; ref=x9"}',
      order: '42',
      ref: 'x9',
      whole: 'order=42',
    });
  });

  it('fails a capture whose path the matched message lacks', async () => {
    const { session, steps } = await setup();
    const [connect, send, expectWithCapture] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: [{ type: a }] } }
- ws.expect: { as: alice, json: { type: a }, capture: { id: json.id } }
`);
    await session.runAll([connect!, send!]);
    const failure = await failureOf(session.run(expectWithCapture));
    expect(failure.failureClass).toBe('assertion');
    expect(failure.code).toBe('CEIL_CAPTURE_MISSING');
  });

  it('refuses to send on a closed connection', async () => {
    const { session, steps } = await setup();
    const [connect, close, send] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.close: { as: alice }
- ws.send: { as: alice, text: too late }
`);
    await session.runAll([connect!, close!]);
    const failure = await failureOf(session.run(send));
    expect(failure.failureClass).toBe('connect');
    expect(failure.code).toBe('CEIL_WS_NOT_OPEN');
  });

  it('reports an unknown actor as a config error', async () => {
    const { session, steps } = await setup();
    const [, send] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, text: hi }
`);
    const failure = await failureOf(session.run(send));
    expect(failure.failureClass).toBe('config');
    expect(failure.code).toBe('CEIL_ACTOR_UNKNOWN');
  });

  it('rejects with the interruption when the run is interrupted mid-wait', async () => {
    const { session, steps } = await setup();
    const [connect, expectForever] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.expect: { as: alice, text: never }
`);
    await session.run(connect);
    const pending = failureOf(session.run(expectForever));
    setTimeout(() => session.interrupt.abort(), 50);
    expect((await pending).failureClass).toBe('interrupted');
  });
});

describe('ws.expectNone', () => {
  it('passes when only other messages arrive during the window', async () => {
    const { session, steps } = await setup();
    const [connect, send, none] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: [{ type: chatter }] } }
- ws.expectNone: { as: alice, json: { type: error }, for: 150ms }
`);
    await session.runAll([connect!, send!]);
    expect(await session.run(none)).toEqual({ assertions: 1 });
  });

  it('fails on a matching message already in the inbox, without consuming it', async () => {
    const { session, steps } = await setup();
    const [connect, send, marker, none, expectError] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, frames: [{ type: error, reason: boom }, { type: marker }] } }
- ws.expect: { as: alice, json: { type: marker } }
- ws.expectNone: { as: alice, json: { type: error }, for: 2s }
- ws.expect: { as: alice, json: { type: error }, within: 100ms }
`);
    await session.runAll([connect!, send!, marker!]);
    const failure = await failureOf(session.run(none));
    expect(failure.failureClass).toBe('assertion');
    expect(failure.code).toBe('CEIL_WS_UNEXPECTED_MESSAGE');
    expect(failure.details.actual).toBe('{"type":"error","reason":"boom"}');
    await session.run(expectError);
  });

  it('fails when a matching message arrives during the window', async () => {
    const { session, steps } = await setup();
    const [connect, sendLater, none] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: send, delayMs: 50, frames: [{ type: late }] } }
- ws.expectNone: { as: alice, json: { type: late }, for: 2s }
`);
    await session.runAll([connect!, sendLater!]);
    expect((await failureOf(session.run(none))).code).toBe('CEIL_WS_UNEXPECTED_MESSAGE');
  });
});

describe('ws.connect', () => {
  it('auto-replies with regex groups and json, and still records the triggering messages', async () => {
    const { server, session, steps } = await setup();
    const [connect, send, expectPing] = await steps(String.raw`
- ws.connect:
    as: alice
    url: "{{ vars.url }}"
    autoReply:
      - when: { regex: '^PING (\d+)$' }
        send: { text: PONG $1 }
      - when: { json: { type: hello } }
        send: { json: { type: hi } }
- ws.send: { as: alice, json: { cmd: send, frames: ["PING 42", { type: hello }] } }
- ws.expect: { as: alice, text: PING 42 }
`);
    await session.runAll([connect!, send!]);
    const connection = await server.connection(0);
    await eventually(() => connection.received.includes('PONG 42') && connection.received.includes('{"type":"hi"}'), 'both auto-replies');
    await session.run(expectPing);
  });

  it('sends the Origin header, and reports a refused upgrade with its status', async () => {
    const allowOnly: VerifyClientCallbackAsync = (info, done) => done(info.origin === 'https://app.example', 403, 'Forbidden');
    const { session, steps } = await setup(allowOnly);
    const [allowed, refused] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}", headers: { Origin: "https://app.example" } }
- ws.connect: { as: mallory, url: "{{ vars.url }}", headers: { Origin: "https://evil.example" } }
`);
    await session.run(allowed);
    const failure = await failureOf(session.run(refused));
    expect(failure.failureClass).toBe('protocol');
    expect(failure.code).toBe('CEIL_WS_UPGRADE_REJECTED');
    expect(failure.details.actual).toBe(403);
    expect(session.actors.has('mallory')).toBe(false);
  });

  it('adds query: to the URL, each value encoded so & and + cannot split it', async () => {
    let seenUrl: string | undefined;
    const recordUrl: VerifyClientCallbackAsync = (info, done) => {
      seenUrl = info.req.url;
      done(true);
    };
    const { session, steps } = await setup(recordUrl);
    const [connect] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}?room=1", query: { nick: "a&b+c d", n: "2" } }
`);
    await session.run(connect);
    const params = new URL(seenUrl!, 'ws://x').searchParams;
    expect([...params.entries()]).toEqual([
      ['room', '1'],
      ['nick', 'a&b+c d'],
      ['n', '2'],
    ]);
  });

  it('refuses a second connect of a live actor but allows reconnecting a closed one', async () => {
    const { server, session, steps } = await setup();
    const [connect, close] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.close: { as: alice }
`);
    await session.run(connect);
    const failure = await failureOf(session.run(connect));
    expect(failure.failureClass).toBe('config');
    await session.run(close);
    await session.run(connect);
    expect(session.actor('alice').isOpen).toBe(true);
    await server.connection(1);
  });

  it('times out a handshake the server never answers, and lets go of the socket', async () => {
    const accepted: net.Socket[] = [];
    let hungUp = 0;
    const raw = await listenRaw((socket) => {
      socket.on('error', () => {});
      socket.on('close', () => hungUp++);
      // Read and ignore the upgrade request, so the client's hang-up is seen as EOF.
      socket.resume();
      accepted.push(socket);
    });
    try {
      session = new Session({ url: `ws://127.0.0.1:${raw.port}/` });
      const [byHandshakeTimeout, byStepTimeout] = await compile(
        String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}", handshakeTimeout: 150ms }
- ws.connect: { as: bob, url: "{{ vars.url }}" }
  timeout: 150ms
`,
        session.vars,
      );
      for (const step of [byHandshakeTimeout, byStepTimeout]) {
        const failure = await failureOf(session.run(step));
        expect(failure.failureClass).toBe('timeout');
        expect(failure.code).toBe('CEIL_WS_HANDSHAKE_TIMEOUT');
      }
      expect(accepted).toHaveLength(2);
      await eventually(() => hungUp === 2, 'the client to hang up');
      expect(session.actors.has('alice') || session.actors.has('bob')).toBe(false);
    } finally {
      for (const socket of accepted) socket.destroy();
      await closeRaw(raw.server);
    }
  });

  it('checks the TLS certificate unless insecure is set', async () => {
    const [cert, key] = await Promise.all(['cert.pem', 'key.pem'].map((file) => readFile(new URL(`../../fixtures/tls/${file}`, import.meta.url))));
    const https = createHttpsServer({ cert: cert!, key: key! });
    const wss = new WebSocketServer({ server: https });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      session = new Session({ url: `wss://127.0.0.1:${(https.address() as AddressInfo).port}/` });
      const [checked, insecure] = await compile(
        String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.connect: { as: bob, url: "{{ vars.url }}", insecure: true }
`,
        session.vars,
      );
      const failure = await failureOf(session.run(checked));
      expect(failure.failureClass).toBe('tls');
      await session.run(insecure);
      expect(session.actor('bob').isOpen).toBe(true);
      expect(await session.teardown.runAll()).toEqual([]);
      await eventually(() => wss.clients.size === 0, 'the TLS server to see the client gone');
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it('classifies a refused connection', async () => {
    const unused = await listenRaw(() => {});
    await closeRaw(unused.server);
    session = new Session({ url: `ws://127.0.0.1:${unused.port}/` });
    const [connect] = await compile(`- ws.connect: { as: alice, url: "{{ vars.url }}" }`, session.vars);
    const failure = await failureOf(session.run(connect));
    expect(failure.failureClass).toBe('connect');
    expect(failure.code).toBe('CEIL_CONNECT_REFUSED');
  });
});

describe('ending connections', () => {
  it('closes gracefully with the given code and reason', async () => {
    const { server, session, steps } = await setup();
    const [connect, close, closed] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.close: { as: alice, code: 4000, reason: bye }
- ws.expectClosed: { as: alice, code: 4000 }
`);
    await session.runAll([connect!, close!]);
    const connection = await server.connection(0);
    expect(await within(connection.closed, 'the server to see the close')).toEqual({ code: 4000, reason: 'bye' });
    expect(session.actor('alice').inbox.closed).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
    expect(await session.run(closed)).toEqual({ assertions: 1 });
  });

  it('drops the TCP connection without a close frame', async () => {
    const { server, session, steps } = await setup();
    const [connect, drop, closed] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.drop: { as: alice }
- ws.expectClosed: { as: alice, code: 1006 }
`);
    await session.runAll([connect!, drop!]);
    const connection = await server.connection(0);
    expect((await within(connection.closed, 'the server to see the drop')).code).toBe(1006);
    expect(session.actor('alice').inbox.closed?.wasClean).toBe(false);
    await session.run(closed);
  });

  it('ghosts: no pong and no auto-reply after ghosting, so the server keepalive reaps it', async () => {
    const { server, session, steps } = await setup();
    const [connect, ghost] = await steps(String.raw`
- ws.connect:
    as: alice
    url: "{{ vars.url }}"
    autoReply: [{ when: { regex: '^PING (\d+)$' }, send: { text: PONG $1 } }]
- ws.ghost: { as: alice }
`);
    await session.run(connect);
    const connection = await server.connection(0);
    const pulse = keepalive(connection, 100);
    await eventually(() => pulse.answered.length >= 2, 'pongs while the actor is alive');

    await session.run(ghost);
    const lastPingBeforeGhost = pulse.lastPing;
    connection.socket.send('PING 7');

    expect((await within(connection.closed, 'the keepalive to reap the ghost')).code).toBe(1006);
    expect(pulse.lastPing).toBeGreaterThan(lastPingBeforeGhost);
    expect(pulse.answered.filter((ping) => ping > lastPingBeforeGhost)).toEqual([]);
    expect(connection.received).not.toContain('PONG 7');
  });

  it('closes a ghost gracefully without ever replying again', async () => {
    const { server, session, steps } = await setup();
    const [connect, ghost, close] = await steps(String.raw`
- ws.connect:
    as: alice
    url: "{{ vars.url }}"
    autoReply: [{ when: { text: PING }, send: { text: PONG } }]
- ws.ghost: { as: alice }
- ws.close: { as: alice, code: 1001 }
`);
    await session.runAll([connect!, ghost!]);
    const connection = await server.connection(0);
    connection.socket.send('PING');
    await session.run(close);
    expect((await within(connection.closed, 'the server to see the close')).code).toBe(1001);
    expect(connection.received).not.toContain('PONG');
  });

  it('sees the 1006 of a server that destroys the socket', async () => {
    const { session, steps } = await setup();
    const [connect, destroy, closed] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: destroy } }
- ws.expectClosed: { as: alice, code: 1006, within: 2s }
`);
    await session.runAll([connect!, destroy!]);
    expect(await session.run(closed)).toEqual({ assertions: 1 });
  });

  it('fails expectClosed on another close code, and when nothing closes in time', async () => {
    const { session, steps } = await setup();
    const [connect, stillOpen, kick, wrongCode] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.expectClosed: { as: alice, within: 150ms }
- ws.send: { as: alice, json: { cmd: close, code: 4001, reason: kicked } }
- ws.expectClosed: { as: alice, code: 4000, within: 2s }
`);
    await session.run(connect);
    const notClosed = await failureOf(session.run(stillOpen));
    expect(notClosed.failureClass).toBe('assertion');
    expect(notClosed.code).toBe('CEIL_WS_NOT_CLOSED');
    await session.run(kick);
    const failure = await failureOf(session.run(wrongCode));
    expect(failure.failureClass).toBe('assertion');
    expect(failure.code).toBe('CEIL_WS_CLOSE_CODE');
    expect(failure.details).toMatchObject({ expected: 4000, actual: 4001 });
  });

  it('fails an expect that is waiting when the server closes', async () => {
    const { session, steps } = await setup();
    const [connect, kick, expectNever] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.send: { as: alice, json: { cmd: close, code: 4002, reason: kicked } }
- ws.expect: { as: alice, json: { type: never }, within: 2s }
`);
    await session.runAll([connect!, kick!]);
    const failure = await failureOf(session.run(expectNever));
    expect(failure.failureClass).toBe('assertion');
    expect(failure.code).toBe('CEIL_WS_CLOSED_WHILE_EXPECTING');
    expect(failure.message).toContain('4002');
  });

  it('tears down every actor, whatever state it is in', async () => {
    const { server, session, steps } = await setup();
    const [alice, bob, carol, ghostBob, closeCarol] = await steps(String.raw`
- ws.connect: { as: alice, url: "{{ vars.url }}" }
- ws.connect: { as: bob, url: "{{ vars.url }}" }
- ws.connect: { as: carol, url: "{{ vars.url }}" }
- ws.ghost: { as: bob }
- ws.close: { as: carol }
`);
    await session.runAll([alice!, bob!, carol!, ghostBob!, closeCarol!]);
    const actors = ['alice', 'bob', 'carol'].map((name) => session.actor(name));
    const connections = await Promise.all([0, 1, 2].map((index) => server.connection(index)));

    expect(await session.teardown.runAll()).toEqual([]);
    expect(actors.every((actor) => actor.isClosed)).toBe(true);
    expect(['alice', 'bob', 'carol'].some((name) => session.actors.has(name))).toBe(false);
    await within(Promise.all(connections.map((connection) => connection.closed)), 'the server to see every client gone');
    // Teardown twice must be harmless, as when a retry tears down what a failed attempt left.
    await Promise.all(actors.map((actor) => actor.shutdown()));
  });
});
