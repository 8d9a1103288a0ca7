import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../src/serve/http-api.js';
import type { TriggerRequest } from '../../src/serve/trigger-request.js';
import type { JourneyView, RunRecord } from '../../src/serve/model.js';
import { json, TestServer, type Reply } from './api-test-server.js';

function view(journey: string, tags: string[] = []): JourneyView {
  return {
    journey,
    file: `journeys/${journey}.yaml`,
    tags,
    schedule: 'every 1m',
    running: false,
    skippedRuns: 0,
    recent: [],
    health: 'passing',
    consecutiveFailures: 0,
    alerting: false,
  };
}

function record(journey: string): RunRecord {
  return { journey, location: 'lab', target: 'staging', trigger: 'schedule', startedAt: 1_700_000_000_000, durationMs: 800, result: 'passed', steps: [] };
}

/** Fake daemon state the tests steer: which journeys exist, which dependency throws, and what was asked of it. */
class FakeDaemon {
  names = ['chat', 'Chat', 'chat%', 'two words', 'a/b', 'nightly'];
  healthy = true;
  failing: 'journeys' | 'metrics' | 'statusPage' | undefined;
  readonly runQueries: { journey: string; options: { limit?: number; before?: number } }[] = [];
  readonly triggers: TriggerRequest[] = [];
  readonly logged: string[] = [];

  deps(overrides: Partial<ApiDependencies> = {}): ApiDependencies {
    return {
      journeys: () => {
        if (this.failing === 'journeys') throw new Error('history store is closed');
        return this.names.map((name) => view(name, name === 'nightly' ? ['slow'] : []));
      },
      runs: (journey, options) => {
        this.runQueries.push({ journey, options });
        return this.names.includes(journey) ? [record(journey)] : undefined;
      },
      trigger: (request) => {
        this.triggers.push(request);
        const wanted = request.journeys ?? this.names.filter((name) => request.tag === undefined || (name === 'nightly' && request.tag === 'slow'));
        return {
          started: wanted.filter((name) => this.names.includes(name)),
          queued: [],
          busy: [],
          unknown: wanted.filter((name) => !this.names.includes(name)),
        };
      },
      metrics: async () => {
        if (this.failing === 'metrics') throw new Error('registry exploded');
        return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'ceiling_journeys 6\n' };
      },
      health: () => ({ ok: this.healthy, detail: { journeys: this.names.length, scheduler: this.healthy ? 'running' : 'stopped' } }),
      statusPage: () => {
        if (this.failing === 'statusPage') throw new Error('template broke');
        return '<!doctype html><title>status</title><p>ok</p>';
      },
      allowAnonymousTrigger: true,
      log: (message) => this.logged.push(message),
      ...overrides,
    };
  }
}

function expectError(reply: Reply, status: number): { error: string; hint?: string } {
  expect(reply.status, reply.body).toBe(status);
  const body = json(reply);
  expect(typeof body.error).toBe('string');
  expect(Object.keys(body).every((key) => key === 'error' || key === 'hint')).toBe(true);
  return body as { error: string; hint?: string };
}

describe('the HTTP API', () => {
  const daemon = new FakeDaemon();
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start(daemon.deps());
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    daemon.healthy = true;
    daemon.failing = undefined;
    daemon.runQueries.length = 0;
    daemon.triggers.length = 0;
    daemon.logged.length = 0;
  });

  it('serves the status page as uncached HTML that may run no scripts', async () => {
    const reply = await server.request('/');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['content-security-policy']).toContain("default-src 'none'");
    expect(reply.body).toBe('<!doctype html><title>status</title><p>ok</p>');
  });

  it('answers HEAD like GET, without a body', async () => {
    const reply = await server.request('/', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['content-length']).toBe(String('<!doctype html><title>status</title><p>ok</p>'.length));
    expect(reply.body).toBe('');
    expect((await server.request('/metrics', { method: 'HEAD' })).status).toBe(200);
  });

  it('serves /metrics with the content type the registry gives', async () => {
    const reply = await server.request('/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toBe('ceiling_journeys 6\n');
  });

  it('answers /healthz with 200 when healthy and 503 when not', async () => {
    const healthy = await server.request('/healthz');
    expect(healthy.status).toBe(200);
    expect(json(healthy)).toEqual({ status: 'ok', journeys: 6, scheduler: 'running' });
    daemon.healthy = false;
    const unhealthy = await server.request('/healthz');
    expect(unhealthy.status).toBe(503);
    expect(json(unhealthy)).toEqual({ status: 'unavailable', journeys: 6, scheduler: 'stopped' });
  });

  it('lists the journeys', async () => {
    const reply = await server.request('/api/v1/journeys');
    expect(reply.status).toBe(200);
    const body = json(reply) as { journeys: JourneyView[] };
    expect(body.journeys.map((journey) => journey.journey)).toEqual(daemon.names);
  });

  describe('runs of one journey', () => {
    it('matches the decoded name exactly, case and percent sign included', async () => {
      const cases: [string, string][] = [
        ['chat', 'chat'],
        ['Chat', 'Chat'],
        ['chat%25', 'chat%'],
        ['two%20words', 'two words'],
        ['a%2Fb', 'a/b'],
      ];
      for (const [encoded, name] of cases) {
        const reply = await server.request(`/api/v1/journeys/${encoded}/runs`);
        expect(reply.status, encoded).toBe(200);
        expect(json(reply)).toEqual({ journey: name, runs: [record(name)] });
      }
      expect(daemon.runQueries.map((query) => query.journey)).toEqual(['chat', 'Chat', 'chat%', 'two words', 'a/b']);
    });

    it('answers 404 for a name that matches only loosely, and does not let encoded dots change the route', async () => {
      for (const [encoded, name] of [
        ['CHAT', 'CHAT'],
        ['cha', 'cha'],
        ['chat%20', 'chat '],
        ['%2e%2e', '..'],
      ]) {
        const body = expectError(await server.request(`/api/v1/journeys/${encoded}/runs`), 404);
        expect(body.error).toBe(`no journey is named ${JSON.stringify(name)}`);
      }
    });

    it('rejects a name that is not valid percent-encoding with 400', async () => {
      const body = expectError(await server.request('/api/v1/journeys/chat%/runs'), 400);
      expect(body.hint).toContain('%25');
      expect(daemon.runQueries).toEqual([]);
    });

    it('passes limit and before on, with a default limit', async () => {
      await server.request('/api/v1/journeys/chat/runs?limit=5&before=1700000000000');
      await server.request('/api/v1/journeys/chat/runs');
      expect(daemon.runQueries.map((query) => query.options)).toEqual([{ limit: 5, before: 1_700_000_000_000 }, { limit: 100 }]);
    });

    it('rejects a bad limit or before with 400', async () => {
      for (const query of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1.5', 'limit=1001', 'limit=', 'before=yesterday', 'before=-5']) {
        const body = expectError(await server.request(`/api/v1/journeys/chat/runs?${query}`), 400);
        expect(body.error, query).toMatch(/^(limit|before) must be/);
      }
      expect(daemon.runQueries).toEqual([]);
    });
  });

  describe('POST /api/v1/run', () => {
    it('runs every journey when the body is empty', async () => {
      const reply = await server.request('/api/v1/run', { method: 'POST' });
      expect(reply.status).toBe(202);
      expect(json(reply)).toEqual({ started: daemon.names, queued: [], busy: [], unknown: [] });
      expect(daemon.triggers).toEqual([{}]);
    });

    it('runs the named journeys or a tag', async () => {
      expect((await server.request('/api/v1/run', { method: 'POST', body: '{"journey":"Chat"}' })).status).toBe(202);
      expect((await server.request('/api/v1/run', { method: 'POST', body: '{"journey":["a/b","chat","a/b"]}' })).status).toBe(202);
      const tagged = await server.request('/api/v1/run', { method: 'POST', body: '{"tag":"slow"}' });
      expect(json(tagged)).toEqual({ started: ['nightly'], queued: [], busy: [], unknown: [] });
      expect(daemon.triggers).toEqual([{ journeys: ['Chat'] }, { journeys: ['a/b', 'chat'] }, { tag: 'slow' }]);
    });

    it('answers 202 listing the unknown names when some are known, and 404 when none is', async () => {
      const partly = await server.request('/api/v1/run', { method: 'POST', body: '{"journey":["chat","CHAT"]}' });
      expect(partly.status).toBe(202);
      expect(json(partly)).toEqual({ started: ['chat'], queued: [], busy: [], unknown: ['CHAT'] });
      const none = expectError(await server.request('/api/v1/run', { method: 'POST', body: '{"journey":["CHAT","chat "]}' }), 404);
      expect(none.error).toBe('no loaded journey is named "CHAT", "chat "');
      expectError(await server.request('/api/v1/run', { method: 'POST', body: '{"tag":"no-such-tag"}' }), 404);
    });

    it('rejects invalid JSON and bodies of the wrong shape with 400 and says why', async () => {
      const broken = expectError(await server.request('/api/v1/run', { method: 'POST', body: '{"journey":' }), 400);
      expect(broken.error).toMatch(/^the request body is not valid JSON: /);
      expect(broken.hint).toContain('{"journey": "name"}');
      for (const body of ['{"journey":5}', '{"journey":[]}', '{"url":"http://example.com"}', '[]', '"chat"']) {
        const reply = expectError(await server.request('/api/v1/run', { method: 'POST', body }), 400);
        expect(reply.error, body).toMatch(/^the request body is not a run request: /);
      }
      expect(daemon.triggers).toEqual([]);
    });

    it('answers 413 for a body over 16 KiB, declared or streamed', async () => {
      const oversize = JSON.stringify({ journey: 'x'.repeat(17 * 1024) });
      const declared = expectError(await server.request('/api/v1/run', { method: 'POST', body: oversize }), 413);
      expect(declared.error).toContain('16 KiB');
      expectError(await server.request('/api/v1/run', { method: 'POST', body: oversize, chunked: true }), 413);
      expect(daemon.triggers).toEqual([]);
      expect((await server.request('/healthz')).status).toBe(200);
    });

    it('refuses other methods with 405 and an Allow header', async () => {
      const get = expectError(await server.request('/api/v1/run'), 405);
      expect(get.hint).toBe('use POST');
      expect((await server.request('/api/v1/run')).headers.allow).toBe('POST');
      const post = await server.request('/metrics', { method: 'POST' });
      expectError(post, 405);
      expect(post.headers.allow).toBe('GET, HEAD');
      expect((await server.request('/api/v1/journeys/chat/runs', { method: 'DELETE' })).status).toBe(405);
      expect((await server.request('/api/v1/run', { method: 'HEAD' })).status).toBe(405);
    });
  });

  it('answers 404 JSON for unknown paths', async () => {
    for (const path of ['/nope', '/api/v1/journeys/', '/api/v1/journeys/chat', '/metrics/extra', '/api/v1/journeys/a/b/runs']) {
      const body = expectError(await server.request(path), 404);
      expect(body.hint, path).toContain('/api/v1/journeys');
    }
  });

  it('answers 500 when a dependency throws, logs it once, and keeps serving', async () => {
    daemon.failing = 'journeys';
    const body = expectError(await server.request('/api/v1/journeys'), 500);
    expect(body.error).not.toContain('history store');
    daemon.failing = 'metrics';
    expectError(await server.request('/metrics'), 500);
    daemon.failing = 'statusPage';
    expectError(await server.request('/'), 500);
    expect(daemon.logged).toHaveLength(3);
    expect(daemon.logged[0]).toContain('GET /api/v1/journeys failed: Error: history store is closed');
    expect(daemon.logged[1]).toContain('registry exploded');

    daemon.failing = undefined;
    expect((await server.request('/api/v1/journeys')).status).toBe(200);
    expect((await server.request('/')).status).toBe(200);
  });
});

describe('who may trigger runs', () => {
  const daemon = new FakeDaemon();
  const servers: TestServer[] = [];
  const start = async (overrides: Partial<ApiDependencies>): Promise<TestServer> => {
    const server = await TestServer.start(daemon.deps(overrides));
    servers.push(server);
    return server;
  };

  beforeEach(() => {
    daemon.triggers.length = 0;
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('with a token, accepts only that bearer token', async () => {
    const token = 's3cret-token-value';
    const server = await start({ token, allowAnonymousTrigger: false });
    const post = (headers: Record<string, string>): Promise<Reply> => server.request('/api/v1/run', { method: 'POST', headers });

    const missing = await post({});
    expectError(missing, 401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="ceiling"');
    const sameLength = await post({ authorization: `Bearer ${'x'.repeat(token.length)}` });
    expectError(sameLength, 401);
    expect(sameLength.headers['www-authenticate']).toContain('error="invalid_token"');
    expectError(await post({ authorization: `Bearer ${token}-longer` }), 401);
    expectError(await post({ authorization: 'Bearer s3' }), 401);
    expectError(await post({ authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` }), 401);
    expectError(await post({ authorization: token }), 401);
    expect(daemon.triggers).toEqual([]);

    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(202);
    expect((await post({ authorization: `bearer ${token}` })).status).toBe(202);
    expect(daemon.triggers).toHaveLength(2);
  });

  it('with a token, still serves every GET without one', async () => {
    const server = await start({ token: 'another', allowAnonymousTrigger: false });
    for (const path of ['/', '/metrics', '/healthz', '/api/v1/journeys', '/api/v1/journeys/chat/runs']) {
      expect((await server.request(path)).status, path).toBe(200);
    }
  });

  it('checks the token before reading the body', async () => {
    const server = await start({ token: 'another', allowAnonymousTrigger: false });
    expectError(await server.request('/api/v1/run', { method: 'POST', body: '{not json' }), 401);
  });

  it('without a token, refuses to trigger unless anonymous triggering is allowed', async () => {
    const server = await start({ allowAnonymousTrigger: false });
    const body = expectError(await server.request('/api/v1/run', { method: 'POST' }), 403);
    expect(body.hint).toBe('set a token (--token-env) to trigger runs on a non-loopback address');
    expect(daemon.triggers).toEqual([]);
  });

  it('anonymous triggering accepts local callers but not other sites', async () => {
    const server = await start({ allowAnonymousTrigger: true });
    expect((await server.request('/api/v1/run', { method: 'POST' })).status).toBe(202);
    expect((await server.request('/api/v1/run', { method: 'POST', headers: { host: `localhost:${server.port}` } })).status).toBe(202);
    expect((await server.request('/api/v1/run', { method: 'POST', headers: { origin: `http://127.0.0.1:${server.port}` } })).status).toBe(202);
    expectError(await server.request('/api/v1/run', { method: 'POST', headers: { origin: 'https://evil.example' } }), 403);
    expectError(await server.request('/api/v1/run', { method: 'POST', headers: { origin: 'null' } }), 403);
    // DNS rebinding: a hostile name that resolves to 127.0.0.1 is same-origin with itself, but its Host is not loopback.
    expectError(
      await server.request('/api/v1/run', { method: 'POST', headers: { host: `evil.example:${server.port}`, origin: `http://evil.example:${server.port}` } }),
      403,
    );
    expect(daemon.triggers).toHaveLength(3);
  });
});
