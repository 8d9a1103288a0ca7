import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  BaselineError,
  baselineFromHistory,
  baselineFromResults,
  baselineSamples,
  mergeBaselines,
  readBaseline,
  sampleCount,
  writeBaseline,
  type BaselineFile,
} from '../../src/gate/baseline.js';
import { stepKey } from '../../src/gate/latency.js';
import { HistoryStore } from '../../src/history/store.js';
import type { RunRecord } from '../../src/history/records.js';
import { brokenAttempt, journeyResult, mismatch, passedAttempt, stepResult } from './report-fixture.js';

const minute = 60_000;
const hour = 60 * minute;
const now = Date.UTC(2025, 0, 2, 12);

let directory = '';

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'ceiling-baseline-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const sample: BaselineFile = {
  schemaVersion: 1,
  createdAt: '2025-01-02T11:00:00.000Z',
  source: 'run',
  steps: {
    'chat announces who left': { 'ws.connect alice': [3, 4, 3], 'ws.expect alice #2': [120, 118] },
    'a dropped secret reads back once': { create: [21, 19.5] },
  },
};

async function expectBaselineError(file: string, message: RegExp): Promise<BaselineError> {
  const error: unknown = await readBaseline(file).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(BaselineError);
  const baselineError = error as BaselineError;
  expect(baselineError.code).toBe('CEIL_GATE_BASELINE');
  expect(baselineError.message.startsWith(`${file}: `)).toBe(true);
  expect(baselineError.message).toMatch(message);
  return baselineError;
}

describe('baseline files', () => {
  test('round trip: written into new folders, read back the same, no staging file left', async () => {
    const file = path.join(directory, 'deep', 'er', 'baseline.json');
    await writeBaseline(file, sample);
    expect(await readBaseline(file)).toEqual(sample);
    expect(await readdir(path.dirname(file))).toEqual(['baseline.json']);
    expect((await readFile(file, 'utf8')).endsWith('}\n')).toBe(true);
  });

  test('overwrites an older baseline in place', async () => {
    const file = path.join(directory, 'baseline.json');
    await writeBaseline(file, sample);
    const newer = { ...sample, createdAt: '2025-01-03T00:00:00.000Z', steps: {} };
    await writeBaseline(file, newer);
    expect(await readBaseline(file)).toEqual(newer);
  });

  test('a file that is not JSON is a BaselineError naming the file and the fix', async () => {
    const file = path.join(directory, 'broken.json');
    await writeFile(file, '{"schemaVersion": 1, "steps": ');
    await expectBaselineError(file, /is not valid JSON .*; regenerate it with ceiling gate --baseline-out /);
  });

  test('a wrong shape says where it is wrong', async () => {
    const file = path.join(directory, 'wrong.json');
    const wrong = { ...sample, steps: { chat: { connect: [3, -1] } } };
    await writeFile(file, JSON.stringify(wrong));
    await expectBaselineError(file, /steps\["chat"\]\["connect"\]\[1\]: .*; regenerate it with ceiling gate --baseline-out /);

    await writeFile(file, JSON.stringify({ ...sample, source: 'guess' }));
    await expectBaselineError(file, /source: /);

    await writeFile(file, JSON.stringify([1, 2, 3]));
    await expectBaselineError(file, /regenerate it/);
  });

  test('unknown keys and a newer schema are refused', async () => {
    const file = path.join(directory, 'other.json');
    await writeFile(file, JSON.stringify({ ...sample, extra: true }));
    await expectBaselineError(file, /extra/);

    await writeFile(file, JSON.stringify({ ...sample, schemaVersion: 2 }));
    await expectBaselineError(file, /written by a newer ceiling \(baseline schema 2/);
  });

  test('a missing file says how to create it', async () => {
    const file = path.join(directory, 'nowhere.json');
    await expectBaselineError(file, /no such file; create it with ceiling gate --baseline-out /);
  });
});

describe('baselines from results', () => {
  test('passed steps of the last attempt, by journey and step, with repeated names numbered', () => {
    const chat = journeyResult({
      name: 'chat',
      status: 'passed',
      attempts: [
        {
          ...passedAttempt(),
          steps: [stepResult({ index: 0, name: 'ws.expect alice', durationMs: 5 }), stepResult({ index: 1, name: 'ws.expect alice', durationMs: 800 })],
        },
      ],
    });
    const drop = journeyResult({ name: 'drop', status: 'failed', attempts: [brokenAttempt(1, mismatch)] });
    const baseline = baselineFromResults([chat, drop, chat], new Date(now));
    expect(baseline).toEqual({
      schemaVersion: 1,
      createdAt: '2025-01-02T12:00:00.000Z',
      source: 'run',
      steps: {
        chat: { 'ws.expect alice': [5, 5], 'ws.expect alice #2': [800, 800] },
        drop: { create: [20] },
      },
    });
    expect(sampleCount(baseline)).toBe(5);
  });

  test('names go through the redactor before they are stored', () => {
    const result = journeyResult({ name: 'token tok-secret-1', status: 'passed', attempts: [passedAttempt()] });
    const baseline = baselineFromResults([result], new Date(now), { redact: (text) => text.replaceAll('tok-secret-1', '***') });
    expect(JSON.stringify(baseline)).not.toContain('tok-secret-1');
    expect(Object.keys(baseline.steps)).toEqual(['token ***']);
  });

  test('baselineSamples keys durations the way the comparison does', () => {
    const samples = baselineSamples(sample);
    expect(samples.get(stepKey('chat announces who left', 'ws.expect alice #2'))).toEqual([120, 118]);
    expect(samples.size).toBe(3);
    // A copy: the comparison may not change the file's arrays.
    samples.get(stepKey('a dropped secret reads back once', 'create'))!.push(1);
    expect(sample.steps['a dropped secret reads back once']!.create).toEqual([21, 19.5]);
  });

  test('mergeBaselines pools durations, keeps the newest date, and is history only when every part is', () => {
    const history: BaselineFile = {
      schemaVersion: 1,
      createdAt: '2025-01-03T00:00:00.000Z',
      source: 'history',
      steps: { 'a dropped secret reads back once': { create: [30], 'read back': [8] } },
    };
    const merged = mergeBaselines([sample, history]);
    expect(merged.createdAt).toBe('2025-01-03T00:00:00.000Z');
    expect(merged.source).toBe('run');
    expect(merged.steps['a dropped secret reads back once']).toEqual({ create: [21, 19.5, 30], 'read back': [8] });
    expect(sampleCount(merged)).toBe(sampleCount(sample) + sampleCount(history));
    expect(mergeBaselines([history, history]).source).toBe('history');
    expect(() => mergeBaselines([])).toThrow(RangeError);
  });
});

describe('baselineFromHistory', () => {
  const dbFile = (): string => path.join(directory, 'serve', 'history.db');

  function run(overrides: Partial<RunRecord>): RunRecord {
    return {
      journey: 'chat announces who left',
      location: 'eu-west',
      target: 'https://chat.example',
      trigger: 'schedule',
      startedAt: now - hour,
      durationMs: 900,
      result: 'passed',
      steps: [
        { name: 'connect alice', status: 'passed', durationMs: 12 },
        { name: 'ws.expect alice', status: 'passed', durationMs: 30 },
        { name: 'ws.expect alice', status: 'passed', durationMs: 800 },
      ],
      ...overrides,
    };
  }

  function fill(runs: readonly RunRecord[]): void {
    const store = HistoryStore.open({ file: dbFile(), maxAgeMs: 30 * 24 * hour, maxRunsPerJourney: 10_000, maxBytes: 1 << 30 });
    try {
      for (const record of runs) store.record(record);
    } finally {
      store.close();
    }
  }

  test('passed and flaky runs within the window, exact journey names only', () => {
    fill([
      run({ startedAt: now - 1 * hour }),
      run({ startedAt: now - 2 * hour, result: 'flaky', steps: [{ name: 'connect alice', status: 'passed', durationMs: 14 }] }),
      run({
        startedAt: now - 3 * hour,
        result: 'failed',
        failedStep: 'ws.expect alice',
        steps: [
          { name: 'connect alice', status: 'passed', durationMs: 999 },
          { name: 'ws.expect alice', status: 'failed', durationMs: 2000 },
        ],
      }),
      run({ startedAt: now - 4 * hour, result: 'error', steps: [{ name: 'connect alice', status: 'error', durationMs: 5000 }] }),
      // Outside a 6 h window.
      run({ startedAt: now - 7 * hour, steps: [{ name: 'connect alice', status: 'passed', durationMs: 500 }] }),
      // Names that only look alike.
      run({ journey: 'Chat announces who left', steps: [{ name: 'connect alice', status: 'passed', durationMs: 501 }] }),
      run({ journey: 'chat announces who left ', steps: [{ name: 'connect alice', status: 'passed', durationMs: 502 }] }),
      run({ journey: 'chat%', steps: [{ name: 'connect alice', status: 'passed', durationMs: 503 }] }),
    ]);

    const baseline = baselineFromHistory(dbFile(), ['chat announces who left', 'chat%', 'never probed'], { sinceMs: 6 * hour, now });
    expect(baseline).toEqual({
      schemaVersion: 1,
      createdAt: new Date(now).toISOString(),
      source: 'history',
      steps: {
        'chat announces who left': { 'connect alice': [12, 14], 'ws.expect alice': [30], 'ws.expect alice #2': [800] },
        'chat%': { 'connect alice': [503] },
      },
    });
  });

  test("an HTTP step recorded with its whole-request time is sampled by it, as the gate's fresh runs are", () => {
    fill([
      run({
        steps: [
          { name: 'create', status: 'passed', durationMs: 60, requestMs: 41 },
          { name: 'connect alice', status: 'passed', durationMs: 12 },
        ],
      }),
    ]);
    const baseline = baselineFromHistory(dbFile(), ['chat announces who left'], { sinceMs: 6 * hour, now });
    expect(baseline.steps).toEqual({ 'chat announces who left': { create: [41], 'connect alice': [12] } });
  });

  test('takes the newest runs up to the cap, and can keep to one location and target', () => {
    fill([
      ...Array.from({ length: 5 }, (_, index) =>
        run({ startedAt: now - (index + 1) * minute, steps: [{ name: 'connect alice', status: 'passed', durationMs: index + 1 }] }),
      ),
      run({ startedAt: now - 10 * minute, location: 'us-east', steps: [{ name: 'connect alice', status: 'passed', durationMs: 90 }] }),
      run({ startedAt: now - 11 * minute, target: 'https://other.example', steps: [{ name: 'connect alice', status: 'passed', durationMs: 91 }] }),
    ]);
    const journeys = ['chat announces who left'];
    const capped = baselineFromHistory(dbFile(), journeys, { sinceMs: hour, now, maxRunsPerJourney: 3 });
    expect(capped.steps['chat announces who left']).toEqual({ 'connect alice': [1, 2, 3] });

    const everywhere = baselineFromHistory(dbFile(), journeys, { sinceMs: hour, now });
    expect(everywhere.steps['chat announces who left']!['connect alice']).toEqual([1, 2, 3, 4, 5, 90, 91]);

    const here = baselineFromHistory(dbFile(), journeys, { sinceMs: hour, now, location: 'eu-west', target: 'https://chat.example' });
    expect(here.steps['chat announces who left']!['connect alice']).toEqual([1, 2, 3, 4, 5]);
  });

  test('pages through more runs than one history query returns', () => {
    const runs = Array.from({ length: 1500 }, (_, index) =>
      run({ startedAt: now - (index + 1) * 1000, steps: [{ name: 'connect alice', status: 'passed', durationMs: 10 + (index % 7) }] }),
    );
    fill(runs);
    const baseline = baselineFromHistory(dbFile(), ['chat announces who left'], { sinceMs: hour, now, maxRunsPerJourney: 1200 });
    expect(sampleCount(baseline)).toBe(1200);
  });

  test('a missing database is a BaselineError and is not created', () => {
    const missing = path.join(directory, 'typo', 'history.db');
    expect(() => baselineFromHistory(missing, ['chat'], { sinceMs: hour, now })).toThrow(BaselineError);
    expect(() => baselineFromHistory(missing, ['chat'], { sinceMs: hour, now })).toThrow(/no history database there/);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(path.dirname(missing))).toBe(false);
  });

  test('a file that is not a history database is a BaselineError', async () => {
    const file = path.join(directory, 'notes.db');
    await writeFile(file, 'these are not the pages you are looking for '.repeat(200));
    expect(() => baselineFromHistory(file, ['chat'], { sinceMs: hour, now })).toThrow(BaselineError);
  });

  test('options out of range are refused', () => {
    fill([]);
    expect(() => baselineFromHistory(dbFile(), ['chat'], { sinceMs: 0, now })).toThrow(/sinceMs must be greater than 0/);
    expect(() => baselineFromHistory(dbFile(), ['chat'], { sinceMs: hour, maxRunsPerJourney: 0 })).toThrow(/maxRunsPerJourney/);
  });
});
