import { captureFamily, captureFromProblem, captureSourceProblem } from './capture-sources.js';
import { didYouMean } from './did-you-mean.js';
import type { FileReport } from './file-report.js';
import { stepPath, type CompiledStep } from './journey.js';
import { matcherOperators, operatorProblems } from './matchers.js';
import type { Path } from './positions.js';
import { checkTemplate, parseTemplate, stringsIn, templatedKeysIn, type Expr } from './template.js';
import { isRecord } from './value-path.js';

/**
 * Checks that need the whole journey, not one field: vars and captures used
 * before they exist, actors used before they are made, unknown matchers and
 * broken regular expressions.
 */

/** Names a step defines for later steps: set keys and captures. */
function definedBy(step: CompiledStep): string[] {
  if (step.kind === 'set') return Object.keys(step.spec);
  if (step.kind === 'ws.expect') return Object.keys(step.spec.capture ?? {});
  return Object.keys(step.capture ?? {});
}

/** Where templates and matchers live in a step, with their YAML paths. */
function checkedValues(step: CompiledStep): { value: unknown; path: Path }[] {
  const base: Path = stepPath(step);
  const values: { value: unknown; path: Path }[] = [{ value: step.spec, path: [...base, step.kind] }];
  if (step.expect) values.push({ value: step.expect, path: [...base, 'expect'] });
  if (step.timeoutTemplate !== undefined) values.push({ value: step.timeoutTemplate, path: [...base, 'timeout'] });
  return values;
}

function matcherRoots(step: CompiledStep): { value: unknown; path: Path }[] {
  const base: Path = stepPath(step);
  if (step.kind === 'http' && step.expect) {
    return [
      { value: step.expect.json, path: [...base, 'expect', 'json'] },
      { value: step.expect.headers, path: [...base, 'expect', 'headers'] },
    ];
  }
  if (step.kind === 'ws.expect' || step.kind === 'ws.expectNone') return [{ value: step.spec.json, path: [...base, step.kind, 'json'] }];
  if (step.kind === 'assert') {
    const checks = Array.isArray(step.spec) ? step.spec : [step.spec];
    return checks.map((check, index) => ({
      value: check.matches,
      path: Array.isArray(step.spec) ? [...base, 'assert', index, 'matches'] : [...base, 'assert', 'matches'],
    }));
  }
  return [];
}

function regexProblems(step: CompiledStep): { path: Path; pattern: string; reason: string }[] {
  const base: Path = stepPath(step);
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

/** Capture sources the step's executor would refuse, and capture regexes that do not compile, found before anything is sent. */
function captureProblems(step: CompiledStep): { path: Path; message: string }[] {
  const family = captureFamily(step.kind);
  if (!family) return [];
  const inSpec = step.kind === 'ws.expect';
  const map = (inSpec ? (step.spec as { capture?: unknown }).capture : step.capture) as Record<string, unknown> | undefined;
  if (!map) return [];
  const base: Path = inSpec ? [...stepPath(step), step.kind, 'capture'] : [...stepPath(step), 'capture'];
  const problems: { path: Path; message: string }[] = [];
  for (const [name, source] of Object.entries(map)) {
    if (typeof source === 'string') {
      const problem = captureSourceProblem(family, source);
      if (problem) problems.push({ path: [...base, name], message: problem });
      continue;
    }
    if (!isRecord(source)) continue;
    if (typeof source.from === 'string') {
      const problem = captureFromProblem(family, source.from);
      if (problem) problems.push({ path: [...base, name, 'from'], message: problem });
    }
    if (typeof source.regex === 'string') {
      try {
        new RegExp(source.regex);
      } catch (error) {
        problems.push({
          path: [...base, name, 'regex'],
          message: `invalid regular expression /${source.regex}/: ${(error as Error).message.split(': ').pop() ?? ''}`,
        });
      }
    }
  }
  return problems;
}

/** Actors are WebSocket clients or browser pages; each family has the one step that creates its actors. */
const actorCreators = { ws: 'ws.connect', browser: 'browser.open' } as const;
type ActorFamily = keyof typeof actorCreators;

function actorFamily(kind: string): ActorFamily | undefined {
  if (kind.startsWith('ws.')) return 'ws';
  if (kind.startsWith('browser.')) return 'browser';
  return undefined;
}

/**
 * What a step that failed validation would still define (captures, set keys, actors), read loosely from
 * its raw mapping, so its one mistake does not cascade into "undefined" errors in every later step.
 */
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

/**
 * `{{ secrets.X }}` written straight into a URL: a value holding `&`, `+`,
 * `#`, `/` or a space arrives split or changed, and the changed part is not
 * the secret the redactor knows. urlEncode() or query: encode it.
 */
function rawSecretsInUrl(step: CompiledStep): { path: Path; name: string }[] {
  const spec = step.spec as { url?: unknown };
  if (typeof spec !== 'object' || spec === null || typeof spec.url !== 'string') return [];
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(spec.url);
  } catch {
    return []; // checkTemplate reports the syntax error.
  }
  const found: string[] = [];
  const visit = (expr: Expr): void => {
    if (expr.type === 'ref' && expr.root === 'secrets' && expr.path[0] !== undefined) found.push(expr.path[0]);
    else if (expr.type === 'fallback') expr.options.forEach(visit);
  };
  for (const part of parts ?? []) if ('expr' in part) visit(part.expr);
  return found.map((name) => ({ path: ['steps', step.index, step.kind, 'url'], name }));
}

/** A key would be sent as written, braces and all: say so at load rather than let it pass unrendered. */
function templatedKeyMessage(key: string): string {
  return `"${key}" is an object key, and keys are never rendered as templates, so it would be sent as written; use a fixed key and put the template in the value`;
}

/** Runs on every step that validated, even when others did not, so one run of validate reports every problem. */
export function checkSemantics(
  report: FileReport,
  steps: readonly (CompiledStep | null)[],
  rawSteps: readonly unknown[],
  vars: Record<string, unknown>,
  extraVars: readonly string[],
): void {
  const known = new Set<string>(extraVars);
  for (const [name, value] of Object.entries(vars)) {
    for (const { text, path: inner } of stringsIn(value)) {
      for (const problem of checkTemplate(text, known)) report.add('error', 'CEIL_TEMPLATE', ['vars', name, ...inner], problem.message);
    }
    for (const { key, path: inner } of templatedKeysIn(value)) report.add('error', 'CEIL_TEMPLATE', ['vars', name, ...inner], templatedKeyMessage(key));
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
      for (const { key, path: inner } of templatedKeysIn(value)) report.add('error', 'CEIL_TEMPLATE', [...base, ...inner], templatedKeyMessage(key));
    }
    for (const raw of rawSecretsInUrl(step)) {
      report.add(
        'warning',
        'CEIL_SECRET_RAW_IN_URL',
        raw.path,
        `secrets.${raw.name} goes into the URL unencoded: a value with & + # / or a space would be split or changed (and the changed part not redacted); write {{ urlEncode(secrets.${raw.name}) }}, or pass it with query:`,
      );
    }
    for (const { value, path: base } of matcherRoots(step)) {
      for (const problem of operatorProblems(value)) {
        report.add(
          'error',
          'CEIL_MATCHER_UNKNOWN',
          [...base, ...problem.path],
          `${problem.message}${problem.message.startsWith('unknown') ? didYouMean(problem.key, matcherOperators) : ''}`,
          true,
        );
      }
    }
    for (const bad of regexProblems(step)) report.add('error', 'CEIL_REGEX', bad.path, `invalid regular expression /${bad.pattern}/: ${bad.reason}`);
    for (const bad of captureProblems(step))
      report.add('error', bad.message.startsWith('invalid regular') ? 'CEIL_REGEX' : 'CEIL_CAPTURE_SOURCE', bad.path, bad.message);
    const family = actorFamily(step.kind);
    if (family) {
      const actor = (step.spec as { as: string }).as;
      const creator = actorCreators[family];
      if (step.kind === creator) actors.set(actor, family);
      else if (!actors.has(actor)) {
        const verb = family === 'ws' ? 'connected' : 'opened';
        report.add(
          'error',
          'CEIL_ACTOR_UNKNOWN',
          [...stepPath(step), step.kind, 'as'],
          `actor "${actor}" is not ${verb} before this step; add a ${creator} with as: ${actor}${didYouMean(actor, [...actors.keys()])}`,
        );
      } else if (actors.get(actor) !== undefined && actors.get(actor) !== family) {
        report.add(
          'error',
          'CEIL_ACTOR_KIND',
          [...stepPath(step), step.kind, 'as'],
          `actor "${actor}" was made by ${actorCreators[actors.get(actor)!]}, so ${step.kind} cannot use it; give the ${family === 'ws' ? 'WebSocket client' : 'browser page'} its own name`,
        );
      }
    }
    if (step.kind === 'ws.expect' || step.kind === 'ws.expectNone') {
      const spec = step.spec as { json?: unknown; text?: string; regex?: string };
      if (spec.json === undefined && spec.text === undefined && spec.regex === undefined) {
        report.add('error', 'CEIL_WS_NO_MATCH', [...stepPath(step), step.kind], `${step.kind} needs one of json, text or regex to say which message`);
      }
    }
    if (step.kind === 'ws.send' && step.spec.json === undefined && step.spec.text === undefined) {
      report.add('error', 'CEIL_WS_NO_PAYLOAD', [...stepPath(step), step.kind], 'ws.send needs json or text');
    }
    if (step.kind === 'http' && step.until && (step.expect === undefined || Object.keys(step.expect).length === 0)) {
      report.add(
        'error',
        'CEIL_UNTIL_NO_EXPECT',
        [...stepPath(step), 'until'],
        'until repeats the step until its expect holds, but this step has no expect; add one (e.g. expect: { status: 200 }) to say what to wait for',
      );
    }
    for (const name of definedBy(step)) known.add(name);
  }
}
