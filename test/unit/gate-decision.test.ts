import { describe, expect, it } from 'vitest';
import type { AttemptResult, JourneyResult } from '../../src/core/result.js';
import {
  decideRecovery,
  decideRound,
  initialGateState,
  INTERRUPTED,
  MIN_LATENCY_SAMPLES,
  type DecisionContext,
  type GateBaseline,
  type GateState,
  type GateStep,
} from '../../src/gate/decision.js';
import { runGate, type GateClock } from '../../src/gate/gate.js';
import { stepKey } from '../../src/gate/latency.js';
import type { GateFinding, GatePolicy } from '../../src/gate/model.js';
import type { RoundJudgement } from '../../src/gate/policy.js';
import type { RoundResult } from '../../src/gate/rounds.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';

/**
 * Every exit of the gate's bake, decided by a pure function of the state, the
 * round's judgement and the clock's time: no network, no timer, no sleep.
 */

const location = { file: 'journeys/chat.yaml', line: 3, column: 5 };
const MINUTE = 60_000;

function journeyResult(status: JourneyResult['status'], options: { stepMs?: number; runnerStallMs?: number } = {}): JourneyResult {
  const failure =
    status === 'passed'
      ? undefined
      : {
          class: 'timeout' as const,
          code: 'CEIL_TIMEOUT_STEP',
          message: 'the step timed out',
          ...(options.runnerStallMs !== undefined ? { runnerStallMs: options.runnerStallMs } : {}),
        };
  const attempt: AttemptResult = {
    attempt: 1,
    status: status === 'passed' ? 'passed' : 'failed',
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: options.stepMs ?? 10,
    cleanupErrors: [],
    steps: [
      {
        index: 0,
        name: 'the step',
        kind: 'http',
        location,
        status: status === 'passed' ? 'passed' : 'failed',
        durationMs: options.stepMs ?? 10,
        assertions: 1,
        ...(failure ? { failure } : {}),
      },
    ],
    ...(failure ? { failure, failedStep: 0 } : {}),
  };
  return {
    name: 'chat',
    file: location.file,
    tags: [],
    status,
    startedAt: attempt.startedAt,
    durationMs: attempt.durationMs,
    assertions: 1,
    attempts: [attempt],
  };
}

function roundOf(number: number, targets: Record<string, JourneyResult[]>, durationMs = 1_000): RoundResult {
  return { round: number, startedAt: 0, durationMs, targets: Object.entries(targets).map(([target, journeys]) => ({ target, journeys })) };
}

function finding(overrides: Partial<GateFinding> = {}): GateFinding {
  return {
    kind: 'journey',
    target: 'a',
    journey: 'chat',
    step: 'the step',
    critical: false,
    round: 1,
    code: 'CEIL_HTTP_STATUS',
    message: 'expected 200, got 503',
    ...overrides,
  };
}

function judgement(clean: Record<string, boolean>, overrides: Partial<RoundJudgement> = {}): RoundJudgement {
  return { findings: [], clean: new Map(Object.entries(clean)), failNow: false, infrastructure: false, ...overrides };
}

const noBaseline: GateBaseline = { source: 'none', samples: new Map(), count: 0 };

function context(policy: Partial<GatePolicy> = {}, overrides: Partial<DecisionContext> = {}): DecisionContext {
  return {
    policy: { bakeMs: 10 * MINUTE, everyMs: MINUTE, cleanRounds: 3, confidence: 0.95, minEffect: 0.2, failOnFlaky: false, ...policy },
    targets: ['a', 'b'],
    journeys: new Map(),
    baseline: noBaseline,
    startedAt: 0,
    minRounds: 0,
    redact: (text) => text,
    ...overrides,
  };
}

/** Clean rounds on both targets, one a minute, until a verdict or `limit` rounds. */
function cleanRounds(ctx: DecisionContext, limit: number, stepMs = 10): GateStep[] {
  const steps: GateStep[] = [];
  let state: GateState = initialGateState(ctx.targets);
  for (let n = 1; n <= limit; n++) {
    const step = decideRound(
      state,
      {
        round: roundOf(n, { a: [journeyResult('passed', { stepMs })], b: [journeyResult('passed', { stepMs })] }),
        judgement: judgement({ a: true, b: true }),
        interrupted: false,
        now: n * MINUTE,
      },
      ctx,
    );
    steps.push(step);
    state = step.state;
    if (step.action.kind !== 'next-round') break;
  }
  return steps;
}

describe('decideRound: the exits of the bake', () => {
  it('asks for another round, --every from one round start to the next, while the streak is short', () => {
    const step = decideRound(
      initialGateState(['a', 'b']),
      {
        round: roundOf(1, { a: [journeyResult('passed')], b: [journeyResult('passed')] }, 12_000),
        judgement: judgement({ a: true, b: true }),
        interrupted: false,
        now: 12_000,
      },
      context(),
    );
    expect(step.action).toEqual({ kind: 'next-round', waitMs: MINUTE - 12_000 });
    expect([...step.state.streaks]).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(step.state.results).toHaveLength(2);
  });

  it('waits 0 ms, not a negative time, after a round longer than --every', () => {
    const step = decideRound(
      initialGateState(['a']),
      { round: roundOf(1, { a: [journeyResult('passed')] }, 2 * MINUTE), judgement: judgement({ a: true }), interrupted: false, now: 2 * MINUTE },
      context({}, { targets: ['a'] }),
    );
    expect(step.action).toEqual({ kind: 'next-round', waitMs: 0 });
  });

  it('passes after K clean rounds on every target', () => {
    const steps = cleanRounds(context(), 10);
    expect(steps).toHaveLength(3);
    expect(steps.at(-1)!.action).toEqual({ kind: 'pass', reason: '3 clean rounds on every target' });
  });

  it('passes after one clean round when there is no bake', () => {
    const steps = cleanRounds(context({ bakeMs: 0, everyMs: 0 }), 10);
    expect(steps).toHaveLength(1);
    expect(steps[0]!.action).toEqual({ kind: 'pass', reason: '1 clean round on every target' });
  });

  it("restarts a target's streak after an unclean round, and the other target's streak carries on", () => {
    const ctx = context();
    const first = decideRound(
      initialGateState(ctx.targets),
      {
        round: roundOf(1, { a: [journeyResult('passed')], b: [journeyResult('passed')] }),
        judgement: judgement({ a: true, b: true }),
        interrupted: false,
        now: MINUTE,
      },
      ctx,
    );
    const second = decideRound(
      first.state,
      {
        round: roundOf(2, { a: [journeyResult('failed')], b: [journeyResult('passed')] }),
        judgement: judgement({ a: false, b: true }, { findings: [finding()] }),
        interrupted: false,
        now: 2 * MINUTE,
      },
      ctx,
    );
    expect(second.action.kind).toBe('next-round');
    expect([...second.state.streaks]).toEqual([
      ['a', 0],
      ['b', 2],
    ]);
    expect([...second.state.failedTargets]).toEqual(['a']);
    expect(second.state.findings).toHaveLength(1);
  });

  it('fails at once on a critical failure, with the decisive finding as the reason', () => {
    const critical = finding({ critical: true, target: 'b' });
    const step = decideRound(
      initialGateState(['a', 'b']),
      {
        round: roundOf(1, { a: [journeyResult('passed')], b: [journeyResult('failed')] }),
        judgement: judgement({ a: true, b: false }, { findings: [critical], failNow: true }),
        interrupted: false,
        now: MINUTE,
      },
      context(),
    );
    expect(step.action).toEqual({ kind: 'fail', reason: 'target b: journey "chat", step "the step": expected 200, got 503' });
    expect([...step.state.failedTargets]).toEqual(['b']);
  });

  it('fails when the bake ends before every target had K clean rounds in a row, naming the short ones', () => {
    const ctx = context({ bakeMs: 2 * MINUTE });
    const first = decideRound(
      initialGateState(ctx.targets),
      {
        round: roundOf(1, { a: [journeyResult('passed')], b: [journeyResult('passed')] }),
        judgement: judgement({ a: true, b: true }),
        interrupted: false,
        now: 10_000,
      },
      ctx,
    );
    expect(first.action.kind).toBe('next-round');
    // The next round would start after the bake's end: this is the last look.
    const second = decideRound(
      first.state,
      {
        round: roundOf(2, { a: [journeyResult('passed')], b: [journeyResult('passed')] }),
        judgement: judgement({ a: true, b: true }),
        interrupted: false,
        now: MINUTE + 10_000,
      },
      ctx,
    );
    expect(second.action).toEqual({ kind: 'fail', reason: 'the bake ended before a, b had 3 clean rounds in a row' });
  });

  it("fails at the bake's end with the last round's failure as the reason when there is one", () => {
    const ctx = context({ bakeMs: MINUTE });
    const step = decideRound(
      initialGateState(ctx.targets),
      {
        round: roundOf(1, { a: [journeyResult('failed')], b: [journeyResult('passed')] }),
        judgement: judgement({ a: false, b: true }, { findings: [finding()] }),
        interrupted: false,
        now: 1_000,
      },
      ctx,
    );
    expect(step.action).toEqual({ kind: 'fail', reason: 'target a: journey "chat", step "the step": expected 200, got 503' });
  });

  it('is inconclusive when the gate was interrupted during the round, and counts nothing from it', () => {
    const step = decideRound(
      initialGateState(['a']),
      {
        round: roundOf(1, { a: [journeyResult('failed')] }),
        judgement: judgement({ a: false }, { findings: [finding({ critical: true })], failNow: true }),
        interrupted: true,
        now: MINUTE,
      },
      context({}, { targets: ['a'] }),
    );
    expect(step.action).toBe(INTERRUPTED);
    expect(step.state.rounds).toBe(1);
    expect(step.state.findings).toEqual([]);
    expect(step.state.results).toEqual([]);
  });

  it("is inconclusive with exit 2 material when the gate's own inputs are wrong, never a failure", () => {
    const missing = finding({ critical: true, code: 'CEIL_TEMPLATE_UNDEFINED', failureClass: 'config', message: 'secret "TOKEN" is not set' });
    const step = decideRound(
      initialGateState(['a']),
      {
        round: roundOf(1, { a: [journeyResult('failed')] }),
        judgement: judgement({ a: false }, { findings: [missing], configProblem: missing }),
        interrupted: false,
        now: MINUTE,
      },
      context({}, { targets: ['a'] }),
    );
    expect(step.action).toMatchObject({ kind: 'inconclusive', invalidInput: true });
    expect(step.action.kind !== 'next-round' && step.action.reason).toContain("fix the gate's inputs");
    expect(step.state.findings).toEqual([missing]);
  });

  it('is inconclusive when the runner itself stalled, and records why', () => {
    const step = decideRound(
      initialGateState(['a']),
      {
        round: roundOf(1, { a: [journeyResult('failed', { runnerStallMs: 900 })] }),
        judgement: judgement({ a: false }, { findings: [finding({ critical: true })], failNow: true }),
        interrupted: false,
        now: MINUTE,
      },
      context({}, { targets: ['a'] }),
    );
    expect(step.action.kind).toBe('inconclusive');
    expect(step.action.kind !== 'next-round' && step.action.reason).toContain('says nothing about the deploy');
    expect(step.state.findings.map((item) => item.code)).toContain('CEIL_GATE_RUNNER_STALLED');
  });

  it('is inconclusive when every target failed at DNS', () => {
    const step = decideRound(
      initialGateState(['a']),
      { round: roundOf(1, { a: [journeyResult('failed')] }), judgement: judgement({ a: false }, { infrastructure: true }), interrupted: false, now: MINUTE },
      context({}, { targets: ['a'] }),
    );
    expect(step.action.kind).toBe('inconclusive');
    expect(step.action.kind !== 'next-round' && step.action.reason).toMatch(/DNS/);
    expect(step.state.findings.map((item) => item.code)).toEqual(['CEIL_GATE_INFRASTRUCTURE']);
  });

  describe('against a baseline', () => {
    const baseline = (ms: number): GateBaseline => ({
      source: 'file',
      samples: new Map([[stepKey('chat', 'the step'), [ms, ms + 1, ms + 2, ms, ms + 1, ms + 2, ms, ms + 1]]]),
      count: 8,
    });

    it(`waits for ${MIN_LATENCY_SAMPLES} rounds of samples, then passes an unchanged build`, () => {
      const steps = cleanRounds(context({}, { baseline: baseline(10) }), 10, 11);
      expect(steps).toHaveLength(MIN_LATENCY_SAMPLES);
      expect(steps.at(-1)!.action).toEqual({ kind: 'pass', reason: '3 clean rounds on every target, no step slower than the baseline' });
      expect(steps.at(-1)!.state.latency.length).toBeGreaterThan(0);
    });

    it('fails a build whose step got significantly slower, naming the target and the step', () => {
      const steps = cleanRounds(context({}, { baseline: baseline(10) }), 10, 100);
      expect(steps).toHaveLength(MIN_LATENCY_SAMPLES);
      const last = steps.at(-1)!;
      expect(last.action.kind).toBe('fail');
      expect(last.action.kind !== 'next-round' && last.action.reason).toMatch(
        /^target a: journey "chat", step "the step" is significantly slower than the baseline/,
      );
      expect(last.state.findings.map((item) => [item.code, item.target])).toEqual([
        ['CEIL_GATE_LATENCY', 'a'],
        ['CEIL_GATE_LATENCY', 'b'],
      ]);
      expect([...last.state.failedTargets]).toEqual(['a', 'b']);
    });
  });

  it("keeps baking to --baseline-out's minimum rounds before passing", () => {
    expect(cleanRounds(context({}, { minRounds: 7 }), 20)).toHaveLength(7);
  });
});

describe('decideRecovery', () => {
  const base = { interrupted: false, now: 0, until: 30_000, everyMs: MINUTE };

  it('ends the wait on the first round green everywhere', () => {
    expect(decideRecovery({ ...base, judgement: judgement({ a: true, b: true }) })).toEqual({ kind: 'recovered' });
  });

  it('pauses at most 5 s between recovery rounds', () => {
    expect(decideRecovery({ ...base, judgement: judgement({ a: true, b: false }) })).toEqual({ kind: 'next-round', waitMs: 5_000 });
    expect(decideRecovery({ ...base, everyMs: 1_000, judgement: judgement({ a: false }) })).toEqual({ kind: 'next-round', waitMs: 1_000 });
  });

  it('gives up when the next round would start after --recover-within', () => {
    expect(decideRecovery({ ...base, now: 26_000, judgement: judgement({ a: false }) })).toEqual({ kind: 'not-recovered' });
  });

  it('gives up when interrupted', () => {
    expect(decideRecovery({ ...base, interrupted: true, judgement: judgement({ a: false }) })).toEqual({ kind: 'not-recovered' });
  });
});

describe('runGate on a test clock', () => {
  const START = Date.parse('2026-12-01T12:00:00.000Z');

  /** Time moves only when the gate sleeps. */
  function testClock(): GateClock & { sleeps: number[] } {
    let now = START;
    const sleeps: number[] = [];
    return {
      sleeps,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    };
  }

  async function journey(yaml: string): Promise<Journey> {
    const loaded = await loadJourneyText('clock.yaml', yaml);
    if (!loaded.journey) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
    return loaded.journey;
  }

  async function gateWith(yaml: string, policy: Partial<GatePolicy>, clock: GateClock) {
    const redactor = new Redactor();
    return runGate({
      command: 'gate',
      journeys: [await journey(yaml)],
      targets: [{ name: 'only', vars: {} }],
      policy: { bakeMs: 10 * MINUTE, everyMs: MINUTE, cleanRounds: 3, confidence: 0.95, minEffect: 0.2, failOnFlaky: false, ...policy },
      baseline: noBaseline,
      run: { concurrency: 1, vars: {}, env: () => undefined, secret: () => undefined, redactor, outDir: 'ceiling-out' },
      redactor,
      signal: new AbortController().signal,
      version: 'test',
      log: () => undefined,
      recoverWithinMs: 0,
      clock,
    });
  }

  it("bakes a ten-minute gate through three rounds without waiting, and stamps the verdict with the clock's time", async () => {
    const clock = testClock();
    const { result } = await gateWith('name: fine\nsteps:\n  - assert: { value: true }\n', {}, clock);
    expect(result).toMatchObject({ verdict: 'pass', exitCode: 0, rounds: 3, startedAt: new Date(START).toISOString() });
    expect(clock.sleeps).toHaveLength(2);
    expect(result.finishedAt).toBe(new Date(clock.now()).toISOString());
  });

  it('fails when the bake ends on the clock, and measures the time to detect on it', async () => {
    const clock = testClock();
    const { result } = await gateWith('name: broken\nsteps:\n  - assert: { value: false }\n', { bakeMs: 2 * MINUTE }, clock);
    // Rounds start at 0, 1 and 2 minutes; a fourth would start after the bake.
    expect(result).toMatchObject({ verdict: 'fail', exitCode: 1, rounds: 3 });
    expect(result.timeToDetectMs).toBe(clock.now() - START);
    expect(clock.sleeps).toHaveLength(2);
  });
});
