import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { HistoryLock, lockFileOf } from '../../src/history/daemon-lock.js';
import { createParentFolders } from '../../src/history/parent-folder.js';
import { HistoryError, HistoryStore } from '../../src/history/store.js';
import { HISTORY_LOG_EVERY_MS, HISTORY_UNWRITABLE_AFTER_MS, HistoryWrites } from '../../src/serve/history-writes.js';

/** The history's defences from issue 11: one writer, alert delivery state, folders mkdir cannot loop on, write failures. */

const day = 24 * 3_600_000;
let directory = '';
const releases: (() => void)[] = [];

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'ceiling-history-hardening-'));
});

afterEach(async () => {
  for (const release of releases.splice(0)) release();
  await rm(directory, { recursive: true, force: true });
});

const dbFile = (): string => path.join(directory, 'state', 'history.db');

function openStore(file = dbFile()): HistoryStore {
  const store = HistoryStore.open({ file, maxAgeMs: day, maxRunsPerJourney: 100, maxBytes: 1 << 30 });
  releases.push(() => store.close());
  return store;
}

function lock(file = dbFile()): HistoryLock {
  const taken = HistoryLock.acquire(file);
  releases.push(() => taken.release());
  return taken;
}

describe('the history lock', () => {
  test('a second holder is refused with CEIL_HISTORY_LOCKED naming the PID, and can take it once released', () => {
    const first = lock();
    let refused: unknown;
    try {
      HistoryLock.acquire(dbFile());
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HistoryError);
    expect((refused as HistoryError).code).toBe('CEIL_HISTORY_LOCKED');
    expect((refused as HistoryError).message).toContain(`PID ${process.pid}`);
    expect((refused as HistoryError).message).toContain(dbFile());
    first.release();
    lock().release();
  });

  test('readers of the history (the gate, sqlite3) are not kept out by it', () => {
    lock();
    const store = openStore();
    store.saveState({ journey: 'j', health: 'passing', consecutiveFailures: 0, alerting: false });
    expect(store.loadStates().get('j')?.health).toBe('passing');
    expect(existsSync(lockFileOf(dbFile()))).toBe(true);
  });
});

describe('alert delivery state', () => {
  test('notifiedFailing round-trips, and is absent when false', () => {
    const store = openStore();
    store.saveState({ journey: 'told', health: 'failing', consecutiveFailures: 2, alerting: true, notifiedFailing: true, lastRunAt: 5 });
    store.saveState({ journey: 'owed', health: 'failing', consecutiveFailures: 2, alerting: true, lastRunAt: 5 });
    const states = store.loadStates();
    expect(states.get('told')?.notifiedFailing).toBe(true);
    expect(states.get('owed')).not.toHaveProperty('notifiedFailing');
  });

  test('a file from before it takes alerting as delivered, so an upgrade sends nothing twice', () => {
    const file = dbFile();
    createParentFolders(file);
    const old = new Database(file);
    old.exec(`
      CREATE TABLE runs (id INTEGER PRIMARY KEY, journey TEXT NOT NULL, location TEXT NOT NULL, target TEXT NOT NULL,
        triggered_by TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms REAL NOT NULL, result TEXT NOT NULL,
        failed_step TEXT, failure_code TEXT, failure_message TEXT, steps TEXT NOT NULL);
      CREATE TABLE journey_states (journey TEXT PRIMARY KEY NOT NULL, health TEXT NOT NULL, last_run_at INTEGER,
        last_pass_at INTEGER, last_failure TEXT, consecutive_failures INTEGER NOT NULL, alerting INTEGER NOT NULL);
      INSERT INTO journey_states VALUES ('was alerting', 'failing', 5, NULL, NULL, 3, 1), ('was fine', 'passing', 5, 5, NULL, 0, 0);
    `);
    old.pragma('application_id = 1128614220');
    old.pragma('user_version = 1');
    old.close();
    const states = openStore().loadStates();
    expect(states.get('was alerting')).toMatchObject({ alerting: true, notifiedFailing: true });
    expect(states.get('was fine')).not.toHaveProperty('notifiedFailing');
  });
});

describe('parent folders', () => {
  test('are created level by level', () => {
    const file = path.join(directory, 'a', 'b', 'c', 'h.db');
    createParentFolders(file);
    expect(existsSync(path.dirname(file))).toBe(true);
  });

  test.skipIf(process.platform !== 'linux')('under /proc is an error, not an endless loop', () => {
    expect(() => createParentFolders('/proc/self/nope/h.db')).toThrow(/ENOENT/);
    let refused: unknown;
    try {
      HistoryStore.open({ file: '/proc/self/nope/h.db', maxAgeMs: day, maxRunsPerJourney: 1, maxBytes: 1 << 20 });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HistoryError);
  });
});

describe('history write failures', () => {
  function writes() {
    const logs: string[] = [];
    let errors = 0;
    const monitor = new HistoryWrites(
      'state/history.db',
      (line) => logs.push(line),
      () => errors++,
    );
    const fail = (now: number) =>
      monitor.attempt('record a run', now, () => {
        throw new Error('database or disk is full');
      });
    return { monitor, logs, fail, errors: () => errors };
  }

  test('are counted each time but logged once a minute', () => {
    const { monitor, logs, fail, errors } = writes();
    for (let second = 0; second < 59; second++) expect(fail(second * 1000)).toBe(false);
    expect(errors()).toBe(59);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('cannot write state/history.db (database or disk is full)');
    fail(HISTORY_LOG_EVERY_MS);
    expect(logs).toHaveLength(2);
    expect(logs[1]).toContain('59 failed writes since the last report');
    expect(monitor.status()).toMatchObject({ errors: 60, failingSince: 0, lastError: 'database or disk is full' });
  });

  test('flapping between failing and working still logs a failure at most once a minute', () => {
    const { logs, fail, monitor } = writes();
    const succeed = (now: number) => monitor.attempt('record a run', now, () => undefined);
    for (let second = 0; second < 60; second += 2) {
      fail(second * 1000);
      succeed(second * 1000 + 1000);
    }
    expect(logs.filter((line) => line.includes('cannot write'))).toHaveLength(1);
    expect(logs.filter((line) => line.includes('work again'))).toHaveLength(1);
    fail(HISTORY_LOG_EVERY_MS + 1000);
    expect(logs.at(-1)).toContain('30 failed writes since the last report');
  });

  test('make the history unwritable after a minute without a success, and a success clears it', () => {
    const { monitor, logs, fail } = writes();
    fail(0);
    expect(monitor.unwritable(HISTORY_UNWRITABLE_AFTER_MS - 1)).toBe(false);
    expect(monitor.unwritable(HISTORY_UNWRITABLE_AFTER_MS)).toBe(true);
    expect(monitor.attempt('record a run', HISTORY_UNWRITABLE_AFTER_MS + 1, () => undefined)).toBe(true);
    expect(monitor.unwritable(HISTORY_UNWRITABLE_AFTER_MS + 2)).toBe(false);
    expect(monitor.status()).toEqual({ errors: 1 });
    expect(logs.at(-1)).toContain('writes work again');
  });
});
