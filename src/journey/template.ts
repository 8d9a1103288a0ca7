import { randomBytes, randomUUID } from 'node:crypto';
import { configError } from '../core/failure.js';

/**
 * `{{ … }}` templates. The expression language is deliberately small: dotted
 * references (vars, env, secrets), string and number literals, a `??`
 * fallback, arithmetic and comparisons, and a closed set of functions.
 * Nothing is ever evaluated as code, so a journey file cannot run arbitrary
 * JavaScript.
 */

export const ARITHMETIC_OPERATORS = ['+', '-', '*', '/', '%'] as const;
export const COMPARISON_OPERATORS = ['==', '!=', '<=', '>=', '<', '>'] as const;
export type BinaryOperator = (typeof ARITHMETIC_OPERATORS)[number] | (typeof COMPARISON_OPERATORS)[number];

export type Expr =
  | { type: 'ref'; root: string; path: string[]; text: string }
  | { type: 'literal'; value: string | number | boolean | null }
  | { type: 'call'; name: string; args: Expr[] }
  | { type: 'fallback'; options: Expr[] }
  | { type: 'binary'; operator: BinaryOperator; left: Expr; right: Expr }
  | { type: 'negate'; operand: Expr };

/** The expressions one expression is built from, for walkers that look for references. */
export function subexpressions(expr: Expr): Expr[] {
  if (expr.type === 'call') return expr.args;
  if (expr.type === 'fallback') return expr.options;
  if (expr.type === 'binary') return [expr.left, expr.right];
  if (expr.type === 'negate') return [expr.operand];
  return [];
}

/** A number, or a string that reads as one ("42", " 1.5 "); undefined otherwise. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

const describeValue = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);

export type TemplatePart = { text: string } | { expr: Expr; source: string };

export const templateRoots = ['vars', 'env', 'secrets'] as const;

interface TemplateFunction {
  arity: [number, number];
  run: (args: unknown[]) => unknown;
}

const generators: Record<string, TemplateFunction> = {
  uuid: { arity: [0, 0], run: () => randomUUID() },
  randomString: {
    arity: [0, 1],
    run: ([length]) => {
      const n = length === undefined ? 16 : Number(length);
      if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error('randomString(n) takes a length from 1 to 4096');
      return randomBytes(Math.ceil((n * 3) / 4) + 3)
        .toString('base64url')
        .slice(0, n);
    },
  },
  randomInt: {
    arity: [2, 2],
    run: ([min, max]) => {
      const lo = Number(min);
      const hi = Number(max);
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) throw new Error('randomInt(min, max) takes two whole numbers with min ≤ max');
      return lo + Math.floor(Math.random() * (hi - lo + 1));
    },
  },
  timestamp: { arity: [0, 0], run: () => Date.now() },
  isoTime: { arity: [0, 0], run: () => new Date().toISOString() },
  base64: { arity: [1, 1], run: ([value]) => Buffer.from(String(value)).toString('base64') },
  urlEncode: { arity: [1, 1], run: ([value]) => encodeURIComponent(String(value)) },
  basicAuth: {
    arity: [2, 2],
    run: ([user, password]) => `Basic ${Buffer.from(`${String(user)}:${String(password)}`).toString('base64')}`,
  },
  json: { arity: [1, 1], run: ([value]) => JSON.stringify(value) },
  length: {
    arity: [1, 1],
    run: ([value]) => {
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      if (value !== null && typeof value === 'object') return Object.keys(value).length;
      throw new Error(`length() takes a string, a list or an object, got ${describeValue(value)}`);
    },
  },
  lower: { arity: [1, 1], run: ([value]) => String(value).toLowerCase() },
  upper: { arity: [1, 1], run: ([value]) => String(value).toUpperCase() },
  toNumber: {
    arity: [1, 1],
    run: ([value]) => {
      const number = asNumber(value);
      if (number === undefined) throw new Error(`${describeValue(value)} is not a number`);
      return number;
    },
  },
  // Quoted and typed: a bare toString key would be read against Object.prototype.toString's type.
  ['toString']: { arity: [1, 1], run: ([value]: unknown[]) => (typeof value === 'string' ? value : JSON.stringify(value)) } satisfies TemplateFunction,
};
export const generatorNames = Object.keys(generators);

/** Own entries only: `toString()` or `constructor()` must not reach Object.prototype. */
const generatorFor = (name: string) => (Object.hasOwn(generators, name) ? generators[name] : undefined);

class TemplateSyntaxError extends Error {}

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  // A name may hold "-" (vars.my-id), so subtraction after a name needs spaces around the "-": vars.n - 1.
  const pattern = /\s*(\?\?|==|!=|<=|>=|[A-Za-z_$][A-Za-z0-9_$-]*|\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[().,[\]<>+\-*/%])/y;
  let index = 0;
  while (index < source.length) {
    if (/^\s*$/.test(source.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(source);
    if (!match) throw new TemplateSyntaxError(`unexpected "${source.slice(index).trim().slice(0, 12)}" in {{ ${source.trim()} }}`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

function parseExpression(source: string): Expr {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const take = () => tokens[position++];
  const expect = (token: string) => {
    if (take() !== token) throw new TemplateSyntaxError(`expected "${token}" in {{ ${source.trim()} }}`);
  };

  const primary = (): Expr => {
    const token = take();
    if (token === undefined) throw new TemplateSyntaxError(`empty template {{ ${source.trim()} }}`);
    if (token.startsWith('"') || token.startsWith("'")) {
      return { type: 'literal', value: token.slice(1, -1).replace(/\\(.)/g, '$1') };
    }
    if (/^\d/.test(token)) return { type: 'literal', value: Number(token) };
    if (token === '-') return { type: 'negate', operand: primary() };
    if (token === '(') {
      const inner = fallback();
      expect(')');
      return inner;
    }
    if (token === 'true' || token === 'false') return { type: 'literal', value: token === 'true' };
    if (token === 'null') return { type: 'literal', value: null };
    if (!/^[A-Za-z_$]/.test(token)) throw new TemplateSyntaxError(`unexpected "${token}" in {{ ${source.trim()} }}`);
    if (peek() === '(') {
      take();
      const args: Expr[] = [];
      while (peek() !== ')') {
        args.push(fallback());
        if (peek() === ',') take();
        else break;
      }
      expect(')');
      return { type: 'call', name: token, args };
    }
    const path: string[] = [];
    while (peek() === '.' || peek() === '[') {
      if (take() === '.') {
        const segment = take();
        if (!segment || !/^[A-Za-z0-9_$-]+$/.test(segment)) throw new TemplateSyntaxError(`expected a name after "." in {{ ${source.trim()} }}`);
        path.push(segment);
      } else {
        const segment = take();
        if (segment === undefined) throw new TemplateSyntaxError(`unclosed "[" in {{ ${source.trim()} }}`);
        path.push(segment.replace(/^["']|["']$/g, ''));
        expect(']');
      }
    }
    return { type: 'ref', root: token, path, text: [token, ...path].join('.') };
  };

  const binaryLevel = (operators: readonly string[], operand: () => Expr, chained: boolean) => (): Expr => {
    let left = operand();
    while (operators.includes(peek() ?? '')) {
      const operator = take() as BinaryOperator;
      left = { type: 'binary', operator, left, right: operand() };
      if (!chained && operators.includes(peek() ?? '')) throw new TemplateSyntaxError(`comparisons do not chain in {{ ${source.trim()} }}; use parentheses`);
    }
    return left;
  };
  const product = binaryLevel(['*', '/', '%'], () => primary(), true);
  const sum = binaryLevel(['+', '-'], product, true);
  const comparison = binaryLevel(COMPARISON_OPERATORS, sum, false);

  // "??" binds loosest, as in JavaScript: vars.n ?? 0 + 1 is vars.n ?? (0 + 1).
  const fallback = (): Expr => {
    const options = [comparison()];
    while (peek() === '??') {
      take();
      options.push(comparison());
    }
    return options.length === 1 ? options[0]! : { type: 'fallback', options };
  };

  const expr = fallback();
  if (position < tokens.length) throw new TemplateSyntaxError(`unexpected "${tokens[position]}" in {{ ${source.trim()} }}`);
  return expr;
}

const parseCache = new Map<string, TemplatePart[] | null>();
/** Hot reloads in a daemon that runs for weeks would otherwise grow the cache with every edit. */
const PARSE_CACHE_LIMIT = 10_000;

/** Splits a string into literal text and expressions; null when it holds no template. */
export function parseTemplate(text: string): TemplatePart[] | null {
  const cached = parseCache.get(text);
  if (cached !== undefined) return cached;
  if (parseCache.size >= PARSE_CACHE_LIMIT) parseCache.clear();
  if (!text.includes('{{')) {
    parseCache.set(text, null);
    return null;
  }
  const parts: TemplatePart[] = [];
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{{', index);
    if (open === -1) {
      parts.push({ text: text.slice(index) });
      break;
    }
    if (open > index) parts.push({ text: text.slice(index, open) });
    const close = text.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateSyntaxError(`"{{" is never closed with "}}" in "${text}"`);
    const source = text.slice(open + 2, close);
    parts.push({ expr: parseExpression(source), source: source.trim() });
    index = close + 2;
  }
  parseCache.set(text, parts);
  return parts;
}

export interface TemplateProblem {
  message: string;
}

/**
 * Static checks at load time: syntax, known roots and functions, and vars that
 * are defined before use. Returns every problem, not just the first.
 */
export function checkTemplate(text: string, knownVars: ReadonlySet<string>): TemplateProblem[] {
  let parts: TemplatePart[] | null;
  try {
    parts = parseTemplate(text);
  } catch (error) {
    return [{ message: (error as Error).message }];
  }
  if (!parts) return [];
  const problems: TemplateProblem[] = [];
  const visit = (expr: Expr, guarded: boolean): void => {
    if (expr.type === 'ref') {
      if (!(templateRoots as readonly string[]).includes(expr.root)) {
        problems.push({ message: `unknown name "${expr.root}" in a template; use vars.${expr.root}, env.${expr.root} or secrets.${expr.root}` });
      } else if (expr.path.length === 0) {
        problems.push({ message: `"${expr.root}" needs a name, e.g. ${expr.root}.NAME` });
      } else if (expr.root === 'vars' && !guarded && !knownVars.has(expr.path[0]!)) {
        problems.push({
          message: `undefined variable vars.${expr.path[0]}; define it in vars, with set or capture before this step, or pass --var ${expr.path[0]}=…`,
        });
      }
    } else if (expr.type === 'call') {
      const generator = generatorFor(expr.name);
      if (!generator) problems.push({ message: `unknown function ${expr.name}(); available: ${generatorNames.join(', ')}` });
      else if (expr.args.length < generator.arity[0] || expr.args.length > generator.arity[1]) {
        problems.push({
          message: `${expr.name}() takes ${generator.arity[0] === generator.arity[1] ? generator.arity[0] : `${generator.arity[0]}–${generator.arity[1]}`} argument(s), got ${expr.args.length}`,
        });
      }
      expr.args.forEach((arg) => visit(arg, guarded));
    } else if (expr.type === 'fallback') {
      expr.options.forEach((option, index) => visit(option, guarded || index < expr.options.length - 1));
    } else subexpressions(expr).forEach((inner) => visit(inner, guarded));
  };
  for (const part of parts) if ('expr' in part) visit(part.expr, false);
  return problems;
}

/** What templates can see at run time. Lookups return undefined when absent. */
export interface TemplateScope {
  vars: Record<string, unknown>;
  env: (name: string) => string | undefined;
  secret: (name: string) => string | undefined;
  /** Called with values derived from a secret so they are redacted too, under that secret's name. */
  onSecretDerived?: (value: string, secretName: string) => void;
}

interface Evaluated {
  value: unknown;
  /** The name of the secret the value was built from, if any: its redaction label. */
  secret?: string;
}

function lookup(root: unknown, path: string[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    // Own properties only, so `vars.x.constructor` is undefined rather than a function.
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function evaluate(expr: Expr, scope: TemplateScope): Evaluated | undefined {
  switch (expr.type) {
    case 'literal':
      return { value: expr.value };
    case 'ref': {
      const [head, ...rest] = expr.path;
      if (head === undefined) return undefined;
      if (expr.root === 'vars') {
        const value = Object.hasOwn(scope.vars, head) ? lookup(scope.vars[head], rest) : undefined;
        return value === undefined ? undefined : { value };
      }
      if (expr.root === 'env') {
        const value = scope.env(head);
        // process.env inherits from Object.prototype: `env.toString` must not yield a function.
        return typeof value !== 'string' ? undefined : { value };
      }
      if (expr.root === 'secrets') {
        const value = scope.secret(head);
        return typeof value !== 'string' ? undefined : { value, secret: head };
      }
      return undefined;
    }
    case 'fallback': {
      for (const option of expr.options) {
        const result = evaluate(option, scope);
        if (result !== undefined && result.value !== '') return result;
      }
      return undefined;
    }
    case 'call': {
      const generator = generatorFor(expr.name);
      if (!generator) throw configError('CEIL_TEMPLATE_UNKNOWN_FUNCTION', `unknown function ${expr.name}()`);
      const args = expr.args.map((arg) => {
        const result = evaluate(arg, scope);
        if (result === undefined) throw undefinedReference(arg);
        return result;
      });
      let value: unknown;
      try {
        value = generator.run(args.map((arg) => arg.value));
      } catch (error) {
        throw configError('CEIL_TEMPLATE_FUNCTION', `${expr.name}(): ${(error as Error).message}`);
      }
      const secret = args.find((arg) => arg.secret !== undefined)?.secret;
      if (secret !== undefined && typeof value === 'string') scope.onSecretDerived?.(value, secret);
      return secret !== undefined ? { value, secret } : { value };
    }
    case 'negate': {
      const operand = evaluated(expr.operand, scope);
      return { ...operand, value: -numberOperand('-', operand.value, expr.operand) };
    }
    case 'binary': {
      const left = evaluated(expr.left, scope);
      const right = evaluated(expr.right, scope);
      const secret = left.secret ?? right.secret;
      return secret !== undefined ? { value: applyOperator(expr, left.value, right.value), secret } : { value: applyOperator(expr, left.value, right.value) };
    }
  }
}

function evaluated(expr: Expr, scope: TemplateScope): Evaluated {
  const result = evaluate(expr, scope);
  if (result === undefined) throw undefinedReference(expr);
  return result;
}

/** Arithmetic reads numbers and numeric strings only: "1" + 1 is 2, never "11", and "abc" * 2 is an error, not NaN. */
function numberOperand(operator: string, value: unknown, expr: Expr): number {
  const number = asNumber(value);
  if (number === undefined) throw configError('CEIL_TEMPLATE_FUNCTION', `"${operator}" needs numbers, but ${describe(expr)} is ${describeValue(value)}`);
  return number;
}

/** Equal as numbers when both read as numbers (a captured 200 equals env's "200"), else as JSON. */
function compareValues(left: unknown, right: unknown): number {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a !== undefined && b !== undefined) return a === b ? 0 : a < b ? -1 : 1;
  const textA = typeof left === 'string' ? left : JSON.stringify(left);
  const textB = typeof right === 'string' ? right : JSON.stringify(right);
  return textA === textB ? 0 : textA < textB ? -1 : 1;
}

function applyOperator(expr: Extract<Expr, { type: 'binary' }>, left: unknown, right: unknown): number | boolean {
  const { operator } = expr;
  switch (operator) {
    case '==':
      return compareValues(left, right) === 0;
    case '!=':
      return compareValues(left, right) !== 0;
    case '<':
      return compareValues(left, right) < 0;
    case '<=':
      return compareValues(left, right) <= 0;
    case '>':
      return compareValues(left, right) > 0;
    case '>=':
      return compareValues(left, right) >= 0;
  }
  const a = numberOperand(operator, left, expr.left);
  const b = numberOperand(operator, right, expr.right);
  if ((operator === '/' || operator === '%') && b === 0) throw configError('CEIL_TEMPLATE_FUNCTION', `division by zero in ${describe(expr)}`);
  if (operator === '+') return a + b;
  if (operator === '-') return a - b;
  if (operator === '*') return a * b;
  return operator === '/' ? a / b : a % b;
}

function describe(expr: Expr): string {
  if (expr.type === 'ref') return expr.text;
  if (expr.type === 'call') return `${expr.name}()`;
  if (expr.type === 'fallback') return expr.options.map(describe).join(' ?? ');
  if (expr.type === 'binary') return `${describe(expr.left)} ${expr.operator} ${describe(expr.right)}`;
  if (expr.type === 'negate') return `-${describe(expr.operand)}`;
  return JSON.stringify(expr.value);
}

function undefinedReference(expr: Expr) {
  const last = expr.type === 'fallback' ? expr.options[expr.options.length - 1]! : expr;
  const name = describe(last);
  const hint =
    last.type === 'ref' && last.root === 'env'
      ? `set the environment variable ${last.path[0]} or pass --env-file`
      : last.type === 'ref' && last.root === 'secrets'
        ? `set the environment variable ${last.path[0]} or add it to --secrets-file`
        : `define it in vars, capture it in an earlier step, or pass --var`;
  return configError('CEIL_TEMPLATE_UNDEFINED', `undefined ${name} in template: ${hint}`, { path: name, hint });
}

function renderString(text: string, scope: TemplateScope): unknown {
  let parts: TemplatePart[] | null;
  try {
    parts = parseTemplate(text);
  } catch (error) {
    throw configError('CEIL_TEMPLATE_SYNTAX', (error as Error).message);
  }
  if (!parts) return text;
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only && 'expr' in only) {
    const result = evaluate(only.expr, scope);
    if (result === undefined) throw undefinedReference(only.expr);
    return result.value;
  }
  let output = '';
  let secret: string | undefined;
  for (const part of parts) {
    if ('text' in part) {
      output += part.text;
      continue;
    }
    const result = evaluate(part.expr, scope);
    if (result === undefined) throw undefinedReference(part.expr);
    secret ??= result.secret;
    output += typeof result.value === 'string' ? result.value : JSON.stringify(result.value);
  }
  if (secret !== undefined) scope.onSecretDerived?.(output, secret);
  return output;
}

/**
 * Renders every string inside a value. A string that is exactly one template
 * keeps the value's type, so `{{ vars.count }}` can stay a number in JSON.
 */
export function render<T>(value: T, scope: TemplateScope): T {
  if (typeof value === 'string') return renderString(value, scope) as T;
  if (Array.isArray(value)) return value.map((item) => render(item, scope)) as T;
  if (value !== null && typeof value === 'object') {
    const output: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) output[key] = render(item, scope);
    return output as T;
  }
  return value;
}

/** Every string inside a value, with its key path, for static checks. */
export function* stringsIn(value: unknown, path: (string | number)[] = []): Generator<{ text: string; path: (string | number)[] }> {
  if (typeof value === 'string') yield { text: value, path };
  else if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* stringsIn(item, [...path, index]);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) yield* stringsIn(item, [...path, key]);
  }
}

/** Every object key inside a value that holds a template, with its path: keys are never rendered. */
export function* templatedKeysIn(value: unknown, path: (string | number)[] = []): Generator<{ key: string; path: (string | number)[] }> {
  if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* templatedKeysIn(item, [...path, index]);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('{{')) yield { key, path: [...path, key] };
      yield* templatedKeysIn(item, [...path, key]);
    }
  }
}
