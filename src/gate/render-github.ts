/**
 * The verdict where GitHub Actions shows it: a markdown job summary (the file
 * named by GITHUB_STEP_SUMMARY) and workflow-command annotations that GitHub
 * pins to the journey file and line. Target names, messages and command
 * output are user text: they are escaped so they cannot break a table, start
 * markup, or end a workflow command early.
 */
import { appendFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { formatMs } from '../journey/duration.js';
import type { GateFinding, GateResult, TargetOutcome, Verdict } from './model.js';
import {
  commandLine,
  describeBaseline,
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

/** GitHub refuses a step summary above 1 MiB; long tables are cut well before that and point to the verdict file. */
const MAX_TABLE_ROWS = 50;
const ROLLBACK_OUTPUT_LINES = 60;

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Inline user text: HTML is neutralised as entities, and the characters that
 * open emphasis, code, links, strike-through, math or headings are
 * backslash-escaped (GFM honours a backslash before any ASCII punctuation).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[&<>]/g, (char) => htmlEscapes[char] ?? char)
    .replace(/[\\`*_{}[\]#|~$]/g, '\\$&')
    .replace(/\r\n?|\n/g, ' ');
}

/** A table cell: a pipe would start a new column and a newline would end the row, so newlines become <br>. */
export function escapeTableCell(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => escapeMarkdown(line))
    .join('<br>');
}

/** A fence longer than any backtick run inside, so command output cannot close its own code block. */
function fencedBlock(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** Inline code for identifiers such as error codes; in a table a pipe must be escaped even inside code. */
function codeSpan(text: string): string {
  const oneLine = text.replace(/\r\n?|\n/g, ' ').replace(/\|/g, '\\|');
  const longestRun = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longestRun + 1);
  // A span that starts or ends with a backtick needs a space inside its delimiters.
  const padding = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : '';
  return `${ticks}${padding}${oneLine}${padding}${ticks}`;
}

function table(header: string[], rows: string[][], total: number): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
  if (total > rows.length) lines.push('', `…and ${total - rows.length} more in the verdict file.`);
  return lines.join('\n');
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

function findingsSection(groups: readonly FindingGroup[]): string | undefined {
  if (groups.length === 0) return undefined;
  const rows = groups.slice(0, MAX_TABLE_ROWS).map(({ finding, rounds }) => [
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
  const rows = sorted.slice(0, MAX_TABLE_ROWS).map((comparison) => [
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
    findingsSection(groupFindings(result.findings)),
    latencySection(result),
    outcomeSection(result),
    `<sub>ceiling ${escapeMarkdown(result.tool.version)} · started ${escapeMarkdown(result.startedAt)} · finished ${escapeMarkdown(result.finishedAt)}</sub>`,
  ];
  return `${sections.filter((section): section is string => section !== undefined).join('\n\n')}\n`;
}

/** Workflow-command data: these three characters would end or split the command. */
export const escapeCommandData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** Workflow-command properties additionally lose `:` (ends the property list) and `,` (separates properties). */
export const escapeCommandProperty = (text: string): string => escapeCommandData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

type Severity = 'error' | 'warning';

function annotation(severity: Severity, properties: Record<string, string | number | undefined>, message: string): string {
  const list = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${escapeCommandProperty(String(value))}`)
    .join(',');
  return `::${severity}${list ? ` ${list}` : ''}::${escapeCommandData(message)}`;
}

/**
 * Only findings that blocked the deploy are errors. A flaky pass (unless the
 * policy counts it), an unreachable fleet, and anything under a passing
 * verdict are warnings: worth a look, not what failed the job.
 */
function severityOf(finding: GateFinding, result: GateResult): Severity {
  if (result.verdict === 'pass') return 'warning';
  if (finding.kind === 'flaky' && !result.policy.failOnFlaky) return 'warning';
  if (finding.kind === 'infrastructure') return 'warning';
  return 'error';
}

/** One workflow command per distinct finding, a failed rollback first: GitHub shows only the first ten of each kind. */
export function renderAnnotations(result: GateResult): string[] {
  const lines: string[] = [];
  const { rollback } = result;
  if (rollback && !rollback.ok) {
    lines.push(annotation('error', { title: `ceiling ${result.command}: rollback failed (${rollbackEnding(rollback)})` }, `${describeRollback(rollback)}\n${tailLines(rollback.output, 20)}`));
  }
  const groups = groupFindings(result.findings);
  for (const { finding, rounds } of groups) {
    const seen = describeRounds(rounds);
    const location = finding.file !== undefined ? { file: finding.file, line: finding.line } : {};
    const title = `${finding.target} › ${findingPlace(finding)}`;
    lines.push(annotation(severityOf(finding, result), { ...location, title }, `${finding.code}: ${finding.message}${seen ? ` (${seen})` : ''}`));
  }
  if (groups.length === 0 && result.verdict !== 'pass') {
    lines.push(annotation(result.verdict === 'fail' ? 'error' : 'warning', { title: `ceiling ${result.command}: ${verdictTitles[result.verdict]}` }, result.reason));
  }
  return lines;
}

/** The newlines that put a blank line between what the file holds and what comes next. */
async function separatorAfter(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return '';
    const tail = Buffer.alloc(Math.min(2, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    const text = tail.toString('latin1');
    return text.endsWith('\n\n') || (size === 1 && text === '\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  } finally {
    await handle.close();
  }
}

/**
 * GitHub concatenates every step's summary from this one file, so it is
 * appended to, never replaced, after a blank line: without one, our table
 * could run into the end of whatever an earlier step wrote.
 */
export async function writeStepSummary(file: string, markdown: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${await separatorAfter(file)}${markdown.trimEnd()}\n`, 'utf8');
}
