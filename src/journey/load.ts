import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FailureCode } from '../core/failure-codes.js';
import { didYouMean } from './did-you-mean.js';
import { formatField, type Diagnostic } from './diagnostics.js';
import { fastParse } from './fast-yaml.js';
import { formatBytes, LIMIT_VARIABLES, loadLimitsFrom, type LoadLimits } from './load-limits.js';
import { FileReport } from './file-report.js';
import type { Path } from './positions.js';
import { durationMs } from './duration.js';
import { DEFAULT_FINALLY_TIMEOUT_MS, DEFAULT_JOURNEY_TIMEOUT_MS, type CompiledStep, type Journey } from './journey.js';
import { envelopeKeys, journeyHeader, stepEnvelopeSchema, stepKinds, stepSpecs, untilKinds, type StepKind, type UntilSpec } from './schema.js';
import { checkSemantics } from './semantics.js';
import { isRecord } from './value-path.js';
import { reportZodIssues, type ZodIssueLike } from './zod-issues.js';

export interface LoadOptions {
  /** Names given with --var; templates may use them without a definition in the file. */
  extraVars?: readonly string[];
  /** Size and alias bounds per file; by default from CEILING_MAX_FILE_SIZE and CEILING_YAML_ALIAS_BUDGET. */
  limits?: LoadLimits;
}

export interface LoadResult {
  journeys: Journey[];
  diagnostics: Diagnostic[];
  /** Files that were read, in order, including ones with errors. */
  files: string[];
}

function describeStep(kind: StepKind, spec: unknown): string {
  const record = (spec ?? {}) as Record<string, unknown>;
  if (kind === 'http') return `${String(record.method ?? 'GET')} ${withoutPassword(String(record.url))}`;
  if (kind.startsWith('ws.')) return `${kind} ${String(record.as)}`;
  if (kind.startsWith('browser.')) {
    const target = isRecord(record.target) ? ` ${describeTarget(record.target)}` : '';
    const extra = typeof record.url === 'string' ? ` ${record.url}` : '';
    return `${kind} ${String(record.as)}${target}${extra}`;
  }
  if (kind === 'wait') return `wait ${String(spec)}`;
  return kind;
}

/** A URL for people to read: a password in it (http://user:pw@host/) masked, since step names reach every report. */
function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, '$1:***@');
}

/** A locator as a person would say it: `button "Post"`, `label "Email"`, `css #save`. */
export function describeTarget(target: Record<string, unknown>): string {
  if (typeof target.role === 'string') return typeof target.name === 'string' ? `${target.role} "${target.name}"` : String(target.role);
  for (const kind of ['label', 'text', 'placeholder', 'testId'] as const) {
    if (typeof target[kind] === 'string') return `${kind} "${String(target[kind])}"`;
  }
  return typeof target.css === 'string' ? `css ${target.css}` : 'target';
}

function stepAsserts(kind: StepKind, step: Record<string, unknown>): boolean {
  const rule = stepSpecs[kind].asserts;
  if (rule === 'always') return true;
  if (rule === 'expect') return step.expect !== undefined && Object.keys(step.expect as object).length > 0;
  return false;
}

function envelopeKeyNotAllowed(kind: StepKind, key: string): string {
  const takers = stepKinds.filter((candidate) =>
    key === 'expect' ? stepSpecs[candidate].expect !== null : key === 'until' ? untilKinds.has(candidate) : stepSpecs[candidate].capture,
  );
  const instead =
    kind.startsWith('ws.') && key === 'expect'
      ? '; to check a message, add a ws.expect step after it'
      : kind.startsWith('ws.') && key === 'capture'
        ? '; to capture from a message, put capture inside a ws.expect step'
        : '';
  return `${kind} does not take "${key}"; only ${takers.join(', ')} steps do${instead}`;
}

function compileUntil(until: UntilSpec): { everyMs: number; attempts?: number } {
  return { everyMs: durationMs(until.every), ...(until.attempts !== undefined ? { attempts: until.attempts } : {}) };
}

function compileStep(report: FileReport, raw: unknown, index: number, section: 'steps' | 'finally' = 'steps'): CompiledStep | null {
  const at: Path = [section, index];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    report.add('error', 'CEIL_STEP_SHAPE', at, `each step is a mapping with exactly one action key, e.g. "- http: { url: … }"`);
    return null;
  }
  const record = raw as Record<string, unknown>;
  const actionKeys = Object.keys(record).filter((key) => !(envelopeKeys as readonly string[]).includes(key));
  const unknown = actionKeys.filter((key) => !(stepKinds as string[]).includes(key));
  for (const key of unknown) {
    report.add('error', 'CEIL_STEP_UNKNOWN', [...at, key], `unknown step "${key}"${didYouMean(key, [...stepKinds, ...envelopeKeys])}`, true);
  }
  if (unknown.length > 0) return null;
  if (actionKeys.length === 0) {
    report.add(
      'error',
      'CEIL_STEP_NO_ACTION',
      at,
      `step has no action; add one such as http, ws.connect, browser.open, wait, assert or set (ceiling schema lists them all)`,
    );
    return null;
  }
  if (actionKeys.length > 1) {
    report.add(
      'error',
      'CEIL_STEP_MANY_ACTIONS',
      [...at, actionKeys[1]!],
      `a step takes exactly one action, found ${actionKeys.join(' and ')}; split it into ${actionKeys.length} steps`,
      true,
    );
    return null;
  }
  const kind = actionKeys[0] as StepKind;
  const schema = stepEnvelopeSchema(kind);
  const parsed = schema.safeParse(record);
  if (!parsed.success) {
    const issues = (parsed.error.issues as unknown as ZodIssueLike[]).map((issue) => {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
        const envelope = (issue.keys ?? []).filter((key) => (envelopeKeys as readonly string[]).includes(key));
        for (const key of envelope) report.add('error', 'CEIL_STEP_KEY_NOT_ALLOWED', [...at, key], envelopeKeyNotAllowed(kind, key), true);
        return { ...issue, keys: (issue.keys ?? []).filter((key) => !envelope.includes(key)) };
      }
      return issue;
    });
    reportZodIssues(
      report,
      schema,
      issues.filter((issue) => issue.code !== 'unrecognized_keys' || (issue.keys ?? []).length > 0),
      at,
      record,
    );
    return null;
  }
  const data = parsed.data as Record<string, unknown>;
  const location = report.locate(at);
  const step = {
    index,
    kind,
    name: typeof data.name === 'string' ? data.name : describeStep(kind, data[kind]),
    label: typeof data.name === 'string' ? data.name : `${kind}#${index + 1}`,
    spec: data[kind],
    location,
    asserts: stepAsserts(kind, data),
    ...(section === 'finally' ? { section } : {}),
    ...(data.expect !== undefined ? { expect: data.expect } : {}),
    ...(data.capture !== undefined ? { capture: data.capture } : {}),
    ...(typeof data.timeout === 'string' ? (data.timeout.includes('{{') ? { timeoutTemplate: data.timeout } : { timeoutMs: durationMs(data.timeout) }) : {}),
    ...(isRecord(data.until) ? { until: compileUntil(data.until as UntilSpec) } : {}),
  };
  return step as CompiledStep;
}

/**
 * Reads one journey. Most files are valid, so they take the fast parser; a
 * file with anything to report is read again with exact positions, so every
 * diagnostic points at the right line and column.
 */
type ScheduleModule = typeof import('./schedule.js');

export async function loadJourneyText(file: string, text: string, options: LoadOptions = {}): Promise<{ journey?: Journey; diagnostics: Diagnostic[] }> {
  // croner is loaded only for files that may hold a schedule, so plain runs do not pay for it.
  const schedules: ScheduleModule | undefined = text.includes('schedule') ? await import('./schedule.js') : undefined;
  const fast = fastParse(text);
  if (fast) {
    const result = compileJourney(new FileReport(file, fast.positions), fast.raw, options, schedules);
    if (result.diagnostics.length === 0) return result;
  }
  const { parseWithPositions } = await import('./yaml-positions.js');
  const exact = parseWithPositions(text, options.limits ? { aliasBudget: options.limits.aliasBudget } : {});
  const report = new FileReport(file, exact.positions);
  // A syntax error throws the parser off for the rest of the file: what follows it is mostly echoes, so only the first is
  // told. A duplicate key throws nothing off, so each one is.
  const byPosition = [...exact.errors].sort((a, b) => a.position.line - b.position.line || a.position.column - b.position.column);
  const syntaxErrors = byPosition.filter((error) => error.code !== 'DUPLICATE_KEY');
  const told = byPosition.filter((error) => error.code === 'DUPLICATE_KEY' || error === syntaxErrors[0]);
  for (const error of told) {
    const rest = error === syntaxErrors[0] ? syntaxErrors.length - 1 : 0;
    const more = rest > 0 ? ` (${rest} more YAML error${rest === 1 ? '' : 's'} after it, most often caused by this one: fix it and validate again)` : '';
    const friendly =
      error.code === 'TAB_AS_INDENT'
        ? `${error.message}; indent with spaces`
        : error.code === 'DUPLICATE_KEY'
          ? `duplicate key${error.at.length > 0 ? ` "${String(error.at[error.at.length - 1])}"` : ''}: each key may appear once per mapping; remove or rename one of them`
          : error.message;
    report.addAt('error', `CEIL_YAML_${error.code}`, error.position.line, error.position.column, `${friendly}${more}`, formatField(error.at));
  }
  if (exact.errors.length > 0) return { diagnostics: report.sorted() };
  return compileJourney(report, exact.raw, options, schedules);
}

function compileJourney(
  report: FileReport,
  raw: unknown,
  options: LoadOptions,
  schedules: ScheduleModule | undefined,
): { journey?: Journey; diagnostics: Diagnostic[] } {
  const file = report.file;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    report.addAt('error', 'CEIL_JOURNEY_SHAPE', 1, 1, 'a journey file is a mapping with name and steps');
    return { diagnostics: report.diagnostics };
  }
  const header = journeyHeader.safeParse(raw);
  if (!header.success) {
    reportZodIssues(report, journeyHeader, header.error.issues as unknown as ZodIssueLike[], [], raw);
  }
  const rawSteps = (raw as { steps?: unknown }).steps;
  const steps = Array.isArray(rawSteps) ? rawSteps.map((step, index) => compileStep(report, step, index)) : [];
  const compiled = steps.filter((step): step is CompiledStep => step !== null);
  const rawFinally = (raw as { finally?: unknown }).finally;
  const finallySteps = Array.isArray(rawFinally) ? rawFinally.map((step, index) => compileStep(report, step, index, 'finally')) : [];
  const compiledFinally = finallySteps.filter((step): step is CompiledStep => step !== null);
  // A header problem elsewhere (retries: two) must not make every var look undefined.
  const rawVars = (raw as { vars?: unknown }).vars;
  const vars = header.success ? (header.data.vars ?? {}) : isRecord(rawVars) ? rawVars : {};
  // Finally steps follow the steps, so what the steps define (vars, captures, actors) is known in them.
  checkSemantics(
    report,
    [...steps, ...finallySteps],
    [...(Array.isArray(rawSteps) ? rawSteps : []), ...(Array.isArray(rawFinally) ? rawFinally : [])],
    vars,
    options.extraVars ?? [],
  );
  const schedule = header.success && header.data.schedule && schedules ? schedules.compileSchedule(report, header.data.schedule) : undefined;
  if (
    !header.success ||
    compiled.length !== steps.length ||
    compiledFinally.length !== finallySteps.length ||
    report.diagnostics.some((d) => d.severity === 'error')
  ) {
    return { diagnostics: report.sorted() };
  }
  const data = header.data;
  if (!compiled.some((step) => step.asserts)) {
    report.add(
      'warning',
      'CEIL_NO_ASSERTION',
      ['steps'],
      'this journey checks nothing (no expect, ws.expect or assert); a run of it counts as nothing tested (exit 3)',
    );
  }
  const journey: Journey = {
    name: data.name,
    file,
    tags: data.tags ?? [],
    vars,
    timeoutMs: data.timeout ? durationMs(data.timeout) : DEFAULT_JOURNEY_TIMEOUT_MS,
    retries: data.retries ?? 0,
    ...(schedule ? { schedule } : {}),
    ...(data.trace?.propagate === false ? { propagateTrace: false as const } : {}),
    steps: compiled,
    ...(compiledFinally.length > 0
      ? { finally: compiledFinally, finallyTimeoutMs: data.finallyTimeout ? durationMs(data.finallyTimeout) : DEFAULT_FINALLY_TIMEOUT_MS }
      : {}),
    location: report.locate([]),
    ...(data.description !== undefined ? { description: data.description } : {}),
  };
  return { journey, diagnostics: report.diagnostics };
}

const journeyExtensions = new Set(['.yaml', '.yml']);
/** The project config lives beside journeys (`ceiling gate .`); a folder scan must not read it as one. */
const projectConfigNames = new Set(['ceiling.yaml', 'ceiling.yml']);

/** Expands files and folders into journey files, sorted so runs are repeatable. */
export async function findJourneyFiles(inputs: readonly string[]): Promise<{ files: string[]; diagnostics: Diagnostic[] }> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      diagnostics.push(
        fileDiagnostic(
          'CEIL_FILE_UNREADABLE',
          dir,
          `cannot read this folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check its permissions`,
        ),
      );
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (journeyExtensions.has(path.extname(entry.name)) && !projectConfigNames.has(entry.name)) files.push(full);
    }
  };
  for (const input of inputs) {
    try {
      const info = await stat(input);
      if (info.isDirectory()) await walk(input);
      else files.push(input);
    } catch {
      diagnostics.push({
        severity: 'error',
        code: 'CEIL_PATH_NOT_FOUND',
        file: input,
        line: 1,
        column: 1,
        field: '',
        message: 'no such file or folder; pass journey files (.yaml) or folders that hold them',
      });
    }
  }
  return { files: [...new Set(files)], diagnostics };
}

function fileDiagnostic(code: FailureCode, file: string, message: string): Diagnostic {
  return { severity: 'error', code, file, line: 1, column: 1, field: '', message };
}

/** Why a path in a journeys folder cannot be read, said the way a person would fix it. */
async function unreadableReason(file: string, error: NodeJS.ErrnoException): Promise<string> {
  const link = await lstat(file)
    .then((info) => (info.isSymbolicLink() ? readlink(file) : undefined))
    .catch(() => undefined);
  if (link !== undefined && error.code === 'ENOENT') return `a symbolic link to ${link}, which does not exist; fix or remove the link`;
  if (error.code === 'ELOOP') return `a symbolic link that points back to itself${link !== undefined ? ` (via ${link})` : ''}; fix or remove the link`;
  if (error.code === 'EACCES' || error.code === 'EPERM') return 'cannot be read (permission denied); check its permissions';
  return `cannot be read (${error.code ?? error.message})`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one journey file within the size cap. A file that cannot be read
 * (a dangling or looping symlink) or is not text becomes a diagnostic for
 * that file alone, so one bad file never stops the others from loading.
 */
async function readJourneyFile(file: string, limits: LoadLimits): Promise<{ text: string } | { problem: Diagnostic }> {
  try {
    const info = await stat(file);
    if (info.isDirectory())
      return { problem: fileDiagnostic('CEIL_FILE_UNREADABLE', file, 'a folder named like a journey file; rename it or point at the files inside') };
    // A device or a pipe has no size to check, and reading /dev/zero or a FIFO would never end.
    if (!info.isFile())
      return { problem: fileDiagnostic('CEIL_FILE_UNREADABLE', file, 'not a regular file (a device or a pipe?); journey files are YAML text files') };
    if (info.size > limits.maxFileBytes) {
      return {
        problem: fileDiagnostic(
          'CEIL_FILE_TOO_BIG',
          file,
          `the file is ${formatBytes(info.size)}, over the ${formatBytes(limits.maxFileBytes)} limit for a journey file; split it, or raise ${LIMIT_VARIABLES.maxFileBytes} (e.g. ${LIMIT_VARIABLES.maxFileBytes}=4MiB)`,
        ),
      };
    }
    const bytes = await readFile(file);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return {
        problem: fileDiagnostic('CEIL_FILE_NOT_TEXT', file, 'not UTF-8 text (a binary file?); journey files are YAML text, remove it from the journeys folder'),
      };
    }
    if (text.includes('\u0000'))
      return {
        problem: fileDiagnostic(
          'CEIL_FILE_NOT_TEXT',
          file,
          'holds NUL bytes, so it is not a text file; journey files are YAML text, remove it from the journeys folder',
        ),
      };
    return { text };
  } catch (error) {
    return { problem: fileDiagnostic('CEIL_FILE_UNREADABLE', file, await unreadableReason(file, error as NodeJS.ErrnoException)) };
  }
}

export async function loadJourneys(inputs: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const limits = options.limits ?? loadLimitsFrom(process.env);
  if (typeof limits === 'string') {
    return {
      journeys: [],
      files: [],
      diagnostics: [{ severity: 'error', code: 'CEIL_LIMIT_INVALID', file: '(environment)', line: 1, column: 1, field: '', message: limits }],
    };
  }
  const found = await findJourneyFiles(inputs);
  const diagnostics = [...found.diagnostics];
  const journeys: Journey[] = [];
  const texts = await Promise.all(found.files.map(async (file) => ({ file, read: await readJourneyFile(file, limits) })));
  for (const { file, read } of texts) {
    if ('problem' in read) {
      diagnostics.push(read.problem);
      continue;
    }
    const loaded = await loadJourneyText(file, read.text, { ...options, limits });
    diagnostics.push(...loaded.diagnostics);
    if (loaded.journey) journeys.push(loaded.journey);
  }
  const seen = new Map<string, Journey>();
  for (const journey of journeys) {
    const first = seen.get(journey.name);
    if (first) {
      diagnostics.push({
        severity: 'error',
        code: 'CEIL_JOURNEY_DUPLICATE_NAME',
        file: journey.file,
        line: journey.location.line,
        column: journey.location.column,
        field: 'name',
        message: `journey name "${journey.name}" is already used by ${first.file}; names must be unique`,
      });
    } else seen.set(journey.name, journey);
  }
  return { journeys, diagnostics, files: found.files };
}
