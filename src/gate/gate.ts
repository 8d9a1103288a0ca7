import type { Journey } from '../journey/journey.js';
import { formatMs } from '../journey/duration.js';
import { raceAbort, sleep } from '../core/deadline.js';
import type { JourneyResult } from '../core/result.js';
import { EXIT } from '../core/exit-codes.js';
import type { Redactor } from '../secrets/redactor.js';
import type { TargetConfig } from './config.js';
import type { GatePolicy, GateResult, RecoveryOutcome, RollbackOutcome, TargetOutcome, Verdict } from './model.js';
import { judgeRound } from './policy.js';
import { runRound, type RoundResult, type RoundSettings } from './rounds.js';
import {
  decideRecovery,
  decideRound,
  initialGateState,
  INTERRUPTED,
  type DecisionContext,
  type GateBaseline,
  type GateState,
  type GateVerdictAction,
} from './decision.js';
import { prepareJourneys } from '../engine/run.js';
import { SharedResources } from '../engine/shared-resources.js';

/**
 * The deploy gate: rounds of every journey against every target until the
 * verdict is certain. It fails at once on a critical journey or a wrong
 * version, passes after K clean rounds everywhere with no latency regression
 * against the baseline, and calls a DNS failure everywhere what it is: the
 * runner's problem, not the deploy's.
 */

export type { GateBaseline } from './decision.js';

/** The gate's time, passed in so the round loop can be driven by a test without waiting. `sleep` rejects once the signal aborts. */
export interface GateClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: GateClock = { now: () => Date.now(), sleep };

export interface GateOptions {
  command: 'gate' | 'drill';
  journeys: readonly Journey[];
  targets: readonly TargetConfig[];
  policy: GatePolicy;
  expectVersion?: string;
  baseline: GateBaseline;
  run: RoundSettings;
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
  /** The system clock unless a test drives it. */
  clock?: GateClock;
}

export interface GateRun {
  result: GateResult;
  /** Every journey result of the bake rounds, for --baseline-out. */
  results: JourneyResult[];
}

function summarizeRound(round: RoundResult, clean: ReadonlyMap<string, boolean>): string {
  const parts = round.targets.map((target) => {
    const passed = target.journeys.filter((journey) => journey.status === 'passed' || journey.status === 'flaky').length;
    const version = target.version?.ok ? ` ${target.version.version}` : '';
    return `${target.target}${version} ${clean.get(target.target) ? '✓' : '✗'} ${passed}/${target.journeys.length}`;
  });
  return `round ${round.round} (${formatMs(round.durationMs)}): ${parts.join(' · ')}`;
}

function targetOutcomes({ last, streaks, failedTargets }: GateState, verdict: Verdict): TargetOutcome[] {
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

export async function runGate(options: GateOptions): Promise<GateRun> {
  // One browser (and Playwright loaded once) for every round, started before the first.
  const resources = new SharedResources();
  try {
    // A failure here (a browser that cannot start) is reported by the steps that need it.
    await raceAbort(prepareJourneys(options.journeys, resources, options.run), options.signal).catch(() => undefined);
    return await gateRounds(options, resources, options.clock ?? systemClock);
  } finally {
    await resources.closeAll();
  }
}

/** Rounds until decideRound gives a verdict; then the rollback and the recovery check when the verdict is a failure. */
async function gateRounds(options: GateOptions, resources: SharedResources, clock: GateClock): Promise<GateRun> {
  const { policy, signal } = options;
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  const context: DecisionContext = {
    policy,
    targets: options.targets.map((target) => target.name),
    journeys: journeysByName,
    baseline: options.baseline,
    startedAt: clock.now(),
    minRounds: options.minRounds ?? 0,
    redact: (text) => options.redactor.redact(text),
  };
  const judgeOptions = {
    journeys: journeysByName,
    failOnFlaky: policy.failOnFlaky,
    ...(options.expectVersion !== undefined ? { expectVersion: options.expectVersion } : {}),
  };
  let state = initialGateState(context.targets);
  let decision: GateVerdictAction | undefined;
  while (decision === undefined) {
    const round = await runRound(state.rounds + 1, { ...options.run, journeys: options.journeys, targets: options.targets, signal, resources });
    const judgement = judgeRound(round, judgeOptions);
    const interrupted = signal.aborted;
    if (!interrupted) options.log(summarizeRound(round, judgement.clean));
    const step = decideRound(state, { round, judgement, interrupted, now: clock.now() }, context);
    state = step.state;
    if (step.action.kind !== 'next-round') {
      decision = step.action;
      break;
    }
    try {
      await clock.sleep(step.action.waitMs, signal);
    } catch {
      decision = INTERRUPTED;
    }
  }

  const verdictAt = clock.now();
  const { kind: verdict, reason } = decision;
  const exitCode = verdict === 'pass' ? EXIT.passed : verdict === 'fail' ? EXIT.failed : decision.invalidInput ? EXIT.invalid : EXIT.nothingTested;
  // Redacted once, here: the rollback, the verdict file and every output get this object.
  const result: GateResult = options.redactor.redactDeep({
    schemaVersion: 1,
    tool: { name: 'ceiling', version: options.version },
    command: options.command,
    startedAt: new Date(context.startedAt).toISOString(),
    finishedAt: new Date(verdictAt).toISOString(),
    verdict,
    exitCode: signal.aborted ? EXIT.interrupted : exitCode,
    reason,
    policy,
    rounds: state.rounds,
    targets: targetOutcomes(state, verdict),
    findings: [...state.findings],
    latency: [...state.latency],
    baseline: {
      source: options.baseline.source,
      samples: options.baseline.count,
      ...(options.baseline.path !== undefined ? { path: options.baseline.path } : {}),
    },
    ...(options.expectVersion !== undefined ? { expectedVersion: options.expectVersion } : {}),
    ...(verdict === 'fail' ? { timeToDetectMs: verdictAt - context.startedAt } : {}),
  } satisfies GateResult);
  if (verdict === 'fail' && options.onVerdict && !signal.aborted) {
    const rollback = await options.onVerdict(result);
    if (rollback) {
      // The rollback's output is redacted by runRollback; its command line comes from the config and may still hold a secret.
      result.rollback = options.redactor.redactDeep(rollback);
      if (!rollback.ok)
        result.reason = `${result.reason}; the rollback FAILED (${rollback.exitCode === null ? 'it did not finish' : `exit ${rollback.exitCode}`})`;
      else result.recovery = await confirmRecovery(options, verdictAt, resources, clock);
    }
    result.finishedAt = new Date(clock.now()).toISOString();
  }
  return { result, results: [...state.results] };
}

/** After a rollback: rounds until every target is green again (versions not pinned: they are expected to change back). */
async function confirmRecovery(options: GateOptions, verdictAt: number, resources: SharedResources, clock: GateClock): Promise<RecoveryOutcome> {
  const until = clock.now() + options.recoverWithinMs;
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  let rounds = 0;
  while (!options.signal.aborted) {
    rounds++;
    const round = await runRound(rounds, {
      ...options.run,
      journeys: options.journeys,
      targets: options.targets,
      signal: options.signal,
      skipVersions: true,
      resources,
    });
    const judgement = judgeRound(round, { journeys: journeysByName, failOnFlaky: options.policy.failOnFlaky });
    options.log(`recovery ${summarizeRound(round, judgement.clean)}`);
    const now = clock.now();
    const next = decideRecovery({ judgement, interrupted: options.signal.aborted, now, until, everyMs: options.policy.everyMs });
    if (next.kind === 'recovered') return { recovered: true, rounds, timeToRecoverMs: now - verdictAt, withinMs: options.recoverWithinMs };
    if (next.kind === 'not-recovered') break;
    try {
      await clock.sleep(next.waitMs, options.signal);
    } catch {
      break;
    }
  }
  return { recovered: false, rounds, withinMs: options.recoverWithinMs };
}
