/**
 * The progressive-delivery endpoints, through the real API handler on a real
 * socket, against a fake daemon whose journeys, runs and clock the tests move:
 * Argo Rollouts' web metric, Flagger's webhooks and Spinnaker's webhook stage
 * each answer per their tool's contract.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../src/serve/http-api.js';
import { MAX_TRIGGER_BODY_BYTES } from '../../src/serve/http-exchange.js';
import type { TriggerRequest, TriggerResult } from '../../src/serve/trigger-request.js';
import type { DeliveryOptions } from '../../src/serve/delivery-routes.js';
import type { JourneyView, LastFailure, RunOutcome } from '../../src/serve/model.js';
import { json, TestServer, type Reply } from './api-test-server.js';

const NOW = 1_800_000_000_000;
const MINUTE = 60_000;
const TOKEN = 'test-token-0123456789';

/** The daemon's side: journeys with tags, runs the test reports, a clock the test moves, and every trigger it was asked for. */
class FakeDaemon {
  now = NOW;
  readonly views = new Map<string, JourneyView>();
  readonly triggers: TriggerRequest[] = [];

  constructor() {
    this.add('chat announces who left', ['chat', 'critical']);
    this.add('a dropped secret reads back once', ['dead-drop', 'critical']);
    this.add('nightly export', ['slow']);
  }

  add(journey: string, tags: string[]): void {
    this.views.set(journey, {
      journey,
      file: `journeys/${journey}.yaml`,
      tags,
      schedule: 'every 1m',
      running: false,
      skippedRuns: 0,
      health: 'passing',
      lastRunAt: this.now - MINUTE,
      lastPassAt: this.now - MINUTE,
      consecutiveFailures: 0,
      alerting: false,
      recent: [{ startedAt: this.now - MINUTE, durationMs: 400, result: 'passed' }],
    });
  }

  /** A run that started at `startedAt` has ended with `result`. */
  ran(journey: string, result: RunOutcome, startedAt: number, failure?: Omit<LastFailure, 'at'>): void {
    const current = this.views.get(journey)!;
    const failed = result === 'failed' || result === 'error';
    this.views.set(journey, {
      ...current,
      health: failed ? 'failing' : result === 'flaky' ? 'flaky' : 'passing',
      lastRunAt: startedAt,
      ...(failed ? { lastFailure: { at: startedAt, code: 'CEIL_FAILED', message: 'the run failed', ...failure } } : { lastPassAt: startedAt }),
      recent: [...current.recent, { startedAt, durationMs: 400, result }],
    });
  }

  /** Moves the clock past the verdict cache, as a next poll a while later would. */
  later(ms = 1_000): void {
    this.now += ms;
  }

  deps(overrides: Partial<ApiDependencies> = {}, delivery: Partial<DeliveryOptions> = {}): ApiDependencies {
    return {
      journeys: () => [...this.views.values()],
      runs: () => undefined,
      trigger: (request): TriggerResult => {
        this.triggers.push(request);
        const names =
          request.journeys ??
          [...this.views.values()].filter((view) => request.tag === undefined || view.tags.includes(request.tag)).map((view) => view.journey);
        return { started: names.filter((name) => this.views.has(name)), queued: [], busy: [], unknown: names.filter((name) => !this.views.has(name)) };
      },
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
      health: () => ({ ok: true, detail: {} }),
      statusPage: () => '<!doctype html>',
      token: TOKEN,
      allowAnonymousTrigger: false,
      log: () => undefined,
      delivery: { version: '0.1.0', freshWithinMs: () => 3 * MINUTE, now: () => this.now, ...delivery },
      ...overrides,
    };
  }
}

function expectError(reply: Reply, status: number): string {
  expect(reply.status, reply.body).toBe(status);
  const body = json(reply);
  expect(Object.keys(body).every((key) => key === 'error' || key === 'hint')).toBe(true);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}

const bearer = { authorization: `Bearer ${TOKEN}` };

function flagger(metadata?: Record<string, string>, checksum?: string): Record<string, unknown> {
  return {
    name: 'podinfo',
    namespace: 'test',
    phase: 'Progressing',
    ...(checksum !== undefined ? { checksum } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

describe('delivery endpoints', () => {
  let daemon: FakeDaemon;
  let server: TestServer;
  const servers: TestServer[] = [];

  async function serve(overrides: Partial<ApiDependencies> = {}, delivery: Partial<DeliveryOptions> = {}): Promise<TestServer> {
    daemon = new FakeDaemon();
    server = await TestServer.start(daemon.deps(overrides, delivery));
    servers.push(server);
    return server;
  }

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  describe('GET /api/v1/verdict (Argo Rollouts web metric)', () => {
    it('answers 200 with the verdict, freshness, version and failing list when all pass, without a token', async () => {
      await serve();
      const reply = await server.request('/api/v1/verdict');
      expect(reply.status).toBe(200);
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(json(reply)).toEqual({
        verdict: 'pass',
        fresh: true,
        version: '0.1.0',
        reason: 'all 3 journeys passed within their freshness windows',
        counts: { selected: 3, passing: 3, failing: 0, unverified: 0 },
        failing: [],
        unverified: [],
        checkedAt: NOW,
      });
    });

    it('still answers 200 when a journey fails: the verdict is in the body, for successCondition to read', async () => {
      await serve();
      daemon.ran('chat announces who left', 'failed', NOW - 5_000, { step: 'bob leaves', code: 'CEIL_WS_EXPECT', message: 'no {type: left} within 2s' });
      const body = json(await server.request('/api/v1/verdict?tag=critical'));
      expect(body).toMatchObject({ verdict: 'fail', fresh: true, counts: { selected: 2, failing: 1 } });
      expect(body.failing).toEqual([
        { journey: 'chat announces who left', step: 'bob leaves', code: 'CEIL_WS_EXPECT', message: 'no {type: left} within 2s', at: NOW - 5_000 },
      ]);
    });

    it('still answers 200 when the results are stale, as inconclusive and not fresh', async () => {
      await serve();
      daemon.later(10 * MINUTE);
      const reply = await server.request('/api/v1/verdict');
      expect(reply.status).toBe(200);
      expect(json(reply)).toMatchObject({ verdict: 'inconclusive', fresh: false, counts: { unverified: 3 } });
    });

    it('selects by tag (repeatable or comma-separated) or by exact journey names', async () => {
      await serve();
      daemon.ran('nightly export', 'error', NOW - 1_000, { code: 'CEIL_TIMEOUT', message: 'took too long' });
      expect(json(await server.request('/api/v1/verdict?tag=critical')).verdict).toBe('pass');
      expect(json(await server.request('/api/v1/verdict?tag=chat,slow')).verdict).toBe('fail');
      expect(json(await server.request('/api/v1/verdict?tag=chat&tag=slow')).verdict).toBe('fail');
      const named = json(await server.request(`/api/v1/verdict?journey=${encodeURIComponent('chat announces who left')}&journey=nightly%20export`));
      expect(named).toMatchObject({ verdict: 'fail', counts: { selected: 2 } });
      expect(json(await server.request('/api/v1/verdict?tag=billing'))).toMatchObject({
        verdict: 'inconclusive',
        reason: 'no loaded journey has the tag "billing"',
      });
    });

    it('recomputes at most once a second', async () => {
      await serve();
      expect(json(await server.request('/api/v1/verdict')).verdict).toBe('pass');
      daemon.ran('a dropped secret reads back once', 'failed', daemon.now, { code: 'CEIL_HTTP_STATUS', message: 'status is 500' });
      expect(json(await server.request('/api/v1/verdict')).verdict).toBe('pass');
      daemon.later();
      expect(json(await server.request('/api/v1/verdict')).verdict).toBe('fail');
    });

    it('answers 400, not a verdict, to a selection it cannot read', async () => {
      await serve();
      expect(expectError(await server.request('/api/v1/verdict?tags=critical'), 400)).toContain('"tags" is not a parameter');
      expect(expectError(await server.request('/api/v1/verdict?tag=critical&journey=x'), 400)).toBe('select journeys by tag or by name, not both');
      expect(expectError(await server.request('/api/v1/verdict?tag='), 400)).toContain('empty item');
      expect(expectError(await server.request('/api/v1/verdict?tag=a,,b'), 400)).toContain('empty item');
    });

    it('answers HEAD, and 405 to other methods', async () => {
      await serve();
      const head = await server.request('/api/v1/verdict', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      const post = await server.request('/api/v1/verdict', { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
    });
  });

  describe('POST /api/v1/flagger (Flagger webhooks)', () => {
    it('answers 200 on pass, without a token (Flagger cannot send one)', async () => {
      await serve();
      const reply = await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }));
      expect(reply.status).toBe(200);
      const body = json(reply);
      expect(Object.keys(body).slice(0, 3)).toEqual(['ok', 'reason', 'verdict']);
      expect(body).toMatchObject({ ok: true, verdict: 'pass', fresh: true, counts: { selected: 2 } });
    });

    it('answers 412 on fail, with a body that says which journey failed at which step and why', async () => {
      await serve();
      daemon.ran('a dropped secret reads back once', 'failed', NOW - 2_000, {
        step: 'read back',
        code: 'CEIL_HTTP_JSON',
        message: 'json.value is "canary-1", expected "rkzm"',
      });
      const reply = await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }));
      expect(reply.status).toBe(412);
      const body = json(reply);
      expect(body).toMatchObject({
        ok: false,
        verdict: 'fail',
        reason: 'journey "a dropped secret reads back once" failing at step "read back": CEIL_HTTP_JSON json.value is "canary-1", expected "rkzm"',
      });
      expect(body.failing).toHaveLength(1);
    });

    it('answers 412 when inconclusive: a journey that has not run cannot pass a canary', async () => {
      await serve();
      daemon.add('new journey', ['critical']);
      daemon.views.set('new journey', { ...daemon.views.get('new journey')!, health: 'unknown', lastRunAt: undefined, lastPassAt: undefined, recent: [] });
      const reply = await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }));
      expect(reply.status).toBe(412);
      expect(json(reply)).toMatchObject({ ok: false, verdict: 'inconclusive', reason: 'journey "new journey" has not run yet' });
    });

    it('selects journeys by metadata.journeys, comma-separated, and every journey without metadata', async () => {
      await serve();
      daemon.ran('nightly export', 'failed', NOW - 1_000);
      const named = await server.postJson('/api/v1/flagger', flagger({ journeys: 'chat announces who left, a dropped secret reads back once' }));
      expect(named.status).toBe(200);
      expect(json(named)).toMatchObject({ counts: { selected: 2 } });
      expect((await server.postJson('/api/v1/flagger', flagger())).status).toBe(412);
    });

    it('does not let runs from before a new checksum pass the new revision', async () => {
      await serve();
      const first = await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }, 'rev-1'));
      expect(first.status).toBe(412);
      expect(json(first).reason).toMatch(/has not run since this revision was first seen/);
      daemon.later(30_000);
      daemon.ran('chat announces who left', 'passed', daemon.now - 5_000);
      daemon.ran('a dropped secret reads back once', 'passed', daemon.now - 4_000);
      expect((await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }, 'rev-1'))).status).toBe(200);
      // A new revision starts the clock again.
      daemon.later();
      expect((await server.postJson('/api/v1/flagger', flagger({ tag: 'critical' }, 'rev-2'))).status).toBe(412);
    });

    it('answers 400 to a body that is not a Flagger payload, or metadata it does not read', async () => {
      await serve();
      expect(expectError(await server.postJson('/api/v1/flagger', '{"name": '), 400)).toMatch(/not valid JSON/);
      expect(expectError(await server.postJson('/api/v1/flagger', ''), 400)).toMatch(/not valid JSON/);
      expect(expectError(await server.postJson('/api/v1/flagger', { namespace: 'test' }), 400)).toMatch(/not a Flagger webhook payload: name/);
      expect(expectError(await server.postJson('/api/v1/flagger', { ...flagger(), metadata: { tag: 3 } }), 400)).toMatch(/metadata\.tag/);
      expect(expectError(await server.postJson('/api/v1/flagger', flagger({ tags: 'critical' })), 400)).toBe('metadata.tags is not something ceiling reads');
      expect(expectError(await server.postJson('/api/v1/flagger', flagger({ tag: 'critical', journeys: 'x' })), 400)).toBe(
        'select journeys by tag or by name, not both',
      );
      expect((await server.postJson('/api/v1/flagger', 'x'.repeat(MAX_TRIGGER_BODY_BYTES + 1))).status).toBe(413);
    });

    it('accepts the fields Flagger may add in later versions', async () => {
      await serve();
      expect((await server.postJson('/api/v1/flagger', { ...flagger({ tag: 'critical' }), type: 'pre-rollout', someday: { x: 1 } })).status).toBe(200);
    });
  });

  describe('POST /api/v1/checks and GET /api/v1/checks/ID (Spinnaker webhook stage)', () => {
    async function start(body: unknown = { tag: 'critical' }): Promise<{ reply: Reply; body: Record<string, unknown> }> {
      const reply = await server.postJson('/api/v1/checks', body, bearer);
      expect(reply.status, reply.body).toBe(202);
      return { reply, body: json(reply) };
    }

    function pathOf(statusUrl: unknown): string {
      return new URL(String(statusUrl)).pathname;
    }

    it('needs the bearer token, like POST /api/v1/run, and starts nothing without it', async () => {
      await serve();
      const missing = await server.postJson('/api/v1/checks', { tag: 'critical' });
      expectError(missing, 401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="ceiling"');
      expectError(await server.postJson('/api/v1/checks', { tag: 'critical' }, { authorization: 'Bearer wrong' }), 401);
      expect(daemon.triggers).toEqual([]);
      await start();
      expect(daemon.triggers).toEqual([{ tag: 'critical' }]);
    });

    it('refuses to start without a token beyond loopback, like POST /api/v1/run', async () => {
      await serve({ token: undefined, allowAnonymousTrigger: false });
      expectError(await server.postJson('/api/v1/checks', {}), 403);
      expect(daemon.triggers).toEqual([]);
    });

    it('answers 202 with an absolute status URL in Location and in the body, then RUNNING, then SUCCEEDED', async () => {
      await serve();
      const { reply, body } = await start();
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.statusUrl).toBe(`http://127.0.0.1:${server.port}/api/v1/checks/${String(body.id)}`);
      expect(reply.headers.location).toBe(body.statusUrl);
      expect(body).toMatchObject({ status: 'RUNNING', verdict: 'pending', progress: '0 of 2 journeys finished' });

      const running = await server.request(pathOf(body.statusUrl));
      expect(running.status).toBe(200);
      expect(json(running)).toMatchObject({ id: body.id, status: 'RUNNING' });

      daemon.later(2_000);
      daemon.ran('chat announces who left', 'passed', NOW + 100);
      daemon.ran('a dropped secret reads back once', 'passed', NOW + 200);
      const done = json(await server.request(pathOf(body.statusUrl)));
      expect(done).toMatchObject({ status: 'SUCCEEDED', verdict: 'pass', progress: '2 of 2 journeys finished' });
      expect(done.journeys).toEqual([
        { journey: 'chat announces who left', state: 'passed', runStartedAt: NOW + 100 },
        { journey: 'a dropped secret reads back once', state: 'passed', runStartedAt: NOW + 200 },
      ]);
    });

    it('turns TERMINAL with the failing step when a journey fails', async () => {
      await serve();
      const { body } = await start({ journey: ['a dropped secret reads back once'] });
      daemon.ran('a dropped secret reads back once', 'failed', NOW + 50, {
        step: 'gone once read',
        code: 'CEIL_HTTP_STATUS',
        message: 'status is 200, expected 404',
      });
      const reply = await server.request(pathOf(body.statusUrl));
      expect(reply.status).toBe(200);
      expect(json(reply)).toMatchObject({
        status: 'TERMINAL',
        verdict: 'fail',
        reason: 'journey "a dropped secret reads back once" failed at step "gone once read": CEIL_HTTP_STATUS status is 200, expected 404',
      });
    });

    it('builds status URLs on --public-url when one is set', async () => {
      await serve({}, { publicUrl: 'https://ceiling.example.com/probes' });
      const { reply, body } = await start();
      expect(body.statusUrl).toBe(`https://ceiling.example.com/probes/api/v1/checks/${String(body.id)}`);
      expect(reply.headers.location).toBe(body.statusUrl);
    });

    it('answers 404 to a start that matches nothing, and to an unknown or malformed check id', async () => {
      await serve();
      expect(expectError(await server.postJson('/api/v1/checks', { tag: 'billing' }, bearer), 404)).toBe('no loaded journey matches tag "billing"');
      expect(expectError(await server.postJson('/api/v1/checks', { journey: 'nope' }, bearer), 404)).toBe('no loaded journey is named "nope"');
      expect(expectError(await server.request('/api/v1/checks/00000000-0000-4000-8000-000000000000'), 404)).toMatch(/no check has the id/);
      expect(expectError(await server.request('/api/v1/checks/..%2F..%2Fhealthz'), 404)).toMatch(/no check has the id/);
      expect(expectError(await server.postJson('/api/v1/checks', { tags: ['x'] }, bearer), 400)).toMatch(/not a run request/);
    });
  });
});

describe('without delivery options', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start(new FakeDaemon().deps({ delivery: undefined }));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('serves none of the delivery endpoints', async () => {
    expectError(await server.request('/api/v1/verdict'), 404);
    expectError(await server.postJson('/api/v1/flagger', flagger()), 404);
  });
});
