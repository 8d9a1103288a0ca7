/**
 * `ceiling run` where GitHub Actions shows it: a markdown step summary
 * appended to the file named by GITHUB_STEP_SUMMARY, and one workflow-command
 * annotation per failed step (a warning per flaky journey), pinned to the
 * journey file and line relative to the workspace. The escaping, the
 * annotation line and the append are the gate's (github-text.ts).
 */
import type { AttemptResult, JourneyResult, JourneyStatus, RunResult, RunStatus, StepResult } from '../core/result.js';
import { formatMs } from '../journey/duration.js';
import { annotation, codeSpan, escapeMarkdown, escapeTableCell, markdownTable, MAX_TABLE_ROWS, workspacePath, writeStepSummary } from './github-text.js';
import { writeToStream, type OutputStream } from './output.js';
import type { Reporter } from './reporter.js';

export interface GithubOptions {
  /** The GITHUB_STEP_SUMMARY file; without one only the annotations are written. */
  summaryFile?: string;
  /** GITHUB_WORKSPACE: annotation paths are relative to it. */
  workspace: string;
}

const runTitles: Record<RunStatus, string> = {
  passed: '✅ ceiling run: PASSED',
  failed: '❌ ceiling run: FAILED',
  'nothing-tested': '⚠️ ceiling run: NOTHING TESTED',
  inconclusive: '⚠️ ceiling run: INCONCLUSIVE (the runner stalled)',
  interrupted: '⚠️ ceiling run: INTERRUPTED',
  invalid: '❌ ceiling run: INVALID INPUT',
};

const journeyEmoji: Record<JourneyStatus, string> = { passed: '✅', failed: '❌', error: '💥', flaky: '⚠️' };

/** The attempt that explains a journey: the last one when it did not pass, the first failed one when it was flaky. */
function telling(journey: JourneyResult): AttemptResult | undefined {
  if (journey.status === 'flaky') return journey.attempts.find((attempt) => attempt.status !== 'passed');
  if (journey.status === 'passed') return undefined;
  return journey.attempts[journey.attempts.length - 1];
}

function failedStepOf(attempt: AttemptResult): StepResult | undefined {
  return attempt.steps.find((step) => step.index === attempt.failedStep) ?? attempt.steps.find((step) => step.status === 'failed' || step.status === 'error');
}

const stepLabel = (step: StepResult | undefined): string => (step ? `${step.index + 1}. ${step.name}` : '');

function reasonOf(attempt: AttemptResult): string {
  const failure = attempt.failure;
  if (!failure) return '';
  return `${failure.code}: ${failure.message}`;
}

/** Where a journey file is shown: relative to the workspace when inside it, as the annotations are. */
export interface PathContext {
  workspace: string;
  cwd?: string;
}

const shownPath = (file: string, where: PathContext): string => workspacePath(file, where.workspace, where.cwd) ?? file;

function journeysTable(result: RunResult, where: PathContext): string {
  // Not-passed journeys first: they are the rows worth reading when the table is cut.
  const order: Record<JourneyStatus, number> = { failed: 0, error: 0, flaky: 1, passed: 2 };
  const sorted = [...result.journeys].sort((a, b) => order[a.status] - order[b.status]);
  const rows = sorted.slice(0, MAX_TABLE_ROWS).map((journey) => {
    const attempt = telling(journey);
    const step = attempt ? failedStepOf(attempt) : undefined;
    return [
      `${journeyEmoji[journey.status]} ${journey.status}`,
      escapeTableCell(journey.name),
      escapeTableCell(step ? `${stepLabel(step)} (${shownPath(step.location.file, where)}:${step.location.line})` : ''),
      attempt?.failure ? `${codeSpan(attempt.failure.code)} ${escapeTableCell(attempt.failure.message)}` : '',
      formatMs(journey.durationMs),
    ];
  });
  return markdownTable(['Status', 'Journey', 'Failing step', 'Reason', 'Took'], rows, sorted.length, 'the JSON or JUnit report');
}

export function renderRunSummary(result: RunResult, where: PathContext = { workspace: process.cwd() }): string {
  const { totals } = result;
  const counts = [`${totals.passed} passed`, `${totals.failed} failed`, `${totals.errored} errored`, `${totals.flaky} flaky`].join(' · ');
  const sections = [
    `## ${runTitles[result.status]}`,
    `${totals.journeys} journey${totals.journeys === 1 ? '' : 's'}: ${counts} · ${formatMs(result.durationMs)} · exit code ${result.exitCode}`,
    result.journeys.length > 0 ? journeysTable(result, where) : undefined,
    result.failOnFlaky && totals.flaky > 0 ? '**--fail-on-flaky:** a pass after a retry fails this run.' : undefined,
    `<sub>ceiling ${escapeMarkdown(result.tool.version)} · started ${escapeMarkdown(result.startedAt)}</sub>`,
  ];
  return `${sections.filter((section): section is string => section !== undefined).join('\n\n')}\n`;
}

/** One line per journey that did not pass cleanly; GitHub shows the first ten errors and ten warnings of a step. */
export function renderRunAnnotations(result: RunResult, workspace: string, cwd: string = process.cwd()): string[] {
  const lines: string[] = [];
  for (const journey of result.journeys) {
    const attempt = telling(journey);
    if (!attempt) continue;
    const step = failedStepOf(attempt);
    const located = step?.location ?? attempt.failure?.location;
    const file = workspacePath(located?.file ?? journey.file, workspace, cwd);
    const place = located ? { file, line: located.line, col: located.column } : { file };
    const severity = journey.status === 'flaky' && !result.failOnFlaky ? 'warning' : 'error';
    const title = `${journey.status === 'flaky' ? 'flaky: ' : ''}${journey.name}${step ? ` › ${step.name}` : ''}`;
    const hint = attempt.failure?.hint ? `\n${attempt.failure.hint}` : '';
    const retried = journey.status === 'flaky' ? ` (passed on attempt ${journey.attempts.length})` : '';
    lines.push(annotation(severity, { ...place, title }, `${reasonOf(attempt) || journey.status}${retried}${hint}`));
  }
  return lines;
}

export class GithubReporter implements Reporter {
  readonly name = 'github';

  constructor(
    private readonly stdout: OutputStream,
    private readonly options: GithubOptions,
  ) {}

  async onRunEnd(result: RunResult): Promise<void> {
    const annotations = renderRunAnnotations(result, this.options.workspace);
    if (annotations.length > 0) await writeToStream(this.stdout, `${annotations.join('\n')}\n`);
    if (this.options.summaryFile) await writeStepSummary(this.options.summaryFile, renderRunSummary(result, { workspace: this.options.workspace }));
  }
}
