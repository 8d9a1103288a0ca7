import { describe, expect, it } from 'vitest';
import type { CompiledStep, Journey } from '../../src/journey/journey.js';
import type { AlertEvent } from '../../src/serve/alert-payloads.js';
import { initialState, type AlertPolicy } from '../../src/serve/alert-policy.js';
import { AlertReconciler } from '../../src/serve/alert-reconciler.js';
import { HistoryWrites } from '../../src/serve/history-writes.js';
import type { PersistedState, RunOutcome, RunRecord } from '../../src/serve/model.js';
import { ProbeEntries, type ProbeEntry } from '../../src/serve/probe-entries.js';
import { decideRunOutcome, owedAlert, RECENT_RUNS, type JourneyStanding, type RunOutcomeEffect } from '../../src/serve/run-outcome.js';
import { RunOutcomePipeline } from '../../src/serve/run-outcome-pipeline.js';
import { signatureOf } from '../../src/serve/reload-plan.js';
import type { ReceiverOutcome, SendOutcome } from '../../src/serve/webhook-delivery.js';
import { FakeClock, flushMicrotasks } from './fake-clock.js';

/** serve's run-outcome pipeline: the pure decision, the effects carried out, and alert delivery marking. No timers, no I/O. */

const T0 = Date.UTC(2026, 2, 4, 5, 6, 7);
const MINUTE = 60_000;
const twice: AlertPolicy = { failAfter: 2 };

function run(result: RunOutcome, startedAt: number, journey = 'checkout'): RunRecord {
  const failed = result === 'failed' || result === 'error';
  return {
    journey,
    location: 'eu-west',
    target: 'production',
    trigger: 'schedule',
    startedAt,
    durationMs: 120,
    result,
    ...(failed ? { failedStep: 'pay', failureCode: 'CEIL_HTTP_STATUS', failureMessage: 'expected status 200, got 502' } : {}),
    steps: [],
  };
}

function standing(state: Partial<PersistedState> = {}): JourneyStanding {
  return { state: { ...initialState('checkout'), ...state }, recent: [] };
}

const failingAlerted: Partial<PersistedState> = { health: 'failing', consecutiveFailures: 2, alerting: true, notifiedFailing: true, lastRunAt: T0 - MINUTE };

function kinds(effects: RunOutcomeEffect[]): string[] {
  return effects.map((effect) => effect.kind);
}

function alertOf(effects: RunOutcomeEffect[]): string | undefined {
  const effect = effects.find((candidate) => candidate.kind === 'alert');
  return effect?.kind === 'alert' ? effect.alert : undefined;
}

describe('decideRunOutcome', () => {
  it('a pass records the run, saves the passing state and logs the change from unknown, with no alert', () => {
    const { standing: next, effects } = decideRunOutcome(standing(), run('passed', T0), twice, false);
    expect(next.state).toMatchObject({ health: 'passing', lastRunAt: T0, lastPassAt: T0, consecutiveFailures: 0, alerting: false });
    expect(next.recent).toEqual([{ startedAt: T0, durationMs: 120, result: 'passed' }]);
    expect(effects).toEqual([
      { kind: 'record-run', record: run('passed', T0) },
      { kind: 'save-state', state: next.state },
      { kind: 'log', line: 'journey "checkout" is passing' },
    ]);
  });

  it('a second pass saves the state again but logs nothing: the health did not move', () => {
    const { effects } = decideRunOutcome(standing({ health: 'passing', lastRunAt: T0 - MINUTE, lastPassAt: T0 - MINUTE }), run('passed', T0), twice, false);
    expect(kinds(effects)).toEqual(['record-run', 'save-state']);
  });

  it('a failure below the threshold counts and turns the health failing, but raises no alert', () => {
    const { standing: next, effects } = decideRunOutcome(standing({ health: 'passing', lastRunAt: T0 - MINUTE }), run('failed', T0), twice, false);
    expect(next.state).toMatchObject({ health: 'failing', consecutiveFailures: 1, alerting: false });
    expect(effects).toContainEqual({ kind: 'log', line: 'journey "checkout" is failing: step "pay": CEIL_HTTP_STATUS expected status 200, got 502' });
    expect(alertOf(effects)).toBeUndefined();
  });

  it('the failure that reaches the threshold makes the journey alerting and owes a failing alert', () => {
    const before = standing({ health: 'failing', consecutiveFailures: 1, lastRunAt: T0 - MINUTE });
    const { standing: next, effects } = decideRunOutcome(before, run('error', T0), twice, false);
    expect(next.state).toMatchObject({ health: 'failing', consecutiveFailures: 2, alerting: true });
    expect(kinds(effects)).toEqual(['record-run', 'save-state', 'alert']);
    expect(effects.at(-1)).toEqual({ kind: 'alert', journey: 'checkout', alert: 'failing' });
  });

  it('a further failure of a journey whose alert was delivered owes nothing', () => {
    const { standing: next, effects } = decideRunOutcome(standing(failingAlerted), run('failed', T0), twice, false);
    expect(next.state.consecutiveFailures).toBe(3);
    expect(alertOf(effects)).toBeUndefined();
  });

  it('a failure of a journey whose failing alert never got out owes it again', () => {
    const { effects } = decideRunOutcome(standing({ ...failingAlerted, notifiedFailing: false }), run('failed', T0), twice, false);
    expect(alertOf(effects)).toBe('failing');
  });

  it('recovery after a delivered failing alert owes a recovered alert', () => {
    const { standing: next, effects } = decideRunOutcome(standing(failingAlerted), run('flaky', T0), twice, false);
    expect(next.state).toMatchObject({ health: 'flaky', alerting: false, consecutiveFailures: 0, notifiedFailing: true });
    expect(effects).toContainEqual({ kind: 'log', line: 'journey "checkout" is flaky' });
    expect(effects.at(-1)).toEqual({ kind: 'alert', journey: 'checkout', alert: 'recovered' });
  });

  it('a failure the runner stall explains is recorded as an error, raises no alert and leaves the state as it was', () => {
    const before = standing({ health: 'failing', consecutiveFailures: 1, lastRunAt: T0 - MINUTE });
    const { standing: next, effects } = decideRunOutcome(before, run('failed', T0), twice, true);
    expect(next.state).toBe(before.state);
    expect(next.recent).toEqual([{ startedAt: T0, durationMs: 120, result: 'error' }]);
    expect(effects).toEqual([
      { kind: 'record-run', record: { ...run('failed', T0), result: 'error' } },
      { kind: 'log', line: 'journey "checkout": CEIL_HTTP_STATUS while the runner itself stalled; not counted against the target' },
    ]);
  });

  it('keeps the newest RECENT_RUNS runs, oldest first', () => {
    const recent = Array.from({ length: RECENT_RUNS }, (_, index) => ({ startedAt: T0 + index * MINUTE, durationMs: 1, result: 'passed' as const }));
    const { standing: next } = decideRunOutcome({ state: standing().state, recent }, run('failed', T0 + RECENT_RUNS * MINUTE), twice, false);
    expect(next.recent).toHaveLength(RECENT_RUNS);
    expect(next.recent[0]!.startedAt).toBe(T0 + MINUTE);
    expect(next.recent.at(-1)).toEqual({ startedAt: T0 + RECENT_RUNS * MINUTE, durationMs: 120, result: 'failed' });
  });

  it('does not change the standing it was given', () => {
    const before = standing(failingAlerted);
    const copy = structuredClone(before);
    decideRunOutcome(before, run('passed', T0), twice, false);
    expect(before).toEqual(copy);
  });
});

describe('owedAlert', () => {
  it('owes nothing before the first run, or when receivers were told what the state says', () => {
    expect(owedAlert({ ...initialState('checkout'), alerting: true })).toBeUndefined();
    expect(owedAlert({ ...initialState('checkout'), lastRunAt: T0, alerting: false })).toBeUndefined();
    expect(owedAlert({ ...initialState('checkout'), lastRunAt: T0, alerting: true, notifiedFailing: true })).toBeUndefined();
  });

  it('owes failing when alerting and not told, recovered when told failing and no longer alerting', () => {
    expect(owedAlert({ ...initialState('checkout'), lastRunAt: T0, alerting: true })).toBe('failing');
    expect(owedAlert({ ...initialState('checkout'), lastRunAt: T0, alerting: false, notifiedFailing: true })).toBe('recovered');
  });
});

// ---------------------------------------------------------------- the effects, carried out

function journey(name = 'checkout', stepNames = ['open', 'pay']): Journey {
  return {
    name,
    file: `journeys/${name}.yaml`,
    tags: ['critical'],
    vars: {},
    timeoutMs: 30_000,
    retries: 0,
    // Only the names matter to the daemon's bookkeeping.
    steps: stepNames.map((stepName, index) => ({ index, name: stepName }) as unknown as CompiledStep),
    location: { file: `journeys/${name}.yaml`, line: 1, column: 1 },
  };
}

function entryOf(subject: Journey, state: Partial<PersistedState> = {}): ProbeEntry {
  return { journey: subject, signature: signatureOf(subject), state: { ...initialState(subject.name), ...state }, recent: [] };
}

/** A history that keeps what it is given, and fails every write while `broken` is set. */
class FakeHistory {
  broken = false;
  readonly runs: RunRecord[] = [];
  readonly states: PersistedState[] = [];

  record(record: RunRecord): void {
    if (this.broken) throw new Error('SQLITE_FULL: database or disk is full');
    this.runs.push(record);
  }

  saveState(state: PersistedState): void {
    if (this.broken) throw new Error('SQLITE_FULL: database or disk is full');
    this.states.push(state);
  }
}

function pipelineWorld(options: { policy?: AlertPolicy; saved?: Map<string, PersistedState> } = {}) {
  const clock = new FakeClock(T0);
  const entries = new ProbeEntries(options.saved ?? new Map());
  const history = new FakeHistory();
  const log: string[] = [];
  const historyWrites = new HistoryWrites('/var/lib/ceiling/history.db', (line) => log.push(line));
  const counted: RunRecord[] = [];
  const reconciled: string[] = [];
  const pipeline = new RunOutcomePipeline({
    clock,
    policy: options.policy ?? twice,
    entries,
    history,
    historyWrites,
    metrics: { recordRun: (record) => counted.push(record) },
    alerts: { reconcile: (name) => reconciled.push(name) },
    log: (line) => log.push(line),
  });
  return { clock, entries, history, historyWrites, log, counted, reconciled, pipeline };
}

describe('RunOutcomePipeline', () => {
  it('writes the run and the new state, counts the run, keeps it in the recent strip and asks for the owed alert', () => {
    const world = pipelineWorld();
    const entry = entryOf(journey(), { health: 'failing', consecutiveFailures: 1, lastRunAt: T0 - MINUTE });
    world.entries.put(entry);
    world.pipeline.finish(run('failed', T0), entry);
    expect(world.history.runs).toEqual([run('failed', T0)]);
    expect(world.counted).toEqual([run('failed', T0)]);
    expect(world.history.states).toEqual([entry.state]);
    expect(world.entries.get('checkout')!.state).toMatchObject({ consecutiveFailures: 2, alerting: true });
    expect(world.entries.savedState('checkout')).toBe(entry.state);
    expect(entry.recent).toEqual([{ startedAt: T0, durationMs: 120, result: 'failed' }]);
    expect(world.reconciled).toEqual(['checkout']);
  });

  it('ignores a run of a journey a reload replaced while it ran', () => {
    const world = pipelineWorld();
    const old = entryOf(journey());
    world.entries.put(old);
    const edited = journey('checkout', ['open', 'pay', 'receipt']);
    world.entries.put({ ...old, journey: edited, signature: signatureOf(edited) });
    world.pipeline.finish(run('failed', T0), old);
    world.pipeline.finish(run('failed', T0 + MINUTE), old);
    expect(world.history.runs).toEqual([]);
    expect(world.counted).toEqual([]);
    expect(world.reconciled).toEqual([]);
    expect(world.entries.get('checkout')!.state).toEqual(initialState('checkout'));
    expect(world.entries.get('checkout')!.recent).toEqual([]);
  });

  it('ignores a run of a journey a reload removed while it ran', () => {
    const world = pipelineWorld();
    const entry = entryOf(journey());
    world.entries.put(entry);
    world.entries.remove('checkout');
    world.pipeline.finish(run('failed', T0), entry);
    expect(world.history.runs).toEqual([]);
    expect(world.counted).toEqual([]);
    expect(world.entries.savedState('checkout')).toBeUndefined();
  });

  it('still counts the run, moves the state and asks for the alert when the history cannot be written', () => {
    const world = pipelineWorld({ policy: { failAfter: 1 } });
    const entry = entryOf(journey(), { health: 'passing', lastRunAt: T0 - MINUTE });
    world.entries.put(entry);
    world.history.broken = true;
    world.pipeline.finish(run('failed', T0), entry);
    expect(world.counted).toHaveLength(1);
    expect(world.entries.get('checkout')!.state).toMatchObject({ health: 'failing', alerting: true });
    expect(world.reconciled).toEqual(['checkout']);
    expect(world.historyWrites.status()).toEqual({ errors: 2, failingSince: T0, lastError: 'SQLITE_FULL: database or disk is full' });
    // Rate-limited: one line for both failed writes, then the health change.
    expect(world.log).toEqual([
      'history: cannot write /var/lib/ceiling/history.db (SQLITE_FULL: database or disk is full) while trying to record a run of "checkout"; probing goes on, runs are not recorded until this is fixed',
      'journey "checkout" is failing: step "pay": CEIL_HTTP_STATUS expected status 200, got 502',
    ]);
  });

  it('stamps history writes with the clock it was given', async () => {
    const world = pipelineWorld();
    const entry = entryOf(journey());
    world.entries.put(entry);
    world.history.broken = true;
    await world.clock.advance(5 * MINUTE);
    world.pipeline.finish(run('passed', T0), entry);
    expect(world.historyWrites.status().failingSince).toBe(T0 + 5 * MINUTE);
  });

  it('records a run the runner stall explains as an error and leaves state and alerts alone', () => {
    const world = pipelineWorld({ policy: { failAfter: 1 } });
    const entry = entryOf(journey(), { health: 'passing', lastRunAt: T0 - MINUTE });
    const before = entry.state;
    world.entries.put(entry);
    world.pipeline.finish(run('failed', T0), entry, true);
    expect(world.history.runs.map((record) => record.result)).toEqual(['error']);
    expect(world.counted.map((record) => record.result)).toEqual(['error']);
    expect(world.history.states).toEqual([]);
    expect(world.entries.get('checkout')!.state).toBe(before);
    expect(world.reconciled).toEqual([]);
    expect(world.log).toEqual(['journey "checkout": CEIL_HTTP_STATUS while the runner itself stalled; not counted against the target']);
  });
});

// ---------------------------------------------------------------- alert delivery marking

/** A dispatcher whose deliveries end when the test says so. */
class FakeDispatcher {
  readonly sent: { event: AlertEvent; skip: number[]; settle: (outcome: SendOutcome) => void }[] = [];

  send(event: AlertEvent, options: { skip?: ReadonlySet<number> } = {}): Promise<SendOutcome> {
    return new Promise((resolve) => {
      this.sent.push({ event, skip: [...(options.skip ?? [])].sort(), settle: resolve });
    });
  }
}

function reconcilerWorld(receivers: number) {
  const clock = new FakeClock(T0);
  const entries = new ProbeEntries(new Map());
  const history = new FakeHistory();
  const dispatcher = new FakeDispatcher();
  const flags = { stopping: false };
  const reconciler = new AlertReconciler({
    clock,
    entries,
    dispatcher,
    receivers,
    origin: () => ({ location: 'eu-west', target: 'production', statusUrl: 'http://127.0.0.1:9/' }),
    history,
    historyWrites: new HistoryWrites('history.db', () => undefined),
    stopping: () => flags.stopping,
  });
  const failing = entryOf(journey(), { health: 'failing', consecutiveFailures: 2, alerting: true, lastRunAt: T0 });
  entries.put(failing);
  return { entries, history, dispatcher, flags, reconciler };
}

function outcomes(...results: ReceiverOutcome[]): SendOutcome {
  return new Map(results.map((result, index) => [index, result]));
}

describe('AlertReconciler', () => {
  it('with no receivers, writes the owed alert as told at once', () => {
    const world = reconcilerWorld(0);
    world.reconciler.reconcile('checkout');
    expect(world.dispatcher.sent).toEqual([]);
    expect(world.entries.get('checkout')!.state.notifiedFailing).toBe(true);
    expect(world.history.states.map((state) => state.notifiedFailing)).toEqual([true]);
  });

  it('writes the alert as told only once every receiver took it', async () => {
    const world = reconcilerWorld(2);
    world.reconciler.reconcile('checkout');
    expect(world.dispatcher.sent).toHaveLength(1);
    expect(world.dispatcher.sent[0]!.event).toMatchObject({ kind: 'failing', journey: 'checkout', urgent: true, statusUrl: 'http://127.0.0.1:9/' });
    expect(world.entries.get('checkout')!.state.notifiedFailing).toBeUndefined();
    world.dispatcher.sent[0]!.settle(outcomes('delivered', 'rejected'));
    await world.reconciler.settled();
    expect(world.entries.get('checkout')!.state.notifiedFailing).toBe(true);
    expect(world.history.states).toHaveLength(1);
  });

  it('sends one alert per journey at a time, and re-sends to the receivers that did not take it', async () => {
    const world = reconcilerWorld(2);
    world.reconciler.reconcile('checkout');
    world.reconciler.reconcile('checkout');
    expect(world.dispatcher.sent).toHaveLength(1);
    world.dispatcher.sent[0]!.settle(outcomes('delivered', 'failed'));
    await world.reconciler.settled();
    expect(world.entries.get('checkout')!.state.notifiedFailing).toBeUndefined();
    // The next run of the journey owes it again: only receiver 1 hears it.
    world.reconciler.reconcile('checkout');
    expect(world.dispatcher.sent[1]!.skip).toEqual([0]);
    world.dispatcher.sent[1]!.settle(new Map([[1, 'delivered']]));
    await world.reconciler.settled();
    expect(world.entries.get('checkout')!.state.notifiedFailing).toBe(true);
  });

  it('sends the recovery at once when the journey recovered while its failing alert was on its way', async () => {
    const world = reconcilerWorld(1);
    world.reconciler.reconcile('checkout');
    const entry = world.entries.get('checkout')!;
    world.entries.setState({ ...entry.state, health: 'passing', alerting: false, consecutiveFailures: 0, lastRunAt: T0 + MINUTE, lastPassAt: T0 + MINUTE });
    world.dispatcher.sent[0]!.settle(outcomes('delivered'));
    await flushMicrotasks();
    expect(world.dispatcher.sent.map((sent) => sent.event.kind)).toEqual(['failing', 'recovered']);
    world.dispatcher.sent[1]!.settle(outcomes('delivered'));
    await world.reconciler.settled();
    expect(world.entries.get('checkout')!.state).toMatchObject({ alerting: false, notifiedFailing: false });
  });

  it('starts nothing while the daemon stops: the alert stays owed for the next start', () => {
    const world = reconcilerWorld(1);
    world.flags.stopping = true;
    world.reconciler.reconcile('checkout');
    expect(world.dispatcher.sent).toEqual([]);
    expect(owedAlert(world.entries.get('checkout')!.state)).toBe('failing');
  });

  it('writes a delivery that ends after a reload removed the journey to its saved state', async () => {
    const world = reconcilerWorld(1);
    world.entries.setState(world.entries.get('checkout')!.state);
    world.reconciler.reconcile('checkout');
    world.entries.remove('checkout');
    world.dispatcher.sent[0]!.settle(outcomes('delivered'));
    await world.reconciler.settled();
    expect(world.entries.savedState('checkout')!.notifiedFailing).toBe(true);
    expect(world.dispatcher.sent).toHaveLength(1);
  });
});

describe('one journey against several targets (serve --config)', () => {
  const web1 = { name: 'web/127.0.0.1:8081', group: 'web', vars: {} };
  const web2 = { name: 'web/127.0.0.1:8082', group: 'web', vars: {} };
  const targeted = (target: typeof web1, state: Partial<PersistedState> = {}): ProbeEntry => {
    const entry = entryOf(journey(), { ...state, target: target.name });
    return { ...entry, target };
  };

  it('keeps a state per target: a failure against one instance moves only its state, and asks for its own alert', () => {
    const world = pipelineWorld();
    const first = targeted(web1, { health: 'failing', consecutiveFailures: 1, lastRunAt: T0 - MINUTE });
    const second = targeted(web2, { health: 'passing', lastRunAt: T0 - MINUTE });
    world.entries.put(first);
    world.entries.put(second);
    world.pipeline.finish({ ...run('failed', T0), target: web1.name }, first);
    expect(world.entries.get(`checkout @ ${web1.name}`)!.state).toMatchObject({ health: 'failing', consecutiveFailures: 2, alerting: true, target: web1.name });
    expect(world.entries.get(`checkout @ ${web2.name}`)!.state).toMatchObject({ health: 'passing', consecutiveFailures: 0 });
    expect(world.history.states.map((state) => state.target)).toEqual([web1.name]);
    expect(world.reconciled).toEqual([`checkout @ ${web1.name}`]);
  });

  it('an alert names the instance it failed against as its target', () => {
    const clock = new FakeClock(T0);
    const entries = new ProbeEntries(new Map());
    const dispatcher = new FakeDispatcher();
    const reconciler = new AlertReconciler({
      clock,
      entries,
      dispatcher,
      receivers: 1,
      origin: () => ({ location: 'eu-west', target: 'all', statusUrl: 'http://127.0.0.1:9/' }),
      history: new FakeHistory(),
      historyWrites: new HistoryWrites('history.db', () => undefined),
      stopping: () => false,
    });
    entries.put(targeted(web2, { health: 'failing', consecutiveFailures: 2, alerting: true, lastRunAt: T0 }));
    reconciler.reconcile(`checkout @ ${web2.name}`);
    expect(dispatcher.sent[0]!.event).toMatchObject({ kind: 'failing', journey: 'checkout', target: web2.name, location: 'eu-west' });
  });
});
