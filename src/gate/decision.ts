import type { Journey } from '../journey/journey.js';
import { formatMs } from '../journey/duration.js';
import type { JourneyResult } from '../core/result.js';
import { compareLatency, samplesFromResults, type StepKey } from './latency.js';
import type { GateFinding, GatePolicy, LatencyComparison, Verdict } from './model.js';
import { describeFinding, type RoundJudgement } from './policy.js';
import { runnerStallOf, type RoundResult } from './rounds.js';

/**
 * What the gate does after each round, as pure functions of the state so far,
 * the round's judgement and the clock's time: another round, or a verdict.
 * runGate only runs rounds, sleeps and acts on the answer, so every exit of
 * the bake is tested here without a network or a timer.
 */

export interface GateBaseline {
  source: 'file' | 'history' | 'none';
  path?: string;
  samples: ReadonlyMap<StepKey, readonly number[]>;
  count: number;
}

/** What stays the same for the whole gate. */
export interface DecisionContext {
  policy: GatePolicy;
  /** Target names, in config order. */
  targets: readonly string[];
  journeys: ReadonlyMap<string, Journey>;
  baseline: GateBaseline;
  /** The gate's start, on the gate's clock: the bake is measured from here. */
  startedAt: number;
  /** Do not pass before this many rounds (unless the bake ends): a run recording a baseline needs samples. */
  minRounds: number;
  /** Step names become sample keys; they pass through the redactor first. */
  redact: (text: string) => string;
}

export interface GateState {
  rounds: number;
  /** Clean rounds in a row, per target. */
  streaks: ReadonlyMap<string, number>;
  /** Step durations of the bake so far, per target. */
  samples: ReadonlyMap<string, ReadonlyMap<StepKey, readonly number[]>>;
  failedTargets: ReadonlySet<string>;
  findings: readonly GateFinding[];
  /** Every journey result of the counted rounds, for --baseline-out. */
  results: readonly JourneyResult[];
  latency: readonly LatencyComparison[];
  last?: RoundResult;
}

export interface RoundInput {
  round: RoundResult;
  judgement: RoundJudgement;
  /** The gate's signal was aborted while the round ran. */
  interrupted: boolean;
  /** The clock's time once the round has been judged. */
  now: number;
}

export type GateVerdictAction = { kind: Verdict; reason: string; invalidInput?: boolean };
export type GateAction = { kind: 'next-round'; waitMs: number } | GateVerdictAction;

export interface GateStep {
  state: GateState;
  action: GateAction;
}

/** Rounds a baseline comparison needs before the gate may pass (unless the bake ends first). */
export const MIN_LATENCY_SAMPLES = 5;

export const INTERRUPTED: GateVerdictAction = { kind: 'inconclusive', reason: 'the gate was interrupted before it reached a verdict' };

export function initialGateState(targets: readonly string[]): GateState {
  return {
    rounds: 0,
    streaks: new Map(targets.map((target) => [target, 0])),
    samples: new Map(targets.map((target) => [target, new Map()])),
    failedTargets: new Set(),
    findings: [],
    results: [],
    latency: [],
  };
}

/** One bake pass needs K clean rounds; a single-round gate (no bake) needs one. */
export const cleanRoundsNeeded = (policy: GatePolicy): number => (policy.bakeMs === 0 ? 1 : policy.cleanRounds);

/** A journey that failed twice while the runner itself stalled: the runner's problem, never the deploy's. */
export function stalledFinding(round: RoundResult): GateFinding | undefined {
  for (const target of round.targets) {
    for (const journey of target.journeys) {
      const stalledMs = runnerStallOf(journey);
      if (stalledMs === undefined) continue;
      return {
        kind: 'infrastructure',
        target: target.target,
        journey: journey.name,
        critical: false,
        round: round.round,
        code: 'CEIL_GATE_RUNNER_STALLED',
        message: `journey "${journey.name}" failed twice on time while the runner itself stalled (${formatMs(stalledMs)} the second time)`,
      };
    }
  }
  return undefined;
}

/** Streaks, failing targets, samples and results after a round that counts. */
function countRound(state: GateState, round: RoundResult, judgement: RoundJudgement, redact: (text: string) => string): GateState {
  const streaks = new Map(state.streaks);
  const failedTargets = new Set(state.failedTargets);
  const samples = new Map(state.samples);
  const results = [...state.results];
  for (const target of round.targets) {
    results.push(...target.journeys);
    const clean = judgement.clean.get(target.target) === true;
    streaks.set(target.target, clean ? (streaks.get(target.target) ?? 0) + 1 : 0);
    if (clean) failedTargets.delete(target.target);
    else failedTargets.add(target.target);
    const targetSamples = new Map(samples.get(target.target) ?? []);
    for (const [key, durations] of samplesFromResults(target.journeys, { redact })) targetSamples.set(key, [...(targetSamples.get(key) ?? []), ...durations]);
    samples.set(target.target, targetSamples);
  }
  return { ...state, streaks, failedTargets, samples, results };
}

function compareWithBaseline(state: GateState, context: DecisionContext): LatencyComparison[] {
  if (context.baseline.source === 'none') return [];
  return context.targets.flatMap((target) =>
    compareLatency({
      target,
      baseline: context.baseline.samples,
      current: state.samples.get(target) ?? new Map<StepKey, number[]>(),
      confidence: context.policy.confidence,
      minEffect: context.policy.minEffect,
    }),
  );
}

function latencyFinding(comparison: LatencyComparison, round: number, journeys: ReadonlyMap<string, Journey>): GateFinding {
  const file = journeys.get(comparison.journey)?.file;
  return {
    kind: 'latency',
    target: comparison.target,
    journey: comparison.journey,
    step: comparison.step,
    critical: false,
    round,
    code: 'CEIL_GATE_LATENCY',
    message: `step "${comparison.step}" got slower: median ${formatMs(comparison.baselineMedianMs)} → ${formatMs(comparison.currentMedianMs)} (×${comparison.ratio.toFixed(2)}, p=${comparison.pValue.toPrecision(2)})`,
    ...(file !== undefined ? { file } : {}),
  };
}

/** The decision after one bake round. */
export function decideRound(previous: GateState, input: RoundInput, context: DecisionContext): GateStep {
  const { round, judgement } = input;
  const { policy } = context;
  const roundNumber = previous.rounds + 1;
  const started: GateState = { ...previous, rounds: roundNumber, last: round };
  if (input.interrupted) return { state: started, action: INTERRUPTED };

  const judged: GateState = { ...started, findings: [...previous.findings, ...judgement.findings] };
  if (judgement.configProblem) {
    // Rolling back a healthy deploy because the runner lacks a secret would be the worst outcome.
    const reason = `${describeFinding(judgement.configProblem)}; fix the gate's inputs (env, secrets, vars): this says nothing about the deploy`;
    return { state: judged, action: { kind: 'inconclusive', reason, invalidInput: true } };
  }
  const stalled = stalledFinding(round);
  if (stalled) {
    // A rollback on the runner's own stall would punish a deploy for Ceiling's fault.
    const reason = `${stalled.message}: this says nothing about the deploy; give the runner more CPU or fewer concurrent journeys`;
    return { state: { ...judged, findings: [...judged.findings, stalled] }, action: { kind: 'inconclusive', reason } };
  }
  if (judgement.infrastructure) {
    const finding: GateFinding = {
      kind: 'infrastructure',
      target: '*',
      critical: false,
      round: roundNumber,
      code: 'CEIL_GATE_INFRASTRUCTURE',
      message: 'every check on every target failed at DNS',
    };
    const reason = 'every target failed at DNS: the runner cannot resolve the fleet, which says nothing about the deploy; check the runner network';
    return { state: { ...judged, findings: [...judged.findings, finding] }, action: { kind: 'inconclusive', reason } };
  }

  const counted = countRound(judged, round, judgement, context.redact);
  if (judgement.failNow) {
    const decisive = judgement.findings.find(
      (finding) => finding.critical && (finding.kind === 'journey' || finding.kind === 'version' || finding.kind === 'flaky'),
    )!;
    return { state: counted, action: { kind: 'fail', reason: describeFinding(decisive) } };
  }

  const neededClean = cleanRoundsNeeded(policy);
  const bakeOver = input.now + policy.everyMs > context.startedAt + policy.bakeMs;
  const everyTargetClean = [...counted.streaks.values()].every((streak) => streak >= neededClean);
  const enoughSamples = (context.baseline.source === 'none' || roundNumber >= MIN_LATENCY_SAMPLES) && roundNumber >= context.minRounds;
  // The latency test looks once, at the decision point: testing after every round would multiply false alarms.
  if (everyTargetClean && (enoughSamples || bakeOver)) {
    const latency = compareWithBaseline(counted, context);
    const regressed = latency.filter((comparison) => comparison.regressed);
    if (regressed.length > 0) {
      const worst = regressed.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      const failedTargets = new Set(counted.failedTargets);
      for (const comparison of regressed) failedTargets.add(comparison.target);
      const findings = [...counted.findings, ...regressed.map((comparison) => latencyFinding(comparison, roundNumber, context.journeys))];
      const reason = `target ${worst.target}: journey "${worst.journey}", step "${worst.step}" is significantly slower than the baseline (median ${formatMs(worst.baselineMedianMs)} → ${formatMs(worst.currentMedianMs)})`;
      return { state: { ...counted, latency, failedTargets, findings }, action: { kind: 'fail', reason } };
    }
    const reason = `${neededClean} clean round${neededClean === 1 ? '' : 's'} on every target${context.baseline.source === 'none' ? '' : ', no step slower than the baseline'}`;
    return { state: { ...counted, latency }, action: { kind: 'pass', reason } };
  }
  if (bakeOver) {
    const lastFailure = judgement.findings.find((finding) => finding.kind === 'journey' || (policy.failOnFlaky && finding.kind === 'flaky'));
    const short = [...counted.streaks].filter(([, streak]) => streak < neededClean).map(([name]) => name);
    const reason = lastFailure ? describeFinding(lastFailure) : `the bake ended before ${short.join(', ')} had ${neededClean} clean rounds in a row`;
    return { state: counted, action: { kind: 'fail', reason } };
  }
  // --every is from the start of one round to the start of the next.
  return { state: counted, action: { kind: 'next-round', waitMs: Math.max(0, policy.everyMs - round.durationMs) } };
}

export type RecoveryAction = { kind: 'recovered' } | { kind: 'not-recovered' } | { kind: 'next-round'; waitMs: number };

/** The pause between recovery rounds: the bake's interval, but never more than this. */
export const MAX_RECOVERY_PAUSE_MS = 5_000;

/** After a rollback: green everywhere ends the wait; otherwise another round if one still fits before `until`. */
export function decideRecovery(input: { judgement: RoundJudgement; interrupted: boolean; now: number; until: number; everyMs: number }): RecoveryAction {
  if ([...input.judgement.clean.values()].every(Boolean)) return { kind: 'recovered' };
  const pauseMs = Math.min(input.everyMs, MAX_RECOVERY_PAUSE_MS);
  if (input.interrupted || input.now + pauseMs > input.until) return { kind: 'not-recovered' };
  return { kind: 'next-round', waitMs: pauseMs };
}
