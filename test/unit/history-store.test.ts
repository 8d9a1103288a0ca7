import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { HistoryError, HistoryStore, type HistoryOptions } from '../../src/history/store.js';
import type { PersistedState, RunRecord } from '../../src/serve/model.js';

const minute = 60_000;
const day = 24 * 60 * minute;
const start = Date.UTC(2025, 0, 1);

let directory = '';
const openStores: HistoryStore[] = [];

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'ceiling-history-'));
});

afterEach(async () => {
  for (const store of openStores.splice(0)) store.close();
  await rm(directory, { recursive: true, force: true });
});

const dbFile = (): string => path.join(directory, 'nested', 'history.db');

function open(overrides: Partial<HistoryOptions> = {}): HistoryStore {
  const store = HistoryStore.open({
    file: dbFile(),
    maxAgeMs: 30 * day,
    maxRunsPerJourney: 10_000,
    maxBytes: 1024 * 1024 * 1024,
    now: () => start + day,
    ...overrides,
  });
  openStores.push(store);
  return store;
}

/** Reads the file behind the store's back, the way an operator's sqlite3 shell would. */
function inspect<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    journey: 'chat announces who left',
    location: 'eu-west',
    target: 'https://chat.example',
    trigger: 'schedule',
    startedAt: start,
    durationMs: 812.5,
    result: 'passed',
    steps: [
      { name: 'connect alice', status: 'passed', durationMs: 12.25 },
      { name: 'expect left', status: 'passed', durationMs: 800 },
    ],
    ...overrides,
  };
}

function failedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return run({
    result: 'failed',
    failedStep: 'expect left',
    failureCode: 'CEIL_WS_EXPECT_TIMEOUT',
    failureMessage: 'no {"type":"left"} within 2s',
    steps: [
      { name: 'connect alice', status: 'passed', durationMs: 10 },
      { name: 'expect left', status: 'failed', durationMs: 2000 },
      { name: 'close', status: 'skipped', durationMs: 0 },
    ],
    ...overrides,
  });
}

function state(overrides: Partial<PersistedState> = {}): PersistedState {
  return { journey: 'chat announces who left', health: 'unknown', consecutiveFailures: 0, alerting: false, ...overrides };
}

function expectHistoryError(action: () => unknown, code: string): HistoryError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(HistoryError);
    expect((error as HistoryError).code).toBe(code);
    return error as HistoryError;
  }
  throw new Error(`expected a HistoryError ${code}, but nothing was thrown`);
}

describe('recording and reading runs', () => {
  test('round-trips every field, and absent optional fields stay absent', () => {
    const store = open();
    const passed = run({ startedAt: start });
    const failed = failedRun({ startedAt: start + minute, trigger: 'manual' });
    store.record(passed);
    store.record(failed);

    const [newest, oldest] = store.runs(passed.journey);
    expect(newest).toStrictEqual(failed);
    expect(oldest).toStrictEqual(passed);
    expect(Object.keys(oldest!)).not.toContain('failedStep');
    expect(Object.values(oldest!)).not.toContain(null);
  });

  test("stores an HTTP step's whole-request time but not its phases, and reads rows written before requestMs existed", () => {
    const store = open();
    const phases = { dnsMs: 1, connectMs: 2, tlsMs: 0, firstByteMs: 30, bodyMs: 4, totalMs: 37 };
    store.record(
      run({
        steps: [
          { name: 'create', status: 'passed', durationMs: 45, requestMs: 37, phases },
          { name: 'expect left', status: 'passed', durationMs: 800 },
        ],
      }),
    );
    const [read] = store.runs('chat announces who left');
    expect(read!.steps).toStrictEqual([
      { name: 'create', status: 'passed', durationMs: 45, requestMs: 37 },
      { name: 'expect left', status: 'passed', durationMs: 800 },
    ]);
    store.close();
    openStores.splice(openStores.indexOf(store), 1);

    // A row in the three-element form every earlier version wrote.
    const db = new Database(dbFile());
    db.prepare('UPDATE runs SET steps = ?').run(JSON.stringify([['create', 'passed', 45]]));
    db.close();
    expect(open().runs('chat announces who left')[0]!.steps).toStrictEqual([{ name: 'create', status: 'passed', durationMs: 45 }]);
  });

  test('keeps fractional durations and empty step lists exactly', () => {
    const store = open();
    const stored = run({ durationMs: 0.1 + 0.2, steps: [] });
    store.record(stored);
    expect(store.runs(stored.journey)).toStrictEqual([stored]);
  });

  test('pages newest first with a startedAt cursor, without gaps or repeats', () => {
    const store = open();
    for (let i = 0; i < 7; i++) store.record(run({ startedAt: start + i * minute }));

    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = store.runs('chat announces who left', { limit: 3, before });
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.startedAt));
      before = page.at(-1)!.startedAt;
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => start + i * minute));
  });

  test('returns 50 runs by default and never more than 1000', () => {
    const store = open();
    for (let i = 0; i < 1005; i++) store.record(run({ startedAt: start + i, steps: [] }));
    expect(store.runs('chat announces who left')).toHaveLength(50);
    expect(store.runs('chat announces who left', { limit: 5000 })).toHaveLength(1000);
    expect(store.runs('chat announces who left', { limit: 2 }).map((r) => r.startedAt)).toEqual([start + 1004, start + 1003]);
  });

  test('recent() gives the newest runs with the newest last', () => {
    const store = open();
    const results = ['passed', 'failed', 'flaky', 'error', 'passed'] as const;
    results.forEach((result, i) => store.record(run({ startedAt: start + i * minute, durationMs: 100 + i, result })));

    expect(store.recent('chat announces who left', 3)).toStrictEqual([
      { startedAt: start + 2 * minute, durationMs: 102, result: 'flaky' },
      { startedAt: start + 3 * minute, durationMs: 103, result: 'error' },
      { startedAt: start + 4 * minute, durationMs: 104, result: 'passed' },
    ]);
    expect(store.recent('a journey that never ran', 3)).toEqual([]);
  });

  test('a step list that was damaged on disk is a HistoryError naming the file', () => {
    const store = open();
    store.record(run());
    inspect(dbFile(), (db) => db.exec(`UPDATE runs SET steps = '[["x","exploded",1]]'`));
    const error = expectHistoryError(() => store.runs('chat announces who left'), 'CEIL_HISTORY_CORRUPT');
    expect(error.message).toContain(dbFile());
  });
});

describe('journey names are matched exactly', () => {
  const lookAlikes = [
    'chat',
    'Chat',
    'chat ',
    ' chat',
    'chat%',
    'chat_',
    'chat/1',
    "ch'at",
    'ch"at',
    '%',
    '\u0441hat', // Cyrillic "с", which renders like a Latin "c"
    'chat\u0301', // a combining accent, not normalised into anything else
    `chat ${'long '.repeat(2000)}`,
  ];

  test('no two look-alike names share runs', () => {
    const store = open();
    lookAlikes.forEach((journey, i) => {
      store.record(run({ journey, target: `target ${i}`, startedAt: start + i }));
      store.record(failedRun({ journey, target: `target ${i}`, startedAt: start + i + 1000 }));
    });

    lookAlikes.forEach((journey, i) => {
      const runs = store.runs(journey);
      expect(runs).toHaveLength(2);
      expect(runs.every((r) => r.journey === journey && r.target === `target ${i}`)).toBe(true);
      expect(store.recent(journey, 10).map((r) => r.startedAt)).toEqual([start + i, start + i + 1000]);
    });
    expect(store.runs('chat%%')).toEqual([]);
    expect(store.runs('CHAT')).toEqual([]);
  });

  test('no two look-alike names share state, and saving again replaces only that one', () => {
    const store = open();
    lookAlikes.forEach((journey, i) => store.saveState(state({ journey, consecutiveFailures: i })));
    store.saveState(state({ journey: 'chat', health: 'failing', consecutiveFailures: 99, alerting: true }));

    const states = store.loadStates();
    expect(states.size).toBe(lookAlikes.length);
    lookAlikes.forEach((journey, i) => {
      const expected = journey === 'chat' ? 99 : i;
      expect(states.get(journey)?.consecutiveFailures).toBe(expected);
    });
    expect(states.get('chat')).toStrictEqual(state({ journey: 'chat', health: 'failing', consecutiveFailures: 99, alerting: true }));
  });
});

describe('journey state', () => {
  test('round-trips every field, and absent optional fields stay absent', () => {
    const store = open();
    const full = state({
      journey: 'secret',
      health: 'failing',
      lastRunAt: start + 2 * minute,
      lastPassAt: start,
      lastFailure: {
        at: start + 2 * minute,
        step: 'read back',
        code: 'CEIL_HTTP_STATUS',
        message: 'expected 200, got 500',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      },
      consecutiveFailures: 2,
      alerting: true,
    });
    const bare = state({ journey: 'chat' });
    const failureWithoutStep = state({
      journey: 'comments',
      health: 'failing',
      lastFailure: { at: start, code: 'CEIL_TIMEOUT', message: 'journey deadline 20s passed' },
      consecutiveFailures: 1,
    });
    for (const saved of [full, bare, failureWithoutStep]) store.saveState(saved);

    const states = store.loadStates();
    expect(states.get('secret')).toStrictEqual(full);
    expect(states.get('chat')).toStrictEqual(bare);
    expect(states.get('comments')).toStrictEqual(failureWithoutStep);
    expect(Object.keys(states.get('comments')!.lastFailure!)).not.toContain('step');
  });

  test('saving a state without a last failure clears the stored one', () => {
    const store = open();
    store.saveState(state({ health: 'failing', lastFailure: { at: start, code: 'X', message: 'y' }, consecutiveFailures: 1 }));
    store.saveState(state({ health: 'passing', lastPassAt: start + minute }));
    expect(store.loadStates().get('chat announces who left')).toStrictEqual(state({ health: 'passing', lastPassAt: start + minute }));
  });
});

describe('surviving restarts', () => {
  test('runs and states written before close() are back after reopening', () => {
    const first = open();
    first.record(run());
    first.record(failedRun({ startedAt: start + minute }));
    first.saveState(state({ health: 'failing', consecutiveFailures: 1, alerting: true }));
    first.close();
    first.close();

    const second = open();
    expect(second.runs('chat announces who left')).toStrictEqual([failedRun({ startedAt: start + minute }), run()]);
    expect(second.loadStates()).toStrictEqual(new Map([['chat announces who left', state({ health: 'failing', consecutiveFailures: 1, alerting: true })]]));
  });

  test('close() folds the WAL into the main file even while another connection is open', () => {
    const store = open();
    store.record(run());
    // SQLite checkpoints on its own only when the last connection closes; an
    // operator's shell left open on the file must not keep the WAL around.
    inspect(dbFile(), (bystander) => {
      const countRuns = bystander.prepare('SELECT count(*) FROM runs').pluck();
      expect(countRuns.get()).toBe(1);
      expect(statSync(`${dbFile()}-wal`).size).toBeGreaterThan(0);
      store.close();
      expect(statSync(`${dbFile()}-wal`).size).toBe(0);
      expect(countRuns.get()).toBe(1);
    });
  });

  test('runs recorded by a store that was never closed, like a crashed daemon, are there', () => {
    const crashed = open();
    crashed.record(run());
    crashed.saveState(state({ health: 'passing', lastRunAt: start, lastPassAt: start }));
    expect(existsSync(`${dbFile()}-wal`)).toBe(true);

    const restarted = open();
    expect(restarted.runs('chat announces who left')).toStrictEqual([run()]);
    expect(restarted.loadStates().get('chat announces who left')).toStrictEqual(state({ health: 'passing', lastRunAt: start, lastPassAt: start }));
  });
});

describe('the database file', () => {
  test('is created with WAL, incremental auto-vacuum, our application id and schema version 3', () => {
    open().close();
    const settings = inspect(dbFile(), (db) => ({
      journalMode: db.pragma('journal_mode', { simple: true }),
      autoVacuum: db.pragma('auto_vacuum', { simple: true }),
      userVersion: db.pragma('user_version', { simple: true }),
      applicationId: db.pragma('application_id', { simple: true }),
    }));
    expect(settings).toEqual({ journalMode: 'wal', autoVacuum: 2, userVersion: 3, applicationId: 0x4345494c });
  });

  test('has an index on (journey, started_at) that run lookups use', () => {
    const store = open();
    store.record(run());
    store.close();
    const plan = inspect(dbFile(), (db) =>
      db
        .prepare('EXPLAIN QUERY PLAN SELECT * FROM runs WHERE journey = ? AND started_at < ? ORDER BY started_at DESC LIMIT 5')
        .all('chat', 1)
        .map((row) => (row as { detail: string }).detail)
        .join('\n'),
    );
    expect(plan).toContain('runs_by_journey');
    expect(plan).not.toContain('TEMP B-TREE');
  });

  test('a file of garbage bytes is a HistoryError with the path, and is left alone', () => {
    const file = path.join(directory, 'garbage.db');
    const garbage = Buffer.alloc(16 * 1024, 0xab);
    writeFileSync(file, garbage);
    const error = expectHistoryError(() => HistoryStore.open({ file, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }), 'CEIL_HISTORY_NOT_A_DATABASE');
    expect(error.message).toContain(file);
    expect(error.message).toContain('--db');
    expect(statSync(file).size).toBe(garbage.length);
  });

  test('a text file is a HistoryError with the path', () => {
    const file = path.join(directory, 'notes.txt');
    writeFileSync(file, 'remember to water the plants\n'.repeat(100));
    const error = expectHistoryError(() => HistoryStore.open({ file, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }), 'CEIL_HISTORY_NOT_A_DATABASE');
    expect(error.message).toContain(file);
  });

  test("someone else's SQLite database is refused and not converted to WAL", () => {
    const file = path.join(directory, 'app.db');
    inspect(file, (db) => db.exec('CREATE TABLE runs (x)'));
    const error = expectHistoryError(() => HistoryStore.open({ file, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }), 'CEIL_HISTORY_NOT_A_DATABASE');
    expect(error.message).toContain(file);
    expect(inspect(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('delete');
  });

  test('a file from a newer ceiling is refused with a HistoryError', () => {
    open().close();
    inspect(dbFile(), (db) => db.pragma('user_version = 4'));
    const error = expectHistoryError(() => open(), 'CEIL_HISTORY_NEWER_SCHEMA');
    expect(error.message).toContain(dbFile());
    expect(error.message).toContain('upgrade ceiling');
  });

  test('a path that is a folder, or under a file, is a HistoryError', () => {
    const folder = path.join(directory, 'a-folder.db');
    mkdirSync(folder);
    const onFolder = expectHistoryError(
      () => HistoryStore.open({ file: folder, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }),
      'CEIL_HISTORY_NO_ACCESS',
    );
    expect(onFolder.message).toContain(folder);

    const plainFile = path.join(directory, 'plain');
    writeFileSync(plainFile, '');
    const underFile = path.join(plainFile, 'history.db');
    const underError = expectHistoryError(
      () => HistoryStore.open({ file: underFile, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }),
      'CEIL_HISTORY_NO_ACCESS',
    );
    expect(underError.message).toContain(underFile);
  });

  // root may write anywhere, so this can only be observed as another user.
  test.skipIf(process.getuid?.() === 0)('a folder without write permission is a HistoryError', () => {
    const readOnlyFolder = path.join(directory, 'read-only');
    mkdirSync(readOnlyFolder, { mode: 0o555 });
    try {
      const file = path.join(readOnlyFolder, 'history.db');
      const error = expectHistoryError(() => HistoryStore.open({ file, maxAgeMs: day, maxRunsPerJourney: 10, maxBytes: 1e6 }), 'CEIL_HISTORY_NO_ACCESS');
      expect(error.message).toContain(file);
    } finally {
      chmodSync(readOnlyFolder, 0o755);
    }
  });

  test('a file another process holds locked is a HistoryError', () => {
    open().close();
    const holder = new Database(dbFile());
    try {
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('BEGIN EXCLUSIVE');
      const error = expectHistoryError(() => open({ busyTimeoutMs: 0 }), 'CEIL_HISTORY_LOCKED');
      expect(error.message).toContain(dbFile());
    } finally {
      holder.close();
    }
  });

  test('bounds that are not positive are refused', () => {
    expectHistoryError(() => open({ maxAgeMs: 0 }), 'CEIL_HISTORY_OPTIONS');
    expectHistoryError(() => open({ maxRunsPerJourney: 2.5 }), 'CEIL_HISTORY_OPTIONS');
    expectHistoryError(() => open({ maxBytes: Number.NaN }), 'CEIL_HISTORY_OPTIONS');
  });
});

describe('retention', () => {
  test('prunes runs older than maxAgeMs, measured with the injected clock', () => {
    let now = start + 10 * day;
    const store = open({ maxAgeMs: 7 * day, now: () => now });
    for (const daysAgo of [9, 8, 6, 1]) store.record(run({ startedAt: now - daysAgo * day }));

    expect(store.prune()).toEqual({ deleted: 2 });
    expect(store.recent('chat announces who left', 10).map((r) => r.startedAt)).toEqual([now - 6 * day, now - day]);

    now += 2 * day;
    expect(store.prune()).toEqual({ deleted: 1 });
    expect(store.recent('chat announces who left', 10).map((r) => r.startedAt)).toEqual([now - 3 * day]);
  });

  test("caps runs per journey, removing only that journey's oldest", () => {
    const store = open({ maxRunsPerJourney: 5 });
    for (let i = 0; i < 8; i++) store.record(run({ journey: 'busy', startedAt: start + i * minute }));
    for (let i = 0; i < 3; i++) store.record(run({ journey: 'quiet', startedAt: start - day + i * minute }));

    expect(store.prune()).toEqual({ deleted: 3 });
    expect(store.recent('busy', 100).map((r) => r.startedAt)).toEqual([3, 4, 5, 6, 7].map((i) => start + i * minute));
    expect(store.recent('quiet', 100)).toHaveLength(3);
  });

  test('prunes the oldest runs overall until the file fits maxBytes, and the file shrinks', () => {
    const maxBytes = 256 * 1024;
    const store = open({ maxBytes });
    const bigSteps = Array.from({ length: 60 }, (_, i) => ({
      name: `step ${i}: check the comment list renders`,
      status: 'passed' as const,
      durationMs: i,
    }));
    const journeys = ['chat', 'secret', 'comments'];
    const total = 600;
    for (let i = 0; i < total; i++) {
      store.record(run({ journey: journeys[i % journeys.length]!, startedAt: start + i * 1000, steps: bigSteps }));
    }
    const pageCount = (): number => inspect(dbFile(), (db) => db.pragma('page_count', { simple: true }) as number);
    const pageSize = inspect(dbFile(), (db) => db.pragma('page_size', { simple: true }) as number);
    const pagesBefore = pageCount();
    expect(pagesBefore * pageSize).toBeGreaterThan(2 * maxBytes);

    const { deleted } = store.prune();
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(total);
    expect(pageCount()).toBeLessThan(pagesBefore);
    expect(pageCount() * pageSize).toBeLessThanOrEqual(maxBytes);

    // The newest run of every journey stayed; the oldest runs went first.
    journeys.forEach((journey, j) => {
      const newest = store.runs(journey, { limit: 1 })[0];
      const lastIndex = total - journeys.length + j;
      expect(newest?.startedAt).toBe(start + lastIndex * 1000);
      expect(newest?.steps).toStrictEqual(bigSteps);
    });
    const kept = journeys.flatMap((journey) => store.runs(journey, { limit: 1000 }).map((r) => r.startedAt));
    const oldestKept = Math.min(...kept);
    expect(kept).toHaveLength(total - deleted);
    expect(oldestKept).toBe(start + deleted * 1000);

    // Below the low-water mark, the next prune has nothing to do.
    expect(store.prune()).toEqual({ deleted: 0 });

    store.close();
    expect(statSync(dbFile()).size).toBeLessThanOrEqual(maxBytes);
  });

  test('prune() with everything inside the bounds deletes nothing', () => {
    const store = open({ maxAgeMs: day, maxRunsPerJourney: 5, now: () => start + minute });
    store.record(run());
    store.record(failedRun({ startedAt: start + 1 }));
    expect(store.prune()).toEqual({ deleted: 0 });
    expect(store.runs('chat announces who left')).toHaveLength(2);
  });
});

describe('targets (serve --config)', () => {
  test('each journey × target has its own state; a state without target is the single target, keyed by the journey alone', () => {
    const store = open();
    store.saveState(state({ health: 'passing' }));
    store.saveState({ ...state({ health: 'failing', consecutiveFailures: 1 }), target: 'web/127.0.0.1:8081' });
    store.saveState({ ...state({ health: 'passing' }), target: 'web/127.0.0.1:8082' });
    const states = store.loadStates();
    expect([...states.keys()].sort()).toEqual([
      'chat announces who left',
      'chat announces who left @ web/127.0.0.1:8081',
      'chat announces who left @ web/127.0.0.1:8082',
    ]);
    expect(states.get('chat announces who left')).not.toHaveProperty('target');
    expect(states.get('chat announces who left @ web/127.0.0.1:8081')).toMatchObject({ health: 'failing', target: 'web/127.0.0.1:8081' });
  });

  test('runs and recent runs can be read for one target, or for all; the per-journey cap holds per target', () => {
    const store = open({ maxRunsPerJourney: 2 });
    for (let i = 0; i < 3; i++) {
      store.record(run({ target: 'web/a', startedAt: start + i }));
      store.record(run({ target: 'web/b', startedAt: start + 10 + i }));
    }
    expect(store.runs('chat announces who left', { target: 'web/a' }).map((r) => r.startedAt)).toEqual([start + 2, start + 1, start]);
    expect(store.recent('chat announces who left', 10, 'web/b').map((r) => r.startedAt)).toEqual([start + 10, start + 11, start + 12]);
    expect(store.runs('chat announces who left')).toHaveLength(6);
    store.prune();
    expect(store.runs('chat announces who left', { target: 'web/a' }).map((r) => r.startedAt)).toEqual([start + 2, start + 1]);
    expect(store.runs('chat announces who left', { target: 'web/b' }).map((r) => r.startedAt)).toEqual([start + 12, start + 11]);
  });

  test('a history written before targets (schema 2) opens with its states and runs readable as before', () => {
    mkdirSync(path.dirname(dbFile()), { recursive: true });
    inspect(dbFile(), (db) => {
      // The schema 2 tables as they were, with one journey's state and run.
      db.exec(`
        CREATE TABLE runs (id INTEGER PRIMARY KEY, journey TEXT NOT NULL COLLATE BINARY, location TEXT NOT NULL, target TEXT NOT NULL,
          triggered_by TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms REAL NOT NULL, result TEXT NOT NULL,
          failed_step TEXT, failure_code TEXT, failure_message TEXT, steps TEXT NOT NULL);
        CREATE INDEX runs_by_journey ON runs (journey, started_at);
        CREATE INDEX runs_by_age ON runs (started_at);
        CREATE TABLE journey_states (journey TEXT PRIMARY KEY NOT NULL COLLATE BINARY, health TEXT NOT NULL, last_run_at INTEGER,
          last_pass_at INTEGER, last_failure TEXT, consecutive_failures INTEGER NOT NULL, alerting INTEGER NOT NULL,
          notified_failing INTEGER NOT NULL DEFAULT 0);
        INSERT INTO runs (journey, location, target, triggered_by, started_at, duration_ms, result, steps)
          VALUES ('old journey', 'local', 'default', 'schedule', ${start}, 10, 'failed', '[]');
        INSERT INTO journey_states VALUES ('old journey', 'failing', ${start}, NULL, NULL, 3, 1, 1);
      `);
      db.pragma(`application_id = ${0x4345494c}`);
      db.pragma('user_version = 2');
    });
    const store = open();
    expect(store.loadStates().get('old journey')).toEqual({
      journey: 'old journey',
      health: 'failing',
      lastRunAt: start,
      consecutiveFailures: 3,
      alerting: true,
      notifiedFailing: true,
    });
    expect(store.runs('old journey').map((r) => r.target)).toEqual(['default']);
    expect(store.recent('old journey', 5)).toHaveLength(1);
  });
});
