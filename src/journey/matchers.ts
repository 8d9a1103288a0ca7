/**
 * JSON matchers. Objects match as subsets, arrays element by element, scalars
 * exactly; an object whose keys start with `$` is an operator. A mismatch
 * names the path, the expected value and the actual value.
 */

export interface Mismatch {
  path: string;
  expected: unknown;
  actual: unknown;
  message: string;
}

export const matcherOperators = ['$type', '$regex', '$gt', '$gte', '$lt', '$lte', '$exists', '$contains', '$len', '$any', '$eq', '$not'] as const;
type Operator = (typeof matcherOperators)[number];
const jsonTypes = ['string', 'number', 'boolean', 'object', 'array', 'null', 'integer'] as const;

const MISSING = Symbol('missing');

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith('$'));
}

function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

type Show = (value: unknown) => string;

/** Values in messages are cut short; a secret must be redacted before the cut, or half of it survives. */
function shower(redact: (text: string) => string): Show {
  return (value) => {
    if (value === MISSING) return 'nothing (missing)';
    const json = JSON.stringify(value);
    const text = redact(json === undefined ? String(value) : json);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  };
}

const plain = shower((text) => text);

function compareNumber(op: '$gt' | '$gte' | '$lt' | '$lte', actual: unknown, bound: unknown): boolean {
  if (typeof actual !== 'number' || typeof bound !== 'number') return false;
  if (op === '$gt') return actual > bound;
  if (op === '$gte') return actual >= bound;
  if (op === '$lt') return actual < bound;
  return actual <= bound;
}

function applyOperator(op: Operator, operand: unknown, actual: unknown, path: string, show: Show): Mismatch[] {
  const fail = (message: string): Mismatch[] => [{ path, expected: { [op]: operand }, actual: actual === MISSING ? undefined : actual, message }];
  if (op === '$exists') {
    const exists = actual !== MISSING && actual !== undefined;
    return exists === Boolean(operand) ? [] : fail(operand ? `${path} is missing` : `${path} should be absent but is ${show(actual)}`);
  }
  if (actual === MISSING) return fail(`${path} is missing; expected ${show({ [op]: operand })}`);
  switch (op) {
    case '$type': {
      const wanted = String(operand);
      const ok = wanted === 'integer' ? Number.isInteger(actual) : typeOf(actual) === wanted;
      return ok ? [] : fail(`${path} should be of type ${wanted} but is ${typeOf(actual)} ${show(actual)}`);
    }
    case '$regex': {
      if (typeof actual !== 'string') return fail(`${path} should be a string matching /${String(operand)}/ but is ${typeOf(actual)}`);
      let pattern: RegExp;
      try {
        pattern = new RegExp(String(operand));
      } catch (error) {
        // A templated pattern is only known at run time; a bad one is a mismatch with a reason, not a crash.
        return fail(`${path}: invalid $regex /${String(operand)}/: ${(error as Error).message}`);
      }
      return pattern.test(actual) ? [] : fail(`${path} ${show(actual)} does not match /${String(operand)}/`);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return compareNumber(op, actual, operand) ? [] : fail(`${path} ${show(actual)} is not ${op.slice(1)} ${show(operand)}`);
    case '$contains': {
      if (typeof actual === 'string') {
        return actual.includes(String(operand)) ? [] : fail(`${path} ${show(actual)} does not contain ${show(operand)}`);
      }
      if (Array.isArray(actual)) {
        return actual.some((item) => matchAt(operand, item, path, show).length === 0) ? [] : fail(`${path} has no element matching ${show(operand)}`);
      }
      return fail(`${path} should be a string or array containing ${show(operand)} but is ${typeOf(actual)}`);
    }
    case '$len': {
      const length = typeof actual === 'string' || Array.isArray(actual) ? actual.length : undefined;
      if (length === undefined) return fail(`${path} has no length (it is ${typeOf(actual)})`);
      const inner = matchAt(operand, length, `${path}.length`, show);
      return inner.length === 0 ? [] : fail(`${path} has length ${length}; expected ${show(operand)}`);
    }
    case '$any': {
      const options = Array.isArray(operand) ? operand : [operand];
      return options.some((option) => matchAt(option, actual, path, show).length === 0) ? [] : fail(`${path} ${show(actual)} matches none of ${show(options)}`);
    }
    case '$eq':
      return deepEqual(operand, actual) ? [] : fail(`${path} is ${show(actual)}, expected exactly ${show(operand)}`);
    case '$not':
      return matchAt(operand, actual, path, show).length > 0 ? [] : fail(`${path} ${show(actual)} should not match ${show(operand)}`);
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b as object);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) => Object.hasOwn(b as object, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function matchAt(expected: unknown, actual: unknown, path: string, show: Show): Mismatch[] {
  if (isOperatorObject(expected)) {
    return Object.entries(expected).flatMap(([op, operand]) =>
      (matcherOperators as readonly string[]).includes(op)
        ? applyOperator(op as Operator, operand, actual, path, show)
        : [{ path, expected, actual, message: `unknown matcher ${op} at ${path}` }],
    );
  }
  if (actual === MISSING) return [{ path, expected, actual: undefined, message: `${path} is missing; expected ${show(expected)}` }];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [{ path, expected, actual, message: `${path} should be an array but is ${typeOf(actual)} ${show(actual)}` }];
    if (expected.length !== actual.length) {
      return [{ path, expected, actual, message: `${path} has ${actual.length} element(s); expected ${expected.length}` }];
    }
    return expected.flatMap((item, index) => matchAt(item, actual[index], childPath(path, index), show));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [{ path, expected, actual, message: `${path} should be an object but is ${typeOf(actual)} ${show(actual)}` }];
    }
    return Object.entries(expected).flatMap(([key, value]) => {
      const record = actual as Record<string, unknown>;
      const child = Object.hasOwn(record, key) ? record[key] : MISSING;
      return matchAt(value, child, childPath(path, key), show);
    });
  }
  return deepEqual(expected, actual) ? [] : [{ path, expected, actual, message: `${path} is ${show(actual)}, expected ${show(expected)}` }];
}

/** Returns every mismatch; an empty list means the value matches. */
export function matchJson(expected: unknown, actual: unknown, path = 'json', redact?: (text: string) => string): Mismatch[] {
  return matchAt(expected, actual, path, redact ? shower(redact) : plain);
}

/** Static check of an expectation: unknown operators and bad operands, with did-you-mean left to the caller. */
export function* operatorProblems(expected: unknown, path: (string | number)[] = []): Generator<{ path: (string | number)[]; key: string; message: string }> {
  if (Array.isArray(expected)) {
    for (const [index, item] of expected.entries()) yield* operatorProblems(item, [...path, index]);
    return;
  }
  if (expected === null || typeof expected !== 'object') return;
  const keys = Object.keys(expected);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length > 0 && operators.length < keys.length) {
    // Mixed, the object would be matched as a plain subset and `$type` looked up as a field name.
    yield {
      path,
      key: operators[0]!,
      message: `a matcher object takes only operators (${operators.join(', ')}); put the other keys (${keys.filter((key) => !key.startsWith('$')).join(', ')}) in a mapping of their own`,
    };
  }
  for (const [key, value] of Object.entries(expected)) {
    if (key.startsWith('$')) {
      if (!(matcherOperators as readonly string[]).includes(key)) {
        yield { path: [...path, key], key, message: `unknown matcher ${key}` };
        continue;
      }
      if (key === '$type' && !(jsonTypes as readonly string[]).includes(String(value))) {
        yield { path: [...path, key], key, message: `$type must be one of ${jsonTypes.join(', ')}` };
      }
      if (key === '$regex') {
        try {
          new RegExp(String(value));
        } catch (error) {
          yield { path: [...path, key], key, message: `invalid $regex: ${(error as Error).message}` };
        }
      }
    }
    yield* operatorProblems(value, [...path, key]);
  }
}
