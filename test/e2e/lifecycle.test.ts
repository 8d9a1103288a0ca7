/**
 * The process around the journeys: it exits on its own when journeys hang,
 * stops cleanly on SIGINT/SIGTERM and still writes its reports, keeps to
 * --concurrency, and filters with --tag/--grep. Exit codes are the contract.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from '../../fixtures/faults.js';
import type { RunResult } from '../../src/core/result.js';
import { runCli, type CliOptions } from './cli.js';
import { Cleanup, outcomeOf, runWithJson, show, startServer } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let faults: FaultServer;
beforeAll(async () => {
  faults = await startFaultServer();
});
afterAll(() => faults?.close());

const passing = (name: string, tags: string[] = [], wait = '10ms') => `name: ${name}
tags: [${tags.join(', ')}]
steps:
  - wait: ${wait}
  - assert: { value: true }
`;

describe('exiting on its own', () => {
  it('a journey stuck on a server that never answers fails at its deadline and the process exits by itself', async () => {
    const dir = await cleanup.dir({
      'hang.yaml': `name: hangs until the deadline
timeout: 1s
steps:
  - name: no answer ever
    http: { url: "{{ env.FAULT_URL }}/hang" }
    expect: { status: 200 }
`,
    });
    const run = await runWithJson(cleanup, ['run', dir], { env: { FAULT_URL: faults.url }, killAfterMs: 15_000 });
    expect(run.killed, show(run)).toBe(false);
    expect(run.signal).toBeNull();
    expect(run.code, show(run)).toBe(1);
    const outcome = outcomeOf(run.json, 'hangs until the deadline');
    expect(outcome.step?.name).toBe('no answer ever');
    expect(outcome.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_JOURNEY' });
    expect(run.stdout).toContain('timeout CEIL_TIMEOUT_JOURNEY');
  });

  // Fixed in src/steps/flow.ts: the wait step slept on an unref'd timer, so with no socket open the
  // event loop drained mid-wait and Node exited with code 0 and no report at all: a silent false pass.
  it('a journey that only waits still runs to the end and reports', async () => {
    const dir = await cleanup.dir({
      'wait.yaml': `name: only waits
steps:
  - wait: 200ms
  - assert: { value: false }
`,
    });
    const run = await runWithJson(cleanup, ['run', dir]);
    expect(run.code, show(run)).toBe(1);
    expect(outcomeOf(run.json, 'only waits').failure?.code).toBe('CEIL_ASSERT_TRUTHY');
  });
});

describe('signals', () => {
  /** Sends `signal` once `ready()` holds, polling; the interval is cleared after each test. */
  function signalWhen(ready: (stdout: string) => boolean, signal: NodeJS.Signals): { options: Pick<CliOptions, 'onSpawn'>; sent: () => boolean } {
    let sent = false;
    const options: Pick<CliOptions, 'onSpawn'> = {
      onSpawn: (pid, output) => {
        const timer = setInterval(() => {
          if (!ready(output.stdout())) return;
          clearInterval(timer);
          try {
            process.kill(pid, signal);
            sent = true;
          } catch {
            // Already gone: `sent` stays false and the test says so.
          }
        }, 20);
        cleanup.add({ close: () => clearInterval(timer) });
      },
    };
    return { options, sent: () => sent };
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} mid-run stops the journeys, writes valid JSON and JUnit reports, and exits 130 by itself`, async () => {
      // A server that holds every request: once it has one, the journey is provably mid-step.
      const holder = cleanup.add(await startServer(() => {}));
      const dir = await cleanup.dir({
        'http.yaml': `name: waits on http
timeout: 30s
steps:
  - name: held request
    http: { url: "{{ env.HOLD_URL }}/held" }
    expect: { status: 200 }
  - name: never reached
    assert: { value: true }
`,
        'ws.yaml': `name: waits on a websocket
timeout: 30s
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-silent" }
  - name: a message that never comes
    ws.expect: { as: alice, text: hello }
`,
      });
      const reports = await cleanup.dir();
      const jsonPath = path.join(reports, 'nested', 'results.json');
      const junitPath = path.join(reports, 'junit.xml');
      const trigger = signalWhen((stdout) => stdout.includes('running') && holder.requests() > 0, signal);
      const run = await runCli(['run', dir, '--reporter', 'console', '--reporter', `json=${jsonPath}`, '--reporter', `junit=${junitPath}`, '--out', reports], {
        env: { HOLD_URL: holder.url, FAULT_WS: faults.wsUrl.replace(/\/$/, '') },
        killAfterMs: 15_000,
        ...trigger.options,
      });
      expect(trigger.sent(), show(run)).toBe(true);
      expect(run.killed, show(run)).toBe(false);
      expect(run.signal, show(run)).toBeNull();
      expect(run.code, show(run)).toBe(130);
      expect(run.stderr).toContain(`${signal} received`);
      expect(run.stdout).toMatch(/interrupted \(exit code 130\)/);

      const json = JSON.parse(await readFile(jsonPath, 'utf8')) as RunResult;
      expect(json).toMatchObject({ interrupted: true, status: 'interrupted', exitCode: 130 });
      const http = outcomeOf(json, 'waits on http');
      expect(http.step?.name).toBe('held request');
      expect(http.failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
      expect(http.journey.attempts[0]?.steps.map((step) => step.status)).toEqual(['error', 'skipped']);
      for (const journey of json.journeys) expect(journey.status).not.toBe('passed');

      const xml = await readFile(junitPath, 'utf8');
      const parsed = new XMLParser({ ignoreAttributes: false }).parse(xml) as { testsuites: { '@_tests': string; '@_errors': string } };
      expect(parsed.testsuites['@_tests']).toBe(String(json.journeys.length));
      expect(parsed.testsuites['@_errors']).toBe(String(json.journeys.length));
      expect(xml).toContain('CEIL_INTERRUPTED');
    });
  }
});

describe('--concurrency', () => {
  interface Interval {
    name: string;
    start: number;
    end: number;
  }

  /** The most journeys in flight at one moment, from the report's own timestamps. */
  function maxInFlight(json: RunResult): { max: number; intervals: Interval[] } {
    const intervals = json.journeys.map((journey) => {
      const start = Date.parse(journey.startedAt);
      return { name: journey.name, start, end: start + journey.durationMs };
    });
    // Timestamps are whole milliseconds taken from two clocks: a journey that starts as another ends
    // may look a few ms overlapped. Real overlap under a 300ms wait is hundreds of ms.
    const slack = 25;
    let max = 0;
    for (const probe of intervals) {
      const at = probe.start + slack;
      const inFlight = intervals.filter((other) => other.start <= at && at < other.end - slack).length;
      max = Math.max(max, inFlight);
    }
    return { max, intervals };
  }

  for (const concurrency of [1, 2]) {
    it(`--concurrency ${concurrency} never has more than ${concurrency} journey(s) in flight`, async () => {
      const dir = await cleanup.dir(Object.fromEntries(['a', 'b', 'c', 'd'].map((name) => [`${name}.yaml`, passing(`journey ${name}`, [], '300ms')])));
      const run = await runWithJson(cleanup, ['run', dir, '--concurrency', String(concurrency)]);
      expect(run.code, show(run)).toBe(0);
      expect(run.json?.journeys).toHaveLength(4);
      const { max, intervals } = maxInFlight(run.json!);
      expect(max, JSON.stringify(intervals)).toBe(concurrency);
    });
  }

  // Each journey in flight listens on the run's one signal; Node warns past 10 listeners unless told otherwise.
  it('many journeys in flight at once print no listener-leak warning', async () => {
    const dir = await cleanup.dir(Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`j${index}.yaml`, passing(`journey ${index}`, [], '100ms')])));
    const run = await runWithJson(cleanup, ['run', dir, '--concurrency', '12']);
    expect(run.code, show(run)).toBe(0);
    expect(run.stderr).toBe('');
  });
});

describe('selecting journeys', () => {
  async function selection(args: string[]) {
    const dir = await cleanup.dir({
      'a.yaml': passing('checkout works', ['critical', 'shop']),
      'b.yaml': passing('chat works', ['chat']),
      'c.yaml': passing('search works', ['shop']),
    });
    const run = await runWithJson(cleanup, ['run', dir, ...args]);
    return { run, names: (run.json?.journeys ?? []).map((journey) => journey.name).sort() };
  }

  it('--tag runs only the journeys with that tag (repeatable, any matches)', async () => {
    const one = await selection(['--tag', 'shop']);
    expect(one.run.code, show(one.run)).toBe(0);
    expect(one.names).toEqual(['checkout works', 'search works']);
    const two = await selection(['--tag', 'chat', '--tag', 'critical']);
    expect(two.names).toEqual(['chat works', 'checkout works']);
  });

  it('--grep runs only the journeys whose name matches', async () => {
    const { run, names } = await selection(['--grep', '^ch']);
    expect(run.code, show(run)).toBe(0);
    expect(names).toEqual(['chat works', 'checkout works']);
  });

  it('--tag and --grep together must both match', async () => {
    const { names } = await selection(['--tag', 'shop', '--grep', 'search']);
    expect(names).toEqual(['search works']);
  });

  it('a filter that matches nothing is "nothing tested" (exit 3)', async () => {
    for (const args of [
      ['--tag', 'nope'],
      ['--grep', 'no such journey'],
    ]) {
      const { run } = await selection(args);
      expect(run.code, show(run)).toBe(3);
      expect(run.stderr).toContain('nothing tested: no journey matched --tag/--grep');
      expect(run.json).toMatchObject({ status: 'nothing-tested', exitCode: 3, totals: { journeys: 0 } });
    }
  });

  it('an invalid --grep pattern is invalid input (exit 2)', async () => {
    const { run } = await selection(['--grep', 'a(b']);
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain('--grep');
  });
});

describe('nothing tested', () => {
  it('a journey that makes no assertion passes but the run is "nothing tested" (exit 3)', async () => {
    const dir = await cleanup.dir({
      'checked.yaml': passing('checks something'),
      'unchecked.yaml': `name: checks nothing
steps:
  - http: { url: "{{ env.FAULT_URL }}/json" }
`,
    });
    const validate = await runCli(['validate', dir], { killAfterMs: 15_000 });
    expect(validate.code, show(validate)).toBe(0);
    expect(validate.stderr).toMatch(/unchecked\.yaml:3:3 › steps: warning: this journey checks nothing/);

    const run = await runWithJson(cleanup, ['run', dir], { env: { FAULT_URL: faults.url } });
    expect(run.code, show(run)).toBe(3);
    expect(run.json).toMatchObject({ status: 'nothing-tested', exitCode: 3 });
    expect(outcomeOf(run.json, 'checks nothing').journey.assertions).toBe(0);
    expect(run.stdout).toContain('nothing tested');
  });

  it('a failure still wins over "nothing tested" (exit 1)', async () => {
    const dir = await cleanup.dir({
      'failing.yaml': `name: fails
steps:
  - assert: { value: 1, equals: 2 }
`,
      'unchecked.yaml': `name: checks nothing
steps:
  - wait: 10ms
`,
    });
    const run = await runWithJson(cleanup, ['run', dir]);
    expect(run.code, show(run)).toBe(1);
  });
});
