import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/journey/journey.js';
import { Scheduler, type RunContext, type ScheduledJob, type SchedulerOptions } from '../../src/serve/scheduler.js';
import { FakeClock, MAX_TIMER_DELAY_MS } from './fake-clock.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function every(everyMs: number, jitterMs = 0): Schedule {
  return { kind: 'every', everyMs, jitterMs };
}

function cron(pattern: string, timezone: string, jitterMs = 0): Schedule {
  return { kind: 'cron', cron: pattern, timezone, jitterMs };
}

function job(name: string, schedule: Schedule, deadlineMs = HOUR): ScheduledJob {
  return { name, schedule, deadlineMs };
}

/** One call of run(): what it was given, and handles to settle it by hand. */
interface RunCall {
  job: ScheduledJob;
  context: RunContext;
  at: number;
  finish: () => void;
  fail: (error: unknown) => void;
  settled: Promise<void>;
}

interface SetupOptions extends Partial<Pick<SchedulerOptions, 'concurrency' | 'random' | 'watchdogGraceMs'>> {
  /** What run() does; by default it waits until the test calls finish() or fail(). */
  body?: (call: RunCall, clock: FakeClock) => Promise<void>;
  startAt?: number;
}

function setup(options: SetupOptions = {}) {
  const clock = new FakeClock(options.startAt ?? T0);
  const calls: RunCall[] = [];
  const skips: string[] = [];
  const watchdogs: string[] = [];
  const errors: { name: string; error: unknown }[] = [];
  const scheduler = new Scheduler({
    clock,
    concurrency: options.concurrency ?? 10,
    random: options.random ?? (() => 0),
    ...(options.watchdogGraceMs !== undefined ? { watchdogGraceMs: options.watchdogGraceMs } : {}),
    run: (runJob, context) => {
      let finish!: () => void;
      let fail!: (error: unknown) => void;
      const settled = new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      const call: RunCall = { job: runJob, context, at: clock.now(), finish, fail, settled };
      calls.push(call);
      return options.body ? options.body(call, clock) : settled;
    },
    onSkip: (skipped) => skips.push(skipped.name),
    onWatchdog: (ended) => watchdogs.push(ended.name),
    onError: (failed, error) => errors.push({ name: failed.name, error }),
  });
  const runsOf = (name: string) => calls.filter((call) => call.job.name === name);
  return { clock, scheduler, calls, skips, watchdogs, errors, runsOf };
}

const finishAtOnce = async () => {};

describe('every', () => {
  it('fires at start, then on ticks anchored to the first one however long runs take', async () => {
    const durations = [7 * SECOND, 59 * SECOND, 1 * SECOND, 30 * SECOND];
    const { clock, scheduler, calls } = setup({ body: (call, fakeClock) => fakeClock.sleep(durations[calls.indexOf(call)] ?? 0) });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    expect(calls.map((call) => call.at)).toEqual([T0]);

    await clock.advance(3 * MINUTE);
    expect(calls.map((call) => call.at)).toEqual([T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    expect(calls.map((call) => call.context.scheduledAt)).toEqual([T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    expect(calls.every((call) => call.context.trigger === 'schedule')).toBe(true);
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 4 * MINUTE);
  });

  it('fires once after the process was suspended past several ticks, then keeps its phase', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(MINUTE);
    expect(calls).toHaveLength(2);

    clock.jump(10 * MINUTE + 5 * SECOND);
    await clock.advance(0);
    expect(calls).toHaveLength(3);
    expect(calls[2]?.at).toBe(T0 + 11 * MINUTE + 5 * SECOND);
    expect(calls[2]?.context.scheduledAt).toBe(T0 + 2 * MINUTE);
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 12 * MINUTE);

    await clock.advanceTo(T0 + 12 * MINUTE);
    expect(calls.map((call) => call.at).slice(3)).toEqual([T0 + 12 * MINUTE]);
  });

  it('delays each run by its own jitter while the anchor stays on the unjittered tick', async () => {
    const draws = [0, 0.9, 0.25, 0.5];
    let draw = 0;
    const { clock, scheduler, calls } = setup({ body: finishAtOnce, random: () => draws[draw++ % draws.length] ?? 0 });
    scheduler.upsert(job('a', every(MINUTE, 10 * SECOND)));
    scheduler.start();
    await clock.advance(3 * MINUTE + 10 * SECOND);
    expect(calls.map((call) => call.at)).toEqual([T0, T0 + MINUTE + 9 * SECOND, T0 + 2 * MINUTE + 2_500, T0 + 3 * MINUTE + 5 * SECOND]);
    expect(calls.map((call) => call.context.scheduledAt)).toEqual([T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 4 * MINUTE);
  });
});

describe('overlap', () => {
  it('skips and counts ticks while the same job still runs, and keeps the schedule moving', async () => {
    const { clock, scheduler, calls, skips } = setup();
    scheduler.upsert(job('a', every(10 * SECOND)));
    scheduler.start();
    await clock.advance(35 * SECOND);
    expect(calls).toHaveLength(1);
    expect(skips).toEqual(['a', 'a', 'a']);
    expect(scheduler.jobState('a')).toEqual({ running: true, queued: false, nextRunAt: T0 + 40 * SECOND, skipped: 3 });

    calls[0]?.finish();
    await clock.advance(5 * SECOND);
    expect(calls.map((call) => call.at)).toEqual([T0, T0 + 40 * SECOND]);
    expect(scheduler.jobState('a')?.skipped).toBe(3);
  });
});

describe('concurrency', () => {
  it('never has more runs in flight than the cap, and reaches it, with many jobs', async () => {
    const cap = 4;
    let inFlight = 0;
    let mostInFlight = 0;
    const { clock, scheduler, runsOf } = setup({
      concurrency: cap,
      body: async (call, fakeClock) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        expect(scheduler.inFlight()).toBeLessThanOrEqual(cap);
        await fakeClock.sleep(500 + (((call.at / SECOND) * 1_300 + call.job.name.length * 700) % 9_000));
        inFlight -= 1;
      },
    });
    const names = Array.from({ length: 25 }, (_, i) => `job ${i}`);
    names.forEach((name, i) => scheduler.upsert(job(name, every((3 + (i % 7)) * SECOND), MINUTE)));
    scheduler.start();
    for (let step = 0; step < 600; step++) {
      await clock.advance(SECOND);
      expect(scheduler.inFlight()).toBeLessThanOrEqual(cap);
    }
    expect(mostInFlight).toBe(cap);
    for (const name of names) expect(runsOf(name).length, name).toBeGreaterThan(0);
  });

  it('queues due jobs first in, first out, one entry per job, and starts them as slots free', async () => {
    const { clock, scheduler, calls, skips } = setup({ concurrency: 1 });
    for (const name of ['a', 'b', 'c']) scheduler.upsert(job(name, every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    expect(calls.map((call) => call.job.name)).toEqual(['a']);
    expect(scheduler.jobState('b')).toMatchObject({ running: false, queued: true });
    expect(scheduler.jobState('c')).toMatchObject({ running: false, queued: true });

    await clock.advance(MINUTE);
    expect(skips).toEqual(['a', 'b', 'c']);
    expect(calls).toHaveLength(1);

    calls[0]?.finish();
    await clock.advance(0);
    expect(calls.map((call) => call.job.name)).toEqual(['a', 'b']);
    expect(calls[1]?.context).toMatchObject({ trigger: 'schedule', scheduledAt: T0 });
    expect(calls[1]?.at).toBe(T0 + MINUTE);

    calls[1]?.finish();
    await clock.advance(0);
    expect(calls.map((call) => call.job.name)).toEqual(['a', 'b', 'c']);
    calls[2]?.finish();
    await clock.advance(0);
    expect(scheduler.inFlight()).toBe(0);
  });
});

describe('watchdog', () => {
  it('aborts a wedged run at deadline + grace and frees its slot and its job', async () => {
    const { clock, scheduler, calls, watchdogs, errors } = setup({ concurrency: 1, watchdogGraceMs: 500 });
    scheduler.upsert(job('a', every(MINUTE), 1_000));
    scheduler.start();
    await clock.advance(1_499);
    expect(calls[0]?.context.signal.aborted).toBe(false);
    expect(scheduler.inFlight()).toBe(1);

    await clock.advance(1);
    expect(calls[0]?.context.signal.aborted).toBe(true);
    expect(String(calls[0]?.context.signal.reason)).toContain('watchdog');
    expect(watchdogs).toEqual(['a']);
    expect(scheduler.inFlight()).toBe(0);
    expect(scheduler.jobState('a')?.running).toBe(false);

    expect(scheduler.trigger('a')).toBe('started');
    calls[0]?.fail(new Error('settled long after the watchdog'));
    await clock.advance(0);
    expect(scheduler.inFlight()).toBe(1);
    expect(scheduler.jobState('a')?.running).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps a target that never answers from piling up runs', async () => {
    const { clock, scheduler, calls, watchdogs } = setup({
      concurrency: 2,
      watchdogGraceMs: 5 * SECOND,
      body: (call) => (call.job.name === 'healthy' ? finishAtOnce() : call.settled),
    });
    scheduler.upsert(job('wedged', every(10 * SECOND), 20 * SECOND));
    scheduler.upsert(job('healthy', every(10 * SECOND), 20 * SECOND));
    scheduler.start();
    for (let step = 0; step < 60; step++) {
      await clock.advance(10 * SECOND);
      expect(scheduler.inFlight()).toBeLessThanOrEqual(2);
    }
    // Ten minutes: a run every 30 s (freed by the watchdog at 25 s, then the next tick), never two at once.
    expect(calls.filter((call) => call.job.name === 'wedged')).toHaveLength(21);
    expect(watchdogs.filter((name) => name === 'wedged')).toHaveLength(20);
    expect(calls.filter((call) => call.job.name === 'healthy')).toHaveLength(61);
  });

  it('defaults the grace to five seconds', async () => {
    const { clock, scheduler, calls } = setup();
    scheduler.upsert(job('a', every(MINUTE), 1_000));
    scheduler.start();
    await clock.advance(5_999);
    expect(calls[0]?.context.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(calls[0]?.context.signal.aborted).toBe(true);
  });

  it('leaves no watchdog timer behind once a run settles', async () => {
    const { clock, scheduler } = setup({ body: finishAtOnce });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    expect(clock.pendingTimers()).toBe(1);
  });
});

describe('errors', () => {
  it('reports a rejected or throwing run and keeps scheduling', async () => {
    const rejection = new Error('target down');
    const thrown = new Error('thrown before any await');
    const { clock, scheduler, calls, errors } = setup({
      body: (call) => {
        if (call.job.name === 'throws') throw thrown;
        return Promise.reject(rejection);
      },
    });
    scheduler.upsert(job('rejects', every(MINUTE)));
    scheduler.upsert(job('throws', every(MINUTE)));
    scheduler.start();
    await clock.advance(MINUTE);
    expect(errors).toEqual([
      { name: 'rejects', error: rejection },
      { name: 'throws', error: thrown },
      { name: 'rejects', error: rejection },
      { name: 'throws', error: thrown },
    ]);
    expect(calls).toHaveLength(4);
    expect(scheduler.inFlight()).toBe(0);
  });

  it('survives hooks that throw', async () => {
    const hookFailure = new Error('hook broke');
    const clock = new FakeClock(T0);
    let runs = 0;
    const reported: unknown[] = [];
    const scheduler = new Scheduler({
      clock,
      concurrency: 1,
      random: () => 0,
      watchdogGraceMs: 0,
      run: () => {
        runs += 1;
        return new Promise<void>(() => {});
      },
      onSkip: () => {
        throw hookFailure;
      },
      onWatchdog: () => {
        throw hookFailure;
      },
      onError: (_job, error) => {
        reported.push(error);
        throw new Error('and so did the error hook');
      },
    });
    scheduler.upsert(job('a', every(10 * SECOND), 15 * SECOND));
    scheduler.start();
    await clock.advance(60 * SECOND);
    // Runs at 0, watchdog at 15 (skip at 10), run at 20, watchdog at 35 (skip at 30), run at 40, watchdog at 55 (skip at 50), run at 60.
    expect(runs).toBe(4);
    expect(reported).toHaveLength(6);
    expect(reported.every((error) => error === hookFailure)).toBe(true);
  });
});

describe('hot reload', () => {
  it('replaces a job in place: the run in flight and the skip count survive, and an unchanged schedule is not re-planned', async () => {
    const { clock, scheduler, calls } = setup();
    scheduler.upsert(job('a', every(10 * SECOND)));
    scheduler.start();
    await clock.advance(25 * SECOND);
    const armedBefore = clock.timersArmed;
    scheduler.upsert(job('a', every(10 * SECOND), 2 * HOUR));
    expect(clock.timersArmed).toBe(armedBefore);
    expect(scheduler.jobState('a')).toEqual({ running: true, queued: false, nextRunAt: T0 + 30 * SECOND, skipped: 2 });

    calls[0]?.finish();
    await clock.advance(5 * SECOND);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.job.deadlineMs).toBe(2 * HOUR);
  });

  it('re-plans from the last tick when the interval changes', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(25 * SECOND);
    scheduler.upsert(job('a', every(10 * SECOND)));
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 30 * SECOND);
    await clock.advance(25 * SECOND);
    expect(calls.map((call) => call.at)).toEqual([T0, T0 + 30 * SECOND, T0 + 40 * SECOND, T0 + 50 * SECOND]);
  });

  it('re-plans on the new cron when an interval becomes a cron', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(30 * SECOND);
    scheduler.upsert(job('a', cron('0 * * * *', 'UTC')));
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + HOUR);
    await clock.advance(HOUR);
    expect(calls.map((call) => call.at)).toEqual([T0, T0 + HOUR]);
  });

  it('arms a job added after start at once', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce });
    scheduler.start();
    await clock.advance(7 * SECOND);
    scheduler.upsert(job('late', every(MINUTE)));
    await clock.advance(0);
    expect(calls.map((call) => call.at)).toEqual([T0 + 7 * SECOND]);
  });
});

describe('remove', () => {
  it('stops ticking a job, lets its run in flight finish, and keeps a re-added one from overlapping it', async () => {
    const { clock, scheduler, calls, skips } = setup();
    scheduler.upsert(job('a', every(10 * SECOND)));
    scheduler.start();
    await clock.advance(0);
    scheduler.remove('a');
    expect(scheduler.jobState('a')).toBeUndefined();
    expect(scheduler.trigger('a')).toBe('unknown');
    await clock.advance(MINUTE);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.context.signal.aborted).toBe(false);
    expect(scheduler.inFlight()).toBe(1);

    scheduler.upsert(job('a', every(10 * SECOND)));
    await clock.advance(10 * SECOND);
    expect(calls).toHaveLength(1);
    expect(skips).toEqual(['a']);

    calls[0]?.finish();
    await clock.advance(10 * SECOND);
    expect(calls).toHaveLength(2);
    expect(scheduler.inFlight()).toBe(1);
  });

  it('drops a queued run', async () => {
    const { clock, scheduler, calls } = setup({ concurrency: 1 });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.upsert(job('b', every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    expect(scheduler.jobState('b')?.queued).toBe(true);
    scheduler.remove('b');
    calls[0]?.finish();
    await clock.advance(0);
    expect(calls.map((call) => call.job.name)).toEqual(['a']);
    expect(scheduler.inFlight()).toBe(0);
  });
});

describe('trigger', () => {
  it('starts a manual run now, and reports busy, queued and unknown', async () => {
    const { clock, scheduler, calls, skips } = setup({ concurrency: 1 });
    scheduler.upsert(job('a', every(HOUR)));
    scheduler.upsert(job('b', every(HOUR)));
    scheduler.start();
    await clock.advance(0);
    calls[0]?.finish();
    await clock.advance(0);
    calls[1]?.finish();
    await clock.advance(5 * MINUTE);

    expect(scheduler.trigger('a')).toBe('started');
    expect(calls[2]?.context).toMatchObject({ trigger: 'manual', scheduledAt: T0 + 5 * MINUTE });
    expect(scheduler.trigger('a')).toBe('busy');
    expect(scheduler.trigger('b')).toBe('queued');
    expect(scheduler.trigger('b')).toBe('busy');
    expect(scheduler.trigger('nope')).toBe('unknown');
    expect(skips).toEqual([]);

    calls[2]?.finish();
    await clock.advance(0);
    expect(calls[3]?.job.name).toBe('b');
    expect(calls[3]?.context.trigger).toBe('manual');
  });
});

describe('stop and drain', () => {
  it('stop clears the tick timers and drops the queue; runs in flight go on', async () => {
    const { clock, scheduler, calls } = setup({ concurrency: 1 });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.upsert(job('b', every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    scheduler.stop();
    expect(clock.pendingTimers()).toBe(1); // a's watchdog
    expect(scheduler.jobState('a')).toEqual({ running: true, queued: false, skipped: 0 });
    expect(scheduler.jobState('b')).toEqual({ running: false, queued: false, skipped: 0 });
    expect(scheduler.trigger('b')).toBe('busy');

    calls[0]?.finish();
    await clock.advance(HOUR);
    expect(calls.map((call) => call.job.name)).toEqual(['a']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('waits for runs up to the grace, aborts the rest, and resolves even if one ignores the abort', async () => {
    const { clock, scheduler, calls } = setup({
      watchdogGraceMs: 5 * SECOND,
      body: async (call, fakeClock) => {
        if (call.job.name === 'quick') return fakeClock.sleep(3 * SECOND);
        if (call.job.name === 'listens') {
          return new Promise<void>((_resolve, reject) => call.context.signal.addEventListener('abort', () => reject(call.context.signal.reason)));
        }
        return call.settled; // ignores the signal
      },
    });
    for (const name of ['quick', 'listens', 'deaf']) scheduler.upsert(job(name, every(MINUTE)));
    scheduler.start();
    await clock.advance(0);

    let result: { finished: number; aborted: number } | undefined;
    void scheduler.drain(10 * SECOND).then((drained) => (result = drained));
    await clock.advance(10 * SECOND - 1);
    expect(calls.map((call) => call.context.signal.aborted)).toEqual([false, false, false]);
    expect(scheduler.inFlight()).toBe(2);

    await clock.advance(1);
    expect(calls.map((call) => call.context.signal.aborted)).toEqual([false, true, true]);
    expect(scheduler.inFlight()).toBe(1);
    expect(result).toBeUndefined();

    await clock.advance(5 * SECOND);
    expect(result).toEqual({ finished: 1, aborted: 2 });
    expect(scheduler.inFlight()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('resolves as soon as every run has finished', async () => {
    const { clock, scheduler } = setup({ body: (_call, fakeClock) => fakeClock.sleep(2 * SECOND) });
    scheduler.upsert(job('a', every(MINUTE)));
    scheduler.start();
    await clock.advance(0);
    let result: { finished: number; aborted: number } | undefined;
    void scheduler.drain(HOUR).then((drained) => (result = drained));
    await clock.advance(2 * SECOND);
    expect(result).toEqual({ finished: 1, aborted: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('resolves at once with nothing in flight', async () => {
    const { scheduler } = setup();
    scheduler.upsert(job('a', every(MINUTE)));
    await expect(scheduler.drain(HOUR)).resolves.toEqual({ finished: 0, aborted: 0 });
  });
});

/** The calendar date and wall time of an instant in a zone, e.g. "2026-03-29 03:00". */
function wallClock(epochMs: number, timeZone: string): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(epochMs);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return { date: `${part('year')}-${part('month')}-${part('day')}`, time: `${part('hour')}:${part('minute')}` };
}

function runsPerLocalDate(starts: number[], timeZone: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const start of starts) {
    const { date } = wallClock(start, timeZone);
    counts[date] = (counts[date] ?? 0) + 1;
  }
  return counts;
}

/** Runs one cron job from `from` to `to` and returns when each run started. */
async function driveCron(schedule: Schedule, from: string, to: string) {
  const { clock, scheduler, calls } = setup({ body: finishAtOnce, startAt: Date.parse(from) });
  scheduler.upsert(job('probe', schedule));
  scheduler.start();
  await clock.advanceTo(Date.parse(to));
  scheduler.stop();
  return { starts: calls.map((call) => call.at), scheduledAts: calls.map((call) => call.context.scheduledAt), timersArmed: clock.timersArmed };
}

describe('cron', () => {
  it('fires on the next tick strictly after start, then on each tick, computed from the previous one', async () => {
    const { starts, scheduledAts } = await driveCron(cron('*/5 * * * *', 'UTC'), '2026-01-01T12:00:00Z', '2026-01-01T12:20:00Z');
    const expected = [5, 10, 15, 20].map((minutes) => T0 + minutes * MINUTE);
    expect(starts).toEqual(expected);
    expect(scheduledAts).toEqual(expected);
  });

  it('fires once after the process was suspended past several ticks, then resumes on the pattern', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce });
    scheduler.upsert(job('a', cron('*/5 * * * *', 'UTC')));
    scheduler.start();
    await clock.advance(5 * MINUTE);
    clock.jump(HOUR);
    await clock.advance(0);
    expect(calls.map((call) => call.at)).toEqual([T0 + 5 * MINUTE, T0 + 65 * MINUTE]);
    expect(calls[1]?.context.scheduledAt).toBe(T0 + 10 * MINUTE);
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 70 * MINUTE);
  });

  it('applies jitter after the cron tick', async () => {
    const { clock, scheduler, calls } = setup({ body: finishAtOnce, random: () => 0.5 });
    scheduler.upsert(job('a', cron('0 * * * *', 'UTC', 20 * MINUTE)));
    scheduler.start();
    await clock.advance(3 * HOUR);
    expect(calls.map((call) => call.at)).toEqual([T0 + HOUR + 10 * MINUTE, T0 + 2 * HOUR + 10 * MINUTE]);
    expect(calls.map((call) => call.context.scheduledAt)).toEqual([T0 + HOUR, T0 + 2 * HOUR]);
    expect(scheduler.jobState('a')?.nextRunAt).toBe(T0 + 3 * HOUR + 10 * MINUTE);
  });

  it('arms a yearly cron in chunks no timer can overflow, and fires it on the day', async () => {
    const { starts, timersArmed } = await driveCron(cron('0 0 1 1 *', 'UTC'), '2026-01-02T00:00:00Z', '2028-06-01T00:00:00Z');
    expect(starts).toEqual([Date.parse('2027-01-01T00:00:00Z'), Date.parse('2028-01-01T00:00:00Z')]);
    // Full chunks over the whole span, one partial chunk per planned tick, one watchdog per run.
    const span = Date.parse('2028-06-01T00:00:00Z') - Date.parse('2026-01-02T00:00:00Z');
    expect(timersArmed).toBeLessThanOrEqual(Math.ceil(span / MAX_TIMER_DELAY_MS) + 3 + 2);
  });

  describe('across daylight saving', () => {
    it('runs 02:30 Berlin once on the spring-forward day, when 02:30 does not exist', async () => {
      const { starts } = await driveCron(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-26T00:00:00Z', '2026-04-01T00:00:00Z');
      expect(runsPerLocalDate(starts, 'Europe/Berlin')).toEqual({
        '2026-03-26': 1,
        '2026-03-27': 1,
        '2026-03-28': 1,
        '2026-03-29': 1,
        '2026-03-30': 1,
        '2026-03-31': 1,
      });
      const springForward = starts.find((start) => wallClock(start, 'Europe/Berlin').date === '2026-03-29');
      expect(wallClock(springForward ?? 0, 'Europe/Berlin').time).toBe('03:00');
    });

    it('runs 02:30 Berlin once on the fall-back day, when 02:30 happens twice', async () => {
      const { starts } = await driveCron(cron('30 2 * * *', 'Europe/Berlin'), '2026-10-23T00:00:00Z', '2026-10-28T00:00:00Z');
      expect(runsPerLocalDate(starts, 'Europe/Berlin')).toEqual({
        '2026-10-23': 1,
        '2026-10-24': 1,
        '2026-10-25': 1,
        '2026-10-26': 1,
        '2026-10-27': 1,
      });
      expect(starts.map((start) => wallClock(start, 'Europe/Berlin').time)).toEqual(['02:30', '02:30', '02:30', '02:30', '02:30']);
    });

    it('runs 01:30 New York once on the fall-back day, when 01:30 happens twice', async () => {
      const { starts } = await driveCron(cron('30 1 * * *', 'America/New_York'), '2026-10-30T12:00:00Z', '2026-11-04T12:00:00Z');
      expect(runsPerLocalDate(starts, 'America/New_York')).toEqual({
        '2026-10-31': 1,
        '2026-11-01': 1,
        '2026-11-02': 1,
        '2026-11-03': 1,
        '2026-11-04': 1,
      });
    });

    it('runs 02:30 New York once on the spring-forward day', async () => {
      const { starts } = await driveCron(cron('30 2 * * *', 'America/New_York'), '2026-03-06T12:00:00Z', '2026-03-10T12:00:00Z');
      expect(runsPerLocalDate(starts, 'America/New_York')).toEqual({ '2026-03-07': 1, '2026-03-08': 1, '2026-03-09': 1, '2026-03-10': 1 });
    });

    it.each([
      ['Europe/Berlin', '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z'],
      ['Europe/Berlin', '2026-10-23T00:00:00Z', '2026-10-27T00:00:00Z'],
      ['America/New_York', '2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z'],
      ['America/New_York', '2026-10-30T00:00:00Z', '2026-11-03T00:00:00Z'],
    ])('runs */30 in %s once per distinct instant from %s, without spinning', async (timeZone, from, to) => {
      const { starts, scheduledAts, timersArmed } = await driveCron(cron('*/30 * * * *', timeZone), from, to);
      const expectedRuns = (Date.parse(to) - Date.parse(from)) / (30 * MINUTE);
      expect(starts).toHaveLength(expectedRuns);
      expect(new Set(starts).size).toBe(starts.length);
      expect(starts).toEqual(scheduledAts);
      const gaps = new Set(starts.slice(1).map((start, i) => start - (starts[i] ?? 0)));
      expect([...gaps]).toEqual([30 * MINUTE]);
      // One tick timer and one watchdog per run, and the tick armed for after the end.
      expect(timersArmed).toBe(2 * starts.length + 1);
    });
  });
});
