/**
 * Keeps track of whether the history can be written. A full disk makes every
 * run fail to record; that must show (a counter, /healthz) without a log line
 * per run: a failure is logged at most once a minute, with the count of those
 * not logged, even when writes flap between failing and working; and a line
 * says when writes work again after a logged failure.
 */

export interface HistoryWriteStatus {
  /** Failed writes since the daemon started. */
  errors: number;
  /** Epoch ms of the first failure of the current streak; absent while writes work. */
  failingSince?: number;
  lastError?: string;
}

/** How long writes may fail before /healthz answers 503, and how often the failure is logged. */
export const HISTORY_UNWRITABLE_AFTER_MS = 60_000;
export const HISTORY_LOG_EVERY_MS = 60_000;

export class HistoryWrites {
  private errors = 0;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private lastLoggedAt: number | undefined;
  /** Failures since the last log line, for the summary. */
  private unlogged = 0;
  /** Whether the current streak of failures was reported, so its end is too. */
  private reported = false;

  constructor(
    /** The database file, named in log lines. */
    private readonly file: string,
    private readonly log: (line: string) => void,
    private readonly onError: () => void = () => undefined,
  ) {}

  /** Runs one write; a failure is counted and logged (rate-limited), never thrown. Returns whether it worked. */
  attempt(what: string, now: number, write: () => void): boolean {
    try {
      write();
    } catch (error) {
      this.failed(what, now, error instanceof Error ? error.message : String(error));
      return false;
    }
    this.succeeded(now);
    return true;
  }

  status(): HistoryWriteStatus {
    return {
      errors: this.errors,
      ...(this.failingSince !== undefined ? { failingSince: this.failingSince } : {}),
      ...(this.lastError !== undefined && this.failingSince !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** True once writes have failed without a success for a whole minute. */
  unwritable(now: number): boolean {
    return this.failingSince !== undefined && now - this.failingSince >= HISTORY_UNWRITABLE_AFTER_MS;
  }

  private failed(what: string, now: number, message: string): void {
    this.errors++;
    this.onError();
    this.failingSince ??= now;
    this.lastError = message;
    this.unlogged++;
    if (this.lastLoggedAt !== undefined && now - this.lastLoggedAt < HISTORY_LOG_EVERY_MS) return;
    const more = this.unlogged > 1 ? ` (${this.unlogged} failed writes since the last report)` : '';
    this.log(`history: cannot write ${this.file} (${message}) while trying to ${what}${more}; probing goes on, runs are not recorded until this is fixed`);
    this.lastLoggedAt = now;
    this.unlogged = 0;
    this.reported = true;
  }

  private succeeded(now: number): void {
    if (this.failingSince === undefined) return;
    if (this.reported) {
      this.log(
        `history: writes work again after ${Math.round((now - this.failingSince) / 1000)} s; ${this.unlogged > 0 ? `${this.unlogged} more writes had failed` : 'no more writes failed'} since the last report`,
      );
      this.unlogged = 0;
    }
    this.failingSince = undefined;
    this.reported = false;
  }
}
