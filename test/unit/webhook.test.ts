import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/secrets/redactor.js';
import { createWebhookAgent, postWebhook, type PostResult, type WebhookPost } from '../../src/webhook/post.js';
import { isRetryableStatus, retryAfterMs } from '../../src/webhook/retry-rules.js';
import { escapeSlack } from '../../src/webhook/slack-text.js';
import { registerWebhookUrlSecrets, TOKEN_MIN_LENGTH, webhookDisplayName, webhookUrlSecrets } from '../../src/webhook/url.js';
import { answer, neverAnswer, startReceiver, type Receiver, type Reply } from './gate-receiver.js';

/** Hang guard only: every post below normally ends long before it. */
const GUARD_MS = 10_000;
const PLANTED = 'planted-webhook-token-5c1e9a07d3';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function receiver(reply: Reply): Promise<Receiver> {
  const started = await startReceiver(reply);
  cleanups.push(() => started.close());
  return started;
}

function agent(timeoutMs = 5_000): Agent {
  const created = createWebhookAgent({ connections: 2, timeoutMs });
  cleanups.push(() => created.destroy());
  return created;
}

function withGuard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what}`)), GUARD_MS);
    timer.unref();
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function post(url: string, overrides: Partial<WebhookPost> = {}): Promise<PostResult> {
  return withGuard(
    postWebhook({ url: new URL(url), body: '{"hello":"receiver"}', timeoutMs: 5_000, maxRetryAfterMs: 60_000, dispatcher: agent(), ...overrides }),
    `post to ${url}`,
  );
}

/** A port on 127.0.0.1 that nothing listens on: bound, read, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('postWebhook', () => {
  it('delivers on 2xx, posting JSON with the ceiling user agent', async () => {
    const hook = await receiver(answer(204, ''));
    expect(await post(`${hook.base}/hook`)).toEqual({ outcome: 'delivered', status: 204 });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]).toMatchObject({ method: 'POST', path: '/hook', body: '{"hello":"receiver"}' });
    expect(hook.received[0]!.headers['content-type']).toBe('application/json');
    expect(hook.received[0]!.headers['user-agent']).toMatch(/^ceiling\//);
  });

  it('rejects a 4xx other than 408 and 429: retrying cannot fix a wrong URL or token', async () => {
    for (const status of [400, 401, 403, 404, 410]) {
      const hook = await receiver(answer(status));
      expect(await post(hook.base)).toEqual({ outcome: 'rejected', status, reason: `HTTP ${status}` });
      expect(hook.received).toHaveLength(1);
    }
  });

  it('asks for a retry on 5xx, 408 and 429', async () => {
    for (const status of [500, 502, 503, 408, 429]) {
      const hook = await receiver(answer(status));
      expect(await post(hook.base)).toEqual({ outcome: 'retry', cause: 'status', status, reason: `HTTP ${status}` });
    }
  });

  it('honours Retry-After in seconds on 429 and 503, capped', async () => {
    const polite = await receiver(answer(429, 'slow down', { 'retry-after': '3' }));
    expect(await post(polite.base)).toMatchObject({ outcome: 'retry', status: 429, retryAfterMs: 3_000 });
    const greedy = await receiver(answer(503, 'down', { 'retry-after': '3600' }));
    expect(await post(greedy.base, { maxRetryAfterMs: 5_000 })).toMatchObject({ outcome: 'retry', status: 503, retryAfterMs: 5_000 });
  });

  it('honours Retry-After as an HTTP date, capped, and reads a past date as now', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const soon = await receiver(answer(429, '', { 'retry-after': new Date(now + 10_000).toUTCString() }));
    expect(await post(soon.base, { now: () => now })).toMatchObject({ outcome: 'retry', retryAfterMs: 10_000 });
    const late = await receiver(answer(503, '', { 'retry-after': new Date(now + 3_600_000).toUTCString() }));
    expect(await post(late.base, { now: () => now, maxRetryAfterMs: 5_000 })).toMatchObject({ outcome: 'retry', retryAfterMs: 5_000 });
    const past = await receiver(answer(429, '', { 'retry-after': new Date(now - 10_000).toUTCString() }));
    expect(await post(past.base, { now: () => now })).toMatchObject({ outcome: 'retry', retryAfterMs: 0 });
  });

  it('ignores Retry-After on statuses that do not ask to wait, and when unreadable', async () => {
    const crashed = await receiver(answer(500, '', { 'retry-after': '30' }));
    expect(await post(crashed.base)).not.toHaveProperty('retryAfterMs');
    const garbled = await receiver(answer(429, '', { 'retry-after': 'soon' }));
    expect(await post(garbled.base)).not.toHaveProperty('retryAfterMs');
  });

  it('times out a receiver that never answers, classified as a timeout', async () => {
    const hung = await receiver(neverAnswer);
    expect(await post(hung.base, { timeoutMs: 100 })).toEqual({ outcome: 'retry', cause: 'timeout', reason: 'no response within 100 ms' });
    expect(hung.received).toHaveLength(1);
  });

  it('counts the status even when the reply body never ends', async () => {
    const dribbling = await receiver((response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('still going');
    });
    // The timeout ends the read of the body; it is long enough for the status to arrive on a busy machine.
    expect(await post(dribbling.base, { timeoutMs: 1_000 })).toEqual({ outcome: 'delivered', status: 200 });
  });

  it('stops when the signal aborts, and sends nothing once it has', async () => {
    const hung = await receiver(neverAnswer);
    const controller = new AbortController();
    const pending = post(hung.base, { signal: controller.signal });
    // Abort once the receiver holds the request, so it is the request in flight that is cut.
    await withGuard(
      (async () => {
        while (hung.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'the request to arrive',
    );
    controller.abort();
    expect(await pending).toEqual({ outcome: 'retry', cause: 'aborted', reason: 'interrupted' });

    const idle = await receiver(answer(200));
    expect(await post(idle.base, { signal: AbortSignal.abort() })).toEqual({ outcome: 'retry', cause: 'aborted', reason: 'interrupted' });
    expect(idle.received).toHaveLength(0);
  });

  it('classifies a refused connection as a network failure', async () => {
    const port = await closedPort();
    const result = await post(`http://127.0.0.1:${port}/hook`);
    expect(result).toMatchObject({ outcome: 'retry', cause: 'network' });
    expect((result as { reason: string }).reason).toMatch(/refused/);
  });

  it('never quotes a token planted in the URL in any failure it reports', async () => {
    const secretPath = `/services/T0AAAA/B0BBBB/${PLANTED}?token=${PLANTED}-q`;
    const results: PostResult[] = [];
    // Only the hung receiver gets a short timeout, so a slow answer on a busy machine is not mistaken for one.
    for (const [reply, timeoutMs] of [
      [answer(404), 5_000],
      [answer(500), 5_000],
      [neverAnswer, 100],
    ] as const) {
      const hook = await receiver(reply);
      const url = new URL(`${hook.base}${secretPath}`);
      url.username = 'ops';
      url.password = `${PLANTED}-pw`;
      results.push(await post(url.href, { timeoutMs }));
    }
    results.push(await post(`http://ops:${PLANTED}-pw@127.0.0.1:${await closedPort()}${secretPath}`));
    expect(results.map((result) => result.outcome)).toEqual(['rejected', 'retry', 'retry', 'retry']);
    for (const result of results) expect(JSON.stringify(result)).not.toContain(PLANTED);
  });
});

describe('the webhook URL secret rule', () => {
  it('registers the whole URL, the user info raw and decoded, and the path and query once long enough to be a token', () => {
    const url = new URL(`https://ops%40team:p%40ss-${PLANTED}@hooks.example.com/services/T0AAAA/B0BBBB/${PLANTED}?sig=${PLANTED}-sig&v=1`);
    const secrets = webhookUrlSecrets(url);
    expect(secrets).toEqual(
      expect.arrayContaining([
        url.href,
        'ops%40team',
        'ops@team',
        `p%40ss-${PLANTED}`,
        `p@ss-${PLANTED}`,
        `/services/T0AAAA/B0BBBB/${PLANTED}?sig=${PLANTED}-sig&v=1`,
        PLANTED,
        `${PLANTED}-sig`,
      ]),
    );
    // Names in the path are not tokens.
    expect(secrets).not.toContain('services');
    expect(secrets).not.toContain('T0AAAA');

    const redactor = new Redactor();
    registerWebhookUrlSecrets(redactor, url);
    const log = [
      `posted to ${url.href}`,
      `receiver said: unknown token ${PLANTED}`,
      `signature ${PLANTED}-sig was refused`,
      `user ops@team with p@ss-${PLANTED}`,
      `encoded ${encodeURIComponent(PLANTED)} and ${Buffer.from(PLANTED).toString('base64')}`,
    ].join('\n');
    const redacted = redactor.redact(log);
    expect(redacted).not.toContain(PLANTED);
    expect(redacted).not.toContain(Buffer.from(PLANTED).toString('base64'));
    expect(redacted).not.toContain('ops@team');
    expect(redacted).toContain('[REDACTED:webhook-url]');
  });

  it('leaves a short path such as /hook alone: registering it would redact innocent text', () => {
    const url = new URL('http://127.0.0.1:9/hook');
    expect(`${url.pathname}${url.search}`.length).toBeLessThan(TOKEN_MIN_LENGTH);
    const redactor = new Redactor();
    registerWebhookUrlSecrets(redactor, url);
    expect(redactor.contains('a /hook path')).toBe(false);
    expect(redactor.contains('sent to http://127.0.0.1:9/hook')).toBe(true);
  });

  it('names a receiver by scheme and host only', () => {
    expect(webhookDisplayName(new URL(`https://ops:${PLANTED}@hooks.example.com:8443/services/${PLANTED}?t=${PLANTED}`))).toBe(
      'https://hooks.example.com:8443',
    );
  });
});

describe('retry rules', () => {
  it('retries 408, 429 and 5xx only', () => {
    expect([200, 301, 400, 401, 404, 408, 409, 429, 500, 503, 599].filter(isRetryableStatus)).toEqual([408, 429, 500, 503, 599]);
  });

  it('reads Retry-After as delay-seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs(' 7 ', now)).toBe(7_000);
    expect(retryAfterMs(new Date(now + 2_000).toUTCString(), now)).toBe(2_000);
    expect(retryAfterMs('-1', now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
  });
});

describe('escapeSlack', () => {
  it('keeps user text from becoming Slack links or mentions', () => {
    expect(escapeSlack('<!channel> & <http://evil|docs>')).toBe('&lt;!channel&gt; &amp; &lt;http://evil|docs&gt;');
  });
});
