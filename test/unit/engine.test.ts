import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { JourneyResult, RunResult } from '../../src/core/result.js';
import { collectEvidence, evidenceDir } from '../../src/engine/journey-runner.js';
import { decideStatus, runJourneys, type RunOptions } from '../../src/engine/run.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import type { Reporter } from '../../src/report/reporter.js';
import { Redactor } from '../../src/secrets/redactor.js';

async function journey(yaml: string, file = 'engine.yaml'): Promise<Journey> {
  const loaded = await loadJourneyText(file, yaml);
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
    env: (name) => process.env[name],
    secret: () => undefined,
    redactor: new Redactor(),
    signal: new AbortController().signal,
    outDir: 'ceiling-out',
    ...overrides,
  };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Answers 500 to the first `failures` requests, then 200: a target that recovers. */
async function recoveringServer(failures: number): Promise<string> {
  let seen = 0;
  server = createServer((_request, response) => {
    seen++;
    response.writeHead(seen <= failures ? 500 : 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ seen }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const pinging = (url: string, retries: number) => `
name: recovers
retries: ${retries}
steps:
  - set: { marker: "{{ uuid() }}" }
  - http: { url: "${url}/" }
    expect: { status: 200 }
`;

describe('retries', () => {
  it('restart the whole journey, keep every attempt, and call a late pass flaky', async () => {
    const url = await recoveringServer(1);
    const result = await runJourneys([await journey(pinging(url, 2))], options());
    const only = result.journeys[0]!;
    expect(only.status).toBe('flaky');
    expect(only.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'passed']);
    // Both steps ran again in the second attempt: a restart, not a resume.
    expect(only.attempts[1]!.steps.map((step) => step.status)).toEqual(['passed', 'passed']);
    expect(result.exitCode).toBe(0);
  });

  it('fail the run on a flaky journey only under failOnFlaky', async () => {
    const url = await recoveringServer(1);
    const result = await runJourneys([await journey(pinging(url, 1))], options({ failOnFlaky: true }));
    expect(result.journeys[0]!.status).toBe('flaky');
    expect(result.exitCode).toBe(1);
  });

  it('stop at the last attempt and report its failure', async () => {
    const url = await recoveringServer(10);
    const result = await runJourneys([await journey(pinging(url, 2))], options());
    const only = result.journeys[0]!;
    expect(only.status).toBe('failed');
    expect(only.attempts).toHaveLength(3);
    expect(only.attempts[2]!.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS', expected: 200, actual: 500 });
    expect(result.exitCode).toBe(1);
  });
});

describe('deadlines', () => {
  it('a step timeout fails the step as a timeout', async () => {
    const result = await runJourneys([await journey('name: t\nsteps:\n  - wait: 5s\n    timeout: 50ms\n  - assert: { value: true }\n')], options());
    const attempt = result.journeys[0]!.attempts[0]!;
    expect(attempt.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' });
    expect(attempt.steps.map((step) => step.status)).toEqual(['error', 'skipped']);
    expect(result.journeys[0]!.status).toBe('error');
  });

  it("the journey's deadline cuts a step with a longer timeout", async () => {
    const result = await runJourneys(
      [await journey('name: t\ntimeout: 80ms\nsteps:\n  - wait: 5s\n    timeout: 10s\n  - assert: { value: true }\n')],
      options(),
    );
    expect(result.journeys[0]!.attempts[0]!.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_JOURNEY' });
  });

  it('--timeout overrides the file', async () => {
    const result = await runJourneys([await journey('name: t\ntimeout: 1m\nsteps:\n  - wait: 5s\n  - assert: { value: true }\n')], options({ timeoutMs: 60 }));
    expect(result.journeys[0]!.attempts[0]!.failure?.code).toBe('CEIL_TIMEOUT_JOURNEY');
  });
});

describe('interrupts', () => {
  it('abort the journey in flight, skip the rest, and mark the run interrupted', async () => {
    const controller = new AbortController();
    const journeys = [
      await journey('name: first\nsteps:\n  - wait: 10s\n  - assert: { value: true }\n', 'a.yaml'),
      await journey('name: second\nsteps:\n  - assert: { value: true }\n', 'b.yaml'),
    ];
    setTimeout(() => controller.abort(), 50).unref();
    const result = await runJourneys(journeys, options({ signal: controller.signal }));
    expect(result.status).toBe('interrupted');
    expect(result.interrupted).toBe(true);
    expect(result.exitCode).toBe(130);
    expect(result.journeys.map((item) => item.name)).toEqual(['first']);
    expect(result.journeys[0]!.attempts[0]!.failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
  });
});

describe('concurrency', () => {
  it('never has more journeys in flight than the cap', async () => {
    let inFlight = 0;
    let peak = 0;
    const reporter: Reporter = {
      name: 'counter',
      onJourneyStart: () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
      },
      onJourneyEnd: () => {
        inFlight--;
      },
      onRunEnd() {},
    };
    const journeys = await Promise.all([1, 2, 3, 4, 5].map((n) => journey(`name: j${n}\nsteps:\n  - wait: 30ms\n  - assert: { value: true }\n`, `j${n}.yaml`)));
    const result = await runJourneys(journeys, options({ concurrency: 2, reporter }));
    expect(result.totals.passed).toBe(5);
    expect(peak).toBe(2);
    // Results keep file order whatever order they finished in.
    expect(result.journeys.map((item) => item.name)).toEqual(['j1', 'j2', 'j3', 'j4', 'j5']);
  });
});

describe('the verdict', () => {
  const make = (status: JourneyResult['status'], assertions = 1, failureClass?: string): JourneyResult =>
    ({
      name: status,
      file: 'f.yaml',
      tags: [],
      status,
      startedAt: '',
      durationMs: 0,
      assertions,
      attempts: [
        {
          attempt: 1,
          status: status === 'flaky' ? 'passed' : status,
          startedAt: '',
          durationMs: 0,
          steps: [],
          cleanupErrors: [],
          ...(failureClass ? { failure: { class: failureClass, code: 'X', message: '' } } : {}),
        },
      ],
    }) as JourneyResult;

  it.each([
    { name: 'all passed', journeys: [make('passed')], flaky: false, expected: { status: 'passed', exitCode: 0 } },
    { name: 'a failure', journeys: [make('passed'), make('failed', 1, 'assertion')], flaky: false, expected: { status: 'failed', exitCode: 1 } },
    { name: 'an error', journeys: [make('error', 0, 'connect')], flaky: false, expected: { status: 'failed', exitCode: 1 } },
    { name: 'flaky tolerated', journeys: [make('flaky')], flaky: false, expected: { status: 'passed', exitCode: 0 } },
    { name: 'flaky refused', journeys: [make('flaky')], flaky: true, expected: { status: 'failed', exitCode: 1 } },
    { name: 'no journeys', journeys: [], flaky: false, expected: { status: 'nothing-tested', exitCode: 3 } },
    { name: 'no assertion', journeys: [make('passed', 0)], flaky: false, expected: { status: 'nothing-tested', exitCode: 3 } },
    { name: 'a config error', journeys: [make('error', 0, 'config')], flaky: false, expected: { status: 'invalid', exitCode: 2 } },
  ])('$name', ({ journeys, flaky, expected }) => {
    expect(decideStatus(journeys, false, flaky)).toEqual(expected);
  });
});

describe('evidence', () => {
  it('gets a folder per journey and attempt that a journey name cannot escape', () => {
    const dir = evidenceDir('out', { name: '../../etc passwd', file: 'a.yaml' } as Journey, 2);
    expect(dir.startsWith(path.join('out', 'artifacts'))).toBe(true);
    expect(dir).toMatch(/etc-passwd-[0-9a-f]{8}[\\/]attempt-2$/);
    expect(evidenceDir('out', { name: 'same', file: 'a.yaml' } as Journey, 1)).not.toBe(evidenceDir('out', { name: 'same', file: 'b.yaml' } as Journey, 1));
  });

  it('keeps what each collector wrote and turns a collector failure into a cleanup error', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'ceiling-evidence-'));
    try {
      const dir = path.join(out, 'nested', 'attempt-1');
      const result = await collectEvidence(
        [
          async (target) => {
            await writeFile(path.join(target, 'page.png'), 'png');
            return [{ name: 'page', path: path.join(target, 'page.png'), contentType: 'image/png' }];
          },
          async () => {
            throw new Error('browser gone');
          },
        ],
        dir,
      );
      expect(result.attachments).toEqual([{ name: 'page', path: path.join(dir, 'page.png'), contentType: 'image/png' }]);
      expect(await readFile(path.join(dir, 'page.png'), 'utf8')).toBe('png');
      expect(result.errors).toEqual(['evidence: browser gone']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('run result', () => {
  it('is plain JSON', async () => {
    const result: RunResult = await runJourneys([await journey('name: t\nsteps:\n  - assert: { value: true }\n')], options());
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});

describe('assertion counts', () => {
  it('count the checks a failed step made, the one that failed included, and none for an error', async () => {
    const url = await recoveringServer(0);
    const failing = await journey(`
name: counted
steps:
  - http: { url: "${url}/" }
    expect: { status: 200, json: { seen: 99 } }
`);
    const refused = await journey(`
name: refused
steps:
  - http: { url: "http://127.0.0.1:1/" }
    expect: { status: 200 }
`);
    const result = await runJourneys([failing, refused], options());
    const [counted, errored] = result.journeys;
    expect(counted!.attempts[0]!.steps[0]).toMatchObject({ status: 'failed', assertions: 2 });
    expect(counted!.assertions).toBe(2);
    expect(errored!.attempts[0]!.steps[0]).toMatchObject({ status: 'error', assertions: 0 });
  });
});

describe('templated durations', () => {
  it('render a step timeout, wait and latency from vars when the step runs', async () => {
    const url = await recoveringServer(0);
    const result = await runJourneys(
      [
        await journey(`
name: templated
vars: { pause: 5ms, bound: 10s, slow: 20ms }
steps:
  - wait: "{{ vars.pause }}"
  - http: { url: "${url}/" }
    timeout: "{{ vars.bound }}"
    expect: { status: 200, latency: "{{ vars.bound }}" }
  - wait: "{{ vars.slow }}"
    timeout: "{{ vars.pause }}"
`),
      ],
      options(),
    );
    const steps = result.journeys[0]!.attempts[0]!.steps;
    expect(steps.map((step) => step.status)).toEqual(['passed', 'passed', 'error']);
    // The rendered 5ms timeout cut the rendered 20ms wait: both were read at run time.
    expect(steps[2]!.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' });
  });

  it('fail as CEIL_TEMPLATE_DURATION when the template renders to something that is not a duration', async () => {
    const result = await runJourneys(
      [await journey('name: bad\nvars: { pause: 5 }\nsteps:\n  - wait: "{{ vars.pause }}"\n  - assert: { value: true }\n')],
      options(),
    );
    const failure = result.journeys[0]!.attempts[0]!.failure!;
    expect(failure).toMatchObject({ class: 'config', code: 'CEIL_TEMPLATE_DURATION' });
    expect(failure.message).toContain('has no unit');
  });
});
