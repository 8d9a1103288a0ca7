import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FailureCode } from '../core/failure-codes.js';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_DISCOVERY_EVERY_MS,
  DEFAULT_DNS_TIMEOUT_MS,
  parseDnsServer,
  TARGET_TEMPLATE_KEYS,
  targetReferences,
  type DiscoverySpec,
  type FleetExpectation,
} from '../discovery/index.js';
import { nearestName } from '../journey/did-you-mean.js';
import { formatField, type Diagnostic } from '../journey/diagnostics.js';
import { durationMs } from '../journey/duration.js';
import { fastParse } from '../journey/fast-yaml.js';
import { FileReport } from '../journey/file-report.js';
import type { Path } from '../journey/positions.js';
import { checkTemplate, parseTemplate, subexpressions, type Expr, type TemplatePart } from '../journey/template.js';
import { isRecord } from '../journey/value-path.js';
import { reportZodIssues, type ZodIssueLike } from '../journey/zod-issues.js';
import { parseReporterSpec, ReporterSpecError, STDOUT_PATH } from '../report/index.js';
import {
  DEFAULT_VERSION_TIMEOUT_MS,
  durationOrZeroMs,
  minEffectFraction,
  projectConfigSchema,
  TARGET_NAME_RULE,
  type ProjectConfigInput,
} from './config-schema.js';

/**
 * Loads the project config `ceiling.yaml`: the targets a gate runs against,
 * run defaults, reporters, notification endpoints and the gate policy. Like a
 * journey file, it is parsed at the boundary into plain values, and every
 * problem is reported at once as `file:line:col › field: reason`.
 */

export { projectConfigJsonSchema } from './config-schema.js';

export const DEFAULT_CONFIG_FILE = 'ceiling.yaml';
const DEFAULT_JOURNEY_PATHS = ['journeys'];

export interface VersionProbe {
  /** May hold `{{ vars.NAME }}` templates, rendered with the target's vars. */
  url: string;
  /** A path into the JSON body, as readValuePath reads it. */
  json?: string;
  header?: string;
  timeoutMs: number;
}

export interface TargetConfig {
  name: string;
  vars: Record<string, string>;
  /** The target's own probe, or else the config's default one. */
  version?: VersionProbe;
  /**
   * A discovered group: its instances are found with discoverFleet(name, discover, { vars, redactor }),
   * and vars then hold `{{ target.* }}` templates that each instance fills in.
   */
  discover?: DiscoverySpec;
  /** The fleet size a discovery must find (discovered groups only). */
  expect?: FleetExpectation;
}

export interface ProjectConfig {
  /** The config path as given. */
  file: string;
  /** The config file's folder (absolute); relative paths inside the file are resolved against it. */
  baseDir: string;
  /** Journey files and folders, resolved. */
  journeys: string[];
  /** In file order. */
  targets: TargetConfig[];
  defaults: { concurrency?: number; timeoutMs?: number; retries?: number };
  /** In --reporter syntax; relative output paths are resolved against baseDir. */
  reporters: string[];
  /** webhooks and slack get the gate's verdict; alertmanager gets serve's journey alerts. */
  notify: { webhooks: string[]; slack: string[]; alertmanager: string[] };
  pushgateway: { url?: string; job?: string; labels: Record<string, string> };
  gate: {
    bakeMs?: number;
    everyMs?: number;
    cleanRounds?: number;
    confidence?: number;
    /** A fraction: 0.2 = 20 % slower. */
    minEffect?: number;
    failOnFlaky?: boolean;
    /** argv, run without a shell; a relative command (./x, ../x) is resolved against baseDir. */
    onFail?: string[];
    recoverWithinMs?: number;
  };
}

export interface ProjectConfigLoad {
  /** Present when there are no errors (there may be warnings). */
  config?: ProjectConfig;
  diagnostics: Diagnostic[];
}

export interface ProjectConfigOptions {
  /** gate and drill need targets (the default); run reads the file without any. */
  requireTargets?: boolean;
}

export async function loadProjectConfig(file: string, options: ProjectConfigOptions = {}): Promise<ProjectConfigLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `no project config here; create ${DEFAULT_CONFIG_FILE} (see docs/ceiling.yaml) or pass --config`
        : code === 'EISDIR'
          ? `this is a folder; pass the config file itself, e.g. --config ${path.join(file, DEFAULT_CONFIG_FILE)}`
          : `cannot read the project config (${(error as Error).message}); check the path and its permissions, or pass --config`;
    return {
      diagnostics: [
        {
          severity: 'error',
          code: code === 'ENOENT' || code === 'EISDIR' ? 'CEIL_CONFIG_NOT_FOUND' : 'CEIL_CONFIG_UNREADABLE',
          file,
          line: 1,
          column: 1,
          field: '',
          message,
        },
      ],
    };
  }
  return loadProjectConfigText(file, text, options);
}

/**
 * Parses config text. A valid file takes the fast parser; a file with anything
 * to report is read again with exact positions, as journeys are.
 */
export async function loadProjectConfigText(file: string, text: string, options: ProjectConfigOptions = {}): Promise<ProjectConfigLoad> {
  const fast = fastParse(text);
  if (fast) {
    const result = compileProjectConfig(new FileReport(file, fast.positions), fast.raw, options);
    if (result.diagnostics.length === 0) return result;
  }
  const { parseWithPositions } = await import('../journey/yaml-positions.js');
  const exact = parseWithPositions(text);
  const report = new FileReport(file, exact.positions);
  for (const error of exact.errors) {
    report.addAt(
      'error',
      `CEIL_CONFIG_YAML_${error.code}`,
      error.position.line,
      error.position.column,
      yamlErrorMessage(error.code, error.message, error.at),
      formatField(error.at),
    );
  }
  if (exact.errors.length > 0) return { diagnostics: report.sorted() };
  return compileProjectConfig(report, exact.raw, options);
}

/** The same wording journeys get for the YAML mistakes people make most. */
function yamlErrorMessage(code: string, message: string, at: Path): string {
  if (code === 'TAB_AS_INDENT') return `${message}; indent with spaces`;
  if (code === 'DUPLICATE_KEY') {
    const key = at.length > 0 ? ` "${String(at[at.length - 1])}"` : '';
    const inTargets = at.length === 2 && at[0] === 'targets';
    return `duplicate key${key}: each key may appear once per mapping; ${inTargets ? 'give each target its own name' : 'remove or rename one of them'}`;
  }
  return message;
}

/** zod-issues.ts speaks journey codes (CEIL_SCHEMA_INVALID and kin); config problems carry their own family. */
const configCodeFor: Partial<Record<FailureCode, FailureCode>> = {
  CEIL_SCHEMA_INVALID: 'CEIL_CONFIG_INVALID',
  CEIL_SCHEMA_MISSING: 'CEIL_CONFIG_MISSING',
  CEIL_SCHEMA_UNKNOWN_KEY: 'CEIL_CONFIG_UNKNOWN_KEY',
};

const asConfigCode = (diagnostic: Diagnostic): Diagnostic => {
  const code = configCodeFor[diagnostic.code];
  return code ? { ...diagnostic, code } : diagnostic;
};

function compileProjectConfig(report: FileReport, raw: unknown, options: ProjectConfigOptions): ProjectConfigLoad {
  const finish = (config?: ProjectConfig): ProjectConfigLoad => ({ ...(config ? { config } : {}), diagnostics: report.sorted().map(asConfigCode) });
  if (!isRecord(raw)) {
    report.addAt('error', 'CEIL_CONFIG_SHAPE', 1, 1, 'a project config is a mapping with at least targets; see docs/ceiling.yaml for a full example');
    return finish();
  }
  if (options.requireTargets !== false && raw.targets === undefined) {
    report.addAt(
      'error',
      'CEIL_CONFIG_NO_TARGETS',
      1,
      1,
      'no targets: declare at least one, e.g. targets: { prod: { vars: { baseUrl: "https://example.com" } } }',
      'targets',
    );
  }
  const parsed = projectConfigSchema.safeParse(raw);
  if (!parsed.success) reportSchemaIssues(report, parsed.error.issues as unknown as ZodIssueLike[], raw);
  checkVersionTemplates(report, raw);
  checkTargetTemplates(report, raw);
  checkReporters(report, raw.reporters);
  if (!parsed.success || report.diagnostics.some((d) => d.severity === 'error')) return finish();
  return finish(buildConfig(report.file, parsed.data));
}

function reportSchemaIssues(report: FileReport, issues: ZodIssueLike[], raw: Record<string, unknown>): void {
  const rest: ZodIssueLike[] = [];
  for (const issue of issues) {
    const at = issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
    if (issue.code === 'invalid_key' && at[0] === 'targets' && at.length === 2) {
      report.add('error', 'CEIL_CONFIG_TARGET_NAME', at, `target name "${String(at[1])}" is not allowed: ${TARGET_NAME_RULE}`, true);
    } else if (issue.code === 'invalid_key') {
      const reason = (issue as ZodIssueLike & { issues?: ZodIssueLike[] }).issues?.[0]?.message ?? 'this key is not allowed here';
      report.add('error', 'CEIL_CONFIG_INVALID_KEY', at, `"${String(at[at.length - 1])}": ${reason}`, true);
    } else if (issue.code === 'invalid_union' && isTypeMismatchOnly(issue)) {
      // Neither form fits: zod-issues would point at the journey schema; the union's own message names both forms.
      report.add('error', 'CEIL_CONFIG_INVALID', at, issue.message);
    } else rest.push(issue);
  }
  reportZodIssues(report, projectConfigSchema, rest, [], raw);
}

/** A union whose every branch refused the value's type: a boolean where a number or a string was expected. */
const isTypeMismatchOnly = (issue: ZodIssueLike): boolean =>
  (issue.errors ?? []).every((branch) => branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));

/** The `vars.NAME` a template needs; a reference before `??` has a fallback, so it is not needed. */
function requiredVars(text: string): string[] {
  let parts: TemplatePart[] | null;
  try {
    parts = parseTemplate(text);
  } catch {
    return []; // checkTemplate reports the syntax error.
  }
  const names = new Set<string>();
  const visit = (expr: Expr, guarded: boolean): void => {
    if (expr.type === 'ref' && expr.root === 'vars' && expr.path[0] !== undefined && !guarded) names.add(expr.path[0]);
    else if (expr.type === 'fallback') expr.options.forEach((option, index) => visit(option, guarded || index < expr.options.length - 1));
    else subexpressions(expr).forEach((inner) => visit(inner, guarded));
  };
  for (const part of parts ?? []) if ('expr' in part) visit(part.expr, false);
  return [...names];
}

const varNamesOf = (target: unknown): string[] => (isRecord(target) && isRecord(target.vars) ? Object.keys(target.vars) : []);

/**
 * Template syntax, roots and functions; with no template, the URL itself.
 * Missing vars are left to the caller, which knows which targets use the URL.
 */
function checkUrlTemplate(report: FileReport, at: Path, url: string): void {
  for (const problem of checkTemplate(url, new Set(requiredVars(url)))) report.add('error', 'CEIL_CONFIG_TEMPLATE', at, problem.message);
  if (url.includes('{{')) return;
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Reported below.
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    report.add(
      'error',
      'CEIL_CONFIG_URL',
      at,
      `"${url}" is not an http or https URL; write e.g. "http://127.0.0.1:8080/version" or "{{ vars.baseUrl }}/version"`,
    );
  }
}

/**
 * A version URL may only use vars that every target it applies to sets: a
 * gate that finds out on the third target, mid-deploy, has already wasted
 * the first two.
 */
function checkVersionTemplates(report: FileReport, raw: Record<string, unknown>): void {
  const targets = isRecord(raw.targets) ? Object.entries(raw.targets) : [];
  const inheriting: [string, Record<string, unknown>][] = [];
  for (const [name, target] of targets) {
    if (!isRecord(target)) continue; // the schema reports the shape.
    const own = target.version;
    if (own === undefined) {
      inheriting.push([name, target]);
      continue;
    }
    if (!isRecord(own) || typeof own.url !== 'string') continue; // the schema reports the shape.
    const at: Path = ['targets', name, 'version', 'url'];
    checkUrlTemplate(report, at, own.url);
    const defined = varNamesOf(target);
    for (const missing of requiredVars(own.url).filter((needed) => !defined.includes(needed))) {
      report.add(
        'error',
        'CEIL_CONFIG_UNDEFINED_VAR',
        at,
        `target ${name} does not set vars.${missing}, used by its version.url; ${orAdd(missing, defined)} to targets.${name}.vars`,
      );
    }
  }
  if (!isRecord(raw.version) || typeof raw.version.url !== 'string') return;
  const url = raw.version.url;
  checkUrlTemplate(report, ['version', 'url'], url);
  for (const needed of requiredVars(url)) {
    const lacking = inheriting.filter(([, target]) => !varNamesOf(target).includes(needed));
    if (lacking.length === 0) continue;
    if (lacking.length === inheriting.length && lacking.length > 1) {
      // No target that uses the URL sets the var: the URL is the likelier typo, so say it once, there.
      const suggestion = nearestName(needed, [...new Set(inheriting.flatMap(([, target]) => varNamesOf(target)))]);
      report.add(
        'error',
        'CEIL_CONFIG_UNDEFINED_VAR',
        ['version', 'url'],
        `no target sets vars.${needed}, used by version.url; ${suggestion ? `did you mean vars.${suggestion}?` : "set it in each target's vars"}`,
      );
      continue;
    }
    for (const [name, target] of lacking) {
      const hasVars = isRecord(target.vars);
      report.add(
        'error',
        'CEIL_CONFIG_UNDEFINED_VAR',
        hasVars ? ['targets', name, 'vars'] : ['targets', name],
        `target ${name} does not set vars.${needed}, used by version.url; ${orAdd(needed, varNamesOf(target))} to its vars, or give it its own version probe`,
        !hasVars,
      );
    }
  }
}

/**
 * `{{ target.* }}` in a discovered group's vars: a plain reference to a value
 * the source gives. Anything else would reach the journey unrendered and fail
 * mid-gate; a command may print extra keys, so its keys are not checked.
 */
function checkTargetTemplates(report: FileReport, raw: Record<string, unknown>): void {
  const targets = isRecord(raw.targets) ? Object.entries(raw.targets) : [];
  for (const [name, target] of targets) {
    if (!isRecord(target) || !isRecord(target.vars)) continue;
    const discover = isRecord(target.discover) ? target.discover : undefined;
    const fromCommand = discover?.command !== undefined;
    for (const [key, value] of Object.entries(target.vars)) {
      if (typeof value !== 'string') continue; // the schema reports the type.
      const at: Path = ['targets', name, 'vars', key];
      for (const reference of targetReferences(value)) {
        if (!discover) {
          report.add(
            'error',
            'CEIL_CONFIG_TEMPLATE',
            at,
            `target.* is only known for discovered targets; target ${name} has no discover, so write its value here`,
          );
        } else if (!reference.plain) {
          report.add(
            'error',
            'CEIL_CONFIG_TEMPLATE',
            at,
            'use target values as plain references such as {{ target.url }}, not inside a function, a fallback or a deeper path',
          );
        } else if (!fromCommand && !(TARGET_TEMPLATE_KEYS as readonly string[]).includes(reference.key ?? '')) {
          const suggestion = nearestName(reference.key ?? '', TARGET_TEMPLATE_KEYS);
          report.add(
            'error',
            'CEIL_CONFIG_TEMPLATE',
            at,
            `target.${reference.key ?? ''} is not known; ${suggestion ? `did you mean target.${suggestion}? ` : ''}an srv or dns source gives target.url, target.host, target.port and target.name`,
          );
        }
      }
    }
  }
}

/** "did you mean vars.chatHttp? Otherwise add chatHtp" or "add chatHtp". */
function orAdd(missing: string, defined: readonly string[]): string {
  const suggestion = nearestName(missing, defined);
  return suggestion ? `did you mean vars.${suggestion}? Otherwise add ${missing}` : `add ${missing}`;
}

/** The same names and syntax as --reporter, so an unknown reporter fails here, not after the gate has run. */
function checkReporters(report: FileReport, reporters: unknown): void {
  if (!Array.isArray(reporters)) return;
  reporters.forEach((spec, index) => {
    if (typeof spec !== 'string') return; // the schema reports the type.
    try {
      parseReporterSpec(spec);
    } catch (error) {
      if (!(error instanceof ReporterSpecError)) throw error;
      report.add('error', 'CEIL_CONFIG_REPORTER', ['reporters', index], error.message);
    }
  });
}

function resolveReporter(spec: string, baseDir: string): string {
  const parsed = parseReporterSpec(spec);
  if (parsed.path === undefined) return parsed.name;
  if (parsed.path === STDOUT_PATH) return `${parsed.name}=${STDOUT_PATH}`;
  return `${parsed.name}=${path.resolve(baseDir, parsed.path)}`;
}

/** `./scripts/rollback.sh` means next to the config, wherever the gate is started from; a bare name is looked up on PATH. */
function resolveCommand(argv: readonly string[], baseDir: string): string[] {
  const [command, ...args] = argv;
  if (command === undefined) return [];
  const relative = /^\.\.?[\\/]/.test(command);
  return [relative ? path.resolve(baseDir, command) : command, ...args];
}

type VersionInput = NonNullable<ProjectConfigInput['version']>;
type DiscoverInput = NonNullable<NonNullable<ProjectConfigInput['targets']>[string]['discover']>;

function discoverySpec(input: DiscoverInput, baseDir: string): DiscoverySpec {
  const source: DiscoverySpec['source'] =
    input.command !== undefined
      ? { kind: 'command', argv: resolveCommand(input.command, baseDir), cwd: baseDir }
      : input.dns !== undefined
        ? { kind: 'dns', name: input.dns, port: input.port!, scheme: input.scheme ?? 'http' }
        : { kind: 'srv', name: input.srv!, scheme: input.scheme ?? 'http' };
  const resolver = input.resolver !== undefined ? parseDnsServer(input.resolver) : undefined;
  return {
    source,
    ...(resolver ? { resolver } : {}),
    timeoutMs: input.timeout !== undefined ? durationMs(input.timeout) : source.kind === 'command' ? DEFAULT_COMMAND_TIMEOUT_MS : DEFAULT_DNS_TIMEOUT_MS,
    everyMs: input.every !== undefined ? durationMs(input.every) : DEFAULT_DISCOVERY_EVERY_MS,
  };
}

function versionProbe(input: VersionInput): VersionProbe {
  return {
    url: input.url,
    ...(input.json !== undefined ? { json: input.json } : {}),
    ...(input.header !== undefined ? { header: input.header } : {}),
    timeoutMs: input.timeout !== undefined ? durationMs(input.timeout) : DEFAULT_VERSION_TIMEOUT_MS,
  };
}

function buildConfig(file: string, data: ProjectConfigInput): ProjectConfig {
  const baseDir = path.dirname(path.resolve(file));
  const fallbackProbe = data.version ? versionProbe(data.version) : undefined;
  const targets = Object.entries(data.targets ?? {}).map(([name, target]): TargetConfig => {
    const probe = target.version ? versionProbe(target.version) : fallbackProbe;
    return {
      name,
      vars: { ...(target.vars ?? {}) },
      ...(probe ? { version: probe } : {}),
      ...(target.discover ? { discover: discoverySpec(target.discover, baseDir) } : {}),
      ...(target.expect ? { expect: target.expect.count !== undefined ? { count: target.expect.count } : { min: target.expect.min! } } : {}),
    };
  });
  const defaults = data.defaults ?? {};
  const gate = data.gate ?? {};
  return {
    file,
    baseDir,
    journeys: (data.journeys ?? DEFAULT_JOURNEY_PATHS).map((entry) => path.resolve(baseDir, entry)),
    targets,
    defaults: {
      ...(defaults.concurrency !== undefined ? { concurrency: defaults.concurrency } : {}),
      ...(defaults.timeout !== undefined ? { timeoutMs: durationMs(defaults.timeout) } : {}),
      ...(defaults.retries !== undefined ? { retries: defaults.retries } : {}),
    },
    reporters: (data.reporters ?? []).map((spec) => resolveReporter(spec, baseDir)),
    notify: { webhooks: data.notify?.webhooks ?? [], slack: data.notify?.slack ?? [], alertmanager: data.notify?.alertmanager ?? [] },
    pushgateway: {
      ...(data.pushgateway?.url !== undefined ? { url: data.pushgateway.url } : {}),
      ...(data.pushgateway?.job !== undefined ? { job: data.pushgateway.job } : {}),
      labels: { ...(data.pushgateway?.labels ?? {}) },
    },
    gate: {
      ...(gate.bake !== undefined ? { bakeMs: durationOrZeroMs(gate.bake) } : {}),
      ...(gate.every !== undefined ? { everyMs: durationMs(gate.every) } : {}),
      ...(gate.cleanRounds !== undefined ? { cleanRounds: gate.cleanRounds } : {}),
      ...(gate.confidence !== undefined ? { confidence: gate.confidence } : {}),
      ...(gate.minEffect !== undefined ? { minEffect: minEffectFraction(gate.minEffect) } : {}),
      ...(gate.failOnFlaky !== undefined ? { failOnFlaky: gate.failOnFlaky } : {}),
      ...(gate.onFail !== undefined ? { onFail: resolveCommand(gate.onFail, baseDir) } : {}),
      ...(gate.recoverWithin !== undefined ? { recoverWithinMs: durationMs(gate.recoverWithin) } : {}),
    },
  };
}
