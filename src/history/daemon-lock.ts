import os from 'node:os';
import Database from 'better-sqlite3';
import { HistoryError } from './store.js';
import { createParentFolders } from './parent-folder.js';

/**
 * One writing daemon per history file. Two `ceiling serve` on one `--db` would
 * each record every run and each send every alert.
 *
 * The lock is an SQLite file beside the history (`history.db.lock`) whose
 * write lock the holder keeps for its whole life. SQLite's locks are the
 * operating system's, so they vanish with the process, even after kill -9:
 * there is no stale lock to clean up. The holder writes its PID there first,
 * so a refused daemon can say who has the file. Readers such as
 * `ceiling gate --baseline-from` and an operator's sqlite3 shell take no lock.
 */

interface Holder {
  pid: number;
  host: string;
  since: number;
}

export function lockFileOf(dbFile: string): string {
  return `${dbFile}.lock`;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export class HistoryLock {
  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  /** Takes the lock or throws CEIL_HISTORY_LOCKED naming the holder's PID. */
  static acquire(dbFile: string): HistoryLock {
    const file = lockFileOf(dbFile);
    try {
      createParentFolders(file);
    } catch (error) {
      throw new HistoryError(
        'CEIL_HISTORY_NO_ACCESS',
        `cannot create the folder of ${dbFile} (${(error as Error).message}): check the path, or pass --db with another path`,
        { cause: error },
      );
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      // Fail at once: the holder keeps its lock for as long as it runs.
      db.pragma('busy_timeout = 0');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)');
      const publish = db.transaction((holder: Holder) => {
        db!.prepare('DELETE FROM holder').run();
        db!.prepare('INSERT INTO holder (pid, host, since) VALUES (@pid, @host, @since)').run(holder);
      });
      publish.immediate({ pid: process.pid, host: os.hostname(), since: Date.now() });
      // Held until release(): a RESERVED lock keeps other writers out and lets readers see the PID.
      // Another daemon can slip in between the commit above and this BEGIN; then this one is refused.
      db.exec('BEGIN IMMEDIATE');
      return new HistoryLock(db, file);
    } catch (error) {
      const holder = db && isBusy(error) ? readHolder(db) : undefined;
      db?.close();
      if (isBusy(error)) throw lockedError(dbFile, holder);
      if (error instanceof HistoryError) throw error;
      throw new HistoryError(
        'CEIL_HISTORY_NO_ACCESS',
        `cannot create the lock file ${file} (${(error as Error).message}): check that the folder is writable, or pass --db with another path`,
        {
          cause: error,
        },
      );
    }
  }

  release(): void {
    if (!this.db.open) return;
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // Closing releases the lock all the same.
    }
    this.db.close();
  }
}

function readHolder(db: Database.Database): Holder | undefined {
  try {
    // The holder may be committing its PID this very moment; give it a moment.
    db.pragma('busy_timeout = 1000');
    return db.prepare<[], Holder>('SELECT pid, host, since FROM holder LIMIT 1').get();
  } catch {
    return undefined;
  }
}

function lockedError(dbFile: string, holder: Holder | undefined): HistoryError {
  const who =
    holder === undefined
      ? 'another ceiling serve'
      : `another ceiling serve (PID ${holder.pid}${holder.host === os.hostname() ? '' : ` on ${holder.host}`}, since ${new Date(holder.since).toISOString()})`;
  return new HistoryError('CEIL_HISTORY_LOCKED', `${dbFile} is in use by ${who}: stop that one, or pass --db with another path`);
}
