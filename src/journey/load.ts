import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { didYouMean, nearestName } from './did-you-mean.js';
import { formatField, type Diagnostic, type Severity } from './diagnostics.js';
import { fastParse } from './fast-yaml.js';
import type { Path, PositionIndex } from './positions.js';
import { durationMs } from './duration.js';
import { DEFAULT_JOURNEY_TIMEOUT_MS, type CompiledStep, type Journey, type SourceLocation } from './journey.js';
import { matcherOperators, operatorProblems } from './matchers.js';
import { envelopeKeys, journeyHeader, stepEnvelopeSchema, stepKinds, stepSpecs, type StepKind } from './schema.js';
import { checkTemplate, stringsIn } from './template.js';


export interface LoadOptions {
  /** Names given with --var; templates may use them without a definition in the file. */
  extraVars?: readonly string[];
}

export interface LoadResult {
  journeys: Journey[];
  diagnostics: Diagnostic[];
  /** Files that were read, in order, including ones with errors. */
  files: string[];
}

export { didYouMean };

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Whether a path exists in a plain value, so a missing field can be told apart from a wrong one. */
function presentAt(value: unknown, target: readonly PropertyKey[]): { present: true; value: unknown } | { present: false } {
  let current = value;
  for (const segment of target) {
    if (current === null || typeof current !== 'object' || typeof segment === 'symbol' || !Object.hasOwn(current, segment)) return { present: false };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { present: true, value: current };
}

const typeNames: Record<string, string> = { number: 'a number', string: 'a string', boolean: 'true or false', object: 'a mapping', record: 'a mapping', array: 'a list' };

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

class FileReport {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    readonly file: string,
    private readonly positions: PositionIndex,
  ) {}

  locate(target: Path, preferKey = false): SourceLocation {
    const position = this.positions.locate(target, preferKey);
    return { file: this.file, line: position.line, column: position.column };
  }

  add(severity: Severity, code: string, target: Path, message: string, preferKey = false): void {
    const at = this.locate(target, preferKey);
    this.diagnostics.push({ severity, code, file: this.file, line: at.line, column: at.column, field: formatField(target), message });
  }

  /** In source order, so `ceiling validate` reads top to bottom; ties keep the order they were found in. */
  sorted(): Diagnostic[] {
    return [...this.diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  addAt(severity: Severity, code: string, line: number, column: number, message: string, field = ''): void {
    this.diagnostics.push({ severity, code, file: this.file, line, column, field, message });
  }
}

interface ZodDef {
  type: string;
  shape?: Record<string, { _zod: { def: ZodDef } }>;
  innerType?: { _zod: { def: ZodDef } };
  element?: { _zod: { def: ZodDef } };
  valueType?: { _zod: { def: ZodDef } };
  options?: { _zod: { def: ZodDef } }[];
  in?: { _zod: { def: ZodDef } };
}

/** The keys an object schema accepts at a path, so unknown keys can get a did-you-mean. */
function knownKeysAt(schema: z.ZodType, target: Path): string[] {
  const keysOf = (def: ZodDef | undefined, rest: Path): string[] => {
    if (!def) return [];
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
        return keysOf(def.innerType?._zod.def, rest);
      case 'pipe':
        return keysOf(def.in?._zod.def, rest);
      case 'union':
        return (def.options ?? []).flatMap((option) => keysOf(option._zod.def, rest));
      case 'array':
        return typeof rest[0] === 'number' ? keysOf(def.element?._zod.def, rest.slice(1)) : [];
      case 'record':
        return rest.length > 0 ? keysOf(def.valueType?._zod.def, rest.slice(1)) : [];
      case 'object': {
        const shape = def.shape ?? {};
        if (rest.length === 0) return Object.keys(shape);
        return keysOf(shape[String(rest[0])]?._zod.def, rest.slice(1));
      }
      default:
        return [];
    }
  };
  return [...new Set(keysOf((schema as unknown as { _zod: { def: ZodDef } })._zod.def, target))];
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
  errors?: ZodIssueLike[][];
}

/** A union's error is the clearest when it comes from the branch that got furthest. */
function bestUnionIssue(issue: ZodIssueLike): ZodIssueLike {
  const branches = issue.errors ?? [];
  let best: ZodIssueLike | undefined;
  for (const branch of branches) {
    for (const candidate of branch) {
      if (candidate.code === 'invalid_type' && branches.length > 1 && candidate.path.length === 0) continue;
      if (!best || candidate.path.length > best.path.length) best = candidate;
    }
  }
  if (!best) return issue;
  return { ...best, path: [...issue.path, ...best.path] };
}

/** `input` is the value the schema parsed, so a missing field and the value actually given can be named. */
function reportZodIssues(report: FileReport, schema: z.ZodType, issues: readonly ZodIssueLike[], base: Path, input: unknown): void {
  const resolved = issues.map((raw) => (raw.code === 'invalid_union' ? bestUnionIssue(raw) : raw));
  // A misspelt key ("ulr") also leaves its intended key missing; the did-you-mean already says the fix, so that second report is noise.
  const suggested = new Set<string>();
  for (const issue of resolved) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(schema, issue.path as Path);
    for (const key of issue.keys ?? []) {
      const best = nearestName(key, known);
      if (best !== undefined) suggested.add(formatField([...issue.path, best]));
    }
  }
  for (const issue of resolved) {
    const target: Path = [...base, ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)))];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path as Path);
      for (const key of issue.keys ?? []) {
        report.add('error', 'CEIL_SCHEMA_UNKNOWN_KEY', [...target, key], `unknown key "${key}"${didYouMean(key, known)}${known.length ? ` (allowed: ${known.join(', ')})` : ''}`, true);
      }
      continue;
    }
    const given = presentAt(input, issue.path);
    if (issue.code === 'invalid_type' && !given.present) {
      if (suggested.has(formatField(issue.path))) continue;
      report.add('error', 'CEIL_SCHEMA_MISSING', target, `required field "${String(issue.path[issue.path.length - 1] ?? '')}" is missing`);
      continue;
    }
    let message = issue.code === 'invalid_union' ? 'this value does not have any accepted form; see `ceiling schema`' : issue.message;
    if (issue.code === 'invalid_type' && given.present && message.startsWith('Invalid input: expected') && issue.expected !== undefined) {
      message = `expected ${typeNames[issue.expected] ?? issue.expected}, got ${describeValue(given.value)}`;
    }
    report.add('error', 'CEIL_SCHEMA_INVALID', target, message);
  }
}

function describeStep(kind: StepKind, spec: unknown): string {
  const record = (spec ?? {}) as Record<string, unknown>;
  if (kind === 'http') return `${String(record.method ?? 'GET')} ${String(record.url)}`;
  if (kind.startsWith('ws.')) return `${kind} ${String(record.as)}`;
  if (kind.startsWith('browser.')) {
    const target = isRecord(record.target) ? ` ${describeTarget(record.target)}` : '';
    const extra = typeof record.url === 'string' ? ` ${record.url}` : '';
    return `${kind} ${String(record.as)}${target}${extra}`;
  }
  if (kind === 'wait') return `wait ${String(spec)}`;
  return kind;
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
  const takers = stepKinds.filter((candidate) => (key === 'expect' ? stepSpecs[candidate].expect !== null : stepSpecs[candidate].capture));
  const instead =
    kind.startsWith('ws.') && key === 'expect'
      ? '; to check a message, add a ws.expect step after it'
      : kind.startsWith('ws.') && key === 'capture'
        ? '; to capture from a message, put capture inside a ws.expect step'
        : '';
  return `${kind} does not take "${key}"; only ${takers.join(', ')} steps do${instead}`;
}

function compileStep(report: FileReport, raw: unknown, index: number): CompiledStep | null {
  const at: Path = ['steps', index];
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
    report.add('error', 'CEIL_STEP_NO_ACTION', at, `step has no action; add one such as http, ws.connect, browser.open, wait, assert or set (ceiling schema lists them all)`);
    return null;
  }
  if (actionKeys.length > 1) {
    report.add('error', 'CEIL_STEP_MANY_ACTIONS', [...at, actionKeys[1]!], `a step takes exactly one action, found ${actionKeys.join(' and ')}; split it into ${actionKeys.length} steps`, true);
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
    reportZodIssues(report, schema, issues.filter((issue) => issue.code !== 'unrecognized_keys' || (issue.keys ?? []).length > 0), at, record);
    return null;
  }
  const data = parsed.data as Record<string, unknown>;
  const location = report.locate(at);
  const step = {
    index,
    kind,
    name: typeof data.name === 'string' ? data.name : describeStep(kind, data[kind]),
    spec: data[kind],
    location,
    asserts: stepAsserts(kind, data),
    ...(data.expect !== undefined ? { expect: data.expect } : {}),
    ...(data.capture !== undefined ? { capture: data.capture } : {}),
    ...(typeof data.timeout === 'string' ? { timeoutMs: durationMs(data.timeout) } : {}),
  };
  return step as CompiledStep;
}

/** Names a step defines for later steps: set keys and captures. */
function definedBy(step: CompiledStep): string[] {
  if (step.kind === 'set') return Object.keys(step.spec);
  if (step.kind === 'ws.expect') return Object.keys(step.spec.capture ?? {});
  return Object.keys(step.capture ?? {});
}

/** Where templates and matchers live in a step, with their YAML paths. */
function checkedValues(step: CompiledStep): { value: unknown; path: Path }[] {
  const base: Path = ['steps', step.index];
  const values: { value: unknown; path: Path }[] = [{ value: step.spec, path: [...base, step.kind] }];
  if (step.expect) values.push({ value: step.expect, path: [...base, 'expect'] });
  return values;
}

function matcherRoots(step: CompiledStep): { value: unknown; path: Path }[] {
  const base: Path = ['steps', step.index];
  if (step.kind === 'http' && step.expect) {
    return [
      { value: step.expect.json, path: [...base, 'expect', 'json'] },
      { value: step.expect.headers, path: [...base, 'expect', 'headers'] },
    ];
  }
  if (step.kind === 'ws.expect' || step.kind === 'ws.expectNone') return [{ value: step.spec.json, path: [...base, step.kind, 'json'] }];
  if (step.kind === 'assert') {
    const checks = Array.isArray(step.spec) ? step.spec : [step.spec];
    return checks.map((check, index) => ({ value: check.matches, path: Array.isArray(step.spec) ? [...base, 'assert', index, 'matches'] : [...base, 'assert', 'matches'] }));
  }
  return [];
}

function regexProblems(step: CompiledStep): { path: Path; pattern: string; reason: string }[] {
  const base: Path = ['steps', step.index];
  const found: { path: Path; pattern: string }[] = [];
  if (step.kind === 'ws.expect' || step.kind === 'ws.expectNone') {
    if (step.spec.regex) found.push({ path: [...base, step.kind, 'regex'], pattern: step.spec.regex });
  }
  if (step.kind === 'ws.connect') {
    for (const [index, rule] of (step.spec.autoReply ?? []).entries()) {
      if (rule.when.regex) found.push({ path: [...base, step.kind, 'autoReply', index, 'when', 'regex'], pattern: rule.when.regex });
    }
  }
  if (step.kind === 'http' && step.expect?.body && typeof step.expect.body === 'object' && step.expect.body.regex) {
    found.push({ path: [...base, 'expect', 'body', 'regex'], pattern: step.expect.body.regex });
  }
  return found.flatMap((candidate) => {
    try {
      new RegExp(candidate.pattern);
      return [];
    } catch (error) {
      // V8 says "Invalid regular expression: /a(b/: Unterminated group"; keep the reason.
      return [{ ...candidate, reason: (error as Error).message.split(': ').pop() ?? '' }];
    }
  });
}

/**
 * What a step that failed validation would still define (captures, set keys, actors), read loosely from
 * its raw mapping, so its one mistake does not cascade into "undefined" errors in every later step.
 */
/** Actors are WebSocket clients or browser pages; each family has the one step that creates its actors. */
const actorCreators = { ws: 'ws.connect', browser: 'browser.open' } as const;
type ActorFamily = keyof typeof actorCreators;

function actorFamily(kind: string): ActorFamily | undefined {
  if (kind.startsWith('ws.')) return 'ws';
  if (kind.startsWith('browser.')) return 'browser';
  return undefined;
}

function looselyDefinedBy(raw: unknown): { names: string[]; actors: string[] } {
  const names: string[] = [];
  const actors: string[] = [];
  if (!isRecord(raw)) return { names, actors };
  if (isRecord(raw.capture)) names.push(...Object.keys(raw.capture));
  if (isRecord(raw.set)) names.push(...Object.keys(raw.set));
  for (const [key, value] of Object.entries(raw)) {
    if (!actorFamily(key) || !isRecord(value)) continue;
    if (isRecord(value.capture)) names.push(...Object.keys(value.capture));
    if (typeof value.as === 'string') actors.push(value.as);
  }
  return { names, actors };
}

/** Runs on every step that validated, even when others did not, so one run of validate reports every problem. */
function checkSemantics(report: FileReport, steps: readonly (CompiledStep | null)[], rawSteps: readonly unknown[], vars: Record<string, unknown>, extraVars: readonly string[]): void {
  const known = new Set<string>(extraVars);
  for (const [name, value] of Object.entries(vars)) {
    for (const { text, path: inner } of stringsIn(value)) {
      for (const problem of checkTemplate(text, known)) report.add('error', 'CEIL_TEMPLATE', ['vars', name, ...inner], problem.message);
    }
    known.add(name);
  }
  const actors = new Map<string, ActorFamily | undefined>();
  for (const [index, step] of steps.entries()) {
    if (step === null) {
      const loose = looselyDefinedBy(rawSteps[index]);
      for (const name of loose.names) known.add(name);
      for (const actor of loose.actors) actors.set(actor, undefined);
      continue;
    }
    for (const { value, path: base } of checkedValues(step)) {
      for (const { text, path: inner } of stringsIn(value)) {
        if (inner[0] === 'capture') continue;
        for (const problem of checkTemplate(text, known)) report.add('error', 'CEIL_TEMPLATE', [...base, ...inner], problem.message);
      }
    }
    for (const { value, path: base } of matcherRoots(step)) {
      for (const problem of operatorProblems(value)) {
        report.add('error', 'CEIL_MATCHER_UNKNOWN', [...base, ...problem.path], `${problem.message}${problem.message.startsWith('unknown') ? didYouMean(problem.key, matcherOperators) : ''}`, true);
      }
    }
    for (const bad of regexProblems(step)) report.add('error', 'CEIL_REGEX', bad.path, `invalid regular expression /${bad.pattern}/: ${bad.reason}`);
    const family = actorFamily(step.kind);
    if (family) {
      const actor = (step.spec as { as: string }).as;
      const creator = actorCreators[family];
      if (step.kind === creator) actors.set(actor, family);
      else if (!actors.has(actor)) {
        const verb = family === 'ws' ? 'connected' : 'opened';
        report.add('error', 'CEIL_ACTOR_UNKNOWN', ['steps', step.index, step.kind, 'as'], `actor "${actor}" is not ${verb} before this step; add a ${creator} with as: ${actor}${didYouMean(actor, [...actors.keys()])}`);
      } else if (actors.get(actor) !== undefined && actors.get(actor) !== family) {
        report.add('error', 'CEIL_ACTOR_KIND', ['steps', step.index, step.kind, 'as'], `actor "${actor}" was made by ${actorCreators[actors.get(actor)!]}, so ${step.kind} cannot use it; give the ${family === 'ws' ? 'WebSocket client' : 'browser page'} its own name`);
      }
    }
    if (step.kind === 'ws.expect' || step.kind === 'ws.expectNone') {
      const spec = step.spec as { json?: unknown; text?: string; regex?: string };
      if (spec.json === undefined && spec.text === undefined && spec.regex === undefined) {
        report.add('error', 'CEIL_WS_NO_MATCH', ['steps', step.index, step.kind], `${step.kind} needs one of json, text or regex to say which message`);
      }
    }
    if (step.kind === 'ws.send' && step.spec.json === undefined && step.spec.text === undefined) {
      report.add('error', 'CEIL_WS_NO_PAYLOAD', ['steps', step.index, step.kind], 'ws.send needs json or text');
    }
    for (const name of definedBy(step)) known.add(name);
  }
}

/**
 * Reads one journey. Most files are valid, so they take the fast parser; a
 * file with anything to report is read again with exact positions, so every
 * diagnostic points at the right line and column.
 */
export async function loadJourneyText(file: string, text: string, options: LoadOptions = {}): Promise<{ journey?: Journey; diagnostics: Diagnostic[] }> {
  const fast = fastParse(text);
  if (fast) {
    const result = compileJourney(new FileReport(file, fast.positions), fast.raw, options);
    if (result.diagnostics.length === 0) return result;
  }
  const { parseWithPositions } = await import('./yaml-positions.js');
  const exact = parseWithPositions(text);
  const report = new FileReport(file, exact.positions);
  for (const error of exact.errors) {
    const friendly =
      error.code === 'TAB_AS_INDENT'
        ? `${error.message}; indent with spaces`
        : error.code === 'DUPLICATE_KEY'
          ? `duplicate key${error.at.length > 0 ? ` "${String(error.at[error.at.length - 1])}"` : ''}: each key may appear once per mapping; remove or rename one of them`
          : error.message;
    report.addAt('error', `CEIL_YAML_${error.code}`, error.position.line, error.position.column, friendly, formatField(error.at));
  }
  if (exact.errors.length > 0) return { diagnostics: report.sorted() };
  return compileJourney(report, exact.raw, options);
}

function compileJourney(report: FileReport, raw: unknown, options: LoadOptions): { journey?: Journey; diagnostics: Diagnostic[] } {
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
  // A header problem elsewhere (retries: two) must not make every var look undefined.
  const rawVars = (raw as { vars?: unknown }).vars;
  const vars = header.success ? (header.data.vars ?? {}) : isRecord(rawVars) ? rawVars : {};
  checkSemantics(report, steps, Array.isArray(rawSteps) ? rawSteps : [], vars, options.extraVars ?? []);
  if (!header.success || compiled.length !== steps.length || report.diagnostics.some((d) => d.severity === 'error')) {
    return { diagnostics: report.sorted() };
  }
  const data = header.data;
  if (!compiled.some((step) => step.asserts)) {
    report.add('warning', 'CEIL_NO_ASSERTION', ['steps'], 'this journey checks nothing (no expect, ws.expect or assert); a run of it counts as nothing tested (exit 3)');
  }
  const journey: Journey = {
    name: data.name,
    file,
    tags: data.tags ?? [],
    vars,
    timeoutMs: data.timeout ? durationMs(data.timeout) : DEFAULT_JOURNEY_TIMEOUT_MS,
    retries: data.retries ?? 0,
    steps: compiled,
    location: report.locate([]),
    ...(data.description !== undefined ? { description: data.description } : {}),
  };
  return { journey, diagnostics: report.diagnostics };
}

const journeyExtensions = new Set(['.yaml', '.yml']);

/** Expands files and folders into journey files, sorted so runs are repeatable. */
export async function findJourneyFiles(inputs: readonly string[]): Promise<{ files: string[]; diagnostics: Diagnostic[] }> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (journeyExtensions.has(path.extname(entry.name))) files.push(full);
    }
  };
  for (const input of inputs) {
    try {
      const info = await stat(input);
      if (info.isDirectory()) await walk(input);
      else files.push(input);
    } catch {
      diagnostics.push({ severity: 'error', code: 'CEIL_PATH_NOT_FOUND', file: input, line: 1, column: 1, field: '', message: 'no such file or folder; pass journey files (.yaml) or folders that hold them' });
    }
  }
  return { files: [...new Set(files)], diagnostics };
}

export async function loadJourneys(inputs: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const found = await findJourneyFiles(inputs);
  const diagnostics = [...found.diagnostics];
  const journeys: Journey[] = [];
  const texts = await Promise.all(found.files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
  for (const { file, text } of texts) {
    const loaded = await loadJourneyText(file, text, options);
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
