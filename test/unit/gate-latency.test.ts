import { describe, expect, test } from 'vitest';
import {
  compareLatency,
  holmAdjust,
  median,
  samplesFromResults,
  splitStepKey,
  stepKey,
  stepLabels,
  type LatencyCompareOptions,
  type StepKey,
} from '../../src/gate/latency.js';
import { brokenAttempt, journeyResult, mismatch, passedAttempt, stepResult } from './report-fixture.js';

/** mulberry32: a tiny seeded generator, so every simulated gate is the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Step durations as the engine reports them: log-normal around a median,
 * a slow outlier now and then (a GC pause, a cold connection), rounded to
 * whole milliseconds, which makes ties common.
 */
function latencies(random: () => number, medianMs: number, count: number): number[] {
  return Array.from({ length: count }, () => {
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const outlier = random() < 0.03 ? 3 : 1;
    return Math.round(medianMs * Math.exp(0.25 * gaussian) * outlier);
  });
}

/** Six steps from sub-millisecond (all ties) to 40 ms, as a journey on loopback has. */
const stepMediansMs = [20, 20, 5, 40, 1, 12];

function stepSamples(random: () => number, count: number, slowdown: (step: number) => number = () => 1): Map<StepKey, number[]> {
  return new Map(stepMediansMs.map((medianMs, step) => [stepKey('journey', `step ${step}`), latencies(random, medianMs * slowdown(step), count)]));
}

const policy = { target: 'prod-1', confidence: 0.95, minEffect: 0.2 } satisfies Partial<LatencyCompareOptions>;

function compare(baseline: Map<StepKey, number[]>, current: Map<StepKey, number[]>, overrides: Partial<LatencyCompareOptions> = {}) {
  return compareLatency({ ...policy, baseline, current, ...overrides });
}

/** The share of simulated gates that flag at least one step. */
function flagRate(gates: number, seed: number, run: (random: () => number) => boolean): number {
  const random = mulberry32(seed);
  let flagged = 0;
  for (let gate = 0; gate < gates; gate += 1) if (run(random)) flagged += 1;
  return flagged / gates;
}

describe('step keys', () => {
  test('a key splits back into its journey and step, even when the step holds odd characters', () => {
    const key = stepKey('chat announces who left', 'GET /rooms #2 ✓');
    expect(splitStepKey(key)).toEqual({ journey: 'chat announces who left', step: 'GET /rooms #2 ✓' });
    expect(stepKey('a', 'b c')).not.toBe(stepKey('a b', 'c'));
  });

  test('repeated step names are numbered from their second occurrence', () => {
    expect(stepLabels(['ws.send alice', 'ws.send bob', 'ws.send alice', 'ws.send alice'])).toEqual([
      'ws.send alice',
      'ws.send bob',
      'ws.send alice #2',
      'ws.send alice #3',
    ]);
  });
});

describe('samplesFromResults', () => {
  test("takes the passed steps of each journey's last attempt, pooled across results", () => {
    const flaky = journeyResult({ name: 'drop', status: 'flaky', attempts: [brokenAttempt(1, mismatch), passedAttempt(2)] });
    const failed = journeyResult({ name: 'drop', status: 'failed', attempts: [brokenAttempt(1, mismatch)] });
    const samples = samplesFromResults([flaky, failed]);
    // passedAttempt: create 20 ms, read back 20 ms. brokenAttempt: create 20 ms passed, read back failed, third skipped.
    expect(samples.get(stepKey('drop', 'create'))).toEqual([20, 20]);
    expect(samples.get(stepKey('drop', 'read back'))).toEqual([20]);
    expect(samples.has(stepKey('drop', 'gone once read'))).toBe(false);
  });

  test('samples an HTTP step by its whole request on the wire, not by the checks around it; other steps by their duration', () => {
    const phases = { dnsMs: 0, connectMs: 1, tlsMs: 0, firstByteMs: 9, bodyMs: 1, totalMs: 11 };
    const attempt = {
      ...passedAttempt(),
      steps: [stepResult({ index: 0, name: 'create', durationMs: 25, phases }), stepResult({ index: 1, name: 'read back', kind: 'ws.send', durationMs: 7 })],
    };
    const samples = samplesFromResults([journeyResult({ name: 'drop', status: 'passed', attempts: [attempt] })]);
    expect(samples.get(stepKey('drop', 'create'))).toEqual([11]);
    expect(samples.get(stepKey('drop', 'read back'))).toEqual([7]);
  });

  test("leaves out a step whose time the runner's own stall could account for, and keeps the rest", () => {
    const attempt = {
      ...passedAttempt(),
      steps: [stepResult({ index: 0, name: 'create', durationMs: 20 }), stepResult({ index: 1, name: 'read back', durationMs: 400 })],
    };
    const run = (eventLoopDelayMaxMs: number) => journeyResult({ name: 'drop', status: 'passed', attempts: [attempt], eventLoopDelayMaxMs });
    // A 120 ms freeze dwarfs a 20 ms step but not a 400 ms one; a few ms of lateness taints nothing.
    const samples = samplesFromResults([run(120), run(5)]);
    expect(samples.get(stepKey('drop', 'create'))).toEqual([20]);
    expect(samples.get(stepKey('drop', 'read back'))).toEqual([400, 400]);
  });

  test('numbers repeated step names and applies the redactor to names', () => {
    const attempt = {
      ...passedAttempt(),
      steps: [
        stepResult({ index: 0, name: 'GET /s/hunter2', durationMs: 4 }),
        stepResult({ index: 1, name: 'ws.send alice', durationMs: 1 }),
        stepResult({ index: 2, name: 'ws.send alice', durationMs: 9 }),
      ],
    };
    const result = journeyResult({ name: 'secret hunter2 journey', status: 'passed', attempts: [attempt] });
    const samples = samplesFromResults([result], { redact: (text) => text.replaceAll('hunter2', '***') });
    expect([...samples]).toEqual([
      [stepKey('secret *** journey', 'GET /s/***'), [4]],
      [stepKey('secret *** journey', 'ws.send alice'), [1]],
      [stepKey('secret *** journey', 'ws.send alice #2'), [9]],
    ]);
  });
});

describe('holmAdjust and median', () => {
  test("Holm's adjusted p-values, in the input's order", () => {
    // Sorted: 0.005×4 = 0.02, 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 = 0.04 → kept at 0.06.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adjusted.map((p) => Number(p.toFixed(10)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holmAdjust([0.9, 0.2])).toEqual([0.9, 0.4]);
    expect(holmAdjust([0.5, 0.9])).toEqual([1, 1]);
    expect(holmAdjust([])).toEqual([]);
  });

  test('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('compareLatency', () => {
  test('a latency regression is caught: a clear 2× slowdown, 10 against 10', () => {
    const random = mulberry32(7);
    const baseline = new Map([[stepKey('drop', 'read back'), latencies(random, 20, 10)]]);
    const current = new Map([[stepKey('drop', 'read back'), latencies(random, 40, 10)]]);
    const [comparison, ...rest] = compare(baseline, current);
    expect(rest).toEqual([]);
    expect(comparison).toMatchObject({ target: 'prod-1', journey: 'drop', step: 'read back', baselineSamples: 10, currentSamples: 10, regressed: true });
    expect(comparison!.ratio).toBeGreaterThan(1.6);
    expect(comparison!.pValue).toBeLessThan(0.01);
  });

  test('a 50 % slowdown of one step in six is caught in most simulated gates of 8 against 8', () => {
    const caught = flagRate(500, 11, (random) => {
      const baseline = stepSamples(random, 8);
      const current = stepSamples(random, 8, (step) => (step === 0 ? 1.5 : 1));
      return compare(baseline, current).some((comparison) => comparison.regressed && comparison.step === 'step 0');
    });
    console.info(`share of gates that caught a 50 % slowdown (8 vs 8): ${caught}`);
    expect(caught).toBeGreaterThan(0.5);
  });

  test('no regression is flagged on an unchanged build: false-positive rate over 2000 simulated gates', () => {
    const gates = 2000;
    const flagged = { policy: 0, statisticsOnly: 0 };
    const random = mulberry32(2024);
    for (let gate = 0; gate < gates; gate += 1) {
      const baseline = stepSamples(random, 8);
      const current = stepSamples(random, 8);
      if (compare(baseline, current).some((comparison) => comparison.regressed)) flagged.policy += 1;
      // Without the effect-size floors, to show the Holm-corrected test alone keeps its promise.
      if (compare(baseline, current, { minEffect: 0, minDeltaMs: 0 }).some((comparison) => comparison.regressed)) flagged.statisticsOnly += 1;
    }
    const rates = { policy: flagged.policy / gates, statisticsOnly: flagged.statisticsOnly / gates };
    console.info(`false-positive rate per gate (6 steps, 8 vs 8, 95 %): ${JSON.stringify(rates)}`);
    expect(rates.statisticsOnly).toBeLessThanOrEqual(1 - policy.confidence);
    expect(rates.policy).toBeLessThanOrEqual(rates.statisticsOnly);
  });

  test('looking after every bake round inflates false alarms unless `looks` splits the error across them', () => {
    // Like the bake window: the current samples grow by one per round and
    // the comparison is made after each round from the fifth to the twelfth.
    const firstLook = 5;
    const lastLook = 12;
    const falseAlarm = (looks: number) => (random: () => number) => {
      const baseline = stepSamples(random, 10);
      const current = stepSamples(random, lastLook);
      for (let round = firstLook; round <= lastLook; round += 1) {
        const sofar = new Map([...current].map(([key, values]) => [key, values.slice(0, round)]));
        if (compare(baseline, sofar, { minEffect: 0, minDeltaMs: 0, looks }).some((comparison) => comparison.regressed)) return true;
      }
      return false;
    };
    const gates = 300;
    const everyLookAtFullLevel = flagRate(gates, 99, falseAlarm(1));
    const splitAcrossLooks = flagRate(gates, 99, falseAlarm(lastLook - firstLook + 1));
    console.info(`false-positive rate with ${lastLook - firstLook + 1} looks: ${JSON.stringify({ everyLookAtFullLevel, splitAcrossLooks })}`);
    expect(splitAcrossLooks).toBeLessThanOrEqual(1 - policy.confidence);
    expect(everyLookAtFullLevel).toBeGreaterThan(splitAcrossLooks);
  });

  test('Holm: a step significant on its own is not flagged when it is one of many compared', () => {
    const key = stepKey('drop', 'read back');
    const baseline = new Map([[key, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]]]);
    // Raw p ≈ 0.023: below 0.05, above 0.05 / 6.
    const current = new Map([[key, [21, 23, 25, 27, 28, 30, 31, 32, 33, 35]]]);
    const statisticsOnly = { minEffect: 0, minDeltaMs: 0 };
    const [alone] = compare(baseline, current, statisticsOnly);
    expect(alone!.pValue).toBeLessThan(0.05);
    expect(alone!.regressed).toBe(true);

    // Five more steps that did not change at all.
    for (let step = 0; step < 5; step += 1) {
      baseline.set(stepKey('drop', `other ${step}`), [10, 11, 12, 13, 14, 15]);
      current.set(stepKey('drop', `other ${step}`), [10, 11, 12, 13, 14, 15]);
    }
    const amongSix = compare(baseline, current, statisticsOnly).find((comparison) => comparison.step === 'read back');
    expect(amongSix!.pValue).toBeCloseTo(6 * alone!.pValue, 12);
    expect(amongSix!.pValue).toBeGreaterThanOrEqual(0.05);
    expect(amongSix!.regressed).toBe(false);
  });

  test('a tiny but significant shift below minEffect is not flagged', () => {
    const key = stepKey('drop', 'create');
    // +10 % on every value: as significant as it gets, but under the 20 % that counts.
    const baseline = new Map([[key, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]]]);
    const current = new Map([[key, [110, 111, 112, 113, 114, 115, 116, 117, 118, 119]]]);
    const [comparison] = compare(baseline, current);
    expect(comparison!.pValue).toBeLessThan(0.001);
    expect(comparison!.ratio).toBeCloseTo(114.5 / 104.5, 10);
    expect(comparison!.regressed).toBe(false);
    expect(compare(baseline, current, { minEffect: 0.05 })[0]!.regressed).toBe(true);
  });

  test('a slowdown under the absolute floor is not flagged, however large as a ratio', () => {
    const key = stepKey('chat', 'ws.send alice');
    const baseline = new Map([[key, [1, 1, 1, 1, 1, 1, 1, 1]]]);
    const current = new Map([[key, [2, 2, 2, 2, 2, 2, 2, 2]]]);
    const [comparison] = compare(baseline, current);
    expect(comparison!.ratio).toBe(2);
    expect(comparison!.pValue).toBeLessThan(0.001);
    expect(comparison!.regressed).toBe(false);
    expect(compare(baseline, current, { minDeltaMs: 1 })[0]!.regressed).toBe(true);
  });

  test('too few samples: reported, never flagged', () => {
    const key = stepKey('drop', 'read back');
    const baseline = new Map([[key, [20, 21, 22, 23]]]);
    const current = new Map([[key, [200, 210, 220, 230, 240, 250]]]);
    const [comparison] = compare(baseline, current);
    expect(comparison).toMatchObject({ baselineSamples: 4, currentSamples: 6, pValue: 1, regressed: false });
    expect(comparison!.currentMedianMs).toBe(225);
    expect(compare(baseline, current, { minSamples: 4 })[0]!.regressed).toBe(true);
  });

  test('ties: identical durations give no NaN and no flag; a 0 ms baseline keeps the ratio finite', () => {
    const key = stepKey('chat', 'ws.close bob');
    const same = compare(new Map([[key, Array<number>(8).fill(3)]]), new Map([[key, Array<number>(8).fill(3)]]));
    expect(same).toEqual([
      {
        target: 'prod-1',
        journey: 'chat',
        step: 'ws.close bob',
        baselineMedianMs: 3,
        currentMedianMs: 3,
        ratio: 1,
        pValue: 1,
        baselineSamples: 8,
        currentSamples: 8,
        regressed: false,
      },
    ]);

    const zeros = compare(new Map([[key, Array<number>(8).fill(0)]]), new Map([[key, Array<number>(8).fill(0)]]));
    expect(zeros[0]).toMatchObject({ ratio: 1, pValue: 1, regressed: false });

    const fromZero = compare(new Map([[key, Array<number>(8).fill(0)]]), new Map([[key, [3, 3, 3, 4, 3, 3, 3, 3]]]));
    expect(fromZero[0]!.ratio).toBe(6);
    expect(fromZero[0]!.regressed).toBe(true);
    expect(JSON.parse(JSON.stringify(fromZero))).toEqual(fromZero);
  });

  test('steps present on one side only are skipped; the order is the current run order', () => {
    const baseline = new Map([
      [stepKey('j', 'removed'), [1, 2, 3, 4, 5]],
      [stepKey('j', 'b'), [1, 2, 3, 4, 5]],
      [stepKey('j', 'a'), [1, 2, 3, 4, 5]],
    ]);
    const current = new Map([
      [stepKey('j', 'a'), [1, 2, 3, 4, 5]],
      [stepKey('j', 'added'), [1, 2, 3, 4, 5]],
      [stepKey('j', 'b'), [1, 2, 3, 4, 5]],
    ]);
    expect(compare(baseline, current).map((comparison) => comparison.step)).toEqual(['a', 'b']);
  });

  test('options out of range are refused with every problem named', () => {
    const empty = new Map<StepKey, number[]>();
    expect(() => compare(empty, empty, { confidence: 1 })).toThrow(/confidence must be between 0 and 1/);
    expect(() => compare(empty, empty, { minEffect: -0.1, minSamples: 0 })).toThrow(/minEffect must be 0 or more.*minSamples must be a whole number/);
    expect(() => compare(empty, empty, { looks: 0 })).toThrow(/looks must be a whole number/);
  });
});
