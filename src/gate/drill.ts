import type { Journey } from '../journey/journey.js';
import { formatMs } from '../journey/duration.js';
import { sleep } from '../core/deadline.js';
import type { Redactor } from '../secrets/redactor.js';
import type { TargetConfig } from './config.js';
import type { FleetOutcome, RollbackOutcome } from './model.js';
import { describeFinding, judgeRound } from './policy.js';
import { runRound, type RoundSettings } from './rounds.js';

/**
 * `ceiling drill`: the rollback rehearsal. Verify, deploy and verify, roll
 * back and verify until green: a rollback nobody has practised is a rollback
 * that fails on the night it is needed.
 */

export interface DrillPhase {
  name: 'verify' | 'deploy' | 'rollback';
  /** The command's own outcome (deploy and rollback phases). */
  command?: RollbackOutcome;
  /** Whether every target was green after the phase. */
  green: boolean;
  /** The first problem seen after the phase, when not green. */
  problem?: string;
  /** From the start of the phase to the end of its verification. */
  durationMs: number;
  /** From the start of the drill to the end of this phase. */
  atMs: number;
}

export interface DrillReport {
  ok: boolean;
  reason: string;
  phases: DrillPhase[];
  /** How long the rollback command took, and when the fleet was green again (from the rollback's start). */
  rollbackMs?: number;
  greenAgainMs?: number;
  /** The discovered target groups the drill ran against, found once before it started. */
  fleets?: FleetOutcome[];
}

export interface DrillOptions {
  journeys: readonly Journey[];
  targets: readonly TargetConfig[];
  run: RoundSettings;
  runCommand: (phase: 'deploy' | 'rollback', command: readonly string[]) => Promise<RollbackOutcome>;
  deploy: readonly string[];
  rollback: readonly string[];
  failOnFlaky: boolean;
  /** How long the rollback may take to bring the fleet back to green. */
  recoverWithinMs: number;
  everyMs: number;
  redactor: Redactor;
  signal: AbortSignal;
  log: (line: string) => void;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const started = performance.now();
  const journeysByName = new Map(options.journeys.map((journey) => [journey.name, journey]));
  let roundNumber = 0;
  const verify = async (): Promise<{ green: boolean; problem?: string }> => {
    const round = await runRound(++roundNumber, {
      ...options.run,
      journeys: options.journeys,
      targets: options.targets,
      signal: options.signal,
      skipVersions: true,
    });
    const judgement = judgeRound(round, { journeys: journeysByName, failOnFlaky: options.failOnFlaky });
    const green = [...judgement.clean.values()].every(Boolean);
    const first = judgement.findings.find((finding) => finding.kind === 'journey' || (options.failOnFlaky && finding.kind === 'flaky'));
    return { green, ...(first ? { problem: options.redactor.redact(describeFinding(first)) } : {}) };
  };
  const phases: DrillPhase[] = [];
  const at = () => Math.round(performance.now() - started);

  options.log('drill 1/3: verify the fleet before anything changes');
  const phaseOneStart = performance.now();
  const before = await verify();
  phases.push({
    name: 'verify',
    green: before.green,
    ...(before.problem ? { problem: before.problem } : {}),
    durationMs: Math.round(performance.now() - phaseOneStart),
    atMs: at(),
  });
  if (!before.green) return { ok: false, reason: `the fleet was not green before the drill (${before.problem ?? 'see the findings'}); fix that first`, phases };

  options.log(`drill 2/3: deploy (${options.deploy.join(' ')}), then verify`);
  const deployStart = performance.now();
  const deployed = await options.runCommand('deploy', options.deploy);
  if (!deployed.ok) {
    phases.push({ name: 'deploy', command: deployed, green: false, durationMs: Math.round(performance.now() - deployStart), atMs: at() });
    return { ok: false, reason: `the deploy command failed (${deployed.exitCode === null ? 'it did not finish' : `exit ${deployed.exitCode}`})`, phases };
  }
  const afterDeploy = await verify();
  phases.push({
    name: 'deploy',
    command: deployed,
    green: afterDeploy.green,
    ...(afterDeploy.problem ? { problem: afterDeploy.problem } : {}),
    durationMs: Math.round(performance.now() - deployStart),
    atMs: at(),
  });
  options.log(afterDeploy.green ? 'after the deploy: green' : `after the deploy: red: ${afterDeploy.problem ?? ''}`);

  options.log(`drill 3/3: roll back (${options.rollback.join(' ')}), then verify until green (up to ${formatMs(options.recoverWithinMs)})`);
  const rollbackStart = performance.now();
  const rolledBack = await options.runCommand('rollback', options.rollback);
  const rollbackMs = Math.round(performance.now() - rollbackStart);
  if (!rolledBack.ok) {
    phases.push({ name: 'rollback', command: rolledBack, green: false, durationMs: rollbackMs, atMs: at() });
    return {
      ok: false,
      reason: `the rollback command FAILED (${rolledBack.exitCode === null ? 'it did not finish' : `exit ${rolledBack.exitCode}`})`,
      phases,
      rollbackMs,
    };
  }
  const until = performance.now() + options.recoverWithinMs;
  let last = await verify();
  while (!last.green && performance.now() + options.everyMs < until && !options.signal.aborted) {
    try {
      await sleep(options.everyMs, options.signal);
    } catch {
      break;
    }
    last = await verify();
  }
  const greenAgainMs = Math.round(performance.now() - rollbackStart);
  phases.push({
    name: 'rollback',
    command: rolledBack,
    green: last.green,
    ...(last.problem ? { problem: last.problem } : {}),
    durationMs: greenAgainMs,
    atMs: at(),
  });
  if (!last.green) {
    return {
      ok: false,
      reason: `the rollback did not restore green within ${formatMs(options.recoverWithinMs)}: ${last.problem ?? 'see the findings'}`,
      phases,
      rollbackMs,
    };
  }
  return { ok: true, reason: `rollback took ${formatMs(rollbackMs)}, green again at ${formatMs(greenAgainMs)}`, phases, rollbackMs, greenAgainMs };
}
