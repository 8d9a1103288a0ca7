import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runJourneys, type RunOptions } from '../../src/engine/run.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';

async function journey(yaml: string): Promise<Journey> {
  const loaded = await loadJourneyText('until.yaml', yaml);
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

let server: Server | undefined;
let requests = 0;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Answers 503 until `readyAfter` requests have arrived, then 200 with the request's number; onRequest sees each one. */
async function becomesReady(readyAfter: number, onRequest: (count: number) => void = () => undefined): Promise<string> {
  requests = 0;
  server = createServer((_request, response) => {
    requests++;
    onRequest(requests);
    const ready = requests > readyAfter;
    response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ready, seen: requests }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const polling = (url: string, until: string, extra = '') => `
name: polls
${extra}
steps:
  - name: wait for ready
    http: { url: "${url}/ready" }
    expect: { status: 200, json: { ready: true } }
    until: ${until}
    capture: { seen: json.seen }
  - assert: { value: "{{ vars.seen }}", equals: 4 }
`;

describe('until on http', () => {
  it('repeats the step until its expectation holds, and captures from the passing attempt', async () => {
    const url = await becomesReady(3);
    const result = await runJourneys([await journey(polling(url, '{ every: 20ms }'))], options());
    expect(result.journeys[0]!.status, JSON.stringify(result.journeys[0]!.attempts[0]!.failure)).toBe('passed');
    expect(requests).toBe(4);
  });

  it('stops after attempts and shows the last failure with how many attempts were made', async () => {
    const url = await becomesReady(100);
    const result = await runJourneys([await journey(polling(url, '{ every: 10ms, attempts: 3 }'))], options());
    const failure = result.journeys[0]!.attempts[0]!.failure;
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    expect(failure?.message).toMatch(/^still failing after 3 attempts over \S+: /);
    expect(failure?.message).toContain('503');
    expect(requests).toBe(3);
  });

  it("is bounded by the step's timeout, and says so", async () => {
    const url = await becomesReady(1_000_000);
    const result = await runJourneys([await journey(polling(url, '{ every: 50ms }').replace('    until:', '    timeout: 2s\n    until:'))], options());
    const failure = result.journeys[0]!.attempts[0]!.failure;
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    const made = Number(/^still failing after (\d+) attempts? over/.exec(failure?.message ?? '')?.[1]);
    expect(made).toBeGreaterThanOrEqual(1);
    // Every counted attempt reached the server; one cut in flight may have too.
    expect(requests).toBeGreaterThanOrEqual(made);
    expect(failure?.message).toMatch(/polling stopped: /);
  });

  it("is bounded by the journey's deadline when the step has no timeout", async () => {
    const url = await becomesReady(1_000_000);
    const result = await runJourneys([await journey(polling(url, '{ every: 50ms }', 'timeout: 2s'))], options());
    expect(result.journeys[0]!.attempts[0]!.failure?.message).toMatch(/^still failing after \d+ attempts? over /);
  });

  it('stops at once on an interrupt, as an interruption', async () => {
    const controller = new AbortController();
    const url = await becomesReady(1_000_000, (count) => {
      if (count === 2) controller.abort();
    });
    const result = await runJourneys([await journey(polling(url, '{ every: 10ms }'))], options({ signal: controller.signal }));
    expect(result.journeys[0]!.attempts[0]!.failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
    expect(result.status).toBe('interrupted');
  });
});

describe('until on assert', () => {
  it('repeats the check and reports the attempts', async () => {
    const result = await runJourneys(
      [await journey('name: a\nsteps:\n  - assert: { value: 1, equals: 2 }\n    until: { every: 10ms, attempts: 2 }\n')],
      options(),
    );
    const failure = result.journeys[0]!.attempts[0]!.failure;
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_ASSERT_EQUALS' });
    expect(failure?.message).toMatch(/^still failing after 2 attempts over /);
  });

  it('passes on the first attempt that holds', async () => {
    const result = await runJourneys([await journey('name: a\nsteps:\n  - assert: { value: 1, equals: 1 }\n    until: { every: 1s }\n')], options());
    expect(result.journeys[0]!.status).toBe('passed');
  });
});

describe('until validation', () => {
  const found = async (yaml: string) => (await loadJourneyText('v.yaml', yaml)).diagnostics.map((d) => [d.code, d.line, d.column, d.field]);

  it('needs an expect to wait for on http', async () => {
    expect(await found('name: v\nsteps:\n  - http: { url: "http://127.0.0.1:1/" }\n    until: { every: 1s }\n')).toEqual([
      ['CEIL_UNTIL_NO_EXPECT', 4, 12, 'steps[0].until'],
    ]);
  });

  it('needs a unit on every, and at least one attempt', async () => {
    const text = 'name: v\nsteps:\n  - assert: { value: 1 }\n    until: { every: 500 }\n  - assert: { value: 1 }\n    until: { every: 1s, attempts: 0 }\n';
    const diagnostics = (await loadJourneyText('v.yaml', text)).diagnostics;
    expect(diagnostics.map((d) => [d.line, d.field])).toEqual([
      [4, 'steps[0].until.every'],
      [6, 'steps[1].until.attempts'],
    ]);
    expect(diagnostics[1]!.message).toContain('at least 1');
  });

  it('is not taken by steps whose repeat cannot change anything', async () => {
    const diagnostics = await found('name: v\nsteps:\n  - assert: { value: 1 }\n  - wait: 1s\n    until: { every: 1s }\n');
    expect(diagnostics).toEqual([['CEIL_STEP_KEY_NOT_ALLOWED', 5, 5, 'steps[1].until']]);
  });

  it('is checked in finally steps too', async () => {
    const diagnostics = await found(
      'name: v\nsteps:\n  - assert: { value: 1 }\nfinally:\n  - http: { url: "http://127.0.0.1:1/" }\n    until: { every: 1s }\n',
    );
    expect(diagnostics).toEqual([['CEIL_UNTIL_NO_EXPECT', 6, 12, 'finally[0].until']]);
  });
});
