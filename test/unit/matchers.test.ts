import { describe, expect, it } from 'vitest';
import { deepEqual, isOperatorObject, matchJson, matcherOperators, operatorProblems } from '../../src/journey/matchers.js';

const passes = (expected: unknown, actual: unknown): void => {
  expect(matchJson(expected, actual)).toEqual([]);
};

/** The single mismatch a check reports. */
function onlyMismatch(expected: unknown, actual: unknown) {
  const mismatches = matchJson(expected, actual);
  expect(mismatches).toHaveLength(1);
  return mismatches[0]!;
}

describe('matchJson: plain values', () => {
  it('matches scalars exactly, without type coercion', () => {
    passes(1, 1);
    passes('a', 'a');
    passes(null, null);
    passes(true, true);
    expect(onlyMismatch(1, '1')).toEqual({ path: 'json', expected: 1, actual: '1', message: 'json is "1", expected 1' });
    expect(onlyMismatch(0, false).message).toBe('json is false, expected 0');
    expect(onlyMismatch(null, 0).message).toBe('json is 0, expected null');
  });

  it('matches objects as subsets: extra actual keys are fine', () => {
    passes({ type: 'joined' }, { type: 'joined', nick: 'bob', at: 1 });
    passes({}, { anything: true });
    passes({ user: { id: 1 } }, { user: { id: 1, name: 'ann' }, other: [] });
  });

  it('reports a missing key with its path and the expected value', () => {
    expect(onlyMismatch({ user: { id: 1 } }, { user: {} })).toEqual({
      path: 'json.user.id',
      expected: 1,
      actual: undefined,
      message: 'json.user.id is missing; expected 1',
    });
  });

  it('does not treat an inherited property as present', () => {
    expect(onlyMismatch({ constructor: { $exists: true } }, {}).path).toBe('json.constructor');
    expect(onlyMismatch({ toString: 'x' }, {}).message).toBe('json.toString is missing; expected "x"');
  });

  it('reports a wrong value with path, expected and actual', () => {
    expect(onlyMismatch({ items: [{ id: 1 }, { id: 2 }] }, { items: [{ id: 1 }, { id: 3 }] })).toEqual({
      path: 'json.items[1].id',
      expected: 2,
      actual: 3,
      message: 'json.items[1].id is 3, expected 2',
    });
  });

  it('quotes keys that are not identifiers in paths', () => {
    expect(onlyMismatch({ 'odd key': { 'a-b': 1 } }, { 'odd key': { 'a-b': 2 } }).path).toBe('json["odd key"]["a-b"]');
  });

  it('matches arrays element by element, with the same length', () => {
    passes([1, { a: 1 }], [1, { a: 1, b: 2 }]);
    expect(onlyMismatch([1, 2], [1, 2, 3])).toMatchObject({ path: 'json', message: 'json has 3 element(s); expected 2' });
    expect(onlyMismatch([1], { 0: 1 }).message).toBe('json should be an array but is object {"0":1}');
  });

  it('reports a type mismatch between object and non-object', () => {
    expect(onlyMismatch({ a: 1 }, [1]).message).toBe('json should be an object but is array [1]');
    expect(onlyMismatch({ a: 1 }, null).message).toBe('json should be an object but is null null');
    expect(onlyMismatch({ a: { b: 1 } }, { a: 'text' })).toMatchObject({ path: 'json.a', actual: 'text' });
  });

  it('reports every mismatch, not just the first', () => {
    const mismatches = matchJson({ a: 1, b: 2, c: { d: 3 } }, { a: 0, b: 2, c: { d: 4 } });
    expect(mismatches.map((mismatch) => mismatch.path)).toEqual(['json.a', 'json.c.d']);
  });

  it('uses the base path it is given', () => {
    expect(matchJson({ id: 1 }, { id: 2 }, 'response.json')[0]?.path).toBe('response.json.id');
  });

  it('shortens long actual values in messages', () => {
    const message = onlyMismatch('x', 'y'.repeat(500)).message;
    expect(message.length).toBeLessThan(260);
    expect(message).toContain('…');
  });
});

describe('matchJson: operators', () => {
  it('knows exactly the documented operators', () => {
    expect([...matcherOperators].sort()).toEqual(
      ['$any', '$contains', '$eq', '$exists', '$gt', '$gte', '$len', '$lt', '$lte', '$not', '$regex', '$type'].sort(),
    );
  });

  it('$type checks JSON types, telling arrays, null and integers apart', () => {
    passes({ $type: 'string' }, 'x');
    passes({ $type: 'number' }, 1.5);
    passes({ $type: 'integer' }, 2);
    passes({ $type: 'boolean' }, false);
    passes({ $type: 'object' }, {});
    passes({ $type: 'array' }, []);
    passes({ $type: 'null' }, null);
    expect(onlyMismatch({ $type: 'object' }, []).message).toBe('json should be of type object but is array []');
    expect(onlyMismatch({ $type: 'object' }, null).message).toContain('but is null');
    expect(onlyMismatch({ $type: 'integer' }, 1.5).message).toContain('should be of type integer');
    expect(onlyMismatch({ id: { $type: 'string' } }, { id: 42 })).toEqual({
      path: 'json.id',
      expected: { $type: 'string' },
      actual: 42,
      message: 'json.id should be of type string but is number 42',
    });
  });

  it('$regex matches strings only', () => {
    passes({ $regex: '^ab+c$' }, 'abbbc');
    expect(onlyMismatch({ $regex: '^a' }, 'ba').message).toBe('json "ba" does not match /^a/');
    expect(onlyMismatch({ $regex: '^1' }, 12).message).toBe('json should be a string matching /^1/ but is number');
  });

  it('$regex with an invalid pattern is a mismatch with the reason, not a crash', () => {
    expect(onlyMismatch({ $regex: 'a(' }, 'a').message).toContain('invalid $regex /a(/');
  });

  it('$gt, $gte, $lt and $lte compare numbers only', () => {
    passes({ $gt: 1, $lt: 3 }, 2);
    passes({ $gte: 2, $lte: 2 }, 2);
    expect(onlyMismatch({ $gt: 2 }, 2).message).toBe('json 2 is not gt 2');
    expect(onlyMismatch({ $lte: 1 }, 2).message).toBe('json 2 is not lte 1');
    expect(onlyMismatch({ $gt: 1 }, '5')).toMatchObject({ expected: { $gt: 1 }, actual: '5' });
  });

  it('$exists checks presence, and absence', () => {
    passes({ id: { $exists: true } }, { id: null });
    passes({ error: { $exists: false } }, { ok: true });
    expect(onlyMismatch({ id: { $exists: true } }, {})).toMatchObject({ path: 'json.id', message: 'json.id is missing' });
    expect(onlyMismatch({ error: { $exists: false } }, { error: 'boom' }).message).toBe('json.error should be absent but is "boom"');
  });

  it('any other operator fails on a missing key and says so', () => {
    expect(onlyMismatch({ id: { $type: 'string' } }, {})).toMatchObject({
      path: 'json.id',
      actual: undefined,
      message: 'json.id is missing; expected {"$type":"string"}',
    });
  });

  it('$contains finds substrings and array elements (matched as subsets)', () => {
    passes({ $contains: 'ell' }, 'hello');
    passes({ $contains: { nick: 'bob' } }, [{ nick: 'ann' }, { nick: 'bob', id: 2 }]);
    expect(onlyMismatch({ $contains: 'xyz' }, 'hello').message).toBe('json "hello" does not contain "xyz"');
    expect(onlyMismatch({ $contains: { nick: 'eve' } }, [{ nick: 'ann' }]).message).toBe('json has no element matching {"nick":"eve"}');
    expect(onlyMismatch({ $contains: 1 }, { a: 1 }).message).toContain('should be a string or array');
  });

  it('$len checks the length of strings and arrays, with a number or a matcher', () => {
    passes({ $len: 3 }, 'abc');
    passes({ $len: 2 }, [1, 2]);
    passes({ $len: { $gte: 1 } }, [1]);
    expect(onlyMismatch({ $len: 2 }, [1]).message).toBe('json has length 1; expected 2');
    expect(onlyMismatch({ $len: 1 }, 5).message).toBe('json has no length (it is number)');
  });

  it('$any passes when one option matches', () => {
    passes({ $any: ['a', 'b'] }, 'b');
    passes({ $any: [{ $type: 'null' }, { $type: 'string' }] }, null);
    expect(onlyMismatch({ status: { $any: ['ok', 'done'] } }, { status: 'failed' })).toMatchObject({
      path: 'json.status',
      expected: { $any: ['ok', 'done'] },
      actual: 'failed',
      message: 'json.status "failed" matches none of ["ok","done"]',
    });
  });

  it('$eq compares exactly, so extra keys fail', () => {
    passes({ $eq: { a: 1 } }, { a: 1 });
    expect(onlyMismatch({ $eq: { a: 1 } }, { a: 1, b: 2 }).message).toBe('json is {"a":1,"b":2}, expected exactly {"a":1}');
    expect(onlyMismatch({ $eq: [1, 2] }, [1, 2, 3]).path).toBe('json');
  });

  it('$not inverts a matcher', () => {
    passes({ $not: 'error' }, 'ok');
    passes({ $not: { $type: 'null' } }, 1);
    expect(onlyMismatch({ $not: { $regex: '^err' } }, 'error: x').message).toBe('json "error: x" should not match {"$regex":"^err"}');
  });

  it('combines several operators on one value; every failure is reported', () => {
    passes({ $type: 'number', $gte: 1, $lte: 5 }, 3);
    expect(matchJson({ $type: 'number', $gte: 10, $lt: 0 }, 5)).toHaveLength(2);
  });

  it('reports an unknown operator at run time rather than ignoring it', () => {
    expect(onlyMismatch({ $typ: 'string' }, 'x').message).toBe('unknown matcher $typ at json');
  });
});

describe('isOperatorObject', () => {
  it('is true only for non-empty objects whose keys all start with $', () => {
    expect(isOperatorObject({ $type: 'string' })).toBe(true);
    expect(isOperatorObject({})).toBe(false);
    expect(isOperatorObject({ $type: 'string', a: 1 })).toBe(false);
    expect(isOperatorObject(['$type'])).toBe(false);
    expect(isOperatorObject(null)).toBe(false);
  });
});

describe('deepEqual', () => {
  it('compares JSON values structurally', () => {
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual(1, '1')).toBe(false);
  });

  it('does not treat a missing key as equal to an undefined one', () => {
    expect(deepEqual({ a: undefined }, { b: 1 })).toBe(false);
  });
});

describe('operatorProblems', () => {
  const problems = (expected: unknown) => [...operatorProblems(expected)];

  it('finds nothing wrong in valid expectations', () => {
    expect(problems({ id: { $type: 'string' }, items: [{ $len: { $gt: 0 } }], name: { $regex: '^a' } })).toEqual([]);
    expect(problems('plain')).toEqual([]);
  });

  it('reports an unknown operator with its path and key', () => {
    expect(problems({ id: { $typ: 'string' } })).toEqual([{ path: ['id', '$typ'], key: '$typ', message: 'unknown matcher $typ' }]);
    expect(problems([{ a: { $lenght: 1 } }])).toEqual([{ path: [0, 'a', '$lenght'], key: '$lenght', message: 'unknown matcher $lenght' }]);
  });

  it('reports a $type that is not a JSON type', () => {
    expect(problems({ $type: 'str' })).toEqual([
      { path: ['$type'], key: '$type', message: '$type must be one of string, number, boolean, object, array, null, integer' },
    ]);
  });

  it('reports an invalid $regex with the engine reason', () => {
    const [problem] = problems({ name: { $regex: 'a(b' } });
    expect(problem).toMatchObject({ path: ['name', '$regex'], key: '$regex' });
    expect(problem?.message).toContain('invalid $regex');
    expect(problem?.message).toContain('Unterminated group');
  });

  it('reports every problem', () => {
    expect(problems({ a: { $typ: 'x' }, b: { $regx: 'y' }, c: { $type: 'nope' } })).toHaveLength(3);
  });
});

describe('matcher objects that mix operators and plain keys', () => {
  it('are reported, since they would silently match as plain subsets', async () => {
    const { operatorProblems } = await import('../../src/journey/matchers.js');
    const problems = [...operatorProblems({ id: { $type: 'string', name: 'x' } })];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: ['id'], message: expect.stringContaining('takes only operators ($type)') });
  });
});
