import { Cron } from 'croner';
import type { Schedule } from '../journey/journey.js';
import type { Clock, RunTrigger } from './model.js';

/**
 * Decides when each journey runs: anchored intervals and cron ticks, jitter,
 * no overlap per job, a global cap with a FIFO queue, and a watchdog that
 * frees a run its target has wedged. It owns every timer through `clock`, so
 * tests drive it with a fake one; croner only computes times.
 */

export interface ScheduledJob {
  name: string;
  schedule: Schedule;
  /** the journey's own deadline */
  deadlineMs: number;
}

export interface RunContext {
  signal: AbortSignal;
  trigger: RunTrigger;
  /** the tick this run belongs to (epoch ms, before jitter) */
  scheduledAt: number;
}

export interface SchedulerOptions {
  /** the system clock in production, a fake in tests */
  clock: Clock;
  /** global cap on runs in flight, exact */
  concurrency: number;
  run: (job: ScheduledJob, context: RunContext) => Promise<void>;
  /** for jitter; default Math.random */
  random?: () => number;
  /** how long past deadlineMs before the watchdog ends a wedged run; default 5000 */
  watchdogGraceMs?: number;
  /** a tick found the previous run (or queued run) of the same job still pending */
  onSkip?: (job: ScheduledJob) => void;
  /** the watchdog ended a run */
  onWatchdog?: (job: ScheduledJob) => void;
  /** run() threw or rejected, or a hook threw; the scheduler never crashes */
  onError?: (job: ScheduledJob, error: unknown) => void;
}

export type TriggerResult = 'started' | 'queued' | 'busy' | 'unknown';

export interface JobState {
  running: boolean;
  queued: boolean;
  /** When the next scheduled run starts (jitter included); absent when none is planned. */
  nextRunAt?: number;
  skipped: number;
}

export interface DrainResult {
  /** runs that settled on their own */
  finished: number;
  /** runs ended by an abort: at the end of the grace, or by the watchdog meanwhile */
  aborted: number;
}

export const DEFAULT_WATCHDOG_GRACE_MS = 5_000;

/** setTimeout's ceiling; Node turns anything longer into 1 ms, which would fire a yearly cron at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

type RunEnd = 'settled' | 'watchdog' | 'shutdown';

interface ActiveRun {
  entry: JobEntry;
  controller: AbortController;
  watchdog: unknown;
  /** Set once; later settles of run()'s promise are ignored. */
  end?: RunEnd;
  ended: Promise<void>;
  markEnded: () => void;
}

interface PendingStart {
  trigger: RunTrigger;
  scheduledAt: number;
}

interface JobEntry {
  job: ScheduledJob;
  /** Compiled once per schedule; only computes times (paused, no callback). */
  cron?: Cron;
  /** The last tick that fired, unjittered: the anchor for the next one. */
  lastTick?: number;
  nextRunAt?: number;
  timer?: unknown;
  active?: ActiveRun;
  queued?: PendingStart;
  skipped: number;
  /** Removed while a run was in flight: kept until it ends so no second run of the name can overlap it. */
  removed: boolean;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly random: () => number;
  private readonly watchdogGraceMs: number;
  private readonly entries = new Map<string, JobEntry>();
  private readonly queue: JobEntry[] = [];
  private readonly active = new Set<ActiveRun>();
  private started = false;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number of at least 1, got ${options.concurrency}`);
    }
    this.clock = options.clock;
    this.concurrency = options.concurrency;
    this.random = options.random ?? Math.random;
    this.watchdogGraceMs = options.watchdogGraceMs ?? DEFAULT_WATCHDOG_GRACE_MS;
  }

  /** Arms every job's first tick. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const entry of this.entries.values()) {
      if (!entry.removed) this.planFirstTick(entry);
    }
  }

  /**
   * Adds a job, or replaces it in place (hot reload): a run in flight and the
   * skip count survive, and the next tick is re-planned only when the schedule
   * changed. Throws on a cron pattern croner rejects; the loader checks them first.
   */
  upsert(job: ScheduledJob): void {
    const existing = this.entries.get(job.name);
    if (existing === undefined) {
      const entry: JobEntry = { job, skipped: 0, removed: false, ...compiledCron(job.schedule) };
      this.entries.set(job.name, entry);
      if (this.started && !this.stopped) this.planFirstTick(entry);
      return;
    }
    const scheduleChanged = !sameSchedule(existing.job.schedule, job.schedule);
    const revived = existing.removed;
    if (scheduleChanged) existing.cron = compiledCron(job.schedule).cron;
    existing.job = job;
    existing.removed = false;
    if (!this.started || this.stopped || (!scheduleChanged && !revived)) return;
    this.clearTick(existing);
    if (existing.lastTick === undefined) this.planFirstTick(existing);
    else this.armTick(existing, this.tickAfter(existing, existing.lastTick));
  }

  /** No further ticks; a queued run is dropped; a run in flight is left to finish. */
  remove(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.removed) return;
    this.clearTick(entry);
    this.dequeue(entry);
    if (entry.active === undefined) this.entries.delete(name);
    else entry.removed = true;
  }

  /**
   * Runs a job now, under the same overlap and cap rules as a tick. After
   * stop() nothing new starts, so a trigger then reports busy.
   */
  trigger(name: string): TriggerResult {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.removed) return 'unknown';
    if (this.stopped) return 'busy';
    return this.dispatch(entry, { trigger: 'manual', scheduledAt: this.clock.now() });
  }

  /** Stops planning ticks and drops the queue; runs in flight continue. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      this.clearTick(entry);
      entry.queued = undefined;
    }
    this.queue.length = 0;
  }

  /**
   * Waits for runs in flight up to graceMs, then aborts the rest and waits for
   * them to settle for at most the watchdog grace. Always resolves. Calls
   * stop() first if it was not called.
   */
  async drain(graceMs: number): Promise<DrainResult> {
    this.stop();
    const runs = [...this.active];
    if (runs.length === 0) return { finished: 0, aborted: 0 };
    await this.waitForAll(runs, graceMs);
    const leftovers = runs.filter((run) => run.end === undefined);
    if (leftovers.length > 0) {
      for (const run of leftovers) run.controller.abort(new Error('the scheduler is shutting down and the drain grace ran out'));
      await this.waitForAll(leftovers, this.watchdogGraceMs);
      // Whatever ignored the abort is let go, so shutdown never hangs on a wedged target.
      for (const run of leftovers) this.endRun(run, 'shutdown');
    }
    const finished = runs.filter((run) => run.end === 'settled' && !leftovers.includes(run)).length;
    return { finished, aborted: runs.length - finished };
  }

  inFlight(): number {
    return this.active.size;
  }

  jobState(name: string): JobState | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.removed) return undefined;
    return {
      running: entry.active !== undefined,
      queued: entry.queued !== undefined,
      ...(entry.nextRunAt !== undefined ? { nextRunAt: entry.nextRunAt } : {}),
      skipped: entry.skipped,
    };
  }

  // Planning ticks

  private planFirstTick(entry: JobEntry): void {
    const now = this.clock.now();
    this.armTick(entry, entry.job.schedule.kind === 'every' ? now : cronAfter(entry, now, now));
  }

  /**
   * The tick after `previousTick`, always later than both it and now: missed
   * ticks (a suspended process, a slow jitter) are skipped, never replayed.
   */
  private tickAfter(entry: JobEntry, previousTick: number): number | undefined {
    const now = this.clock.now();
    const schedule = entry.job.schedule;
    if (schedule.kind === 'every') {
      const next = previousTick + schedule.everyMs;
      if (next > now) return next;
      // Stay on the original phase so a fleet's probes do not drift together.
      return previousTick + (Math.floor((now - previousTick) / schedule.everyMs) + 1) * schedule.everyMs;
    }
    return cronAfter(entry, previousTick, now);
  }

  private armTick(entry: JobEntry, tick: number | undefined): void {
    entry.nextRunAt = undefined;
    if (tick === undefined) return;
    const startAt = tick + Math.floor(this.random() * entry.job.schedule.jitterMs);
    entry.nextRunAt = startAt;
    this.armAt(entry, startAt, () => this.onTick(entry, tick));
  }

  /** Arms in chunks of at most MAX_TIMER_DELAY_MS, re-checking the clock at each. */
  private armAt(entry: JobEntry, dueAt: number, fire: () => void): void {
    const delay = dueAt - this.clock.now();
    if (delay > MAX_TIMER_DELAY_MS) {
      entry.timer = this.clock.setTimeout(() => this.armAt(entry, dueAt, fire), MAX_TIMER_DELAY_MS);
    } else {
      entry.timer = this.clock.setTimeout(fire, Math.max(0, delay));
    }
  }

  private clearTick(entry: JobEntry): void {
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.nextRunAt = undefined;
  }

  private onTick(entry: JobEntry, tick: number): void {
    entry.timer = undefined;
    entry.lastTick = tick;
    // Plan the next tick before running, so nothing this run does can stop the schedule.
    this.armTick(entry, this.tickAfter(entry, tick));
    this.dispatch(entry, { trigger: 'schedule', scheduledAt: tick });
  }

  // Starting runs

  private dispatch(entry: JobEntry, start: PendingStart): TriggerResult {
    if (entry.active !== undefined || entry.queued !== undefined) {
      if (start.trigger === 'schedule') {
        entry.skipped += 1;
        this.notify(entry.job, () => this.options.onSkip?.(entry.job));
      }
      return 'busy';
    }
    if (this.active.size < this.concurrency) {
      this.startRun(entry, start);
      return 'started';
    }
    entry.queued = start;
    this.queue.push(entry);
    return 'queued';
  }

  private dequeue(entry: JobEntry): void {
    entry.queued = undefined;
    const index = this.queue.indexOf(entry);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private startQueued(): void {
    while (!this.stopped && this.active.size < this.concurrency) {
      const entry = this.queue.shift();
      if (entry === undefined) return;
      const start = entry.queued;
      entry.queued = undefined;
      if (start !== undefined) this.startRun(entry, start);
    }
  }

  private startRun(entry: JobEntry, start: PendingStart): void {
    const job = entry.job;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const run: ActiveRun = { entry, controller: new AbortController(), watchdog: undefined, ended, markEnded };
    entry.active = run;
    this.active.add(run);
    run.watchdog = this.clock.setTimeout(() => this.onWatchdogFired(run), job.deadlineMs + this.watchdogGraceMs);

    let outcome: Promise<void>;
    try {
      outcome = Promise.resolve(this.options.run(job, { signal: run.controller.signal, ...start }));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      () => this.endRun(run, 'settled'),
      (error: unknown) => {
        // Only the scheduler aborts this signal (watchdog, drain); the rejection that follows is what it asked for.
        if (!run.controller.signal.aborted) this.notifyError(job, error);
        this.endRun(run, 'settled');
      },
    );
  }

  private onWatchdogFired(run: ActiveRun): void {
    if (run.end !== undefined) return;
    const job = run.entry.job;
    run.controller.abort(new Error(`watchdog: "${job.name}" ran ${this.watchdogGraceMs} ms past its ${job.deadlineMs} ms deadline`));
    // Reported before the slot frees, so the daemon records this run before a queued one starts.
    this.notify(job, () => this.options.onWatchdog?.(job));
    this.endRun(run, 'watchdog');
  }

  /** Frees the run's slot and its job, once; a late settle finds it already ended. */
  private endRun(run: ActiveRun, end: RunEnd): void {
    if (run.end !== undefined) return;
    const entry = run.entry;
    run.end = end;
    this.clock.clearTimeout(run.watchdog);
    this.active.delete(run);
    if (entry.active === run) entry.active = undefined;
    if (entry.removed && entry.active === undefined && this.entries.get(entry.job.name) === entry) {
      this.entries.delete(entry.job.name);
    }
    run.markEnded();
    this.startQueued();
  }

  /** Resolves when every run has ended or after `ms`, whichever is first, leaving no timer behind. */
  private waitForAll(runs: ActiveRun[], ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(resolve, Math.max(0, ms));
      void Promise.all(runs.map((run) => run.ended)).then(() => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  // Hooks belong to the daemon; one that throws must not take the scheduler (or the process) down.

  private notify(job: ScheduledJob, hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.notifyError(job, error);
    }
  }

  private notifyError(job: ScheduledJob, error: unknown): void {
    try {
      this.options.onError?.(job, error);
    } catch {
      // The last place an error can be reported has failed; dropping it keeps the timers running.
    }
  }
}

function compiledCron(schedule: Schedule): { cron?: Cron } {
  if (schedule.kind !== 'cron') return {};
  return { cron: new Cron(schedule.cron, { paused: true, ...(schedule.timezone !== undefined ? { timezone: schedule.timezone } : {}) }) };
}

/**
 * The cron tick after `from`, later than both `from` and now. A result that
 * is not (a clock that jumped, a time zone oddity) is recomputed from now, so
 * no 0 ms timer can loop; undefined when the pattern has no future tick.
 */
function cronAfter(entry: JobEntry, from: number, now: number): number | undefined {
  const cron = entry.cron;
  if (cron === undefined) return undefined;
  const next = cron.nextRun(new Date(from))?.getTime();
  if (next !== undefined && next > from && next > now) return next;
  const fromNow = cron.nextRun(new Date(now))?.getTime();
  return fromNow !== undefined && fromNow > now ? fromNow : undefined;
}

function sameSchedule(a: Schedule, b: Schedule): boolean {
  if (a.kind === 'every' && b.kind === 'every') return a.everyMs === b.everyMs && a.jitterMs === b.jitterMs;
  if (a.kind === 'cron' && b.kind === 'cron') return a.cron === b.cron && a.timezone === b.timezone && a.jitterMs === b.jitterMs;
  return false;
}
