/**
 * The verdict where GitHub Actions shows it: a markdown job summary (the file
 * named by GITHUB_STEP_SUMMARY) and workflow-command annotations that GitHub
 * pins to the journey file and line. The escaping and the file append are
 * shared with `ceiling run` (report/github-text.ts).
 */
import { formatMs } from '../journey/duration.js';
import {
  annotation,
  codeSpan,
  escapeMarkdown,
  escapeTableCell,
  fencedBlock,
  markdownTable,
  MAX_TABLE_ROWS,
  workspacePath,
  type AnnotationSeverity,
} from '../report/github-text.js';
import type { GateFinding, GateResult, TargetOutcome, Verdict } from './model.js';
import {
  commandLine,
  describeBaseline,
  describeFleetSize,
  describeFleetVersions,
  describeRecovery,
  describeRollback,
  describeRounds,
  describeVersion,
  findingPlace,
  formatPValue,
  formatRatio,
  groupFindings,
  rollbackEnding,
  tailLines,
  verdictTitles,
  type FindingGroup,
} from './render-common.js';

const verdictEmoji: Record<Verdict, string> = { pass: '✅', fail: '❌', inconclusive: '⚠️' };
const targetEmoji: Record<TargetOutcome['status'], string> = { passed: '✅', failed: '❌', inconclusive: '⚠️' };

const ROLLBACK_OUTPUT_LINES = 60;

function table(header: string[], rows: string[][], total: number): string {
  return markdownTable(header, rows, total, 'the verdict file');
}

function targetsTable(result: GateResult): string {
  const rows = result.targets.map((target) => [
    escapeTableCell(target.name),
    escapeTableCell(describeVersion(target, result.expectedVersion)),
    `${targetEmoji[target.status]} ${target.status}`,
    String(target.cleanRounds),
  ]);
  return table(['Target', 'Version', 'Status', 'Clean rounds'], rows.slice(0, MAX_TABLE_ROWS), rows.length);
}

/** Each discovered group on one line: what its instances run, the odd ones named, and how many were found where. */
function fleetsSection(result: GateResult): string | undefined {
  if (!result.fleets || result.fleets.length === 0) return undefined;
  const lines = result.fleets.map((fleet) => `- **${escapeMarkdown(describeFleetVersions(fleet))}** (${escapeMarkdown(describeFleetSize(fleet))})`);
  return `### Fleets\n\n${lines.join('\n')}`;
}

function findingsSection(groups: readonly FindingGroup[]): string | undefined {
  if (groups.length === 0) return undefined;
  const rows = groups
    .slice(0, MAX_TABLE_ROWS)
    .map(({ finding, rounds }) => [
      escapeTableCell(finding.target),
      escapeTableCell(findingPlace(finding)) + (finding.critical ? ' (critical)' : ''),
      codeSpan(finding.code),
      escapeTableCell(finding.message),
      escapeTableCell(describeRounds(rounds) || 'before the bake'),
    ]);
  return `### Findings\n\n${table(['Target', 'Where', 'Code', 'Message', 'Seen'], rows, groups.length)}`;
}

function latencySection(result: GateResult): string {
  const baseline = escapeMarkdown(describeBaseline(result));
  if (result.baseline.source === 'none' && result.latency.length === 0) return `### Latency\n\n${baseline}.`;
  if (result.latency.length === 0) return `### Latency\n\n${baseline}; no step had enough samples to compare.`;
  // Regressions first, then the biggest slowdowns: the rows worth reading when the table is cut.
  const sorted = [...result.latency].sort((a, b) => Number(b.regressed) - Number(a.regressed) || b.ratio - a.ratio);
  const rows = sorted
    .slice(0, MAX_TABLE_ROWS)
    .map((comparison) => [
      escapeTableCell(comparison.target),
      escapeTableCell(`${comparison.journey} › ${comparison.step}`),
      formatMs(comparison.baselineMedianMs),
      formatMs(comparison.currentMedianMs),
      formatRatio(comparison.ratio),
      formatPValue(comparison.pValue),
      comparison.regressed ? '❌ slower' : '✅',
    ]);
  return `### Latency\n\n${baseline}\n\n${table(['Target', 'Journey › step', 'Baseline median', 'Current median', 'Ratio', 'p', ''], rows, sorted.length)}`;
}

function outcomeSection(result: GateResult): string | undefined {
  const lines: string[] = [];
  if (result.timeToDetectMs !== undefined) lines.push(`- Detected in ${formatMs(result.timeToDetectMs)}`);
  const { rollback, recovery } = result;
  if (rollback?.ok) lines.push(`- ${escapeMarkdown(describeRollback(rollback))}`);
  if (recovery) {
    const text = escapeMarkdown(describeRecovery(recovery, result.policy));
    lines.push(recovery.recovered ? `- Recovery: ${text}` : `- **Recovery: ${text}**`);
  }
  const blocks = lines.length > 0 ? [lines.join('\n')] : [];
  if (rollback && !rollback.ok) {
    // A GitHub alert block: the one part of the summary nobody should scroll past.
    blocks.unshift(
      [
        '> [!CAUTION]',
        `> **Rollback failed (${escapeMarkdown(rollbackEnding(rollback))})**: ${escapeMarkdown(commandLine(rollback.command))} ran for ${formatMs(rollback.durationMs)}.`,
        '> The release the gate failed may still be serving: roll it back by hand.',
      ].join('\n'),
      rollback.output.trim() === '' ? '_The command printed nothing._' : fencedBlock(tailLines(rollback.output, ROLLBACK_OUTPUT_LINES)),
    );
  }
  return blocks.length > 0 ? `### Outcome\n\n${blocks.join('\n\n')}` : undefined;
}

export function renderStepSummary(result: GateResult): string {
  const title = `${verdictEmoji[result.verdict]} ceiling ${result.command}: ${verdictTitles[result.verdict]}`;
  const facts = [`${result.rounds} round${result.rounds === 1 ? '' : 's'}`, `exit code ${result.exitCode}`];
  if (result.expectedVersion !== undefined) facts.unshift(`expected version ${escapeMarkdown(result.expectedVersion)}`);
  const sections = [
    `## ${title}`,
    `**${escapeMarkdown(result.reason)}**`,
    `${facts.join(' · ')}`,
    targetsTable(result),
    fleetsSection(result),
    findingsSection(groupFindings(result.findings)),
    latencySection(result),
    outcomeSection(result),
    `<sub>ceiling ${escapeMarkdown(result.tool.version)} · started ${escapeMarkdown(result.startedAt)} · finished ${escapeMarkdown(result.finishedAt)}</sub>`,
  ];
  return `${sections.filter((section): section is string => section !== undefined).join('\n\n')}\n`;
}

/**
 * Only findings that blocked the deploy are errors. A flaky pass (unless the
 * policy counts it), an unreachable fleet, and anything under a passing
 * verdict are warnings: worth a look, not what failed the job.
 */
function severityOf(finding: GateFinding, result: GateResult): AnnotationSeverity {
  if (result.verdict === 'pass') return 'warning';
  if (finding.kind === 'flaky' && !result.policy.failOnFlaky) return 'warning';
  if (finding.kind === 'infrastructure') return 'warning';
  return 'error';
}

/** One workflow command per distinct finding, a failed rollback first: GitHub shows only the first ten of each kind. */
export function renderAnnotations(result: GateResult, workspace: string = process.cwd(), cwd: string = process.cwd()): string[] {
  const lines: string[] = [];
  const { rollback } = result;
  if (rollback && !rollback.ok) {
    lines.push(
      annotation(
        'error',
        { title: `ceiling ${result.command}: rollback failed (${rollbackEnding(rollback)})` },
        `${describeRollback(rollback)}\n${tailLines(rollback.output, 20)}`,
      ),
    );
  }
  const groups = groupFindings(result.findings);
  for (const { finding, rounds } of groups) {
    const seen = describeRounds(rounds);
    // GitHub pins an annotation only to a path inside the workspace; journeys listed in ceiling.yaml are absolute.
    const file = finding.file !== undefined ? workspacePath(finding.file, workspace, cwd) : undefined;
    const location = file !== undefined ? { file, line: finding.line } : {};
    const title = `${finding.target} › ${findingPlace(finding)}`;
    lines.push(annotation(severityOf(finding, result), { ...location, title }, `${finding.code}: ${finding.message}${seen ? ` (${seen})` : ''}`));
  }
  if (groups.length === 0 && result.verdict !== 'pass') {
    lines.push(
      annotation(result.verdict === 'fail' ? 'error' : 'warning', { title: `ceiling ${result.command}: ${verdictTitles[result.verdict]}` }, result.reason),
    );
  }
  return lines;
}
