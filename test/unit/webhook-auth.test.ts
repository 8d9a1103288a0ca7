import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { sendGateNotifications } from '../../src/gate/notify.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { parseWebhookHeaders, signingSecretFrom, WebhookAuthError, type WebhookAuth } from '../../src/webhook/auth.js';
import { createWebhookAgent, postWebhook } from '../../src/webhook/post.js';
import { failResult } from './gate-fixture.js';
import { answer, startReceiver, type Receiver } from './gate-receiver.js';

/** --webhook-header, --webhook-secret-env and Basic auth from a URL, as a receiver sees them. */

const receivers: Receiver[] = [];
afterEach(async () => {
  while (receivers.length > 0) await receivers.pop()!.close();
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver(answer(200));
  receivers.push(started);
  return started;
}

const TOKEN = 'canary-header-token-91c4e7';
const SIGNING_KEY = 'canary-signing-key-0a5d3f77b2';
const sources = (values: Record<string, string>, secrets: Record<string, string> = {}) => ({
  env: (name: string) => values[name],
  secret: (name: string) => secrets[name],
});

/** The receiver side, as README documents it: recompute the HMAC of `timestamp.body`, compare in constant time, bound the age. */
function verifyCeilingSignature(secret: string, headers: IncomingHttpHeaders, rawBody: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const timestamp = String(headers['x-ceiling-timestamp'] ?? '');
  const signature = String(headers['x-ceiling-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

function parseError(flags: string[], env: Record<string, string> = {}): string {
  try {
    parseWebhookHeaders(flags, sources(env), new Redactor());
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookAuthError);
    return (error as Error).message;
  }
  throw new Error('expected a WebhookAuthError');
}

describe('parseWebhookHeaders', () => {
  it('resolves {{ env.X }} and {{ secrets.X }} and registers the values with the redactor', () => {
    const redactor = new Redactor();
    const headers = parseWebhookHeaders(
      ['Authorization: Bearer {{ env.HOOK_TOKEN }}', 'X-Api-Key:{{secrets.API_KEY}}', 'X-Source: ceiling'],
      sources({ HOOK_TOKEN: TOKEN }, { API_KEY: 'canary-api-key-5e21' }),
      redactor,
    );
    expect(headers).toEqual([
      ['authorization', `Bearer ${TOKEN}`],
      ['x-api-key', 'canary-api-key-5e21'],
      ['x-source', 'ceiling'],
    ]);
    expect(redactor.redact(`sent Bearer ${TOKEN} and canary-api-key-5e21`)).not.toMatch(/canary/);
    // A plain, non-credential value stays readable everywhere.
    expect(redactor.redact('source ceiling')).toBe('source ceiling');
  });

  it('refuses a flag without ":", naming the flag and never its text', () => {
    const message = parseError(['Authorization Bearer literal-secret-value']);
    expect(message).toMatch(/--webhook-header #1 has no ":"/);
    expect(message).not.toContain('literal-secret-value');
  });

  it('names a missing variable, never a value', () => {
    const message = parseError(['X-Ok: {{ env.PRESENT }}', 'Authorization: Bearer {{ env.HOOK_TOKEN }}'], { PRESENT: 'present-value-123' });
    expect(message).toMatch(/--webhook-header #2 \(Authorization\): env\.HOOK_TOKEN is not set/);
    expect(message).not.toContain('present-value-123');
  });

  it('refuses headers Ceiling sets itself and names that are not header names', () => {
    expect(parseError(['Content-Type: text/plain'])).toMatch(/Content-Type is set by Ceiling itself/);
    expect(parseError(['X-Ceiling-Signature: forged'])).toMatch(/set by Ceiling itself/);
    expect(parseError([': value'])).toMatch(/not a valid HTTP header name/);
  });
});

describe('signingSecretFrom', () => {
  it('names a missing or short variable and registers the key', () => {
    expect(() => signingSecretFrom('HOOK_KEY', sources({}), new Redactor())).toThrow(/--webhook-secret-env: HOOK_KEY is not set/);
    expect(() => signingSecretFrom('HOOK_KEY', sources({ HOOK_KEY: 'short' }), new Redactor())).toThrow(/shorter than 16/);
    const redactor = new Redactor();
    expect(signingSecretFrom('HOOK_KEY', sources({ HOOK_KEY: SIGNING_KEY }), redactor)).toBe(SIGNING_KEY);
    expect(redactor.redact(SIGNING_KEY)).not.toContain(SIGNING_KEY);
  });
});

describe('postWebhook with authentication', () => {
  it('sends the headers and a signature a receiver verifies, and which fails on a tampered body or an old timestamp', async () => {
    const hook = await receiver();
    const agent = createWebhookAgent({ connections: 1, timeoutMs: 5_000 });
    const auth: WebhookAuth = { headers: [['authorization', `Bearer ${TOKEN}`]], signingSecret: SIGNING_KEY };
    const body = JSON.stringify({ event: 'failing', journey: 'checkout' });
    const now = Date.UTC(2026, 11, 3, 12, 0, 0);
    try {
      const result = await postWebhook({
        url: new URL(`${hook.base}/hook`),
        body,
        timeoutMs: 5_000,
        maxRetryAfterMs: 1_000,
        dispatcher: agent,
        auth,
        now: () => now,
      });
      expect(result.outcome).toBe('delivered');
    } finally {
      await agent.destroy();
    }
    const [request] = hook.received;
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request!.headers['x-ceiling-timestamp']).toBe(String(now / 1000));
    expect(request!.body).toBe(body);
    expect(verifyCeilingSignature(SIGNING_KEY, request!.headers, request!.body, now / 1000)).toBe(true);
    expect(verifyCeilingSignature(SIGNING_KEY, request!.headers, request!.body.replace('checkout', 'checkouT'), now / 1000)).toBe(false);
    expect(verifyCeilingSignature('another-key-of-some-length', request!.headers, request!.body, now / 1000)).toBe(false);
    expect(verifyCeilingSignature(SIGNING_KEY, request!.headers, request!.body, now / 1000 + 3_600)).toBe(false);
  });

  it('sends credentials in the URL as Basic auth, not in the request line', async () => {
    const hook = await receiver();
    const agent = createWebhookAgent({ connections: 1, timeoutMs: 5_000 });
    const url = new URL(hook.base.replace('http://', 'http://probe%40eu:p%3Ass-canary-77@') + '/hook?x=1');
    try {
      expect((await postWebhook({ url, body: '{}', timeoutMs: 5_000, maxRetryAfterMs: 1_000, dispatcher: agent })).outcome).toBe('delivered');
    } finally {
      await agent.destroy();
    }
    const [request] = hook.received;
    expect(request!.path).toBe('/hook?x=1');
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('probe@eu:p:ss-canary-77').toString('base64')}`);
  });

  it('authenticates the gate notifications the same way', async () => {
    const hook = await receiver();
    const redactor = new Redactor();
    const auth: WebhookAuth = { headers: parseWebhookHeaders(['X-Hook-Token: {{ env.T }}'], sources({ T: TOKEN }), redactor), signingSecret: SIGNING_KEY };
    const sent = await sendGateNotifications({
      webhooks: [hook.base.replace('http://', 'http://gate:pw-canary-31@') + '/gate'],
      slack: [],
      result: failResult(),
      redactor,
      auth,
      timeoutMs: 5_000,
      log: () => undefined,
    });
    expect(sent).toEqual({ delivered: 1, failed: 0 });
    const [request] = hook.received;
    expect(request!.headers['x-hook-token']).toBe(TOKEN);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('gate:pw-canary-31').toString('base64')}`);
    const timestamp = Number(request!.headers['x-ceiling-timestamp']);
    expect(verifyCeilingSignature(SIGNING_KEY, request!.headers, request!.body, timestamp)).toBe(true);
  });
});
