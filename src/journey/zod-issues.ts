import type { z } from 'zod';
import { didYouMean, nearestName } from './did-you-mean.js';
import { formatField } from './diagnostics.js';
import type { FileReport } from './file-report.js';
import type { Path } from './positions.js';

/** Turns zod's issues into diagnostics that say what was given and what to write instead. */

/** Whether a path exists in a plain value, so a missing field can be told apart from a wrong one. */
function presentAt(value: unknown, target: readonly PropertyKey[]): { present: true; value: unknown } | { present: false } {
  let current = value;
  for (const segment of target) {
    if (current === null || typeof current !== 'object' || typeof segment === 'symbol' || !Object.hasOwn(current, segment)) return { present: false };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { present: true, value: current };
}

const typeNames: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
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

export interface ZodIssueLike {
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
export function reportZodIssues(report: FileReport, schema: z.ZodType, issues: readonly ZodIssueLike[], base: Path, input: unknown): void {
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
        report.add(
          'error',
          'CEIL_SCHEMA_UNKNOWN_KEY',
          [...target, key],
          `unknown key "${key}"${didYouMean(key, known)}${known.length ? ` (allowed: ${known.join(', ')})` : ''}`,
          true,
        );
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
