import { describe, expect, it } from 'vitest';
import type { CompiledStep, Journey } from '../../src/journey/journey.js';
import { initialState } from '../../src/serve/alert-policy.js';
import type { ProbeEntry } from '../../src/serve/probe-entries.js';
import { freshnessWindowMs, scheduledJobOf } from '../../src/serve/probe-jobs.js';
import { daemonHealth, journeyViews, type HealthFacts } from '../../src/serve/read-models.js';
import { planReload, signatureOf } from '../../src/serve/reload-plan.js';

/** The parts of `ceiling serve`'s daemon that decide without I/O: reload planning, job deadlines and the read models. */

const T0 = Date.UTC(2026, 2, 4, 5, 6, 7);
const MINUTE = 60_000;

function journey(name: string, stepNames: string[] = ['open'], extra: Partial<Journey> = {}): Journey {
  return {
    name,
    file: `journeys/${name}.yaml`,
    tags: [],
    vars: {},
    timeoutMs: 30_000,
    retries: 0,
    // Only the names (and the labels metric series carry: these steps are all named) matter to the daemon's bookkeeping.
    steps: stepNames.map((stepName, index) => ({ index, name: stepName, label: stepName }) as unknown as CompiledStep),
    location: { file: `journeys/${name}.yaml`, line: 1, column: 1 },
    ...extra,
  };
}

function entry(subject: Journey): ProbeEntry {
  return { journey: subject, signature: signatureOf(subject), state: initialState(subject.name), recent: [] };
}

describe('planReload', () => {
  it('leaves journeys that did not change alone', () => {
    const loaded = [entry(journey('a')), entry(journey('b'))];
    expect(planReload(loaded, [journey('a'), journey('b')])).toEqual({ remove: [], changes: [] });
  });

  it('removes what is no longer wanted and adds what is new, in the order wanted', () => {
    const plan = planReload([entry(journey('a')), entry(journey('b'))], [journey('c'), journey('a'), journey('d')]);
    expect(plan.remove).toEqual(['b']);
    expect(plan.changes.map((change) => [change.kind, change.journey.name])).toEqual([
      ['add', 'c'],
      ['add', 'd'],
    ]);
  });

  it('changes an edited journey, naming its old steps only when one of them went away', () => {
    const loaded = [entry(journey('grown', ['open'])), entry(journey('renamed', ['open', 'pay'])), entry(journey('retimed'))];
    const grown = journey('grown', ['open', 'pay']);
    const renamed = journey('renamed', ['open', 'checkout']);
    const retimed = journey('retimed', ['open'], { timeoutMs: 5_000 });
    expect(planReload([entry(journey('cleaned'))], [journey('cleaned', ['open'], { finallyTimeoutMs: 1_000 })]).changes).toHaveLength(1);
    expect(planReload(loaded, [grown, renamed, retimed]).changes).toEqual([
      { kind: 'change', journey: grown, signature: signatureOf(grown) },
      { kind: 'change', journey: renamed, signature: signatureOf(renamed), droppedSteps: ['open', 'pay'] },
      { kind: 'change', journey: retimed, signature: signatureOf(retimed) },
    ]);
  });
});

describe('scheduledJobOf and freshnessWindowMs', () => {
  const every5m = { kind: 'every', everyMs: 5 * MINUTE, jitterMs: 0 } as const;

  it('gives each attempt, and the one a runner stall may add, its timeout plus the time teardown and evidence may take', () => {
    expect(scheduledJobOf(journey('a', ['open'], { retries: 1, timeoutMs: 10_000 }), { defaultSchedule: every5m })).toEqual({
      name: 'a',
      schedule: every5m,
      deadlineMs: 3 * (10_000 + 15_000),
    });
  });

  it("adds each attempt's finally budget, since finally steps run after the deadline", () => {
    expect(scheduledJobOf(journey('a', ['open'], { retries: 0, timeoutMs: 10_000, finallyTimeoutMs: 4_000 }), { defaultSchedule: every5m }).deadlineMs).toBe(
      2 * (10_000 + 4_000 + 15_000),
    );
  });

  it('lets --retries and --timeout override the journey, and the journey its own schedule override the default', () => {
    const own = { kind: 'every', everyMs: MINUTE, jitterMs: 0 } as const;
    expect(scheduledJobOf(journey('a', ['open'], { retries: 3, schedule: own }), { defaultSchedule: every5m, retries: 0, timeoutMs: 1_000 })).toEqual({
      name: 'a',
      schedule: own,
      deadlineMs: 2 * 16_000,
    });
  });

  it('counts a result fresh for two intervals plus the run deadline', () => {
    expect(freshnessWindowMs({ name: 'a', schedule: every5m, deadlineMs: 45_000 }, T0)).toBe(10 * MINUTE + 45_000);
  });
});

describe('read models', () => {
  it('shows each journey with its schedule and what the scheduler says of it', () => {
    const a = { ...entry(journey('a', ['open'], { tags: ['critical'] })), recent: [{ startedAt: T0, durationMs: 5, result: 'passed' as const }] };
    const b = entry(journey('b'));
    const views = journeyViews([a, b], (name) => (name === 'a' ? { running: true, queued: true, skipped: 2, nextRunAt: T0 + MINUTE } : undefined), {
      kind: 'every',
      everyMs: 5 * MINUTE,
      jitterMs: 0,
    });
    expect(views[0]).toMatchObject({
      journey: 'a',
      file: 'journeys/a.yaml',
      tags: ['critical'],
      running: true,
      queued: true,
      skippedRuns: 2,
      nextRunAt: T0 + MINUTE,
      recent: a.recent,
    });
    expect(views[1]).toMatchObject({ journey: 'b', running: false, skippedRuns: 0 });
    expect(views[1]).not.toHaveProperty('queued');
    expect(views[1]).not.toHaveProperty('nextRunAt');
    expect(views[0]!.schedule).toBe(views[1]!.schedule);
  });

  const facts: HealthFacts = {
    now: T0 + 90_000,
    startedAt: T0,
    stopping: false,
    journeys: 2,
    inFlight: 1,
    reloadErrors: [],
    alerts: { delivered: 1, failed: 0, dropped: 0, pending: 0 },
    history: { errors: 0 },
    historyUnwritable: false,
    version: '1.2.3',
    location: 'eu-west',
    target: 'production',
  };

  it('is ok with journeys loaded and the history writable', () => {
    expect(daemonHealth(facts)).toEqual({
      ok: true,
      detail: {
        status: 'ok',
        version: '1.2.3',
        location: 'eu-west',
        target: 'production',
        journeys: 2,
        inFlight: 1,
        uptimeSeconds: 90,
        reloadErrors: [],
        alerts: facts.alerts,
        history: facts.history,
      },
    });
  });

  it('is degraded but ok with no journey left, or a history write failing for less than the outage window', () => {
    const empty = daemonHealth({ ...facts, journeys: 0 });
    expect([empty.ok, empty.detail.status]).toEqual([true, 'degraded']);
    const blip = daemonHealth({ ...facts, history: { errors: 1, failingSince: T0, lastError: 'disk full' } });
    expect([blip.ok, blip.detail.status, blip.detail.problems]).toEqual([
      true,
      'degraded',
      [`the history cannot be written since ${new Date(T0).toISOString()}: disk full`],
    ]);
  });

  it('is not ok once the history is unwritable, or while stopping', () => {
    expect(daemonHealth({ ...facts, history: { errors: 9, failingSince: T0 }, historyUnwritable: true }).ok).toBe(false);
    const stopping = daemonHealth({ ...facts, stopping: true });
    expect([stopping.ok, stopping.detail.status]).toEqual([false, 'stopping']);
  });
});
