import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runJourneys, type RunOptions } from '../../src/engine/run.js';
import { StallSampler, stallExplains } from '../../src/engine/runner-health.js';
import { runGate, type GateOptions } from '../../src/gate/gate.js';
import { runRound } from '../../src/gate/rounds.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';

/**
 * A failure on time while Ceiling's own event loop was frozen is labelled as
 * such, and the gate never rolls back on it; a real failure still fails.
 * The stall is made in-process: a busy loop holds the event loop.
 */

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Hold the event loop, as loading a big module or zipping a trace did.
  }
}

async function journey(yaml: string): Promise<Journey> {
  const loaded = await loadJourneyText('stall.yaml', yaml);
  if (!loaded.journey) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.journey;
}

function options(): RunOptions {
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
  };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: RequestListener): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the stall sampler', () => {
  it('sees a blocked event loop in every window open at the time, including a stall still pending at close', async () => {
    const sampler = new StallSampler(10);
    const outer = sampler.open();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const inner = sampler.open();
    busy(300);
    const closedInner = inner.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closedOuter = outer.close();
    expect(closedInner.stalledMs).toBeGreaterThanOrEqual(250);
    expect(closedOuter.maxDelayMs).toBeGreaterThanOrEqual(250);
  });

  it('labels failures on time only, and only when the stall is a large share of the step', () => {
    expect(stallExplains({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' }, 800, 1000)).toBe(true);
    expect(stallExplains({ class: 'assertion', code: 'CEIL_HTTP_LATENCY' }, 800, 1000)).toBe(true);
    expect(stallExplains({ class: 'protocol', code: 'CEIL_WS_CLOSED_WHILE_EXPECTING' }, 800, 1000)).toBe(true);
    expect(stallExplains({ class: 'assertion', code: 'CEIL_HTTP_STATUS' }, 800, 1000)).toBe(false);
    expect(stallExplains({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' }, 30, 1000)).toBe(false);
    expect(stallExplains({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' }, 150, 10_000)).toBe(false);
    // A hang times out whatever the runner did: a timeout needs the freeze to cover half the step, a dropped socket a fifth.
    expect(stallExplains({ class: 'timeout', code: 'CEIL_TIMEOUT_STEP' }, 141, 462)).toBe(false);
    expect(stallExplains({ class: 'protocol', code: 'CEIL_WS_CLOSED_WHILE_EXPECTING' }, 141, 462)).toBe(true);
  });
});

describe('a step that fails on time while the runner stalls', () => {
  it('is run once more, and a repeat under a stall is an error with exit 3 (no verdict), saying the runner stalled', async () => {
    const url = await serve((_request, response) => {
      // This test server shares the runner's process: answering holds the event loop past the step's timeout, during the step.
      busy(600);
      setTimeout(() => response.writeHead(200).end(), 20);
    });
    const result = await runJourneys(
      [await journey(`name: stalled\nsteps:\n  - http: { url: "${url}/" }\n    timeout: 300ms\n    expect: { status: 200 }\n  - assert: { value: true }\n`)],
      options(),
    );
    const only = result.journeys[0]!;
    expect(only.status).toBe('error');
    expect(result.status).toBe('inconclusive');
    expect(result.exitCode).toBe(3);
    expect(only.attempts.map((attempt) => attempt.afterRunnerStall ?? false)).toEqual([false, true]);
    const failure = only.attempts[1]!.failure!;
    expect(failure.code).toBe('CEIL_TIMEOUT_STEP');
    expect(failure.runnerStallMs).toBeGreaterThanOrEqual(500);
    expect(failure.message).toMatch(/the runner stalled \d/);
    expect(only.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(500);
  });

  it('passes, not flaky, when the attempt made after a stall passes', async () => {
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      if (requests === 1) busy(600);
      setTimeout(() => response.writeHead(200).end(), requests === 1 ? 20 : 0);
    });
    const result = await runJourneys([await journey(`name: once\nsteps:\n  - http: { url: "${url}/" }\n    timeout: 300ms\n    expect: { status: 200 }\n`)], {
      ...options(),
      failOnFlaky: true,
    });
    const only = result.journeys[0]!;
    expect(requests).toBe(2);
    expect(only.status).toBe('passed');
    expect(only.attempts.map((attempt) => attempt.status)).toEqual(['error', 'passed']);
    expect(only.attempts[0]!.failure!.runnerStallMs).toBeGreaterThanOrEqual(500);
    expect(result.exitCode).toBe(0);
  });

  it('fails when the attempt made after a stall fails on its own', async () => {
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      if (requests === 1) {
        busy(600);
        setTimeout(() => response.writeHead(200).end(), 20);
      } else response.writeHead(500).end();
    });
    const result = await runJourneys(
      [await journey(`name: real\nsteps:\n  - http: { url: "${url}/" }\n    timeout: 300ms\n    expect: { status: 200 }\n`)],
      options(),
    );
    const only = result.journeys[0]!;
    expect(requests).toBe(2);
    expect(only.status).toBe('failed');
    expect(only.attempts.at(-1)!.failure!.code).toBe('CEIL_HTTP_STATUS');
    expect(result.exitCode).toBe(1);
  });

  it('is not labelled when the runner did not stall', async () => {
    const result = await runJourneys([await journey('name: plain\nsteps:\n  - wait: 5s\n    timeout: 1s\n  - assert: { value: true }\n')], options());
    const failure = result.journeys[0]!.attempts[0]!.failure!;
    expect(failure.code).toBe('CEIL_TIMEOUT_STEP');
    expect(failure.runnerStallMs).toBeUndefined();
    expect(failure.message).not.toContain('stalled');
  });

  it('a wrong answer during a stall is a real failure, not labelled', async () => {
    const url = await serve((_request, response) => {
      busy(400);
      response.writeHead(500).end();
    });
    const result = await runJourneys([await journey(`name: wrong\nsteps:\n  - http: { url: "${url}/" }\n    expect: { status: 200 }\n`)], options());
    const failure = result.journeys[0]!.attempts[0]!.failure!;
    expect(result.journeys[0]!.status).toBe('failed');
    expect(failure.code).toBe('CEIL_HTTP_STATUS');
    expect(failure.runnerStallMs).toBeUndefined();
  });
});

describe('the gate and a runner stall', () => {
  const target = { name: 'only', vars: {} };
  const roundOptions = () => ({
    concurrency: 1,
    vars: {},
    env: () => undefined,
    secret: () => undefined,
    redactor: new Redactor(),
    signal: new AbortController().signal,
    outDir: 'ceiling-out',
    targets: [target],
  });

  it('runs a journey once more when a stall explains its failure, and keeps the second result', async () => {
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      // The first answer holds the runner's event loop (this test server shares its process) past the step's timeout.
      if (requests === 1) busy(700);
      // Answering a moment later lets the overdue timeout fire first, as it would on a frozen runner.
      setTimeout(() => response.writeHead(200).end(), requests === 1 ? 20 : 0);
    });
    const checked = await journey(`name: once\nsteps:\n  - http: { url: "${url}/" }\n    timeout: 300ms\n    expect: { status: 200 }\n`);
    const round = await runRound(1, { ...roundOptions(), journeys: [checked] });
    expect(requests).toBe(2);
    expect(round.targets[0]!.journeys[0]!.status).toBe('passed');
  });

  it('calls a repeat under a stall inconclusive, never a failure or a rollback', async () => {
    const url = await serve((_request, response) => {
      busy(700);
      setTimeout(() => response.writeHead(200).end(), 20);
    });
    let rolledBack = false;
    const options: GateOptions = {
      command: 'gate',
      journeys: [await journey(`name: always\nsteps:\n  - http: { url: "${url}/" }\n    timeout: 300ms\n    expect: { status: 200 }\n`)],
      targets: [target],
      policy: { bakeMs: 0, everyMs: 0, cleanRounds: 1, confidence: 0.95, minEffect: 0.2, failOnFlaky: false },
      baseline: { source: 'none', samples: new Map(), count: 0 },
      run: { concurrency: 1, vars: {}, env: () => undefined, secret: () => undefined, redactor: new Redactor(), outDir: 'ceiling-out' },
      redactor: new Redactor(),
      signal: new AbortController().signal,
      version: 'test',
      log: () => undefined,
      onVerdict: async () => {
        rolledBack = true;
        return undefined;
      },
      recoverWithinMs: 0,
    };
    const { result } = await runGate(options);
    expect(result.verdict).toBe('inconclusive');
    expect(result.exitCode).not.toBe(1);
    expect(rolledBack).toBe(false);
    expect(result.findings.map((finding) => finding.code)).toContain('CEIL_GATE_RUNNER_STALLED');
  });
});
