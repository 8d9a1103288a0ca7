import { isFailureCode } from '../core/failure-codes.js';
import type { Journey } from '../journey/journey.js';
import { lastAttempt, type JourneyResult } from '../core/result.js';
import type { GateFinding } from './model.js';
import type { RoundResult, TargetRound } from './rounds.js';

/**
 * The gate's judgement of one round, kept pure so every rule can be tested
 * without a network: what went wrong where, which targets were clean, and
 * whether the round says anything about the deploy at all.
 */

export const CRITICAL_TAG = 'critical';

export interface RoundJudgement {
  findings: GateFinding[];
  /** Target name → every journey passed (flaky too, unless failOnFlaky) and the version matched. */
  clean: Map<string, boolean>;
  /** A critical journey failed hard, or a target runs the wrong version: fail now, without waiting for the bake. */
  failNow: boolean;
  /** Every check on every target failed at DNS: the runner cannot see the fleet, which says nothing about the deploy. */
  infrastructure: boolean;
  /** A journey could not even be set up (a missing secret or env var): the gate's inputs are wrong, not the deploy. */
  configProblem?: GateFinding;
}

export interface JudgeOptions {
  journeys: ReadonlyMap<string, Journey>;
  expectVersion?: string;
  failOnFlaky: boolean;
}

function journeyFinding(target: string, result: JourneyResult, journey: Journey | undefined, round: number, failOnFlaky: boolean): GateFinding | undefined {
  const critical = result.tags.includes(CRITICAL_TAG);
  const base = {
    target,
    journey: result.name,
    critical,
    round,
    ...(journey ? { file: journey.file, line: journey.location.line } : {}),
  };
  if (result.status === 'flaky') {
    const failedAttempt = result.attempts.find((attempt) => attempt.status !== 'passed');
    return {
      ...base,
      kind: 'flaky',
      code: 'CEIL_GATE_FLAKY',
      message: `passed only after ${result.attempts.length - 1} retr${result.attempts.length === 2 ? 'y' : 'ies'}${failedAttempt?.failure ? ` (first: ${failedAttempt.failure.message})` : ''}${failOnFlaky ? '; --fail-on-flaky counts this as a failure' : ''}`,
    };
  }
  if (result.status === 'passed') return undefined;
  const attempt = lastAttempt(result);
  const step = attempt?.failedStep !== undefined ? attempt.steps.find((candidate) => candidate.index === attempt.failedStep) : undefined;
  const failure = attempt?.failure;
  const stepLine = step ? { line: step.location.line } : {};
  return {
    ...base,
    ...stepLine,
    kind: 'journey',
    // The result model carries codes as plain strings (it is JSON); a finding names only catalogued ones.
    code: failure && isFailureCode(failure.code) ? failure.code : 'CEIL_FAILED',
    message: failure?.message ?? 'the journey failed',
    ...(failure ? { failureClass: failure.class } : {}),
    ...(step ? { step: step.name } : {}),
  };
}

function versionFinding(target: TargetRound, expectVersion: string | undefined, round: number): GateFinding | undefined {
  const reading = target.version;
  // Without --expect-version the version is only recorded, never judged.
  if (!reading || expectVersion === undefined) return undefined;
  if (reading.ok && reading.version === expectVersion) return undefined;
  return {
    kind: 'version',
    target: target.target,
    critical: true,
    round,
    code: reading.ok ? 'CEIL_GATE_VERSION' : reading.code,
    message: reading.ok
      ? `target ${target.target} runs ${reading.version}, expected ${expectVersion}`
      : `target ${target.target}: cannot read its version: ${reading.message}`,
    ...(!reading.ok && reading.failureClass ? { failureClass: reading.failureClass } : {}),
  };
}

/** DNS everywhere: no journey and no version probe on any target got past name resolution. */
function allFailedAtDns(round: RoundResult): boolean {
  const outcomes = round.targets.flatMap((target) => [
    ...target.journeys.map((journey) => (journey.status === 'passed' || journey.status === 'flaky' ? 'ok' : lastAttempt(journey)?.failure?.class)),
    ...(target.version ? [target.version.ok ? 'ok' : target.version.failureClass] : []),
  ]);
  return outcomes.length > 0 && outcomes.every((outcome) => outcome === 'dns');
}

export function judgeRound(round: RoundResult, options: JudgeOptions): RoundJudgement {
  const findings: GateFinding[] = [];
  const clean = new Map<string, boolean>();
  let failNow = false;
  for (const target of round.targets) {
    let targetClean = true;
    const version = versionFinding(target, options.expectVersion, round.round);
    if (version) {
      findings.push(version);
      targetClean = false;
      failNow = true;
    }
    for (const result of target.journeys) {
      const finding = journeyFinding(target.target, result, options.journeys.get(result.name), round.round, options.failOnFlaky);
      if (!finding) continue;
      findings.push(finding);
      const counts = finding.kind === 'journey' || options.failOnFlaky;
      if (counts) targetClean = false;
      if (counts && finding.critical) failNow = true;
    }
    clean.set(target.target, targetClean);
  }
  const infrastructure = allFailedAtDns(round);
  const configProblem = findings.find((finding) => finding.failureClass === 'config');
  return { findings, clean, failNow: failNow && !infrastructure && !configProblem, infrastructure, ...(configProblem ? { configProblem } : {}) };
}

/** The sentence a person reads first: the first finding that decided the verdict. */
export function describeFinding(finding: GateFinding): string {
  if (finding.kind === 'version') return finding.message;
  const where = finding.step ? `journey "${finding.journey}", step "${finding.step}"` : finding.journey ? `journey "${finding.journey}"` : '';
  return `target ${finding.target}: ${where}${where ? ': ' : ''}${finding.message}`;
}
