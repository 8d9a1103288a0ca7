/**
 * Phrases every gate output shares (console, GitHub, JUnit, Slack), so a
 * rollback or a regression reads the same wherever someone meets it. Plain
 * text only: each renderer adds its own colour or escaping on top.
 */
import { formatMs } from '../journey/duration.js';
import type {
  FindingKind,
  FleetOutcome,
  GateFinding,
  GatePolicy,
  GateResult,
  LatencyComparison,
  RecoveryOutcome,
  RollbackOutcome,
  TargetOutcome,
  Verdict,
} from './model.js';

export const verdictTitles: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' };

export const plural = (count: number, noun: string, many = `${noun}s`): string => `${count} ${count === 1 ? noun : many}`;

/** The same problem seen in several bake rounds, shown once with the rounds it was seen in. */
export interface FindingGroup {
  finding: GateFinding;
  rounds: number[];
}

const findingKey = (finding: GateFinding): string => [finding.kind, finding.target, finding.journey ?? '', finding.step ?? '', finding.code].join('\u0000');

/** Order of first appearance is kept: the first finding is usually the one that decided the verdict. */
export function groupFindings(findings: readonly GateFinding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const finding of findings) {
    const key = findingKey(finding);
    const group = groups.get(key);
    if (!group) groups.set(key, { finding, rounds: [finding.round] });
    else if (!group.rounds.includes(finding.round)) group.rounds.push(finding.round);
  }
  return [...groups.values()];
}

export function groupsByTarget(groups: readonly FindingGroup[]): Map<string, FindingGroup[]> {
  const byTarget = new Map<string, FindingGroup[]>();
  for (const group of groups) {
    const list = byTarget.get(group.finding.target);
    if (list) list.push(group);
    else byTarget.set(group.finding.target, [group]);
  }
  return byTarget;
}

/** Round 0 holds the checks made before the bake started (the version pin); it is not worth naming. */
export function describeRounds(rounds: readonly number[]): string {
  const real = rounds.filter((round) => round > 0);
  if (real.length === 0) return '';
  return real.length === 1 ? `round ${real[0]}` : `rounds ${real.join(', ')}`;
}

const kindLabels: Record<FindingKind, string> = {
  journey: '',
  version: 'version',
  latency: 'latency',
  flaky: 'flaky',
  infrastructure: 'infrastructure',
  fleet: 'fleet size',
};

/** Where in the target a finding sits: `chat announces who left › bob leaves`, `version`, `flaky: …`. */
export function findingPlace(finding: GateFinding): string {
  const path = [finding.journey, finding.step].filter((part): part is string => part !== undefined && part !== '').join(' › ');
  const kind = kindLabels[finding.kind];
  if (!kind) return path || 'journey';
  return path ? `${kind}: ${path}` : kind;
}

/** The version cell: the version, flagged when it is not the one the gate expected. */
export function describeVersion(target: TargetOutcome, expectedVersion: string | undefined): string {
  if (target.version === undefined) return '-';
  if (expectedVersion === undefined || target.version === expectedVersion) return target.version;
  return `${target.version} (expected ${expectedVersion})`;
}

/**
 * "web: 7 × 1.5.0, 1 × 1.4.1 (web/10.0.3.9:8080)": the most common version
 * first, and every instance off it named, since those are the ones to fix.
 * Without a version probe, the count alone.
 */
export function describeFleetVersions(fleet: FleetOutcome): string {
  if (fleet.versions.length === 0) return `${fleet.group}: ${plural(fleet.found, 'instance')}`;
  const parts = fleet.versions.map((entry, index) => `${entry.count} × ${entry.version}${index > 0 ? ` (${entry.instances.join(', ')})` : ''}`);
  return `${fleet.group}: ${parts.join(', ')}`;
}

/** "3 instances via SRV _http._tcp.web.test at 127.0.0.1:5353, expected 3". */
export function describeFleetSize(fleet: FleetOutcome): string {
  const expected =
    fleet.expected === undefined ? '' : 'count' in fleet.expected ? `, expected ${fleet.expected.count}` : `, expected at least ${fleet.expected.min}`;
  return `${plural(fleet.found, 'instance')} via ${fleet.source}${expected}`;
}

export const formatRatio = (ratio: number): string => `×${ratio.toFixed(2)}`;

export const formatPValue = (pValue: number): string => (pValue < 0.001 ? 'p<0.001' : `p=${pValue.toFixed(3)}`);

export function describeLatency(comparison: LatencyComparison): string {
  return `median ${formatMs(comparison.baselineMedianMs)} → ${formatMs(comparison.currentMedianMs)} (${formatRatio(comparison.ratio)}, ${formatPValue(comparison.pValue)})`;
}

export function describeBaseline(result: GateResult): string {
  const { baseline } = result;
  if (baseline.source === 'none') return 'latency not checked: no baseline';
  const where = baseline.source === 'file' ? (baseline.path ?? 'a baseline file') : 'the serve history';
  return `baseline from ${where} (${plural(baseline.samples, 'sample')})`;
}

/** Quoted only where a shell would split or expand, so the line can be pasted back into a terminal. */
export function commandLine(command: readonly string[]): string {
  return command.map((arg) => (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** How the rollback ended, in the words of the headline: "exit 3", "killed by SIGKILL". */
export function rollbackEnding(rollback: RollbackOutcome): string {
  if (rollback.exitCode !== null) return `exit ${rollback.exitCode}`;
  if (rollback.signal !== undefined) return `killed by ${rollback.signal}`;
  return 'did not run';
}

/** "rollback ./rollback.sh exited 0 in 2.10s" or "ROLLBACK FAILED (exit 3): ./rollback.sh after 0.90s". */
export function describeRollback(rollback: RollbackOutcome): string {
  const command = commandLine(rollback.command);
  if (rollback.ok) return `rollback ${command} exited ${rollback.exitCode ?? 0} in ${formatMs(rollback.durationMs)}`;
  return `ROLLBACK FAILED (${rollbackEnding(rollback)}): ${command} after ${formatMs(rollback.durationMs)}`;
}

export function describeRecovery(recovery: RecoveryOutcome, policy: GatePolicy): string {
  if (recovery.recovered) {
    const after = recovery.timeToRecoverMs !== undefined ? ` ${formatMs(recovery.timeToRecoverMs)} after the verdict` : '';
    return `green again${after} (${plural(recovery.rounds, 'round')})`;
  }
  if (recovery.rounds === 0) return 'NOT recovered: no round ran after the verdict';
  // The window the operator gave (--recover-within), not the round interval: with --recover-within 3s the gate waited 3 s, not 30.
  // Verdict files written before withinMs existed only let the rounds tell.
  const withinMs = recovery.withinMs ?? recovery.rounds * policy.everyMs;
  return `NOT recovered within ${formatMs(withinMs)} (${plural(recovery.rounds, 'round')})`;
}

/** The last lines matter most in a failed command's output: that is where the error is. */
export function tailLines(text: string, maxLines: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines.length <= maxLines) return lines.join('\n');
  const dropped = lines.length - maxLines;
  return [`… (${plural(dropped, 'earlier line')})`, ...lines.slice(dropped)].join('\n');
}

export const durationSeconds = (result: GateResult): number => Math.max(0, (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000) || 0;
