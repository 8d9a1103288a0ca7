import { describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/core/failure.js';
import { checkTemplate, generatorNames, parseTemplate, render, stringsIn, type TemplateScope } from '../../src/journey/template.js';

interface ScopeOptions {
  vars?: Record<string, unknown>;
  env?: Record<string, string>;
  secrets?: Record<string, string>;
}

/** A scope over plain records, plus the list of values reported as derived from secrets. */
function scopeOf(options: ScopeOptions = {}): TemplateScope & { derived: string[] } {
  const derived: string[] = [];
  const env = options.env ?? {};
  const secrets = options.secrets ?? {};
  return {
    vars: options.vars ?? {},
    env: (name) => (Object.hasOwn(env, name) ? env[name] : undefined),
    secret: (name) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined),
    onSecretDerived: (value) => derived.push(value),
    derived,
  };
}

/** Renders and returns the StepFailure it throws; fails the test when it does not throw one. */
function renderFailure(value: unknown, scope: TemplateScope): StepFailure {
  try {
    render(value, scope);
  } catch (error) {
    expect(error).toBeInstanceOf(StepFailure);
    return error as StepFailure;
  }
  throw new Error(`expected ${JSON.stringify(value)} to fail to render`);
}

const messages = (text: string, known: string[] = []): string[] => checkTemplate(text, new Set(known)).map((problem) => problem.message);

describe('parseTemplate', () => {
  it('returns null for a string without a template', () => {
    expect(parseTemplate('plain text')).toBeNull();
    expect(parseTemplate('a } and a { are fine')).toBeNull();
  });

  it('splits literal text and expressions', () => {
    expect(parseTemplate('http://{{ vars.host }}/x')).toEqual([
      { text: 'http://' },
      { expr: { type: 'ref', root: 'vars', path: ['host'], text: 'vars.host' }, source: 'vars.host' },
      { text: '/x' },
    ]);
  });

  it('parses fallbacks, literals and calls', () => {
    const [part] = parseTemplate("{{ env.URL ?? 'http://localhost' }}") ?? [];
    expect(part).toEqual({
      expr: {
        type: 'fallback',
        options: [
          { type: 'ref', root: 'env', path: ['URL'], text: 'env.URL' },
          { type: 'literal', value: 'http://localhost' },
        ],
      },
      source: "env.URL ?? 'http://localhost'",
    });
    const [call] = parseTemplate('{{ basicAuth(vars.user, secrets.PW) }}') ?? [];
    expect(call).toMatchObject({
      expr: {
        type: 'call',
        name: 'basicAuth',
        args: [
          { type: 'ref', root: 'vars' },
          { type: 'ref', root: 'secrets' },
        ],
      },
    });
  });

  it('reads bracketed and indexed paths', () => {
    const [part] = parseTemplate('{{ vars.items[0]["odd key"] }}') ?? [];
    expect(part).toMatchObject({ expr: { type: 'ref', root: 'vars', path: ['items', '0', 'odd key'] } });
  });

  it('throws on an unclosed template', () => {
    expect(() => parseTemplate('{{ vars.a }')).toThrow('"{{" is never closed with "}}"');
  });
});

describe('checkTemplate', () => {
  it('accepts defined vars, env, secrets and known functions', () => {
    expect(messages('{{ vars.a }} {{ env.HOME }} {{ secrets.TOKEN }} {{ uuid() }} {{ randomString(8) }}', ['a'])).toEqual([]);
    expect(
      messages('{{ timestamp() }}{{ isoTime() }}{{ base64(vars.a) }}{{ urlEncode(vars.a) }}{{ basicAuth(vars.a, secrets.P) }}{{ json(vars.a) }}', ['a']),
    ).toEqual([]);
  });

  it('reports an undefined variable by name, with the ways to define it', () => {
    expect(messages('{{ vars.nope }}')).toEqual([
      'undefined variable vars.nope; define it in vars, with set or capture before this step, or pass --var nope=…',
    ]);
  });

  it('reports an undefined variable inside a function argument', () => {
    expect(messages('{{ base64(vars.nope) }}')).toEqual([expect.stringContaining('vars.nope')]);
  });

  it('accepts an undefined variable guarded by a fallback, but not as the last option', () => {
    expect(messages("{{ vars.nope ?? 'default' }}")).toEqual([]);
    expect(messages('{{ env.X ?? vars.nope }}')).toEqual([expect.stringContaining('undefined variable vars.nope')]);
  });

  it('reports every problem in a string, not just the first', () => {
    expect(messages('{{ vars.a }}-{{ vars.b }}-{{ nope() }}')).toHaveLength(3);
  });

  it('reports an unknown root and a root without a name', () => {
    expect(messages('{{ foo.bar }}')).toEqual(['unknown name "foo" in a template; use vars.foo, env.foo or secrets.foo']);
    expect(messages('{{ vars }}')).toEqual(['"vars" needs a name, e.g. vars.NAME']);
  });

  it('reports an unknown function with the list of available ones', () => {
    expect(messages('{{ uuidv4() }}')).toEqual([`unknown function uuidv4(); available: ${generatorNames.join(', ')}`]);
  });

  it('reports a wrong number of arguments', () => {
    expect(messages('{{ uuid(1) }}')).toEqual(['uuid() takes 0 argument(s), got 1']);
    expect(messages("{{ basicAuth('u') }}")).toEqual(['basicAuth() takes 2 argument(s), got 1']);
    expect(messages('{{ randomString(1, 2) }}')).toEqual(['randomString() takes 0–1 argument(s), got 2']);
  });

  it('reports syntax errors instead of throwing', () => {
    expect(messages('{{ }}')).toEqual(['empty template {{  }}']);
    expect(messages('{{ vars.a }')).toEqual([expect.stringContaining('never closed')]);
    expect(messages('{{ vars.a & 1 }}', ['a'])).toEqual(['unexpected "& 1" in {{ vars.a & 1 }}']);
  });

  describe('never executes code', () => {
    it.each([
      ['{{ process.exit() }}', 'unexpected "("'],
      ["{{ constructor.constructor('x')() }}", 'unexpected "("'],
      ['{{ require("fs") }}', 'unknown function require()'],
      ['{{ eval("1+1") }}', 'unknown function eval()'],
      ['{{ Function("return 1")() }}', 'unexpected "("'],
      ['{{ globalThis.process }}', 'unknown name "globalThis"'],
      ['{{ this }}', 'unknown name "this"'],
      ['{{ `${1}` }}', 'unexpected'],
      ['{{ vars.a; process.exit() }}', 'unexpected'],
      ['{{ (() => 1)() }}', 'unexpected'],
      ['{{ vars.a = 1 }}', 'unexpected'],
    ])('rejects %s', (text, message) => {
      const problems = messages(text, ['a']);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(message);
    });

    // toString() is one of the template's own functions (one argument), not Object.prototype's.
    it.each(['constructor', '__proto__', 'hasOwnProperty', 'valueOf'])('rejects %s() as an unknown function instead of reaching Object.prototype', (name) => {
      expect(messages(`{{ ${name}() }}`)).toEqual([expect.stringContaining(`unknown function ${name}()`)]);
      const failure = renderFailure(`{{ ${name}() }}`, scopeOf());
      expect(failure.code).toBe('CEIL_TEMPLATE_UNKNOWN_FUNCTION');
    });

    it('rejects injection-like input at render time too, as a config failure', () => {
      const failure = renderFailure('{{ process.exit() }}', scopeOf());
      expect(failure.failureClass).toBe('config');
      expect(failure.code).toBe('CEIL_TEMPLATE_SYNTAX');
    });

    it('does not expose inherited properties of vars, env or secrets', () => {
      const scope: TemplateScope = {
        vars: { o: { n: [1, 2] } },
        env: (name) => (process.env as Record<string, string | undefined>)[name],
        secret: (name) => (process.env as Record<string, string | undefined>)[name],
      };
      for (const text of [
        '{{ vars.constructor }}',
        '{{ vars.o.toString }}',
        '{{ vars.o.n.constructor }}',
        '{{ vars.__proto__ }}',
        '{{ env.toString }}',
        '{{ secrets.constructor }}',
      ]) {
        const failure = renderFailure(text, scope);
        expect(failure.code).toBe('CEIL_TEMPLATE_UNDEFINED');
      }
      expect(render('{{ vars.o.n.length }}', scope)).toBe(2);
    });
  });
});

describe('render', () => {
  it('substitutes vars, env and secrets inside text', () => {
    const scope = scopeOf({ vars: { host: 'example.test' }, env: { PORT: '8080' }, secrets: { TOKEN: 's3cr3t-token' } });
    expect(render('http://{{ vars.host }}:{{ env.PORT }}/?t={{ secrets.TOKEN }}', scope)).toBe('http://example.test:8080/?t=s3cr3t-token');
  });

  it('keeps the value type when the whole string is one template', () => {
    const scope = scopeOf({ vars: { count: 3, on: true, none: null, list: [1, 'a'], obj: { a: 1 } } });
    expect(render('{{ vars.count }}', scope)).toBe(3);
    expect(render('{{ vars.on }}', scope)).toBe(true);
    expect(render('{{ vars.none }}', scope)).toBeNull();
    expect(render('{{ vars.list }}', scope)).toEqual([1, 'a']);
    expect(render('{{ vars.obj }}', scope)).toEqual({ a: 1 });
    expect(render('{{ timestamp() }}', scope)).toEqual(expect.any(Number));
  });

  it('stringifies non-string values when mixed with text', () => {
    const scope = scopeOf({ vars: { count: 3, obj: { a: 1 } } });
    expect(render('n={{ vars.count }}', scope)).toBe('n=3');
    expect(render(' {{ vars.count }}', scope)).toBe(' 3');
    expect(render('o={{ vars.obj }}', scope)).toBe('o={"a":1}');
  });

  it('renders every string inside objects and arrays, and leaves other values alone', () => {
    const scope = scopeOf({ vars: { id: 7, name: 'ann' } });
    expect(render({ id: '{{ vars.id }}', tags: ['x-{{ vars.name }}', 5, false, null], nested: { deep: '{{ vars.name }}' } }, scope)).toEqual({
      id: 7,
      tags: ['x-ann', 5, false, null],
      nested: { deep: 'ann' },
    });
  });

  it('reads nested and indexed paths', () => {
    const scope = scopeOf({ vars: { user: { emails: ['a@x', 'b@x'], 'odd key': 1 } } });
    expect(render('{{ vars.user.emails[1] }}', scope)).toBe('b@x');
    expect(render('{{ vars.user["odd key"] }}', scope)).toBe(1);
  });

  it('uses the first defined, non-empty option of a fallback', () => {
    const scope = scopeOf({ env: { EMPTY: '', SET: 'set' } });
    expect(render("{{ env.MISSING ?? 'dflt' }}", scope)).toBe('dflt');
    expect(render("{{ env.EMPTY ?? 'dflt' }}", scope)).toBe('dflt');
    expect(render("{{ env.SET ?? 'dflt' }}", scope)).toBe('set');
    expect(render('{{ env.MISSING ?? env.SET }}', scope)).toBe('set');
    expect(render('{{ env.MISSING ?? 42 }}', scope)).toBe(42);
  });

  describe('an undefined reference is a config failure naming it, never an empty string', () => {
    it.each([
      ['{{ vars.nope }}', 'vars.nope', 'define it in vars'],
      ['id={{ vars.nope }}', 'vars.nope', 'define it in vars'],
      ['{{ vars.user.missing }}', 'vars.user.missing', 'define it in vars'],
      ['{{ env.NOPE }}', 'env.NOPE', 'set the environment variable NOPE'],
      ['{{ secrets.NOPE }}', 'secrets.NOPE', 'add it to --secrets-file'],
      ['{{ env.A ?? env.B }}', 'env.B', 'set the environment variable B'],
      ['{{ base64(vars.nope) }}', 'vars.nope', 'define it in vars'],
    ])('%s', (text, name, hint) => {
      const failure = renderFailure({ nested: [text] }, scopeOf({ vars: { user: {} } }));
      expect(failure.failureClass).toBe('config');
      expect(failure.code).toBe('CEIL_TEMPLATE_UNDEFINED');
      expect(failure.message).toContain(`undefined ${name} in template`);
      expect(failure.message).toContain(hint);
      expect(failure.details.path).toBe(name);
    });
  });

  describe('generators', () => {
    const scope = scopeOf({ vars: { user: 'ann', password: 'p@ss word', obj: { a: [1] } } });

    it('uuid() gives a v4 UUID', () => {
      expect(render('{{ uuid() }}', scope)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('randomString(n) gives n URL-safe characters, 16 by default', () => {
      expect(render('{{ randomString(24) }}', scope)).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(render('{{ randomString() }}', scope)).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(render('{{ randomString(1) }}', scope)).toHaveLength(1);
    });

    it('randomString(n) rejects a length out of range as a config failure', () => {
      for (const text of ['{{ randomString(0) }}', '{{ randomString(5000) }}', "{{ randomString('x') }}", '{{ randomString(1.5) }}']) {
        const failure = renderFailure(text, scope);
        expect(failure.code).toBe('CEIL_TEMPLATE_FUNCTION');
        expect(failure.message).toContain('randomString(n) takes a length from 1 to 4096');
      }
    });

    it('timestamp() and isoTime() give the current time', () => {
      expect(render('{{ timestamp() }}', scope)).toEqual(expect.any(Number));
      const iso = render('{{ isoTime() }}', scope);
      expect(typeof iso).toBe('string');
      expect(new Date(iso as string).toISOString()).toBe(iso);
    });

    it('base64(), urlEncode(), basicAuth() and json() encode their argument', () => {
      expect(render('{{ base64(vars.user) }}', scope)).toBe(Buffer.from('ann').toString('base64'));
      expect(render('{{ urlEncode(vars.password) }}', scope)).toBe('p%40ss%20word');
      expect(render('{{ basicAuth(vars.user, vars.password) }}', scope)).toBe(`Basic ${Buffer.from('ann:p@ss word').toString('base64')}`);
      expect(render("{{ basicAuth('u', 'p') }}", scope)).toBe('Basic dTpw');
      expect(render('{{ json(vars.obj) }}', scope)).toBe('{"a":[1]}');
      expect(render("{{ base64('x y') }}", scope)).toBe('eCB5');
    });
  });

  describe('secret taint', () => {
    it('reports values derived from a secret so they can be redacted', () => {
      const scope = scopeOf({ vars: { user: 'ann' }, secrets: { PW: 'hunter2hunter2' } });
      const header = render('{{ basicAuth(vars.user, secrets.PW) }}', scope);
      expect(header).toBe(`Basic ${Buffer.from('ann:hunter2hunter2').toString('base64')}`);
      expect(render('{{ base64(secrets.PW) }}', scope)).toBe(Buffer.from('hunter2hunter2').toString('base64'));
      expect(render('Bearer {{ secrets.PW }}', scope)).toBe('Bearer hunter2hunter2');
      expect(scope.derived).toEqual([header, Buffer.from('hunter2hunter2').toString('base64'), 'Bearer hunter2hunter2']);
    });

    it('does not report values built only from vars and env', () => {
      const scope = scopeOf({ vars: { user: 'ann' }, env: { PW: 'not-secret' } });
      render('{{ basicAuth(vars.user, env.PW) }} {{ base64(vars.user) }}', scope);
      expect(scope.derived).toEqual([]);
    });
  });
});

describe('stringsIn', () => {
  it('yields every string with its path', () => {
    expect([...stringsIn({ a: 'x', b: [1, 'y', { c: 'z' }], d: null })]).toEqual([
      { text: 'x', path: ['a'] },
      { text: 'y', path: ['b', 1] },
      { text: 'z', path: ['b', 2, 'c'] },
    ]);
  });
});

describe('randomInt', () => {
  it('refuses bounds that are not whole numbers in order, instead of returning NaN', async () => {
    const { render } = await import('../../src/journey/template.js');
    const scope = { vars: {}, env: () => undefined, secret: () => undefined };
    expect(() => render('{{ randomInt(5, 1) }}', scope)).toThrow(/min ≤ max/);
    expect(() => render("{{ randomInt('a', 3) }}", scope)).toThrow(/whole numbers/);
    const value: unknown = render('{{ randomInt(2, 4) }}', scope);
    expect([2, 3, 4]).toContain(value);
  });
});

describe('arithmetic, comparisons and value functions', () => {
  const scope = () =>
    scopeOf({ vars: { size: 32, items: ['a', 'b', 'c'], body: { a: 1, b: 2 }, name: 'Alice', status: 200, 'my-id': 7 }, env: { COUNT: '5', WORD: 'five' } });

  it('computes with + - * / % and the usual precedence, keeping the number type', () => {
    expect(render('{{ vars.size - 1 }}', scope())).toBe(31);
    expect(render('{{ 2 + 3 * 4 }}', scope())).toBe(14);
    expect(render('{{ (2 + 3) * 4 }}', scope())).toBe(20);
    expect(render('{{ 7 % 4 }}', scope())).toBe(3);
    expect(render('{{ -vars.size / 4 }}', scope())).toBe(-8);
    expect(render('bytes 0-{{ vars.size - 1 }}/{{ vars.size }}', scope())).toBe('bytes 0-31/32');
  });

  it('reads numeric strings as numbers, never concatenating: env "5" + 1 is 6', () => {
    expect(render('{{ env.COUNT + 1 }}', scope())).toBe(6);
    expect(render('{{ toNumber(env.COUNT) * 2 }}', scope())).toBe(10);
  });

  it('refuses arithmetic on text and division by zero as config failures that name the operand', () => {
    const failure = renderFailure('{{ env.WORD * 2 }}', scope());
    expect(failure.code).toBe('CEIL_TEMPLATE_FUNCTION');
    expect(failure.message).toContain('env.WORD is "five"');
    expect(renderFailure('{{ vars.size / 0 }}', scope()).message).toContain('division by zero');
    expect(renderFailure('{{ toNumber(env.WORD) }}', scope()).message).toContain('"five" is not a number');
  });

  it('compares numbers as numbers and anything else as text', () => {
    expect(render('{{ vars.status == 200 }}', scope())).toBe(true);
    expect(render('{{ env.COUNT == 5 }}', scope())).toBe(true);
    expect(render('{{ env.COUNT < 10 }}', scope())).toBe(true);
    expect(render("{{ vars.name != 'Alice' }}", scope())).toBe(false);
    expect(render('{{ length(vars.items) >= 3 }}', scope())).toBe(true);
  });

  it('has length, lower, upper, toNumber and toString', () => {
    expect(render('{{ length(vars.items) }}', scope())).toBe(3);
    expect(render('{{ length(vars.name) }}', scope())).toBe(5);
    expect(render('{{ length(vars.body) }}', scope())).toBe(2);
    expect(render('{{ lower(vars.name) }}-{{ upper(vars.name) }}', scope())).toBe('alice-ALICE');
    expect(render('{{ toString(vars.size) }}', scope())).toBe('32');
    expect(renderFailure('{{ length(vars.size) }}', scope()).message).toContain('length() takes a string, a list or an object');
  });

  it('keeps "-" inside a name: vars.my-id is a name, and subtraction after a name takes spaces', () => {
    expect(render('{{ vars.my-id }}', scope())).toBe(7);
    expect(render('{{ vars.my-id - 2 }}', scope())).toBe(5);
  });

  it('binds ?? loosest, so a fallback can default an operand', () => {
    expect(render('{{ vars.missing ?? 0 + 1 }}', scope())).toBe(1);
    expect(render('{{ (vars.missing ?? 10) - 1 }}', scope())).toBe(9);
  });

  it('checks references inside expressions at load, and refuses chained comparisons', () => {
    expect(messages('{{ vars.nope + 1 }}')).toEqual([expect.stringContaining('undefined variable vars.nope')]);
    expect(messages('{{ -vars.nope }}')).toEqual([expect.stringContaining('undefined variable vars.nope')]);
    expect(messages('{{ 1 < 2 < 3 }}')).toEqual([expect.stringContaining('comparisons do not chain')]);
    expect(messages('{{ 1 + }}')).toEqual([expect.stringContaining('empty template')]);
    expect(generatorNames).toEqual(expect.arrayContaining(['length', 'lower', 'upper', 'toNumber', 'toString']));
  });

  it('taints a computed value built from a secret', () => {
    const tainted = scopeOf({ secrets: { PIN: '1234' } });
    expect(render('{{ secrets.PIN + 1 }}', tainted)).toBe(1235);
    expect(render('pin {{ lower(secrets.PIN) }}', tainted)).toBe('pin 1234');
    expect(tainted.derived).toContain('pin 1234');
  });
});
