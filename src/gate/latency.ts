import { lastAttempt, type JourneyResult } from '../core/result.js';
import { mannWhitneyGreater } from './mann-whitney.js';
import type { LatencyComparison } from './model.js';

/**
 * Did a step get slower than its baseline? Per target, each step's durations
 * after the deploy are compared with the baseline's by a one-sided
 * Mann–Whitney U test, corrected for testing many steps at once, and a step
 * counts as regressed only when the slowdown is also large enough to matter.
 */

/**
 * `${journey}\u0000${step}`. It splits back at the first NUL, which no real
 * journey name holds (YAML can only spell one as an escape).
 */
export type StepKey = string;

const keySeparator = '\u0000';

export function stepKey(journey: string, step: string): StepKey {
  return `${journey}${keySeparator}${step}`;
}

export function splitStepKey(key: StepKey): { journey: string; step: string } {
  const at = key.indexOf(keySeparator);
  return at === -1 ? { journey: key, step: '' } : { journey: key.slice(0, at), step: key.slice(at + 1) };
}

/**
 * Step names as latency keys: a journey may run two steps with one name (two
 * unnamed `ws.send alice` steps), and pooling their durations would mix two
 * distributions, so the second becomes `ws.send alice #2`. The serve history
 * and a fresh run list a journey's steps in the same order, so the numbering
 * matches on both sides.
 */
export function stepLabels(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const occurrence = (seen.get(name) ?? 0) + 1;
    seen.set(name, occurrence);
    return occurrence === 1 ? name : `${name} #${occurrence}`;
  });
}

export interface SampleOptions {
  /**
   * Applied to journey and step names before they become keys. Pass the run's
   * redactor, so keys match the (redacted) serve history and no secret ends up
   * in a baseline file.
   */
  redact?: (text: string) => string;
}

/** Durations of the steps that passed in each journey's last attempt, keyed by journey and step. */
/**
 * A journey during which the runner's own event loop froze this long (ms)...
 * (the sampler's freeze threshold: a merely busy machine delays ticks by a few ms)
 */
const RUNNER_FREEZE_MS = 30;
/** ...and for at least this share of a step's time: that step's timing measures Ceiling, not the service. */
const RUNNER_TAINT_SHARE = 0.5;

/** True when the runner's own stall could account for much of a timing, so it must not count as the service's. */
export function runnerTainted(journeyDelayMs: number | undefined, sampleMs: number): boolean {
  return journeyDelayMs !== undefined && journeyDelayMs >= RUNNER_FREEZE_MS && journeyDelayMs >= RUNNER_TAINT_SHARE * sampleMs;
}

export function samplesFromResults(results: readonly JourneyResult[], options: SampleOptions = {}): Map<StepKey, number[]> {
  const redact = options.redact ?? ((text: string) => text);
  const samples = new Map<StepKey, number[]>();
  for (const result of results) {
    const steps = lastAttempt(result)?.steps ?? [];
    const journey = redact(result.name);
    const labels = stepLabels(steps.map((step) => redact(step.name)));
    steps.forEach((step, index) => {
      // A failed step's time measures the failure (a timeout, a refused
      // connection), not the service's speed.
      // An HTTP step is judged by its whole request on the wire, not by the
      // checks and captures around it.
      const ms = step.phases?.totalMs ?? step.durationMs;
      if (step.status !== 'passed' || !isDuration(ms)) return;
      // On a starved machine the runner's lateness lands in every timing; a
      // verdict must not call that the service getting slower.
      if (runnerTainted(result.eventLoopDelayMaxMs, ms)) return;
      addSample(samples, stepKey(journey, labels[index]!), ms);
    });
  }
  return samples;
}

export function isDuration(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

export function addSample(samples: Map<StepKey, number[]>, key: StepKey, durationMs: number): void {
  const list = samples.get(key);
  if (list) list.push(durationMs);
  else samples.set(key, [durationMs]);
}

export interface LatencyCompareOptions {
  target: string;
  baseline: ReadonlyMap<StepKey, readonly number[]>;
  current: ReadonlyMap<StepKey, readonly number[]>;
  /** e.g. 0.95: the chance, across all of this target's steps together, of not flagging an unchanged build. */
  confidence: number;
  /** Smallest slowdown of the median that counts, as a fraction: 0.2 = 20 % slower. */
  minEffect: number;
  /** Below this many durations on either side a step is reported but never flagged; 5 unless set. */
  minSamples?: number;
  /**
   * Smallest slowdown of the median that counts, in ms; 2 unless set.
   * Durations are whole milliseconds, so on loopback a 1 ms → 2 ms step is
   * "100 % slower" and must not fail a deploy.
   */
  minDeltaMs?: number;
  /**
   * How many times the bake window will run this comparison on growing
   * samples; 1 unless set. Each look is another chance of a false alarm, so
   * the allowed error is split evenly across the looks (Bonferroni over time).
   */
  looks?: number;
}

export const defaultMinSamples = 5;
export const defaultMinDeltaMs = 2;

/**
 * One comparison per step that has durations on both sides, in the order the
 * current run met them; steps on one side only are skipped.
 *
 * Many steps tested at 95 % each would flag one of them far more often than
 * 5 % of the time, so the p-values are Holm-adjusted across the steps tested
 * for this target: that keeps the chance of any false flag at or below
 * 1 − confidence, and it never flags less than Bonferroni would. `pValue` is
 * the adjusted one, so `pValue < 1 − confidence` reads true exactly when the
 * step was statistically significant.
 */
export function compareLatency(options: LatencyCompareOptions): LatencyComparison[] {
  const minSamples = options.minSamples ?? defaultMinSamples;
  const minDeltaMs = options.minDeltaMs ?? defaultMinDeltaMs;
  const looks = options.looks ?? 1;
  checkOptions(options, minSamples, minDeltaMs, looks);
  const alpha = (1 - options.confidence) / looks;

  const rows: { key: StepKey; baseline: readonly number[]; current: readonly number[]; rawP: number; tested: boolean }[] = [];
  for (const [key, current] of options.current) {
    const baseline = options.baseline.get(key);
    if (!baseline || baseline.length === 0 || current.length === 0) continue;
    const tested = baseline.length >= minSamples && current.length >= minSamples;
    const rawP = tested ? mannWhitneyGreater(baseline, current).pGreater : 1;
    rows.push({ key, baseline, current, rawP, tested });
  }

  const adjusted = holmAdjust(rows.filter((row) => row.tested).map((row) => row.rawP));
  let testedIndex = 0;
  return rows.map((row) => {
    const pValue = row.tested ? adjusted[testedIndex++]! : 1;
    const baselineMedianMs = median(row.baseline);
    const currentMedianMs = median(row.current);
    const slowEnough = currentMedianMs >= baselineMedianMs * (1 + options.minEffect) && currentMedianMs - baselineMedianMs >= minDeltaMs;
    const { journey, step } = splitStepKey(row.key);
    return {
      target: options.target,
      journey,
      step,
      baselineMedianMs,
      currentMedianMs,
      ratio: medianRatio(baselineMedianMs, currentMedianMs),
      pValue,
      baselineSamples: row.baseline.length,
      currentSamples: row.current.length,
      regressed: row.tested && pValue < alpha && slowEnough,
    };
  });
}

function checkOptions(options: LatencyCompareOptions, minSamples: number, minDeltaMs: number, looks: number): void {
  const problems: string[] = [];
  if (!(options.confidence > 0 && options.confidence < 1)) problems.push(`confidence must be between 0 and 1, exclusive (got ${options.confidence})`);
  if (!(options.minEffect >= 0) || !Number.isFinite(options.minEffect)) problems.push(`minEffect must be 0 or more (got ${options.minEffect})`);
  if (!Number.isInteger(minSamples) || minSamples < 1) problems.push(`minSamples must be a whole number of at least 1 (got ${minSamples})`);
  if (!(minDeltaMs >= 0) || !Number.isFinite(minDeltaMs)) problems.push(`minDeltaMs must be 0 or more (got ${minDeltaMs})`);
  if (!Number.isInteger(looks) || looks < 1) problems.push(`looks must be a whole number of at least 1 (got ${looks})`);
  if (problems.length > 0) throw new RangeError(`compareLatency: ${problems.join('; ')}`);
}

/**
 * Holm's step-down adjustment, as adjusted p-values in the input's order:
 * the i-th smallest of m becomes max over j ≤ i of min(1, (m − j + 1) p_(j)).
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((_, index) => index).sort((left, right) => pValues[left]! - pValues[right]!);
  const adjusted = new Array<number>(m).fill(1);
  let runningMax = 0;
  order.forEach((index, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (m - rank) * pValues[index]!));
    adjusted[index] = runningMax;
  });
  return adjusted;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * current / baseline. Durations are whole milliseconds, so a 0 ms baseline
 * median means "under half a millisecond": it is taken as 0.5 ms, which keeps
 * the ratio finite (JSON has no Infinity) and still says how much slower.
 */
function medianRatio(baselineMedianMs: number, currentMedianMs: number): number {
  if (baselineMedianMs === 0 && currentMedianMs === 0) return 1;
  return currentMedianMs / (baselineMedianMs === 0 ? 0.5 : baselineMedianMs);
}
