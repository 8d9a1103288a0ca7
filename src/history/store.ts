import Database from 'better-sqlite3';
import { z } from 'zod';
import type { CodeSubset } from '../core/failure-codes.js';
import type { StepStatus } from '../core/result.js';
import { createParentFolders } from './parent-folder.js';
import { stateKey, type LastFailure, type PersistedState, type RunRecord, type StepTiming } from './records.js';

/**
 * The daemon's run history and restart state, in one embedded SQLite file.
 *
 * Journey names are compared with `=` on BINARY-collated columns through bound
 * parameters only, so `chat`, `Chat`, `chat ` and `chat%` are four histories.
 */

export interface HistoryOptions {
  /** e.g. `.ceiling/history.db`; parent folders are created. */
  file: string;
  /** Runs that started longer ago than this are pruned. */
  maxAgeMs: number;
  /** At most this many newest runs are kept per journey. */
  maxRunsPerJourney: number;
  /**
   * When the database's pages in use pass this, the oldest runs overall are
   * pruned until they are under it. The WAL file comes on top; it is emptied by
   * checkpoints and capped by `journal_size_limit`.
   */
  maxBytes: number;
  /** How long to wait for another process's lock before giving up; 5 s unless set. */
  busyTimeoutMs?: number;
  /** Epoch milliseconds; for tests. */
  now?: () => number;
}

export type HistoryErrorCode = CodeSubset<
  | 'CEIL_HISTORY_OPTIONS'
  | 'CEIL_HISTORY_NOT_A_DATABASE'
  | 'CEIL_HISTORY_NEWER_SCHEMA'
  | 'CEIL_HISTORY_LOCKED'
  | 'CEIL_HISTORY_NO_ACCESS'
  | 'CEIL_HISTORY_OPEN'
  | 'CEIL_HISTORY_CORRUPT'
>;

/** The page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 2048;

export class HistoryError extends Error {
  readonly code: HistoryErrorCode;

  constructor(code: HistoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HistoryError';
    this.code = code;
  }
}

export interface RunsQuery {
  /** 50 unless set; at most 1000. */
  limit?: number;
  /** Only runs that started strictly before this epoch-ms cursor: pass the last page's oldest `startedAt`. */
  before?: number;
  /** Only runs against this target; every target's when absent. */
  target?: string;
}

export type RecentRun = Pick<RunRecord, 'startedAt' | 'durationMs' | 'result'>;

export const defaultRunsLimit = 50;
export const maxRunsLimit = 1000;

/** Bumped with every schema change; `migrations[n]` takes a file from version n to n + 1. */
const schemaVersion = 3;
/** "CEIL": marks the file as ours, so we never write into someone else's SQLite database. */
const applicationId = 0x4345494c;
/** A size prune goes down to this share of maxBytes, so it does not fire again on the next few runs. */
const sizePruneLowWater = 0.9;
/** Without a limit the WAL file keeps its largest size forever, outside maxBytes. */
const walSizeLimitBytes = 4 * 1024 * 1024;
const defaultBusyTimeoutMs = 5000;
/**
 * Pages in the WAL before SQLite folds it into the main file. SQLite's 1000
 * (4 MiB) let the WAL fill a small volume on its own; a fold needs some free
 * space, so a disk filled by the WAL stayed full. 256 pages is 1 MiB.
 */
const walAutoCheckpointPages = 256;
/** After a write failed for lack of space, how often to try to give the WAL's space back. */
const fullDiskCheckpointEveryMs = 5_000;

const migrations: readonly string[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    journey TEXT NOT NULL COLLATE BINARY,
    location TEXT NOT NULL,
    target TEXT NOT NULL,
    triggered_by TEXT NOT NULL CHECK (triggered_by IN ('schedule', 'manual')),
    started_at INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('passed', 'failed', 'error', 'flaky')),
    failed_step TEXT,
    failure_code TEXT,
    failure_message TEXT,
    steps TEXT NOT NULL
  );
  CREATE INDEX runs_by_journey ON runs (journey, started_at);
  CREATE INDEX runs_by_age ON runs (started_at);
  CREATE TABLE journey_states (
    journey TEXT PRIMARY KEY NOT NULL COLLATE BINARY,
    health TEXT NOT NULL CHECK (health IN ('unknown', 'passing', 'failing', 'flaky')),
    last_run_at INTEGER,
    last_pass_at INTEGER,
    last_failure TEXT,
    consecutive_failures INTEGER NOT NULL,
    alerting INTEGER NOT NULL CHECK (alerting IN (0, 1))
  );
  `,
  // Whether receivers took the failing alert; before this, alerting stood for both.
  `
  ALTER TABLE journey_states ADD COLUMN notified_failing INTEGER NOT NULL DEFAULT 0 CHECK (notified_failing IN (0, 1));
  UPDATE journey_states SET notified_failing = alerting;
  `,
  // serve --config probes each journey against many targets, each with its own state. '' is the one
  // target of a daemon without --config, so states written before this keep working as they were.
  `
  CREATE TABLE probe_states (
    journey TEXT NOT NULL COLLATE BINARY,
    target TEXT NOT NULL COLLATE BINARY DEFAULT '',
    health TEXT NOT NULL CHECK (health IN ('unknown', 'passing', 'failing', 'flaky')),
    last_run_at INTEGER,
    last_pass_at INTEGER,
    last_failure TEXT,
    consecutive_failures INTEGER NOT NULL,
    alerting INTEGER NOT NULL CHECK (alerting IN (0, 1)),
    notified_failing INTEGER NOT NULL DEFAULT 0 CHECK (notified_failing IN (0, 1)),
    PRIMARY KEY (journey, target)
  );
  INSERT INTO probe_states (journey, health, last_run_at, last_pass_at, last_failure, consecutive_failures, alerting, notified_failing)
    SELECT journey, health, last_run_at, last_pass_at, last_failure, consecutive_failures, alerting, notified_failing FROM journey_states;
  DROP TABLE journey_states;
  ALTER TABLE probe_states RENAME TO journey_states;
  `,
];

// Steps are stored as [name, status, durationMs] tuples, with requestMs fourth
// for HTTP steps: a run has many steps, and repeating the key names in every
// one nearly doubles the bytes per run.
const stepStatus = z.enum({
  passed: 'passed',
  failed: 'failed',
  error: 'error',
  skipped: 'skipped',
} as const satisfies { [S in StepStatus]: S });
const storedSteps = z.array(z.tuple([z.string(), stepStatus, z.number()], z.number()));
const storedLastFailure = z.object({
  at: z.number(),
  step: z.string().optional(),
  code: z.string(),
  message: z.string(),
  traceId: z.string().optional(),
});

/** A row as SQLite returns it: absent optional fields come back as null. */
type Stored<T> = { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] };

/** The CHECK constraints above are what make the string columns safe to type as unions. */
type RunRow = Stored<Omit<RunRecord, 'steps' | 'traceId'>> & { id: number; steps: string };
type StateRow = Stored<Omit<PersistedState, 'alerting' | 'notifiedFailing' | 'lastFailure' | 'target'>> & {
  target: string;
  alerting: 0 | 1;
  notifiedFailing: 0 | 1;
  lastFailure: string | null;
};

/** Bound parameters are the same shapes as the rows: SQLite takes null, never undefined. */
type RunParams = Omit<RunRow, 'id'>;
type StateParams = StateRow;

interface PageCounts {
  pages: number;
  free: number;
}

const runColumns = `
  id, journey, location, target, triggered_by AS "trigger", started_at AS startedAt, duration_ms AS durationMs,
  result, failed_step AS failedStep, failure_code AS failureCode, failure_message AS failureMessage, steps`;

/** Drops null-valued keys, so an absent optional field stays absent instead of becoming null. */
function withoutNulls<T extends object>(row: Stored<T>): T {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null)) as T;
}

function clampLimit(limit: number): number {
  if (Number.isNaN(limit)) return 0;
  return Math.min(maxRunsLimit, Math.max(0, Math.floor(limit)));
}

export class HistoryStore {
  private readonly insertRun: Database.Statement<[RunParams]>;
  private readonly selectRuns: Database.Statement<[{ journey: string; before: number; limit: number }], RunRow>;
  private readonly selectTargetRuns: Database.Statement<[{ journey: string; target: string; before: number; limit: number }], RunRow>;
  private readonly selectRecent: Database.Statement<[string, number], RecentRun>;
  private readonly selectTargetRecent: Database.Statement<[string, string, number], RecentRun>;
  private readonly upsertState: Database.Statement<[StateParams]>;
  private readonly selectStates: Database.Statement<[], StateRow>;
  private readonly deleteOlderThan: Database.Statement<[number]>;
  private readonly selectJourneys: Database.Statement<[], string>;
  private readonly deleteBeyondCap: Database.Statement<[string, number]>;
  private readonly deleteOldest: Database.Statement<[number]>;
  private readonly countRuns: Database.Statement<[], number>;
  private readonly countPages: Database.Statement<[], PageCounts>;
  private readonly checkpoint: Database.Statement<[]>;
  private readonly pageSize: number;
  private readonly now: () => number;
  /** Set while writes fail for lack of space: when the last attempt to shrink the WAL was made. */
  private fullSince: { lastCheckpointAt: number } | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly options: HistoryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.pageSize = db.pragma('page_size', { simple: true }) as number;

    this.insertRun = db.prepare(`
      INSERT INTO runs (journey, location, target, triggered_by, started_at, duration_ms, result,
                        failed_step, failure_code, failure_message, steps)
      VALUES (@journey, @location, @target, @trigger, @startedAt, @durationMs, @result,
              @failedStep, @failureCode, @failureMessage, @steps)`);
    // Paging by startedAt alone is exact because a journey never has two runs
    // in flight; id only breaks ties for the ordering.
    this.selectRuns = db.prepare(`
      SELECT ${runColumns} FROM runs
      WHERE journey = @journey AND started_at < @before
      ORDER BY started_at DESC, id DESC LIMIT @limit`);
    this.selectTargetRuns = db.prepare(`
      SELECT ${runColumns} FROM runs
      WHERE journey = @journey AND target = @target AND started_at < @before
      ORDER BY started_at DESC, id DESC LIMIT @limit`);
    this.selectRecent = db.prepare(`
      SELECT started_at AS startedAt, duration_ms AS durationMs, result FROM runs
      WHERE journey = ? ORDER BY started_at DESC, id DESC LIMIT ?`);
    this.selectTargetRecent = db.prepare(`
      SELECT started_at AS startedAt, duration_ms AS durationMs, result FROM runs
      WHERE journey = ? AND target = ? ORDER BY started_at DESC, id DESC LIMIT ?`);
    this.upsertState = db.prepare(`
      INSERT INTO journey_states (journey, target, health, last_run_at, last_pass_at, last_failure, consecutive_failures, alerting, notified_failing)
      VALUES (@journey, @target, @health, @lastRunAt, @lastPassAt, @lastFailure, @consecutiveFailures, @alerting, @notifiedFailing)
      ON CONFLICT (journey, target) DO UPDATE SET
        health = excluded.health, last_run_at = excluded.last_run_at, last_pass_at = excluded.last_pass_at,
        last_failure = excluded.last_failure, consecutive_failures = excluded.consecutive_failures,
        alerting = excluded.alerting, notified_failing = excluded.notified_failing`);
    this.selectStates = db.prepare(`
      SELECT journey, target, health, last_run_at AS lastRunAt, last_pass_at AS lastPassAt, last_failure AS lastFailure,
             consecutive_failures AS consecutiveFailures, alerting, notified_failing AS notifiedFailing
      FROM journey_states`);
    this.deleteOlderThan = db.prepare('DELETE FROM runs WHERE started_at < ?');
    // Hops through the index one distinct name at a time instead of reading
    // every row: with 50 journeys and 100k runs the cap check drops from about
    // 50 ms (a window over all rows) to about 5 ms of blocked event loop.
    this.selectJourneys = db
      .prepare<[], string>(
        `
        WITH RECURSIVE journeys(name) AS (
          SELECT min(journey) FROM runs
          UNION ALL
          SELECT (SELECT min(journey) FROM runs WHERE journey > journeys.name) FROM journeys WHERE journeys.name IS NOT NULL
        )
        SELECT name FROM journeys WHERE name IS NOT NULL`,
      )
      .pluck();
    // The cap holds per target: a fleet of eight keeps as many runs of each instance as a single target does.
    this.deleteBeyondCap = db.prepare(`
      DELETE FROM runs WHERE id IN (
        SELECT id FROM (
          SELECT id, row_number() OVER (PARTITION BY target ORDER BY started_at DESC, id DESC) AS newest
          FROM runs WHERE journey = ?
        ) WHERE newest > ?
      )`);
    this.deleteOldest = db.prepare('DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY started_at, id LIMIT ?)');
    this.countRuns = db.prepare<[], number>('SELECT count(*) FROM runs').pluck();
    this.countPages = db.prepare(`
      SELECT (SELECT page_count FROM pragma_page_count) AS pages,
             (SELECT freelist_count FROM pragma_freelist_count) AS free`);
    // PASSIVE never waits for readers, so a prune cannot stall the daemon's event loop.
    this.checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Opens or creates the history file; every failure is a HistoryError that says what to do. */
  static open(options: HistoryOptions): HistoryStore {
    checkOptions(options);
    const { file } = options;
    try {
      createParentFolders(file);
    } catch (error) {
      throw openError(file, error);
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      prepareDatabase(db, file, options.busyTimeoutMs ?? defaultBusyTimeoutMs);
      return new HistoryStore(db, options);
    } catch (error) {
      db?.close();
      throw error instanceof HistoryError ? error : openError(file, error);
    }
  }

  record(run: RunRecord): void {
    this.write(() =>
      this.insertRun.run({
        journey: run.journey,
        location: run.location,
        target: run.target,
        trigger: run.trigger,
        startedAt: run.startedAt,
        durationMs: run.durationMs,
        result: run.result,
        failedStep: run.failedStep ?? null,
        failureCode: run.failureCode ?? null,
        failureMessage: run.failureMessage ?? null,
        steps: encodeSteps(run.steps),
      }),
    );
  }

  /** Inserts or replaces the state of exactly this journey name and target. */
  saveState(state: PersistedState): void {
    this.write(() =>
      this.upsertState.run({
        journey: state.journey,
        target: state.target ?? '',
        health: state.health,
        lastRunAt: state.lastRunAt ?? null,
        lastPassAt: state.lastPassAt ?? null,
        lastFailure: state.lastFailure ? encodeLastFailure(state.lastFailure) : null,
        consecutiveFailures: state.consecutiveFailures,
        alerting: state.alerting ? 1 : 0,
        notifiedFailing: state.notifiedFailing ? 1 : 0,
      }),
    );
  }

  /**
   * Runs one write. On a full disk the WAL is what holds most of the space, so
   * a truncating checkpoint is tried (now and then while the disk stays full,
   * and once when writes work again) to hand it back.
   */
  private write(statement: () => unknown): void {
    try {
      statement();
    } catch (error) {
      if (isDiskFull(error)) {
        const now = this.now();
        if (!this.fullSince || now - this.fullSince.lastCheckpointAt >= fullDiskCheckpointEveryMs) {
          this.fullSince = { lastCheckpointAt: now };
          this.truncateWal();
        }
      }
      throw error;
    }
    if (this.fullSince) {
      this.fullSince = undefined;
      this.truncateWal();
    }
  }

  private truncateWal(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Still no room: the WAL keeps every change, and the next attempt tries again.
    }
  }

  /** Keyed by stateKey(journey, target). */
  loadStates(): Map<string, PersistedState> {
    const states = new Map<string, PersistedState>();
    for (const { alerting, notifiedFailing, lastFailure, target, ...row } of this.selectStates.iterate()) {
      states.set(stateKey(row.journey, target || undefined), {
        ...withoutNulls<Omit<PersistedState, 'alerting' | 'notifiedFailing' | 'lastFailure' | 'target'>>(row),
        ...(target !== '' ? { target } : {}),
        alerting: alerting === 1,
        ...(notifiedFailing === 1 ? { notifiedFailing: true } : {}),
        ...(lastFailure === null ? {} : { lastFailure: this.decode(storedLastFailure, lastFailure, `state of "${row.journey}"`) }),
      });
    }
    return states;
  }

  /** Newest first; of every target unless the query names one. */
  runs(journey: string, query: RunsQuery = {}): RunRecord[] {
    const page = { journey, before: query.before ?? Number.POSITIVE_INFINITY, limit: clampLimit(query.limit ?? defaultRunsLimit) };
    const rows = query.target === undefined ? this.selectRuns.all(page) : this.selectTargetRuns.all({ ...page, target: query.target });
    return rows.map(({ id, steps, ...row }) => ({
      ...withoutNulls<Omit<RunRecord, 'steps' | 'traceId'>>(row),
      steps: this.decode(storedSteps, steps, `run ${id}`).map(([name, status, durationMs, requestMs]) => ({
        name,
        status,
        durationMs,
        ...(requestMs !== undefined ? { requestMs } : {}),
      })),
    }));
  }

  /** The newest `limit` runs, newest last, for a sparkline. */
  recent(journey: string, limit: number, target?: string): RecentRun[] {
    const rows = target === undefined ? this.selectRecent.all(journey, clampLimit(limit)) : this.selectTargetRecent.all(journey, target, clampLimit(limit));
    return rows.reverse();
  }

  /** Applies the age, per-journey and size bounds, then gives freed pages back to the filesystem. */
  prune(): { deleted: number } {
    const deleted = this.db.transaction(() => {
      const byAge = this.deleteOlderThan.run(this.now() - this.options.maxAgeMs).changes;
      let byCap = 0;
      for (const journey of this.selectJourneys.all()) {
        byCap += this.deleteBeyondCap.run(journey, this.options.maxRunsPerJourney).changes;
      }
      return byAge + byCap + this.pruneToSize();
    })();
    if (this.countPages.get()!.free > 0) {
      // With auto_vacuum = INCREMENTAL, deleted rows only leave free pages
      // behind; this moves them to the end of the file and cuts them off, and
      // the checkpoint carries that into the main file.
      this.db.exec('PRAGMA incremental_vacuum');
      this.checkpoint.get();
    }
    return { deleted };
  }

  /**
   * Folds the WAL into the main file and empties it, then closes; safe to call
   * twice. A checkpoint that fails (a full disk) loses nothing: the WAL stays
   * and SQLite replays it on the next open. So it is reported, not thrown.
   */
  close(): { checkpointError?: string } {
    if (!this.db.open) return {};
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      return {};
    } catch (error) {
      return { checkpointError: error instanceof Error ? error.message : String(error) };
    } finally {
      this.db.close();
    }
  }

  /** Deletes the oldest runs overall, in batches sized from the overshoot, until the pages in use fit. */
  private pruneToSize(): number {
    if (this.bytesInUse() <= this.options.maxBytes) return 0;
    const target = this.options.maxBytes * sizePruneLowWater;
    let deleted = 0;
    for (let used = this.bytesInUse(); used > target; used = this.bytesInUse()) {
      const total = this.countRuns.get()!;
      if (total === 0) break;
      // Rows are not all the same size and pages free unevenly, so this is an
      // estimate; the loop re-measures and takes another batch if it fell short.
      const batch = Math.max(1, Math.ceil((total * (used - target)) / used));
      deleted += this.deleteOldest.run(batch).changes;
    }
    return deleted;
  }

  private bytesInUse(): number {
    const { pages, free } = this.countPages.get()!;
    return (pages - free) * this.pageSize;
  }

  private decode<T>(schema: z.ZodType<T>, json: string, what: string): T {
    try {
      return schema.parse(JSON.parse(json));
    } catch (error) {
      throw new HistoryError(
        'CEIL_HISTORY_CORRUPT',
        `${this.options.file}: the stored ${what} cannot be read: move the file away or pass --db with another path`,
        { cause: error },
      );
    }
  }
}

function encodeSteps(steps: StepTiming[]): string {
  return JSON.stringify(
    steps.map((step) => (step.requestMs !== undefined ? [step.name, step.status, step.durationMs, step.requestMs] : [step.name, step.status, step.durationMs])),
  );
}

function encodeLastFailure(failure: LastFailure): string {
  // Listed field by field so nothing the caller tacked on is persisted.
  return JSON.stringify({ at: failure.at, step: failure.step, code: failure.code, message: failure.message, traceId: failure.traceId });
}

function checkOptions(options: HistoryOptions): void {
  const positive: [keyof HistoryOptions, number][] = [
    ['maxAgeMs', options.maxAgeMs],
    ['maxRunsPerJourney', options.maxRunsPerJourney],
    ['maxBytes', options.maxBytes],
  ];
  for (const [name, value] of positive) {
    if (!(value > 0)) {
      throw new HistoryError('CEIL_HISTORY_OPTIONS', `history ${name} must be greater than 0 (got ${value})`);
    }
  }
  if (!Number.isInteger(options.maxRunsPerJourney)) {
    throw new HistoryError('CEIL_HISTORY_OPTIONS', `history maxRunsPerJourney must be a whole number (got ${options.maxRunsPerJourney})`);
  }
}

/** Checks the file is ours (or empty), sets it up, and brings its schema up to date. */
function prepareDatabase(db: Database.Database, file: string, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  // The first read of the header: a file that is not SQLite fails here.
  const isEmpty = (db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) === 0;
  const owner = db.pragma('application_id', { simple: true }) as number;
  if (!isEmpty && owner !== applicationId) {
    throw new HistoryError(
      'CEIL_HISTORY_NOT_A_DATABASE',
      `${file} is an SQLite database that ceiling did not create: move it away or pass --db with another path`,
    );
  }
  if (isEmpty) {
    // auto_vacuum can only be chosen before the first table, and before WAL writes the first page.
    db.pragma('auto_vacuum = INCREMENTAL');
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
  db.pragma(`wal_autocheckpoint = ${walAutoCheckpointPages}`);
  // better-sqlite3 defaults to a 16 MB page cache, which a daemon filled as its
  // history grew: resident memory crept up for half an hour of a soak. Writes
  // append and reads go through an index, so 2 MiB is plenty.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);

  // IMMEDIATE takes the write lock up front: two daemons starting on one new
  // file cannot both create the schema, and a read-only or locked file fails
  // here, at start-up, rather than on the first run.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) {
      throw new HistoryError(
        'CEIL_HISTORY_NEWER_SCHEMA',
        `${file} was written by a newer ceiling (history schema ${version}; this one knows up to ${schemaVersion}): ` +
          'upgrade ceiling, or pass --db with another path',
      );
    }
    if (version === schemaVersion) return;
    for (const migration of migrations.slice(version)) db.exec(migration);
    db.pragma(`application_id = ${applicationId}`);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}

function isDiskFull(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR';
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function openError(file: string, error: unknown): HistoryError {
  const reason = error instanceof Error ? error.message : String(error);
  const code = errorCode(error) ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new HistoryError(
      'CEIL_HISTORY_NOT_A_DATABASE',
      `${file} is not a ceiling history database (${reason}): move it away or pass --db with another path`,
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HistoryError('CEIL_HISTORY_LOCKED', `${file} is locked by another process (${reason}): stop it, or pass --db with another path`, {
      cause: error,
    });
  }
  const noAccess = ['SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_AUTH', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST'];
  if (code.startsWith('SQLITE_READONLY') || noAccess.some((prefix) => code.startsWith(prefix))) {
    return new HistoryError(
      'CEIL_HISTORY_NO_ACCESS',
      `cannot open ${file} for writing (${reason}): check that it is a writable file in a writable folder, or pass --db with another path`,
      { cause: error },
    );
  }
  return new HistoryError('CEIL_HISTORY_OPEN', `cannot open the history database ${file} (${reason}): move it away or pass --db with another path`, {
    cause: error,
  });
}
