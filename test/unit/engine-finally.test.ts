import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startChat } from '../../fixtures/chat.js';
import { runJourneys, type RunOptions } from '../../src/engine/run.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { renderFailureDetails } from '../../src/report/text.js';
import { Redactor } from '../../src/secrets/redactor.js';

async function journey(yaml: string): Promise<Journey> {
  const loaded = await loadJourneyText('finally.yaml', yaml);
  if (!loaded.journey) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.journey;
}

function options(overrides: Partial<RunOptions> = {}): RunOptions {
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
    ...overrides,
  };
}

/**
 * A record store on a real socket that counts what was created and deleted,
 * so a test can see that cleanup really removed what the journey made.
 * GET /hang never answers (until the test ends); onHang tells when one arrived.
 */
class RecordStore {
  readonly records = new Set<string>();
  creates = 0;
  deletes = 0;
  onHang: () => void = () => undefined;
  private next = 1;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const send = (status: number, body?: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body === undefined ? '' : JSON.stringify(body));
      };
      const [, resource, id] = (request.url ?? '/').split('/');
      if (resource === 'hang') return this.onHang();
      if (resource !== 'records') return send(404);
      if (request.method === 'POST') {
        const created = String(this.next++);
        this.records.add(created);
        this.creates++;
        return send(201, { id: created });
      }
      if (request.method === 'DELETE' && id !== undefined) {
        if (!this.records.delete(id)) return send(404);
        this.deletes++;
        return send(204);
      }
      return send(id !== undefined && this.records.has(id) ? 200 : 404, { id });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let store: RecordStore;
afterEach(async () => {
  await store?.stop();
});

async function startStore(): Promise<RecordStore> {
  store = new RecordStore();
  await store.start();
  return store;
}

/** Creates a record, then runs `middle` steps; finally deletes the record by its captured id. */
const createThen = (url: string, middle: string, header = '', extraFinally = '') => `
name: cleans up
${header}
steps:
  - name: create
    http: { method: POST, url: "${url}/records" }
    expect: { status: 201 }
    capture: { id: json.id }
${middle}
finally:
  - name: delete
    http: { method: DELETE, url: "${url}/records/{{ vars.id }}" }
    expect: { status: 204 }
${extraFinally}
`;

describe('finally steps', () => {
  it('run after steps that passed, with the captures of the steps, and are reported apart', async () => {
    const { url } = await startStore();
    const result = await runJourneys([await journey(createThen(url, '  - assert: { value: "{{ vars.id }}", equals: "1" }'))], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(result.journeys[0]!.status).toBe('passed');
    expect(attempt.steps.map((step) => step.name)).toEqual(['create', 'assert']);
    expect(attempt.finallySteps?.map((step) => [step.name, step.status, step.section])).toEqual([['delete', 'passed', 'finally']]);
    expect(attempt.finallyFailure).toBeUndefined();
    expect([store.creates, store.deletes, store.records.size]).toEqual([1, 1, 0]);
  });

  it('run after a failed expectation, and the failure stays the journey failure', async () => {
    const { url } = await startStore();
    const failing = `  - name: read missing\n    http: { url: "${url}/records/none" }\n    expect: { status: 200 }`;
    const result = await runJourneys([await journey(createThen(url, failing))], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(result.journeys[0]!.status).toBe('failed');
    expect(attempt.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    expect(attempt.failedStep).toBe(1);
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['passed']);
    expect([store.creates, store.deletes, store.records.size]).toEqual([1, 1, 0]);
  });

  it('run after the journey deadline cut the steps, within a budget of their own', async () => {
    const { url } = await startStore();
    const hanging = `  - http: { url: "${url}/hang" }`;
    const result = await runJourneys([await journey(createThen(url, hanging, 'timeout: 2s'))], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(attempt.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_JOURNEY' });
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['passed']);
    expect([store.creates, store.deletes, store.records.size]).toEqual([1, 1, 0]);
  });

  it('run after an interrupt (the run signal aborted), and the run is still interrupted', async () => {
    const { url } = await startStore();
    const controller = new AbortController();
    store.onHang = () => controller.abort();
    const hanging = `  - http: { url: "${url}/hang" }`;
    const result = await runJourneys([await journey(createThen(url, hanging))], options({ signal: controller.signal }));
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(result.status).toBe('interrupted');
    expect(attempt.failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['passed']);
    expect([store.creates, store.deletes, store.records.size]).toEqual([1, 1, 0]);
  });

  it('fail the journey, labelled as cleanup, when the steps passed and a finally step failed', async () => {
    const { url } = await startStore();
    const twice = `  - name: delete again\n    http: { method: DELETE, url: "${url}/records/{{ vars.id }}" }\n    expect: { status: 204 }`;
    const result = await runJourneys([await journey(createThen(url, '', '', twice))], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(result.journeys[0]!.status).toBe('failed');
    expect(attempt.steps.map((step) => step.status)).toEqual(['passed']);
    expect(attempt.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    expect(attempt.failure?.message).toMatch(/^cleanup failed in finally step "delete again": /);
    expect(attempt.failure?.location?.line).toBeGreaterThan(1);
    expect(attempt.failedStep).toBeUndefined();
    expect(attempt.failedFinallyStep).toBe(1);
    expect(attempt.finallyFailure).toEqual(attempt.failure);
    expect(renderFailureDetails(attempt, { color: false })).toContain('finally › delete again');
  });

  it('never mask the steps failure: the cleanup failure is listed beside it', async () => {
    const { url } = await startStore();
    const failing = `  - assert: { value: 1, equals: 2 }`;
    const badCleanup = `  - http: { url: "${url}/records/none" }\n    expect: { status: 200 }`;
    const result = await runJourneys([await journey(createThen(url, failing, '', badCleanup))], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(attempt.failure).toMatchObject({ class: 'assertion', code: 'CEIL_ASSERT_EQUALS' });
    expect(attempt.finallyFailure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['passed', 'failed']);
    const details = renderFailureDetails(attempt, { color: false });
    expect(details).toContain('CEIL_ASSERT_EQUALS');
    expect(details).toMatch(/cleanup failed too: .*CEIL_HTTP_STATUS/);
  });

  it('report, not throw, a template that needs a capture the failing steps never made', async () => {
    const { url } = await startStore();
    const yaml = `
name: late capture
steps:
  - assert: { value: 1, equals: 2 }
  - http: { method: POST, url: "${url}/records" }
    capture: { late: json.id }
finally:
  - http: { method: DELETE, url: "${url}/records/{{ vars.late }}" }
  - name: still runs
    http: { url: "${url}/records/none" }
    expect: { status: 404 }
`;
    const result = await runJourneys([await journey(yaml)], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(attempt.failure).toMatchObject({ code: 'CEIL_ASSERT_EQUALS' });
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['error', 'passed']);
    expect(attempt.finallyFailure).toMatchObject({ class: 'config', code: 'CEIL_TEMPLATE_UNDEFINED' });
    expect(store.creates).toBe(0);
  });

  it('are bounded by finallyTimeout: a hanging cleanup step errors and the rest are skipped', async () => {
    const { url } = await startStore();
    const yaml = `
name: hanging cleanup
finallyTimeout: 200ms
steps:
  - assert: { value: 1, equals: 1 }
finally:
  - http: { url: "${url}/hang" }
  - http: { url: "${url}/records/none" }
`;
    const result = await runJourneys([await journey(yaml)], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(result.journeys[0]!.status).toBe('error');
    expect(attempt.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_FINALLY' });
    expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['error', 'skipped']);
  });

  it('run once per attempt when the journey is retried', async () => {
    const { url } = await startStore();
    const failing = `  - assert: { value: 1, equals: 2 }`;
    const result = await runJourneys([await journey(createThen(url, failing, 'retries: 2'))], options());
    expect(result.journeys[0]!.attempts.map((attempt) => attempt.finallySteps?.length)).toEqual([1, 1, 1]);
    expect([store.creates, store.deletes, store.records.size]).toEqual([3, 3, 0]);
  });

  it('use the actors the steps opened, still open after a failure', async () => {
    const chat = await startChat({ keepaliveMs: 60_000 });
    try {
      const yaml = `
name: actors
steps:
  - ws.connect: { as: alice, url: "${chat.wsUrl!}" }
  - assert: { value: 1, equals: 2 }
finally:
  - ws.send: { as: alice, json: { type: join, nick: leaving-alice } }
  - ws.expect: { as: alice, json: { type: joined, nick: leaving-alice }, within: 5s }
`;
      const result = await runJourneys([await journey(yaml)], options());
      const attempt = result.journeys[0]!.attempts[0]!;
      expect(attempt.failure).toMatchObject({ code: 'CEIL_ASSERT_EQUALS' });
      expect(attempt.finallySteps?.map((step) => step.status)).toEqual(['passed', 'passed']);
    } finally {
      await chat.close();
    }
  });

  it('see the vars the steps set', async () => {
    const { url } = await startStore();
    const yaml = `
name: actors
steps:
  - set: { x: 1 }
finally:
  - assert: { value: "{{ vars.x }}", equals: 1 }
  - http: { url: "${url}/records/none" }
    expect: { status: 404 }
`;
    const result = await runJourneys([await journey(yaml)], options());
    expect(result.journeys[0]!.status).toBe('passed');
  });
});

describe('finally validation', () => {
  const diagnostics = async (yaml: string) => (await loadJourneyText('v.yaml', yaml)).diagnostics;

  it('knows the vars and actors the steps define', async () => {
    const yaml = `
name: known
steps:
  - ws.connect: { as: alice, url: "ws://127.0.0.1:1/" }
  - set: { made: 1 }
  - assert: { value: 1 }
finally:
  - ws.close: { as: alice }
  - assert: { value: "{{ vars.made }}" }
`;
    expect((await diagnostics(yaml)).filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('points at finally[i] for an unknown var, actor or step, with line and column', async () => {
    const yaml = `name: bad
steps:
  - assert: { value: 1 }
finally:
  - assert: { value: "{{ vars.nope }}" }
  - ws.close: { as: bob }
  - htp: { url: x }
`;
    const found = (await diagnostics(yaml)).map((d) => [d.code, d.line, d.field]);
    expect(found).toEqual([
      ['CEIL_TEMPLATE', 5, 'finally[0].assert.value'],
      ['CEIL_ACTOR_UNKNOWN', 6, 'finally[1].ws.close.as'],
      ['CEIL_STEP_UNKNOWN', 7, 'finally[2].htp'],
    ]);
  });

  it('rejects an empty finally and a finallyTimeout without a unit', async () => {
    const found = (await diagnostics('name: e\nfinallyTimeout: 5\nsteps:\n  - assert: { value: 1 }\nfinally: []\n')).map((d) => d.field);
    expect(found).toEqual(expect.arrayContaining(['finallyTimeout', 'finally']));
  });
});
