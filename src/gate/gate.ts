import type { Journey } from '../journey/journey.js';
import { formatMs } from '../journey/duration.js';
import { raceAbort, sleep } from '../core/deadline.js';
import type { JourneyResult } from '../core/result.js';
import { EXIT } from '../core/exit-codes.js';
import type { Redactor } from '../secrets/redactor.js';
import type { TargetConfig } from './config.js';
import { describeProblems, expandTargets, fleetOutcomes, type FleetExpansion } from './fleet.js';
import type { GateFinding, GatePolicy, GateResult, RecoveryOutcome, RollbackOutcome, TargetOutcome, Verdict } from './model.js';
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
  /** As configured: each discovered group is expanded into its instances before the first round. */
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
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  // Before any round, and before the browser starts: a fleet that cannot be found leaves nothing to launch it for.
  const expansion = await expandTargets(options.targets, { redactor: options.redactor, signal: options.signal });
  if ('problems' in expansion) return { result: undiscoveredResult(options, expansion, startedAt, clock.now()), results: [] };
  for (const fleet of expansion.fleets) {
    options.log(
      `discovered ${fleet.group} (${fleet.source}): ${fleet.instances.length} instance${fleet.instances.length === 1 ? '' : 's'}: ${fleet.instances.join(', ')}`,
    );
  }
  // One browser (and Playwright loaded once) for every round, started before the first.
  const resources = new SharedResources();
  try {
    // A failure here (a browser that cannot start) is reported by the steps that need it.
    await raceAbort(prepareJourneys(options.journeys, resources, options.run), options.signal).catch(() => undefined);
    return await gateRounds({ ...options, targets: expansion.targets }, expansion, resources, clock, startedAt);
  } finally {
    await resources.closeAll();
  }
}

/** Discovery left nothing to judge: inconclusive, no round, no rollback. */
function undiscoveredResult(options: GateOptions, expansion: Extract<FleetExpansion, { problems: unknown }>, startedAt: number, now: number): GateResult {
  const findings: GateFinding[] = expansion.problems.map((problem) => ({
    kind: 'infrastructure',
    target: problem.group,
    code: problem.code,
    message: problem.message,
    critical: false,
    round: 0,
  }));
  return options.redactor.redactDeep({
    ...resultHeader(options, startedAt, now),
    verdict: 'inconclusive',
    exitCode: expansion.interrupted || options.signal.aborted ? EXIT.interrupted : EXIT.nothingTested,
    reason: expansion.interrupted ? INTERRUPTED.reason : describeProblems(expansion.problems),
    rounds: 0,
    targets: [],
    findings,
    latency: [],
  } satisfies GateResult);
}

function resultHeader(
  options: GateOptions,
  startedAt: number,
  verdictAt: number,
): Pick<GateResult, 'schemaVersion' | 'tool' | 'command' | 'startedAt' | 'finishedAt' | 'policy' | 'baseline' | 'expectedVersion'> {
  return {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: options.version },
    command: options.command,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(verdictAt).toISOString(),
    policy: options.policy,
    baseline: {
      source: options.baseline.source,
      samples: options.baseline.count,
      ...(options.baseline.path !== undefined ? { path: options.baseline.path } : {}),
    },
    ...(options.expectVersion !== undefined ? { expectedVersion: options.expectVersion } : {}),
  };
}

/** Rounds until decideRound gives a verdict; then the rollback and the recovery check when the verdict is a failure. */
async function gateRounds(
  options: GateOptions,
  fleet: Extract<FleetExpansion, { targets: unknown }>,
  resources: SharedResources,
  clock: GateClock,
  startedAt: number,
): Promise<GateRun> {
  const { policy, signal } = options;
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  const context: DecisionContext = {
    policy,
    targets: options.targets.map((target) => target.name),
    journeys: journeysByName,
    baseline: options.baseline,
    startedAt,
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
  if (fleet.sizeFindings.length > 0) {
    // The server nobody deployed to fails the deploy at once: no bake round can make up for it.
    state = { ...state, findings: [...fleet.sizeFindings] };
    decision = { kind: 'fail', reason: fleet.sizeFindings.map((finding) => finding.message).join('; ') };
  }
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
  const versions = new Map((state.last?.targets ?? []).flatMap((target) => (target.version ? [[target.target, target.version] as const] : [])));
  // Redacted once, here: the rollback, the verdict file and every output get this object.
  const result: GateResult = options.redactor.redactDeep({
    ...resultHeader(options, context.startedAt, verdictAt),
    verdict,
    exitCode: signal.aborted ? EXIT.interrupted : exitCode,
    reason,
    rounds: state.rounds,
    targets: targetOutcomes(state, verdict),
    ...(fleet.fleets.length > 0 ? { fleets: fleetOutcomes(fleet.fleets, versions) } : {}),
    findings: [...state.findings],
    latency: [...state.latency],
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
