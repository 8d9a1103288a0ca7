import { isIP } from 'node:net';
import { parseTemplate, subexpressions, type Expr } from '../journey/template.js';

/**
 * One instance of a discovered fleet and how it becomes a target: its name
 * (`web/10.0.3.7:8080`, or `web/NAME` when a command names it) and the
 * `{{ target.* }}` values the group's vars are rendered with.
 */

export interface DiscoveredInstance {
  /** The target name: `GROUP/ADDRESS:PORT` or `GROUP/NAME`. */
  name: string;
  /** The target group (the key under `targets:`). */
  group: string;
  /** An IP address, or the host of a command's URL. */
  host: string;
  port: number;
  url: string;
  /** What `{{ target.KEY }}` reads: url, host, port, name, and a command's extra keys. */
  values: Record<string, string>;
  /** The group's vars with every `{{ target.* }}` filled in; other templates are left for the journey. */
  vars: Record<string, string>;
}

/** The values every source gives; a command's extra keys may add more, never replace these. */
export const TARGET_TEMPLATE_KEYS = ['url', 'host', 'port', 'name'] as const;

/** A command's own instance names become part of a target name: a metric label, a file name, a CI annotation. */
export const INSTANCE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** `127.0.0.1:8080`, `[::1]:8080`: the same form a URL uses. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface InstanceFacts {
  group: string;
  host: string;
  port: number;
  url: string;
  /** A command's name for the instance; the address otherwise. */
  ownName?: string;
  /** A command's extra keys. */
  extra?: Record<string, string>;
}

export function makeInstance(facts: InstanceFacts, varTemplates: Readonly<Record<string, string>>): DiscoveredInstance {
  const name = `${facts.group}/${facts.ownName ?? hostPort(facts.host, facts.port)}`;
  const values: Record<string, string> = { ...(facts.extra ?? {}), url: facts.url, host: facts.host, port: String(facts.port), name };
  const vars: Record<string, string> = {};
  for (const [key, template] of Object.entries(varTemplates)) vars[key] = fillTargetValues(template, values);
  return { name, group: facts.group, host: facts.host, port: facts.port, url: facts.url, values, vars };
}

/**
 * Replaces each `{{ target.KEY }}` with the instance's value and keeps every
 * other template as written, so `{{ env.X }}` or `{{ vars.Y }}` still reach
 * the journey. The config loader has already refused `target.*` anywhere but
 * as a plain reference, and keys a source cannot give.
 */
export function fillTargetValues(template: string, values: Readonly<Record<string, string>>): string {
  const parts = parseOrNull(template);
  if (!parts) return template;
  return parts
    .map((part) => {
      if (!('expr' in part)) return part.text;
      const key = targetKey(part.expr);
      return key !== undefined && values[key] !== undefined ? values[key] : `{{ ${part.source} }}`;
    })
    .join('');
}

/** A template with a syntax error is left as written: the journey that uses it reports it where it is used. */
function parseOrNull(template: string): ReturnType<typeof parseTemplate> {
  try {
    return parseTemplate(template);
  } catch {
    return null;
  }
}

/** `url` for `{{ target.url }}`; undefined for anything that is not a plain target reference. */
export function targetKey(expr: Expr): string | undefined {
  return expr.type === 'ref' && expr.root === 'target' && expr.path.length === 1 ? expr.path[0] : undefined;
}

/** Every `target.*` use in a template, plain or not, for the loader's checks. */
export function targetReferences(template: string): { key?: string; plain: boolean }[] {
  const parts = parseOrNull(template);
  if (!parts) return [];
  const found: { key?: string; plain: boolean }[] = [];
  const visit = (expr: Expr, plain: boolean): void => {
    if (expr.type === 'ref' && expr.root === 'target') {
      found.push({ ...(expr.path.length === 1 ? { key: expr.path[0]! } : {}), plain: plain && expr.path.length === 1 });
    } else subexpressions(expr).forEach((inner) => visit(inner, false));
  };
  for (const part of parts) if ('expr' in part) visit(part.expr, true);
  return found;
}

/** Instances in a stable order (numeric-aware, so :8080 sorts before :10080 as people read it). */
export const byName = (a: DiscoveredInstance, b: DiscoveredInstance): number => a.name.localeCompare(b.name, 'en', { numeric: true });
