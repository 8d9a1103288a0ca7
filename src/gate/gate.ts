import type { Journey } from '../journey/journey.js';
import { formatMs } from '../journey/duration.js';
import { raceAbort, sleep } from '../core/deadline.js';
import type { JourneyResult } from '../core/result.js';
import { EXIT } from '../core/exit-codes.js';
import type { Redactor } from '../secrets/redactor.js';
import type { TargetConfig } from './config.js';
import { compareLatency, samplesFromResults, type StepKey } from './latency.js';
import type { GateFinding, GatePolicy, GateResult, LatencyComparison, RecoveryOutcome, RollbackOutcome, TargetOutcome, Verdict } from './model.js';
import { describeFinding, judgeRound } from './policy.js';
import { runRound, runnerStallOf, type RoundOptions, type RoundResult } from './rounds.js';
import { prepareJourneys } from '../engine/run.js';
import { SharedResources } from '../engine/shared-resources.js';

/**
 * The deploy gate: rounds of every journey against every target until the
 * verdict is certain. It fails at once on a critical journey or a wrong
 * version, passes after K clean rounds everywhere with no latency regression
 * against the baseline, and calls a DNS failure everywhere what it is: the
 * runner's problem, not the deploy's.
 */

export interface GateBaseline {
  source: 'file' | 'history' | 'none';
  path?: string;
  samples: ReadonlyMap<StepKey, readonly number[]>;
  count: number;
}

export interface GateOptions {
  command: 'gate' | 'drill';
  journeys: readonly Journey[];
  targets: readonly TargetConfig[];
  policy: GatePolicy;
  expectVersion?: string;
  baseline: GateBaseline;
  run: Omit<RoundOptions, 'journeys' | 'targets' | 'signal' | 'skipVersions' | 'resources'>;
  redactor: Redactor;
  signal: AbortSignal;
  version: string;
  log: (line: string) => void;
  /** Called once the verdict is known and before any rollback, so the verdict file exists for it. */
  onVerdict?: (result: GateResult) => Promise<RollbackOutcome | undefined>;
  /** How long to wait for green after a rollback. */
  recoverWithinMs: number;
  /** Do not pass before this many rounds (unless the bake ends): a run recording a baseline needs samples. */
  minRounds?: number;
}

export interface GateRun {
  result: GateResult;
  /** Every journey result of the bake rounds, for --baseline-out. */
  results: JourneyResult[];
}

const MIN_LATENCY_SAMPLES = 5;

function summarizeRound(round: RoundResult, clean: ReadonlyMap<string, boolean>): string {
  const parts = round.targets.map((target) => {
    const passed = target.journeys.filter((journey) => journey.status === 'passed' || journey.status === 'flaky').length;
    const version = target.version?.ok ? ` ${target.version.version}` : '';
    return `${target.target}${version} ${clean.get(target.target) ? '✓' : '✗'} ${passed}/${target.journeys.length}`;
  });
  return `round ${round.round} (${formatMs(round.durationMs)}): ${parts.join(' · ')}`;
}

function targetOutcomes(last: RoundResult | undefined, streaks: ReadonlyMap<string, number>, failedTargets: ReadonlySet<string>, verdict: Verdict): TargetOutcome[] {
  if (!last) return [];
  return last.targets.map((target) => ({
    name: target.target,
    ...(target.version?.ok ? { version: target.version.version } : {}),
    status: verdict === 'inconclusive' ? 'inconclusive' : failedTargets.has(target.target) ? 'failed' : 'passed',
    cleanRounds: streaks.get(target.target) ?? 0,
    journeys: target.journeys.map((journey) => {
      const attempt = journey.attempts.at(-1);
      const step = attempt?.failedStep !== undefined ? attempt.steps.find((candidate) => candidate.index === attempt.failedStep) : undefined;
      return {
        name: journey.name,
        status: journey.status,
        durationMs: journey.durationMs,
        ...(step ? { failedStep: step.name } : {}),
        ...(attempt?.failure ? { message: attempt.failure.message } : {}),
      };
    }),
  }));
}

/** A journey that failed twice while the runner itself stalled: the runner's problem, never the deploy's. */
function stalledFinding(round: RoundResult): GateFinding | undefined {
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

export async function runGate(options: GateOptions): Promise<GateRun> {
  // One browser (and Playwright loaded once) for every round, started before the first.
  const resources = new SharedResources();
  try {
    // A failure here (a browser that cannot start) is reported by the steps that need it.
    await raceAbort(
      prepareJourneys(options.journeys, resources, {
        outDir: options.run.outDir,
        ...(options.run.browserPath !== undefined ? { browserPath: options.run.browserPath } : {}),
        ...(options.run.trace !== undefined ? { trace: options.run.trace } : {}),
      }),
      options.signal,
    ).catch(() => undefined);
    return await gateRounds(options, resources);
  } finally {
    await resources.closeAll();
  }
}

async function gateRounds(options: GateOptions, resources: SharedResources): Promise<GateRun> {
  const started = Date.now();
  const { policy } = options;
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  const neededClean = policy.bakeMs === 0 ? 1 : policy.cleanRounds;
  const bakeEnds = started + policy.bakeMs;
  const streaks = new Map(options.targets.map((target) => [target.name, 0]));
  const current = new Map(options.targets.map((target) => [target.name, new Map<StepKey, number[]>()]));
  const findings: GateFinding[] = [];
  const allResults: JourneyResult[] = [];
  let latency: LatencyComparison[] = [];
  let verdict: Verdict | undefined;
  let reason = '';
  let last: RoundResult | undefined;
  let roundNumber = 0;
  let invalidInput = false;
  const failedTargets = new Set<string>();

  const compare = (): LatencyComparison[] =>
    options.baseline.source === 'none'
      ? []
      : options.targets.flatMap((target) =>
          compareLatency({ target: target.name, baseline: options.baseline.samples, current: current.get(target.name)!, confidence: policy.confidence, minEffect: policy.minEffect }),
        );

  while (verdict === undefined) {
    roundNumber++;
    const round = await runRound(roundNumber, { ...options.run, journeys: options.journeys, targets: options.targets, signal: options.signal, resources });
    last = round;
    if (options.signal.aborted) {
      verdict = 'inconclusive';
      reason = 'the gate was interrupted before it reached a verdict';
      break;
    }
    const judgement = judgeRound(round, { journeys: journeysByName, failOnFlaky: policy.failOnFlaky, ...(options.expectVersion !== undefined ? { expectVersion: options.expectVersion } : {}) });
    findings.push(...judgement.findings);
    options.log(summarizeRound(round, judgement.clean));
    if (judgement.configProblem) {
      // Rolling back a healthy deploy because the runner lacks a secret would be the worst outcome.
      verdict = 'inconclusive';
      invalidInput = true;
      reason = `${describeFinding(judgement.configProblem)}; fix the gate's inputs (env, secrets, vars): this says nothing about the deploy`;
      break;
    }
    const stalled = stalledFinding(round);
    if (stalled) {
      // A rollback on the runner's own stall would punish a deploy for Ceiling's fault.
      findings.push(stalled);
      verdict = 'inconclusive';
      reason = `${stalled.message}: this says nothing about the deploy; give the runner more CPU or fewer concurrent journeys`;
      break;
    }
    if (judgement.infrastructure) {
      findings.push({ kind: 'infrastructure', target: '*', critical: false, round: roundNumber, code: 'CEIL_GATE_INFRASTRUCTURE', message: 'every check on every target failed at DNS' });
      verdict = 'inconclusive';
      reason = 'every target failed at DNS: the runner cannot resolve the fleet, which says nothing about the deploy; check the runner network';
      break;
    }
    for (const target of round.targets) {
      allResults.push(...target.journeys);
      const clean = judgement.clean.get(target.target) === true;
      streaks.set(target.target, clean ? (streaks.get(target.target) ?? 0) + 1 : 0);
      if (!clean) failedTargets.add(target.target);
      else failedTargets.delete(target.target);
      const samples = current.get(target.target)!;
      for (const [key, durations] of samplesFromResults(target.journeys, { redact: (text) => options.redactor.redact(text) })) samples.set(key, [...(samples.get(key) ?? []), ...durations]);
    }
    if (judgement.failNow) {
      const decisive = judgement.findings.find((finding) => finding.critical && (finding.kind === 'journey' || finding.kind === 'version' || finding.kind === 'flaky'))!;
      verdict = 'fail';
      reason = describeFinding(decisive);
      break;
    }
    const now = Date.now();
    const bakeOver = now + policy.everyMs > bakeEnds;
    const everyTargetClean = [...streaks.values()].every((streak) => streak >= neededClean);
    const enoughSamples = (options.baseline.source === 'none' || roundNumber >= MIN_LATENCY_SAMPLES) && roundNumber >= (options.minRounds ?? 0);
    // The latency test looks once, at the decision point: testing after every round would multiply false alarms.
    if (everyTargetClean && (enoughSamples || bakeOver)) {
      latency = compare();
      const regressed = latency.filter((comparison) => comparison.regressed);
      if (regressed.length > 0) {
        const worst = regressed.reduce((a, b) => (b.ratio > a.ratio ? b : a));
        for (const comparison of regressed) {
          failedTargets.add(comparison.target);
          findings.push({
            kind: 'latency',
            target: comparison.target,
            journey: comparison.journey,
            step: comparison.step,
            critical: false,
            round: roundNumber,
            code: 'CEIL_GATE_LATENCY',
            message: `step "${comparison.step}" got slower: median ${formatMs(comparison.baselineMedianMs)} → ${formatMs(comparison.currentMedianMs)} (×${comparison.ratio.toFixed(2)}, p=${comparison.pValue.toPrecision(2)})`,
            ...(journeysByName.get(comparison.journey) ? { file: journeysByName.get(comparison.journey)!.file } : {}),
          });
        }
        verdict = 'fail';
        reason = `target ${worst.target}: journey "${worst.journey}", step "${worst.step}" is significantly slower than the baseline (median ${formatMs(worst.baselineMedianMs)} → ${formatMs(worst.currentMedianMs)})`;
        break;
      }
      verdict = 'pass';
      reason = `${neededClean} clean round${neededClean === 1 ? '' : 's'} on every target${options.baseline.source === 'none' ? '' : ', no step slower than the baseline'}`;
      break;
    }
    if (bakeOver) {
      const lastFailure = judgement.findings.find((finding) => finding.kind === 'journey' || (policy.failOnFlaky && finding.kind === 'flaky'));
      const short = [...streaks].filter(([, streak]) => streak < neededClean).map(([name]) => name);
      verdict = 'fail';
      reason = lastFailure
        ? describeFinding(lastFailure)
        : `the bake ended before ${short.join(', ')} had ${neededClean} clean rounds in a row`;
      break;
    }
    try {
      // --every is from the start of one round to the start of the next.
      await sleep(Math.max(0, policy.everyMs - round.durationMs), options.signal);
    } catch {
      verdict = 'inconclusive';
      reason = 'the gate was interrupted before it reached a verdict';
    }
  }

  const finishedVerdict = Date.now();
  const exitCode = verdict === 'pass' ? EXIT.passed : verdict === 'fail' ? EXIT.failed : invalidInput ? EXIT.invalid : EXIT.nothingTested;
  const result: GateResult = {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: options.version },
    command: options.command,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finishedVerdict).toISOString(),
    verdict,
    exitCode: options.signal.aborted ? EXIT.interrupted : exitCode,
    reason,
    policy,
    rounds: roundNumber,
    targets: targetOutcomes(last, streaks, failedTargets, verdict),
    findings,
    latency,
    baseline: { source: options.baseline.source, samples: options.baseline.count, ...(options.baseline.path !== undefined ? { path: options.baseline.path } : {}) },
    ...(options.expectVersion !== undefined ? { expectedVersion: options.expectVersion } : {}),
    ...(verdict === 'fail' ? { timeToDetectMs: finishedVerdict - started } : {}),
  };
  if (verdict === 'fail' && options.onVerdict && !options.signal.aborted) {
    const rollback = await options.onVerdict(options.redactor.redactDeep(result));
    if (rollback) {
      result.rollback = rollback;
      if (!rollback.ok) result.reason = `${result.reason}; the rollback FAILED (${rollback.exitCode === null ? 'it did not finish' : `exit ${rollback.exitCode}`})`;
      else result.recovery = await confirmRecovery(options, finishedVerdict, resources);
    }
    result.finishedAt = new Date().toISOString();
  }
  return { result: options.redactor.redactDeep(result), results: allResults };
}

/** After a rollback: rounds until every target is green again (versions not pinned: they are expected to change back). */
async function confirmRecovery(options: GateOptions, verdictAt: number, resources: SharedResources): Promise<RecoveryOutcome> {
  const until = Date.now() + options.recoverWithinMs;
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  let rounds = 0;
  while (!options.signal.aborted) {
    rounds++;
    const round = await runRound(rounds, { ...options.run, journeys: options.journeys, targets: options.targets, signal: options.signal, skipVersions: true, resources });
    const judgement = judgeRound(round, { journeys: journeysByName, failOnFlaky: options.policy.failOnFlaky });
    options.log(`recovery ${summarizeRound(round, judgement.clean)}`);
    if ([...judgement.clean.values()].every(Boolean)) return { recovered: true, rounds, timeToRecoverMs: Date.now() - verdictAt, withinMs: options.recoverWithinMs };
    const pauseMs = Math.min(options.policy.everyMs, 5_000);
    if (Date.now() + pauseMs > until) break;
    try {
      await sleep(pauseMs, options.signal);
    } catch {
      break;
    }
  }
  return { recovered: false, rounds, withinMs: options.recoverWithinMs };
}
