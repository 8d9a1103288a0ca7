/**
 * Text pieces shared by the console and the JUnit body, so a failure reads the
 * same in a terminal and in a CI test tab. Colour is a parameter: with it off,
 * picocolors hands back identity functions and the text is plain.
 */
import pc from 'picocolors';
import type { AttemptResult, FailureInfo, StepResult, StepStatus } from '../core/result.js';
import { formatMs } from '../journey/duration.js';
import type { SourceLocation } from '../core/source-location.js';

export interface TextOptions {
  color: boolean;
}

export type Colors = ReturnType<typeof pc.createColors>;
export type Hue = 'green' | 'red' | 'magenta' | 'yellow' | 'gray';

export const paletteFor = (options: TextOptions): Colors => pc.createColors(options.color);

export const formatLocation = (location: SourceLocation): string => `${location.file}:${location.line}:${location.column}`;

export function indent(text: string, prefix = '  '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : prefix + line))
    .join('\n');
}

export interface ValueLimits {
  maxLines: number;
  maxChars: number;
}

// A 5 MB response body pasted into a CI log buries the one line that matters.
export const defaultValueLimits: ValueLimits = { maxLines: 40, maxChars: 2000 };

// Short values read best on the label's line; long ones need the indentation to be read at all.
const INLINE_JSON_LIMIT = 60;

function readableJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const compact = JSON.stringify(value) ?? String(value);
    return compact.length <= INLINE_JSON_LIMIT ? compact : JSON.stringify(value, null, 2);
  } catch {
    // BigInt or a cycle: the engine should not send these, but a report must never throw over them.
    return String(value);
  }
}

export function truncateText(text: string, limits: ValueLimits = defaultValueLimits): string {
  const lines = text.split('\n');
  if (lines.length <= limits.maxLines && text.length <= limits.maxChars) return text;
  let kept = lines.slice(0, limits.maxLines).join('\n').slice(0, limits.maxChars);
  // Cutting between the halves of a surrogate pair would leave a lone surrogate, which is invalid in XML.
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  return `${kept}\n… (${text.length - kept.length} more characters)`;
}

export const formatValue = (value: unknown, limits: ValueLimits = defaultValueLimits): string => truncateText(readableJson(value), limits);

export function attemptLabel(attempt: number, maxAttempts?: number): string {
  return maxAttempts === undefined ? `attempt ${attempt}` : `attempt ${attempt}/${maxAttempts}`;
}

const stepMarks: Record<StepStatus, { label: string; paint: Hue }> = {
  passed: { label: 'pass', paint: 'green' },
  failed: { label: 'fail', paint: 'red' },
  error: { label: 'error', paint: 'magenta' },
  skipped: { label: 'skip', paint: 'gray' },
};

export function renderStepLine(step: StepResult, options: TextOptions): string {
  const colors = paletteFor(options);
  const mark = stepMarks[step.status];
  const parts = [colors[mark.paint](mark.label.padEnd(5)), step.section === 'finally' ? `${colors.dim('finally ›')} ${step.name}` : step.name];
  // A skipped step never ran, so a duration of 0ms would only be noise.
  if (step.status !== 'skipped') parts.push(colors.dim(`(${formatMs(step.durationMs)})`));
  if (step.status === 'failed' || step.status === 'error') parts.push(colors.cyan(formatLocation(step.location)));
  return parts.join(' ');
}

export function failedStepOf(attempt: AttemptResult): StepResult | undefined {
  if (attempt.failedStep !== undefined) {
    const byIndex = attempt.steps.find((step) => step.index === attempt.failedStep);
    if (byIndex) return byIndex;
  }
  return attempt.steps.find((step) => step.status === 'failed' || step.status === 'error');
}

function labelledValue(label: string, paint: (text: string) => string, value: unknown): string {
  const text = formatValue(value);
  // Inline labels are padded so expected and actual line up; a block value goes under a bare label.
  return text.includes('\n') ? `${paint(`${label}:`)}\n${indent(text)}` : `${paint(`${label}:`.padEnd(9))} ${text}`;
}

/** One line: where and what, for attempts whose full details would only repeat the last one. */
export function renderFailureSummary(attempt: AttemptResult, options: TextOptions): string {
  const colors = paletteFor(options);
  const step = failedStepOf(attempt);
  const failure = attempt.failure ?? step?.failure;
  const where = step
    ? `${colors.cyan(formatLocation(step.location))} › ${step.name} — `
    : failure?.location
      ? `${colors.cyan(formatLocation(failure.location))} — `
      : '';
  const what = failure ? `${colors.red(`${failure.class} ${failure.code}`)}: ${failure.message}` : attempt.status;
  return `${where}${what}`.replace(/\s*\n\s*/g, ' ');
}

/** The finally steps under the failure; a cleanup failure beside a failure of the steps is told apart, never instead of it. */
function renderFinallyLines(attempt: AttemptResult, failure: FailureInfo | undefined, options: TextOptions): string[] {
  const colors = paletteFor(options);
  const lines: string[] = [];
  const cleanup = attempt.finallyFailure;
  if (cleanup && cleanup.message !== failure?.message) {
    const where = cleanup.location ? `${colors.cyan(formatLocation(cleanup.location))} — ` : '';
    lines.push(`${colors.yellow('cleanup failed too:')} ${where}${colors.red(`${cleanup.class} ${cleanup.code}`)}: ${cleanup.message}`);
  }
  for (const step of attempt.finallySteps ?? []) lines.push(renderStepLine(step, options));
  return lines;
}

/**
 * Where the attempt broke, what broke, and expected against actual: the
 * lines a reader needs to fix a journey without opening the JSON.
 */
export function renderFailureDetails(attempt: AttemptResult, options: TextOptions): string {
  const colors = paletteFor(options);
  const step = failedStepOf(attempt);
  const failure = attempt.failure ?? step?.failure;
  const lines: string[] = [];
  if (step) lines.push(`${colors.cyan(formatLocation(step.location))} › ${colors.bold(step.name)}`);
  else if (failure?.location) lines.push(colors.cyan(formatLocation(failure.location)));
  if (failure) {
    lines.push(`${colors.red(`${failure.class} ${failure.code}`)}: ${failure.message}`);
    if (failure.path) lines.push(`at ${failure.path}`);
    if (failure.expected !== undefined) lines.push(labelledValue('expected', colors.green, failure.expected));
    if (failure.actual !== undefined) lines.push(labelledValue('actual', colors.red, failure.actual));
    if (failure.hint) lines.push(`${colors.yellow('hint:')} ${failure.hint}`);
  } else if (attempt.status !== 'passed') {
    lines.push(`${attempt.status} without failure details`);
  }
  lines.push(...renderFinallyLines(attempt, failure, options));
  for (const cleanupError of attempt.cleanupErrors) lines.push(`${colors.dim('cleanup:')} ${cleanupError}`);
  for (const attachment of attempt.attachments ?? []) lines.push(`${colors.dim(`${attachment.name}:`)} ${attachment.path}`);
  // With tracing on, the id finds the backend's side of this attempt in Jaeger, Tempo or any OTLP backend.
  if (attempt.traceId !== undefined) lines.push(`${colors.dim('trace:')} ${attempt.traceId}`);
  return lines.join('\n');
}
