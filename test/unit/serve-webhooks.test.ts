import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/secrets/redactor.js';
import type { AlertEvent } from '../../src/serve/alert-payloads.js';
import { retryAfterMs } from '../../src/webhook/retry-rules.js';
import { AlertDispatcher, WebhookTargetError, type DeliveryOptions } from '../../src/serve/webhook-delivery.js';

/** Hang guard only: every wait below normally ends long before it. */
const GUARD_MS = 10_000;
const SECRET_PATH = '/services/T0AAAA/B0BBBB/hunter2hunter2hunter2';

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
  path: string;
}

interface Receiver {
  base: string;
  url: string;
  received: Received[];
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

type Reply = (response: ServerResponse, requestNumber: number) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function withGuard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what}`)), GUARD_MS);
    timer.unref();
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Polls until the condition holds: the dispatcher counts a delivery a moment after the receiver has answered. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const pollMs = 5;
  for (let polls = 0; !condition(); polls++) {
    if (polls * pollMs > GUARD_MS) throw new Error(`hang guard: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function receiver(reply: Reply, path = '/hook'): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers, path: request.url ?? '' });
      for (const waiter of waiters.filter((entry) => received.length >= entry.count)) waiter.resolve();
      reply(response, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return {
    base,
    url: `${base}${path}`,
    received,
    waitFor: (count) =>
      withGuard(
        new Promise<void>((resolve) => {
          if (received.length >= count) resolve();
          else waiters.push({ count, resolve });
        }),
        `${count} request(s) at ${base}`,
      ),
    close,
  };
}

const answer =
  (status: number, headers: Record<string, string> = {}): Reply =>
  (response) => {
    response.writeHead(status, headers);
    response.end('ok');
  };

/** Answers with the statuses in turn, then 200. */
const answerInTurn =
  (...statuses: number[]): Reply =>
  (response, requestNumber) =>
    answer(statuses[requestNumber - 1] ?? 200)(response, requestNumber);

const neverAnswer: Reply = () => undefined;

interface Harness {
  dispatcher: AlertDispatcher;
  sleeps: number[];
  logs: string[];
  redactor: Redactor;
}

function dispatcher(options: Partial<DeliveryOptions> & Pick<DeliveryOptions, 'targets'>): Harness {
  const sleeps: number[] = [];
  const logs: string[] = [];
  const redactor = options.redactor ?? new Redactor();
  const created = new AlertDispatcher({
    redactor,
    attempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 60_000,
    timeoutMs: 5_000,
    // Backoff is recorded, not waited for; a fixed jitter makes the growth visible.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => created.close());
  return { dispatcher: created, sleeps, logs, redactor };
}

function alert(journey = 'checkout', overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    kind: 'failing',
    journey,
    file: 'journeys/checkout.yaml',
    tags: ['shop'],
    critical: false,
    urgent: false,
    location: 'eu-west',
    target: 'production',
    at: Date.UTC(2025, 0, 2, 3, 4, 5),
    consecutiveFailures: 3,
    failure: { at: Date.UTC(2025, 0, 2, 3, 4, 5), step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502' },
    ...overrides,
  };
}

async function settle(harness: Harness): Promise<void> {
  await withGuard(harness.dispatcher.drain(GUARD_MS), 'drain');
}

describe('AlertDispatcher retries', () => {
  it('retries 5xx with growing backoff and counts the delivery once it lands', async () => {
    const hook = await receiver(answerInTurn(500, 500));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }] });
    harness.dispatcher.send(alert());
    await settle(harness);

    expect(hook.received).toHaveLength(3);
    expect(harness.dispatcher.stats()).toEqual({ delivered: 1, failed: 0, dropped: 0, pending: 0 });
    expect(harness.sleeps).toEqual([50, 100]);
    expect(harness.sleeps[1]!).toBeGreaterThan(harness.sleeps[0]!);
    const first = hook.received[0]!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['user-agent']).toMatch(/^ceiling\//);
    expect(JSON.parse(first.body)).toMatchObject({ schemaVersion: 1, source: 'ceiling', event: 'failing', journey: 'checkout' });
  });

  it('caps the backoff at maxDelayMs', async () => {
    const hook = await receiver(answer(502));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }], baseDelayMs: 1_000, maxDelayMs: 3_000, random: () => 0.999 });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(harness.sleeps).toEqual([999, 1_998, 2_997, 2_997]);
  });

  it('gives up after `attempts` on an always-failing receiver, and send() returns before any request arrives', async () => {
    const hook = await receiver(answer(503));
    const harness = dispatcher({ targets: [{ url: `${hook.base}${SECRET_PATH}`, format: 'json' }], attempts: 3 });

    harness.dispatcher.send(alert());
    expect(hook.received).toHaveLength(0);
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 0, dropped: 0, pending: 1 });

    await settle(harness);
    expect(hook.received).toHaveLength(3);
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 1, dropped: 0, pending: 0 });
    expect(harness.logs).toHaveLength(1);
    expect(harness.logs[0]).toContain(hook.base);
    expect(harness.logs[0]).toContain('HTTP 503');
    expect(harness.logs[0]).toContain('3 attempt');
  });

  it('does not retry a 400: a bad URL or token will not fix itself', async () => {
    const hook = await receiver(answer(400));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }] });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(hook.received).toHaveLength(1);
    expect(harness.sleeps).toEqual([]);
    expect(harness.dispatcher.stats().failed).toBe(1);
    expect(harness.logs).toEqual([expect.stringMatching(/rejected \(HTTP 400\); not retried/)]);
  });

  it('retries 408 and 429', async () => {
    const hook = await receiver(answerInTurn(408, 429));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }] });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(hook.received).toHaveLength(3);
    expect(harness.dispatcher.stats().delivered).toBe(1);
  });

  it('honours Retry-After on 429 and 503, capped at maxDelayMs', async () => {
    const replies = [answer(429, { 'retry-after': '7' }), answer(503, { 'retry-after': '120' }), answer(200)];
    const hook = await receiver((response, number) => replies[number - 1]!(response, number));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }], maxDelayMs: 30_000 });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(harness.sleeps).toEqual([7_000, 30_000]);
    expect(harness.dispatcher.stats().delivered).toBe(1);
  });

  it('retries network errors', async () => {
    const gone = await receiver(answer(200));
    await gone.close();
    const harness = dispatcher({ targets: [{ url: gone.url, format: 'json' }], attempts: 2 });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(harness.sleeps).toHaveLength(1);
    expect(harness.dispatcher.stats().failed).toBe(1);
    expect(harness.logs[0]).toMatch(/refused/);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs(['4', '9'], now)).toBe(4_000);
    expect(retryAfterMs(new Date(now + 10_000).toUTCString(), now)).toBe(10_000);
    expect(retryAfterMs(new Date(now - 10_000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('AlertDispatcher with slow receivers', () => {
  it('times out an attempt to a receiver that never answers, and retries it', async () => {
    const hook = await receiver(neverAnswer);
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }], attempts: 2, timeoutMs: 200 });
    harness.dispatcher.send(alert());
    await settle(harness);
    expect(hook.received).toHaveLength(2);
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 1, dropped: 0, pending: 0 });
    expect(harness.logs[0]).toContain('no response within 200 ms');
  });

  it('drain() abandons a delivery that would outlast its bound', async () => {
    const hook = await receiver(neverAnswer);
    // Five attempts of 60 s each: only the drain bound can end this within the hang guard.
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }], timeoutMs: 60_000 });
    harness.dispatcher.send(alert());
    await hook.waitFor(1);
    await withGuard(harness.dispatcher.drain(50), 'drain(50)');
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 1, dropped: 0, pending: 0 });
    expect(harness.logs).toEqual([expect.stringContaining('abandoned at shutdown')]);
  });

  it('keeps delivering to one target while another hangs', async () => {
    const dead = await receiver(neverAnswer);
    const alive = await receiver(answer(204));
    const harness = dispatcher({
      targets: [
        { url: dead.url, format: 'json' },
        { url: alive.url, format: 'slack' },
      ],
      timeoutMs: 60_000,
    });
    harness.dispatcher.send(alert('first'));
    harness.dispatcher.send(alert('second'));
    await alive.waitFor(2);
    await dead.waitFor(1);
    await eventually(() => harness.dispatcher.stats().delivered === 2, 'both alerts delivered to the live target');
    expect(alive.received.map((entry) => (JSON.parse(entry.body) as { text: string }).text)).toEqual([
      expect.stringContaining('*first*'),
      expect.stringContaining('*second*'),
    ]);
    // The dead target still holds its first alert and has the second waiting.
    expect(dead.received).toHaveLength(1);
    expect(harness.dispatcher.stats()).toMatchObject({ delivered: 2, pending: 2 });
  });

  it('drops the oldest waiting alert when a target backlog overflows, and keeps order', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((response, number) => {
      if (number === 1) held.push(response);
      else answer(200)(response, number);
    });
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }], maxQueue: 2 });
    harness.dispatcher.send(alert('e1'));
    await hook.waitFor(1);
    harness.dispatcher.send(alert('e2'));
    harness.dispatcher.send(alert('e3'));
    harness.dispatcher.send(alert('e4'));
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 0, dropped: 1, pending: 3 });
    expect(harness.logs).toEqual([expect.stringContaining('dropped the oldest: failing alert for "e2"')]);

    held[0]!.writeHead(200).end();
    await settle(harness);
    expect(hook.received.map((entry) => (JSON.parse(entry.body) as { journey: string }).journey)).toEqual(['e1', 'e3', 'e4']);
    expect(harness.dispatcher.stats()).toEqual({ delivered: 3, failed: 0, dropped: 1, pending: 0 });
  });

  it('counts alerts sent after drain as dropped instead of sending them', async () => {
    const hook = await receiver(answer(200));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'json' }] });
    await settle(harness);
    harness.dispatcher.send(alert());
    expect(harness.dispatcher.stats()).toEqual({ delivered: 0, failed: 0, dropped: 1, pending: 0 });
    expect(hook.received).toHaveLength(0);
  });
});

describe('AlertDispatcher secrets and payloads', () => {
  it('redacts secrets from the bodies it sends', async () => {
    const redactor = new Redactor();
    redactor.add('tok-3f9a8b7c6d5e', 'API_TOKEN');
    const json = await receiver(answer(200));
    const slack = await receiver(answer(200));
    const harness = dispatcher({
      redactor,
      targets: [
        { url: json.url, format: 'json' },
        { url: slack.url, format: 'slack' },
      ],
    });
    harness.dispatcher.send(alert('checkout', { failure: { at: 0, code: 'CEIL_HTTP_STATUS', message: 'bearer tok-3f9a8b7c6d5e was refused' } }));
    await settle(harness);

    for (const entry of [...json.received, ...slack.received]) {
      expect(entry.body).not.toContain('tok-3f9a8b7c6d5e');
      expect(entry.body).toContain('[REDACTED:API_TOKEN]');
    }
    expect((JSON.parse(json.received[0]!.body) as { failure: { message: string } }).failure.message).toBe('bearer [REDACTED:API_TOKEN] was refused');
  });

  it('never logs a webhook URL beyond its scheme and host, and treats its path as a secret', async () => {
    const hook = await receiver(answer(404), SECRET_PATH);
    const harness = dispatcher({ targets: [{ url: `${hook.base}${SECRET_PATH}`, format: 'slack' }] });
    expect(harness.redactor.contains(`posted to ${SECRET_PATH}`)).toBe(true);
    harness.dispatcher.send(alert('checkout', { failure: { at: 0, code: 'CEIL_X', message: `leaked ${hook.base}${SECRET_PATH}` } }));
    await settle(harness);

    expect(hook.received[0]!.path).toBe(SECRET_PATH);
    expect(hook.received[0]!.body).not.toContain('hunter2hunter2');
    expect(harness.logs).toHaveLength(1);
    expect(harness.logs[0]).toContain(hook.base);
    expect(harness.logs[0]).not.toContain('/services');
  });

  it('does not register a short path such as /hook as a secret', () => {
    const harness = dispatcher({ targets: [{ url: 'http://127.0.0.1:9/hook', format: 'json' }] });
    expect(harness.redactor.contains('a /hook path')).toBe(false);
  });

  it('sends Slack-compatible bodies to slack targets, urgent ones paging the channel', async () => {
    const hook = await receiver(answer(200));
    const harness = dispatcher({ targets: [{ url: hook.url, format: 'slack' }] });
    harness.dispatcher.send(alert('checkout', { urgent: true, tags: ['critical'] }));
    await settle(harness);
    const body = JSON.parse(hook.received[0]!.body) as { text: string; blocks: { type: string }[] };
    expect(body.text).toMatch(/^:rotating_light: URGENT <!channel> \*checkout\* is failing/);
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
  });

  it('rejects a target that is not an http(s) URL without quoting it', () => {
    const build = (url: string) => () => new AlertDispatcher({ targets: [{ url, format: 'json' }], redactor: new Redactor() });
    expect(build('ftp://user:s3cr3tpass@example.test/x')).toThrow(WebhookTargetError);
    expect(build('ftp://user:s3cr3tpass@example.test/x')).toThrow(/webhook target #1 uses ftp:/);
    expect(build('hooks.slack.com/services/s3cr3tpass')).toThrow(/not an absolute URL/);
    try {
      build('ftp://user:s3cr3tpass@example.test/x')();
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cr3tpass');
    }
  });
});

describe('what send() tells the caller', () => {
  it('resolves, per receiver, with delivered, rejected or failed once each is done', async () => {
    const ok = await receiver(answer(200));
    const gone = await receiver(answer(404));
    const down = await receiver(answer(503));
    const { dispatcher: sender } = dispatcher({
      targets: [ok, gone, down].map((target) => ({ url: target.url, format: 'json' as const })),
      attempts: 2,
    });
    const outcomes = await withGuard(sender.send(alert()), 'the send outcome');
    expect([...outcomes.entries()]).toEqual([
      [0, 'delivered'],
      [1, 'rejected'],
      [2, 'failed'],
    ]);
  });

  it('skips the receivers it is told already took the alert', async () => {
    const first = await receiver(answer(200));
    const second = await receiver(answer(200));
    const { dispatcher: sender } = dispatcher({ targets: [first, second].map((target) => ({ url: target.url, format: 'json' as const })) });
    const outcomes = await withGuard(sender.send(alert(), { skip: new Set([0]) }), 'the send outcome');
    expect([...outcomes.entries()]).toEqual([[1, 'delivered']]);
    expect(first.received).toHaveLength(0);
    expect(second.received).toHaveLength(1);
  });

  it('says failed for an alert abandoned at shutdown or refused while shutting down', async () => {
    const silent = await receiver(neverAnswer);
    const { dispatcher: sender } = dispatcher({ targets: [{ url: silent.url, format: 'json' }] });
    const pending = sender.send(alert());
    await silent.waitFor(1);
    await withGuard(sender.drain(0), 'drain');
    expect([...(await withGuard(pending, 'the abandoned outcome')).values()]).toEqual(['failed']);
    expect([...(await sender.send(alert('late'))).values()]).toEqual(['failed']);
  });
});
