/**
 * The gate's verdict for a terminal or a CI log: the verdict and its reason
 * on the first line, where a reader looks first, then what was tested where,
 * what went wrong, and what was done about it. A failed rollback is the one
 * thing that must not be missed, so it gets a block of its own with the
 * command's output.
 */
import { formatMs } from '../journey/duration.js';
import { terminalSafeDeep } from '../report/terminal-text.js';
import { indent, paletteFor, type Colors, type Hue } from '../report/text.js';
import type { GateResult, RollbackOutcome, TargetOutcome, Verdict } from './model.js';
import {
  commandLine,
  describeBaseline,
  describeFleetSize,
  describeFleetVersions,
  describeLatency,
  describeRecovery,
  describeRollback,
  describeRounds,
  describeVersion,
  findingPlace,
  groupFindings,
  groupsByTarget,
  plural,
  rollbackEnding,
  tailLines,
  verdictTitles,
} from './render-common.js';

const verdictMarks: Record<Verdict, { mark: string; hue: Hue }> = {
  pass: { mark: '✓', hue: 'green' },
  fail: { mark: '✗', hue: 'red' },
  inconclusive: { mark: '?', hue: 'yellow' },
};

const targetHues: Record<TargetOutcome['status'], Hue> = { passed: 'green', failed: 'red', inconclusive: 'yellow' };

/** Enough to see what the command complained about without burying the summary. */
const ROLLBACK_OUTPUT_LINES = 40;

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

function verdictLine(result: GateResult, colors: Colors): string {
  const { mark, hue } = verdictMarks[result.verdict];
  const drill = result.command === 'drill' ? ' (drill)' : '';
  return `${colors.bold(colors[hue](`${mark} ${verdictTitles[result.verdict]}${drill}`))}: ${oneLine(result.reason)}`;
}

function contextLine(result: GateResult, colors: Colors): string {
  const parts = [plural(result.rounds, 'round'), plural(result.targets.length, 'target')];
  if (result.expectedVersion !== undefined) parts.push(`expected version ${result.expectedVersion}`);
  parts.push(`exit code ${result.exitCode}`);
  return colors.dim(parts.join(' · '));
}

/** Columns padded on the plain text, so colour codes cannot throw the alignment off. */
function targetTable(result: GateResult, colors: Colors): string {
  const header = ['target', 'version', 'status', 'clean rounds'];
  const rows = result.targets.map((target) => [target.name, describeVersion(target, result.expectedVersion), target.status, String(target.cleanRounds)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const pad = (cells: string[]): string[] => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0));
  const lines = [colors.dim(pad(header).join('  ').trimEnd())];
  result.targets.forEach((target, index) => {
    const [name = '', version = '', status = '', clean = ''] = pad(rows[index] ?? []);
    const versionCell =
      target.version !== undefined && result.expectedVersion !== undefined && target.version !== result.expectedVersion ? colors.red(version) : version;
    lines.push(`${name}  ${versionCell}  ${colors[targetHues[target.status]](status)}  ${clean}`.trimEnd());
  });
  return lines.join('\n');
}

/** Each discovered group: what it runs (the skew line) and how many instances were found where. */
function fleetsBlock(result: GateResult, colors: Colors): string | undefined {
  if (!result.fleets || result.fleets.length === 0) return undefined;
  const lines = ['fleets'];
  for (const fleet of result.fleets) {
    const line = describeFleetVersions(fleet);
    const short = result.findings.some((finding) => finding.kind === 'fleet' && finding.target === fleet.group);
    lines.push(indent(fleet.versions.length > 1 || short ? colors.red(line) : line));
    lines.push(indent(colors.dim(describeFleetSize(fleet)), '    '));
  }
  return lines.join('\n');
}

function findingsBlock(result: GateResult, colors: Colors): string | undefined {
  const byTarget = groupsByTarget(groupFindings(result.findings));
  if (byTarget.size === 0) return undefined;
  const lines = ['findings'];
  for (const [target, groups] of byTarget) {
    lines.push(indent(colors.bold(target)));
    for (const { finding, rounds } of groups) {
      const seen = describeRounds(rounds);
      const hue: Hue = finding.kind === 'flaky' ? 'yellow' : 'red';
      const critical = finding.critical ? ` ${colors.dim('[critical]')}` : '';
      const when = seen ? ` ${colors.dim(`(${seen})`)}` : '';
      lines.push(indent(`${findingPlace(finding)}${critical}: ${colors[hue](finding.code)} ${oneLine(finding.message)}${when}`, '    '));
    }
  }
  return lines.join('\n');
}

function latencyBlock(result: GateResult, colors: Colors): string {
  if (result.baseline.source === 'none' && result.latency.length === 0) return colors.dim(describeBaseline(result));
  const regressions = result.latency.filter((comparison) => comparison.regressed);
  const compared = `${plural(result.latency.length, 'step')} compared, ${describeBaseline(result)}`;
  if (result.latency.length === 0) return `latency: no step had enough samples to compare (${describeBaseline(result)})`;
  if (regressions.length === 0) return `latency: ${compared}; none slower`;
  const lines = [`latency: ${compared}; ${colors.red(`${regressions.length} slower`)}`];
  for (const comparison of regressions) {
    lines.push(indent(`${comparison.target} › ${comparison.journey} › ${comparison.step}: ${describeLatency(comparison)}`));
  }
  return lines.join('\n');
}

function rollbackBlock(rollback: RollbackOutcome, colors: Colors): string {
  if (rollback.ok) return describeRollback(rollback);
  const lines = [
    colors.bold(colors.red(`ROLLBACK FAILED (${rollbackEnding(rollback)})`)),
    indent(`command: ${commandLine(rollback.command)}`),
    indent(`ran for: ${formatMs(rollback.durationMs)}`),
  ];
  const output = rollback.output.trim() === '' ? '(no output)' : tailLines(rollback.output, ROLLBACK_OUTPUT_LINES);
  lines.push(indent('output:'), indent(output, '    │ '));
  lines.push(indent(colors.red('the release the gate failed may still be serving: roll it back by hand')));
  return lines.join('\n');
}

export function renderGateSummary(unsafeResult: GateResult, options: { color: boolean }): string {
  // Reasons, messages and rollback output come from services and scripts; their escape sequences must not reach the terminal.
  const result = terminalSafeDeep(unsafeResult);
  const colors = paletteFor(options);
  const blocks = [`${verdictLine(result, colors)}\n${contextLine(result, colors)}`, targetTable(result, colors)];
  const fleets = fleetsBlock(result, colors);
  if (fleets) blocks.push(fleets);
  const findings = findingsBlock(result, colors);
  if (findings) blocks.push(findings);
  blocks.push(latencyBlock(result, colors));

  const outcome: string[] = [];
  if (result.timeToDetectMs !== undefined) outcome.push(`detected in ${formatMs(result.timeToDetectMs)}`);
  if (result.rollback) outcome.push(rollbackBlock(result.rollback, colors));
  if (result.recovery) {
    const text = `recovery: ${describeRecovery(result.recovery, result.policy)}`;
    outcome.push(result.recovery.recovered ? colors.green(text) : colors.bold(colors.red(text)));
  }
  if (outcome.length > 0) blocks.push(outcome.join('\n'));
  return `${blocks.join('\n\n')}\n`;
}
