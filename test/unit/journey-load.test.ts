import { describe, expect, it } from 'vitest';
import type { FailureCode } from '../../src/core/failure-codes.js';
import { formatDiagnostic, type Diagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneyText, type LoadOptions } from '../../src/journey/load.js';

const FILE = 'journeys/bad.yaml';

/** Journey text from lines, so the line numbers in assertions can be read off the array (index + 1). */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

async function diagnose(text: string, options: LoadOptions = {}): Promise<Diagnostic[]> {
  const loaded = await loadJourneyText(FILE, text, options);
  if (loaded.diagnostics.some((d) => d.severity === 'error')) expect(loaded.journey).toBeUndefined();
  return loaded.diagnostics;
}

/** The only diagnostic for a text; fails the test when there is not exactly one. */
async function single(text: string, options: LoadOptions = {}): Promise<Diagnostic> {
  const diagnostics = await diagnose(text, options);
  expect(diagnostics.map(formatDiagnostic)).toHaveLength(1);
  return diagnostics[0]!;
}

async function loads(text: string, options: LoadOptions = {}) {
  const loaded = await loadJourneyText(FILE, text, options);
  expect(loaded.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  expect(loaded.journey).toBeDefined();
  return loaded.journey!;
}

const error = (code: FailureCode, line: number, column: number, field: string, message: string): Diagnostic => ({
  severity: 'error',
  code,
  file: FILE,
  line,
  column,
  field,
  message,
});

describe('malformed YAML', () => {
  it('reports a tab used as indentation where the tab is', async () => {
    const text = yaml('name: tabs', 'steps:', '  - http:', '\t    url: "http://127.0.0.1:1/"');
    expect(await single(text)).toEqual(error('CEIL_YAML_TAB_AS_INDENT', 4, 1, '', 'Tabs are not allowed as indentation; indent with spaces'));
  });

  it('reports a tab at the start of a sequence item', async () => {
    const text = yaml('name: tabs', 'steps:', '\t- wait: 1s');
    expect(await single(text)).toMatchObject({ code: 'CEIL_YAML_TAB_AS_INDENT', line: 3, column: 1 });
  });

  it('reports a duplicate top-level key on the second occurrence, naming it', async () => {
    const text = yaml('name: first', 'tags: [a]', 'name: second', 'steps:', '  - wait: 1s');
    expect(await single(text)).toEqual(
      error('CEIL_YAML_DUPLICATE_KEY', 3, 1, 'name', 'duplicate key "name": each key may appear once per mapping; remove or rename one of them'),
    );
  });

  it('reports a duplicate key inside a step with the field path', async () => {
    const text = yaml('name: dup', 'steps:', '  - http:', '      url: "http://127.0.0.1:1/a"', '      url: "http://127.0.0.1:1/b"');
    expect(await single(text)).toEqual(
      error('CEIL_YAML_DUPLICATE_KEY', 5, 7, 'steps[0].http.url', 'duplicate key "url": each key may appear once per mapping; remove or rename one of them'),
    );
  });

  it('reports a duplicate key in a flow mapping at its column', async () => {
    const text = yaml('name: dup', 'steps:', '  - http: { url: a, url: b }');
    expect(await single(text)).toMatchObject({ code: 'CEIL_YAML_DUPLICATE_KEY', line: 3, column: 21, field: 'steps[0].http.url' });
  });

  it('reports every YAML error, not just the first', async () => {
    const text = yaml('name: a', 'name: b', 'steps:', '  - http: { url: a, url: b }');
    expect((await diagnose(text)).map((d) => [d.code, d.line])).toEqual([
      ['CEIL_YAML_DUPLICATE_KEY', 2],
      ['CEIL_YAML_DUPLICATE_KEY', 4],
    ]);
  });

  it('stops a file at its first syntax error, counting the echoes after it', async () => {
    const text = yaml('name: x', 'steps: [', '  { http: { url: "http://a/" },', '  { http: { url: "http://b/" } }', '  { assert: { value: true } }');
    const diagnostics = await diagnose(text);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ line: 5, message: expect.stringMatching(/\(2 more YAML errors after it, most often caused by this one/) });
  });

  it('reports a file that is not a mapping', async () => {
    expect(await single(yaml('- just', '- a list'))).toEqual(error('CEIL_JOURNEY_SHAPE', 1, 1, '', 'a journey file is a mapping with name and steps'));
  });
});

describe('unknown names, with did-you-mean', () => {
  it('an unknown step kind', async () => {
    const text = yaml('name: typo', 'steps:', '  - htp: { url: "http://127.0.0.1:1/" }');
    expect(await single(text)).toEqual(error('CEIL_STEP_UNKNOWN', 3, 5, 'steps[0].htp', 'unknown step "htp"; did you mean "http"?'));
  });

  it('an unknown ws step kind', async () => {
    const text = yaml('name: typo', 'steps:', '  - ws.conect: { as: a, url: "ws://127.0.0.1:1/" }');
    expect(await single(text)).toMatchObject({
      line: 3,
      column: 5,
      field: 'steps[0].ws.conect',
      message: 'unknown step "ws.conect"; did you mean "ws.connect"?',
    });
  });

  it('a misspelt envelope key is suggested too', async () => {
    const text = yaml('name: typo', 'steps:', '  - nmae: first', '    wait: 1s');
    expect(await single(text)).toMatchObject({
      code: 'CEIL_STEP_UNKNOWN',
      line: 3,
      column: 5,
      field: 'steps[0].nmae',
      message: 'unknown step "nmae"; did you mean "name"?',
    });
  });

  it('no suggestion when nothing is close', async () => {
    const text = yaml('name: typo', 'steps:', '  - frobnicate: 1');
    expect((await single(text)).message).toBe('unknown step "frobnicate"');
  });

  it('an unknown key inside a step spec, in a flow mapping, without a redundant "url is missing"', async () => {
    const text = yaml('name: typo', 'steps:', '  - http: { ulr: "http://127.0.0.1:1/" }');
    expect(await single(text)).toEqual(
      error(
        'CEIL_SCHEMA_UNKNOWN_KEY',
        3,
        13,
        'steps[0].http.ulr',
        'unknown key "ulr"; did you mean "url"? (allowed: method, url, headers, query, json, body, form, auth, followRedirects, insecure, maxBody)',
      ),
    );
  });

  it('an unknown key inside a step spec, in a block mapping', async () => {
    const text = yaml('name: typo', 'steps:', '  - http:', '      method: POST', '      ulr: "http://127.0.0.1:1/"');
    expect(await single(text)).toMatchObject({ code: 'CEIL_SCHEMA_UNKNOWN_KEY', line: 5, column: 7, field: 'steps[0].http.ulr' });
  });

  it('an unknown key that suggests nothing still leaves the missing field reported', async () => {
    const text = yaml('name: typo', 'steps:', '  - http: { bogus: 1 }');
    expect((await diagnose(text)).map((d) => [d.code, d.field, d.message])).toEqual([
      ['CEIL_SCHEMA_MISSING', 'steps[0].http.url', 'required field "url" is missing'],
      ['CEIL_SCHEMA_UNKNOWN_KEY', 'steps[0].http.bogus', expect.stringMatching(/^unknown key "bogus" \(allowed: /)],
    ]);
  });

  it('an unknown key at top level', async () => {
    const text = yaml('name: typo', 'step:', '  - wait: 1s');
    expect(await single(text)).toEqual(
      error(
        'CEIL_SCHEMA_UNKNOWN_KEY',
        2,
        1,
        'step',
        'unknown key "step"; did you mean "steps"? (allowed: $schema, name, description, tags, vars, timeout, retries, schedule, trace, steps, finally, finallyTimeout)',
      ),
    );
  });

  it('an unknown key in expect', async () => {
    const text = yaml('name: typo', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { staus: 200 }');
    expect(await single(text)).toMatchObject({
      code: 'CEIL_SCHEMA_UNKNOWN_KEY',
      line: 4,
      column: 15,
      field: 'steps[0].expect.staus',
      message: expect.stringContaining('did you mean "status"?'),
    });
  });

  it('an unknown matcher', async () => {
    const text = yaml('name: typo', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { json: { id: { $typ: string } } }');
    expect(await single(text)).toEqual(error('CEIL_MATCHER_UNKNOWN', 4, 29, 'steps[0].expect.json.id.$typ', 'unknown matcher $typ; did you mean "$type"?'));
  });

  it('an unknown matcher in ws.expect and in assert', async () => {
    const text = yaml(
      'name: typo',
      'steps:',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
      '  - ws.expect: { as: a, json: { n: { $lenn: 1 } } }',
      '  - assert: { value: 1, matches: { $gtt: 0 } }',
    );
    expect((await diagnose(text)).map((d) => [d.line, d.column, d.field, d.message])).toEqual([
      [4, 38, 'steps[1].ws.expect.json.n.$lenn', 'unknown matcher $lenn; did you mean "$len"?'],
      [5, 36, 'steps[2].assert.matches.$gtt', 'unknown matcher $gtt; did you mean "$gt"?'],
    ]);
  });

  it('a $type that is not a JSON type', async () => {
    const text = yaml('name: typo', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { json: { id: { $type: str } } }');
    expect(await single(text)).toMatchObject({
      line: 4,
      column: 29,
      field: 'steps[0].expect.json.id.$type',
      message: '$type must be one of string, number, boolean, object, array, null, integer',
    });
  });
});

describe('missing fields and wrong types', () => {
  it('an http step without url', async () => {
    const text = yaml('name: missing', 'steps:', '  - http: { method: GET }');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_MISSING', 3, 11, 'steps[0].http.url', 'required field "url" is missing'));
  });

  it('an http step without url, in block style, points at the step spec', async () => {
    const text = yaml('name: missing', 'steps:', '  - http:', '      method: GET');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_MISSING', 4, 7, 'steps[0].http.url', 'required field "url" is missing'));
  });

  it('a required duration that is missing is reported as missing, not as a bad duration', async () => {
    const text = yaml('name: missing', 'steps:', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }', '  - ws.expectNone: { as: a, text: x }');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_MISSING', 4, 20, 'steps[1].ws.expectNone.for', 'required field "for" is missing'));
  });

  it('a journey without a name', async () => {
    expect(await single(yaml('steps:', '  - wait: 1s'))).toEqual(error('CEIL_SCHEMA_MISSING', 1, 1, 'name', 'required field "name" is missing'));
  });

  it('retries given as a word', async () => {
    const text = yaml('name: types', 'retries: "two"', 'steps:', '  - wait: 1s');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_INVALID', 2, 10, 'retries', 'expected a number, got the string "two"'));
  });

  it('retries given as an unquoted word', async () => {
    const text = yaml('name: types', 'retries: two', 'steps:', '  - wait: 1s');
    expect(await single(text)).toMatchObject({ line: 2, column: 10, field: 'retries', message: 'expected a number, got the string "two"' });
  });

  it('retries out of range', async () => {
    const text = yaml('name: types', 'retries: 50', 'steps:', '  - wait: 1s');
    expect(await single(text)).toMatchObject({ code: 'CEIL_SCHEMA_INVALID', line: 2, column: 10, field: 'retries', message: expect.stringContaining('10') });
  });

  it('a url given as a number', async () => {
    const text = yaml('name: types', 'steps:', '  - http: { url: 42 }');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_INVALID', 3, 18, 'steps[0].http.url', 'expected a string, got number 42'));
  });

  it('steps given as a mapping', async () => {
    const text = yaml('name: types', 'steps:', '  wait: 1s');
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_INVALID', 3, 3, 'steps', 'expected a list, got a mapping'));
  });

  it('a step that is not a mapping', async () => {
    const text = yaml('name: types', 'steps:', '  - wait');
    expect(await single(text)).toEqual(
      error('CEIL_STEP_SHAPE', 3, 5, 'steps[0]', 'each step is a mapping with exactly one action key, e.g. "- http: { url: … }"'),
    );
  });

  it('an invalid enum value', async () => {
    const text = yaml('name: types', 'steps:', '  - http: { method: FETCH, url: "http://127.0.0.1:1/" }');
    expect(await single(text)).toMatchObject({
      code: 'CEIL_SCHEMA_INVALID',
      line: 3,
      column: 21,
      field: 'steps[0].http.method',
      message: expect.stringContaining('"GET"'),
    });
  });
});

describe('durations', () => {
  it.each([
    [
      'a unit-less number in timeout',
      yaml('name: d', 'timeout: 5', 'steps:', '  - wait: 1s'),
      2,
      10,
      'timeout',
      'duration 5 has no unit; write it as "5ms" or "5s"',
    ],
    [
      'a unit-less string in timeout',
      yaml('name: d', 'timeout: "30"', 'steps:', '  - wait: 1s'),
      2,
      10,
      'timeout',
      'duration "30" has no unit; write "30ms" or "30s"',
    ],
    ['zero in timeout', yaml('name: d', 'timeout: 0s', 'steps:', '  - wait: 1s'), 2, 10, 'timeout', 'duration "0s" is zero; it must be greater than zero'],
    [
      'a negative step timeout',
      yaml('name: d', 'steps:', '  - wait: 1s', '    timeout: -5s'),
      4,
      14,
      'steps[0].timeout',
      'duration "-5s" is negative; it must be greater than zero',
    ],
    ['a unit-less wait', yaml('name: d', 'steps:', '  - wait: 500'), 3, 11, 'steps[0].wait', 'duration 500 has no unit; write it as "500ms" or "500s"'],
    [
      'a zero wait',
      yaml('name: d', 'steps:', '  - wait: 0'),
      3,
      11,
      'steps[0].wait',
      'duration 0 is zero and has no unit; write a positive duration such as "500ms" or "2s"',
    ],
    ['a negative wait', yaml('name: d', 'steps:', '  - wait: -1s'), 3, 11, 'steps[0].wait', 'duration "-1s" is negative; it must be greater than zero'],
    [
      'a unit-less within',
      yaml('name: d', 'steps:', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }', '  - ws.expect: { as: a, text: hi, within: 2 }'),
      4,
      43,
      'steps[1].ws.expect.within',
      'duration 2 has no unit; write it as "2ms" or "2s"',
    ],
    [
      'a zero within',
      yaml('name: d', 'steps:', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }', '  - ws.expect: { as: a, text: hi, within: 0ms }'),
      4,
      43,
      'steps[1].ws.expect.within',
      'duration "0ms" is zero; it must be greater than zero',
    ],
    [
      'a negative within',
      yaml('name: d', 'steps:', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }', '  - ws.expect: { as: a, text: hi, within: -2s }'),
      4,
      43,
      'steps[1].ws.expect.within',
      'duration "-2s" is negative; it must be greater than zero',
    ],
    [
      'a duration that is not one',
      yaml('name: d', 'steps:', '  - wait: soon'),
      3,
      11,
      'steps[0].wait',
      '"soon" is not a duration; use a number with a unit: ms, s, m or h (e.g. "500ms", "2s")',
    ],
  ])('%s', async (_name, text, line, column, field, message) => {
    expect(await single(text)).toEqual(error('CEIL_SCHEMA_INVALID', line, column, field, message));
  });

  it('valid durations compile to milliseconds', async () => {
    const journey = await loads(yaml('name: d', 'timeout: 1m', 'steps:', '  - wait: 250ms', '    timeout: 2s', '  - assert: { value: 1, equals: 1 }'));
    expect(journey.timeoutMs).toBe(60_000);
    expect(journey.steps[0]).toMatchObject({ kind: 'wait', spec: '250ms', timeoutMs: 2000 });
  });
});

describe('step shape', () => {
  it('a step with two action keys', async () => {
    const text = yaml('name: shape', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    wait: 1s');
    expect(await single(text)).toEqual(
      error('CEIL_STEP_MANY_ACTIONS', 4, 5, 'steps[0].wait', 'a step takes exactly one action, found http and wait; split it into 2 steps'),
    );
  });

  it('a step with no action', async () => {
    const text = yaml('name: shape', 'steps:', '  - name: does nothing', '    timeout: 1s');
    expect(await single(text)).toEqual(
      error(
        'CEIL_STEP_NO_ACTION',
        3,
        5,
        'steps[0]',
        'step has no action; add one such as http, ws.connect, browser.open, wait, assert or set (ceiling schema lists them all)',
      ),
    );
  });

  it('expect on a step that does not take it (ws.send)', async () => {
    const text = yaml(
      'name: shape',
      'steps:',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
      '  - ws.send: { as: a, text: hi }',
      '    expect: { status: 200 }',
    );
    expect(await single(text)).toEqual(
      error(
        'CEIL_STEP_KEY_NOT_ALLOWED',
        5,
        5,
        'steps[1].expect',
        'ws.send does not take "expect"; only http steps do; to check a message, add a ws.expect step after it',
      ),
    );
  });

  it('capture on a step that does not take it', async () => {
    const text = yaml(
      'name: shape',
      'steps:',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
      '  - ws.send: { as: a, text: hi }',
      '    capture: { x: json.x }',
    );
    expect(await single(text)).toMatchObject({
      code: 'CEIL_STEP_KEY_NOT_ALLOWED',
      line: 5,
      column: 5,
      field: 'steps[1].capture',
      message:
        'ws.send does not take "capture"; only http, browser.waitFor, browser.expectText, browser.expectVisible steps do; to capture from a message, put capture inside a ws.expect step',
    });
  });

  it('expect on wait', async () => {
    const text = yaml('name: shape', 'steps:', '  - wait: 1s', '    expect: { status: 200 }');
    expect(await single(text)).toEqual(error('CEIL_STEP_KEY_NOT_ALLOWED', 4, 5, 'steps[0].expect', 'wait does not take "expect"; only http steps do'));
  });

  it('an empty steps list', async () => {
    expect(await single(yaml('name: shape', 'steps: []'))).toEqual(error('CEIL_SCHEMA_INVALID', 2, 8, 'steps', 'a journey needs at least one step'));
  });

  it('ws.send without a payload and ws.expect without a matcher', async () => {
    const text = yaml(
      'name: shape',
      'steps:',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
      '  - ws.send: { as: a }',
      '  - ws.expect: { as: a, within: 1s }',
    );
    expect((await diagnose(text)).map((d) => [d.code, d.line, d.column, d.field, d.message])).toEqual([
      ['CEIL_WS_NO_PAYLOAD', 4, 14, 'steps[1].ws.send', 'ws.send needs json or text'],
      ['CEIL_WS_NO_MATCH', 5, 16, 'steps[2].ws.expect', 'ws.expect needs one of json, text or regex to say which message'],
    ]);
  });
});

describe('actors', () => {
  it('a ws step whose actor was never connected', async () => {
    const text = yaml('name: actors', 'steps:', '  - ws.send: { as: bob, text: hi }');
    expect(await single(text)).toEqual(
      error('CEIL_ACTOR_UNKNOWN', 3, 20, 'steps[0].ws.send.as', 'actor "bob" is not connected before this step; add a ws.connect with as: bob'),
    );
  });

  it('suggests a connected actor with a near name', async () => {
    const text = yaml('name: actors', 'steps:', '  - ws.connect: { as: alice, url: "ws://127.0.0.1:1/" }', '  - ws.expect: { as: alise, text: hi }');
    expect(await single(text)).toMatchObject({
      line: 4,
      column: 22,
      field: 'steps[1].ws.expect.as',
      message: expect.stringContaining('did you mean "alice"?'),
    });
  });

  it('an actor connected only after its use', async () => {
    const text = yaml('name: actors', 'steps:', '  - ws.close: { as: a }', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }');
    expect(await single(text)).toMatchObject({ code: 'CEIL_ACTOR_UNKNOWN', line: 3, column: 21, field: 'steps[0].ws.close.as' });
  });
});

describe('invalid regular expressions', () => {
  it('in ws.expect regex', async () => {
    const text = yaml('name: regex', 'steps:', '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }', '  - ws.expect: { as: a, regex: "a(b" }');
    expect(await single(text)).toEqual(error('CEIL_REGEX', 4, 32, 'steps[1].ws.expect.regex', 'invalid regular expression /a(b/: Unterminated group'));
  });

  it('in an http body expectation', async () => {
    const text = yaml('name: regex', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { body: { regex: "[z-a]" } }');
    expect(await single(text)).toEqual(
      error('CEIL_REGEX', 4, 30, 'steps[0].expect.body.regex', 'invalid regular expression /[z-a]/: Range out of order in character class'),
    );
  });

  it('in a $regex matcher', async () => {
    const text = yaml('name: regex', 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { json: { id: { $regex: "(" } } }');
    expect(await single(text)).toMatchObject({
      line: 4,
      column: 29,
      field: 'steps[0].expect.json.id.$regex',
      message: expect.stringContaining('invalid $regex'),
    });
  });

  it('in an autoReply rule', async () => {
    const text = yaml(
      'name: regex',
      'steps:',
      '  - ws.connect:',
      '      as: a',
      '      url: "ws://127.0.0.1:1/"',
      '      autoReply:',
      '        - when: { regex: "*" }',
      '          send: { text: pong }',
    );
    expect(await single(text)).toMatchObject({ code: 'CEIL_REGEX', line: 7, column: 26, field: 'steps[0].ws.connect.autoReply[0].when.regex' });
  });
});

describe('variables', () => {
  it('an undefined variable names it', async () => {
    const text = yaml('name: vars', 'steps:', '  - http: { url: "http://127.0.0.1:1/{{ vars.nope }}" }');
    expect(await single(text)).toEqual(
      error(
        'CEIL_TEMPLATE',
        3,
        18,
        'steps[0].http.url',
        'undefined variable vars.nope; define it in vars, with set or capture before this step, or pass --var nope=…',
      ),
    );
  });

  it('an undefined variable deep in a json body, in expect, and in vars', async () => {
    const text = yaml(
      'name: vars',
      'vars:',
      '  a: "{{ vars.later }}"',
      '  later: x',
      'steps:',
      '  - http: { url: "http://127.0.0.1:1/", json: { user: { id: "{{ vars.uid }}" } } }',
      '    expect: { json: { id: "{{ vars.eid }}" } }',
    );
    expect((await diagnose(text)).map((d) => [d.line, d.column, d.field, d.message.split(';')[0]])).toEqual([
      [3, 6, 'vars.a', 'undefined variable vars.later'],
      [6, 61, 'steps[0].http.json.user.id', 'undefined variable vars.uid'],
      [7, 27, 'steps[0].expect.json.id', 'undefined variable vars.eid'],
    ]);
  });

  it('a template syntax error is reported at its string', async () => {
    const text = yaml('name: vars', 'vars: { a: 1 }', 'steps:', '  - http: { url: "http://127.0.0.1:1/{{ vars.a & 1 }}" }');
    expect(await single(text)).toMatchObject({ code: 'CEIL_TEMPLATE', line: 4, column: 18, message: 'unexpected "& 1" in {{ vars.a & 1 }}' });
  });

  it('a template in an object key is an error at the key, since keys are never rendered', async () => {
    const text = yaml('name: keys', 'vars: { id: 7 }', 'steps:', '  - http:', '      url: "http://127.0.0.1:1/"', '      json: { "{{ vars.id }}": 1 }');
    expect(await single(text)).toMatchObject({
      code: 'CEIL_TEMPLATE',
      line: 6,
      field: 'steps[0].http.json.{{ vars.id }}',
      message: expect.stringContaining('keys are never rendered as templates'),
    });
  });

  it('warns at the step when a secret goes into a URL unencoded, and not when it is encoded or sent with query:', async () => {
    const text = yaml(
      'name: raw secret',
      'steps:',
      '  - http: { url: "http://127.0.0.1:1/{{ secrets.TOKEN }}?k={{ secrets.KEY ?? env.KEY }}" }',
      '    expect: { status: 200 }',
      '  - http: { url: "http://127.0.0.1:1/{{ urlEncode(secrets.TOKEN) }}", query: { k: "{{ secrets.KEY }}" } }',
      '    expect: { status: 200 }',
    );
    const diagnostics = await diagnose(text);
    expect(diagnostics.map((d) => [d.severity, d.code, d.line, d.field])).toEqual([
      ['warning', 'CEIL_SECRET_RAW_IN_URL', 3, 'steps[0].http.url'],
      ['warning', 'CEIL_SECRET_RAW_IN_URL', 3, 'steps[0].http.url'],
    ]);
    expect(diagnostics[0]!.message).toContain('{{ urlEncode(secrets.TOKEN) }}');
  });

  it('a journey timeout cannot be a template, and a step timeout template is checked for undefined vars', async () => {
    const text = yaml('name: durations', 'timeout: "{{ vars.t }}"', 'steps:', '  - wait: 1ms', '    timeout: "{{ vars.nope }}"', '  - assert: { value: true }');
    const diagnostics = await diagnose(text);
    expect(diagnostics.map((d) => [d.line, d.field, d.message.slice(0, 60)])).toEqual([
      [2, 'timeout', expect.stringContaining('this duration is fixed when the file loads')],
      [5, 'steps[0].timeout', expect.stringContaining('undefined variable vars.nope')],
    ]);
  });

  it('an unknown function', async () => {
    const text = yaml('name: vars', 'steps:', '  - http: { url: "http://127.0.0.1:1/{{ uuid4() }}" }');
    expect(await single(text)).toMatchObject({
      code: 'CEIL_TEMPLATE',
      field: 'steps[0].http.url',
      message: expect.stringContaining('unknown function uuid4()'),
    });
  });

  it('code-like templates are rejected at load time', async () => {
    const text = yaml(
      'name: vars',
      'steps:',
      `  - http: { url: "http://127.0.0.1:1/{{ process.exit() }}" }`,
      `  - http: { url: "http://127.0.0.1:1/{{ constructor.constructor('x')() }}" }`,
      `  - http: { url: "http://127.0.0.1:1/{{ valueOf() }}" }`,
    );
    expect((await diagnose(text)).map((d) => [d.code, d.field, d.message])).toEqual([
      ['CEIL_TEMPLATE', 'steps[0].http.url', 'unexpected "(" in {{ process.exit() }}'],
      ['CEIL_TEMPLATE', 'steps[1].http.url', `unexpected "(" in {{ constructor.constructor('x')() }}`],
      ['CEIL_TEMPLATE', 'steps[2].http.url', expect.stringContaining('unknown function valueOf()')],
    ]);
  });

  it('defined in vars, by set, by an http capture, by a ws.expect capture, or by extraVars is fine', async () => {
    const text = yaml(
      'name: vars',
      'vars:',
      '  base: "http://127.0.0.1:1"',
      '  users: "{{ vars.base }}/users"',
      'steps:',
      '  - set: { who: ann }',
      '  - http: { method: POST, url: "{{ vars.users }}", json: { name: "{{ vars.who }}", region: "{{ vars.region }}" } }',
      '    expect: { status: 201 }',
      '    capture: { id: json.id }',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/{{ vars.id }}" }',
      '  - ws.expect: { as: a, json: { type: hello }, capture: { token: json.token } }',
      '  - ws.send: { as: a, json: { token: "{{ vars.token }}", who: "{{ vars.who }}" } }',
    );
    const journey = await loads(text, { extraVars: ['region'] });
    expect(journey.steps.map((step) => step.kind)).toEqual(['set', 'http', 'ws.connect', 'ws.expect', 'ws.send']);
  });

  it('extraVars is what makes a --var name known', async () => {
    const text = yaml('name: vars', 'steps:', '  - http: { url: "{{ vars.base }}/x" }', '    expect: { status: 200 }');
    expect((await single(text)).message).toContain('vars.base');
    await loads(text, { extraVars: ['base'] });
  });

  it('a capture used BEFORE the step that defines it is an error', async () => {
    const text = yaml(
      'name: vars',
      'steps:',
      '  - http: { url: "http://127.0.0.1:1/{{ vars.id }}" }',
      '  - http: { url: "http://127.0.0.1:1/" }',
      '    capture: { id: json.id }',
      '  - http: { url: "http://127.0.0.1:1/{{ vars.id }}" }',
    );
    expect(await single(text)).toEqual(
      error(
        'CEIL_TEMPLATE',
        3,
        18,
        'steps[0].http.url',
        'undefined variable vars.id; define it in vars, with set or capture before this step, or pass --var id=…',
      ),
    );
  });

  it('a set key or ws.expect capture used before its step is an error', async () => {
    const text = yaml(
      'name: vars',
      'steps:',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/{{ vars.token }}" }',
      '  - ws.send: { as: a, text: "{{ vars.who }}" }',
      '  - ws.expect: { as: a, text: hi, capture: { token: text } }',
      '  - set: { who: ann }',
    );
    expect((await diagnose(text)).map((d) => [d.line, d.field, d.message.split(';')[0]])).toEqual([
      [3, 'steps[0].ws.connect.url', 'undefined variable vars.token'],
      [4, 'steps[1].ws.send.text', 'undefined variable vars.who'],
    ]);
  });

  it('a fallback guards an undefined variable', async () => {
    await loads(yaml('name: vars', 'steps:', `  - http: { url: "{{ vars.base ?? 'http://127.0.0.1:1' }}/" }`, '    expect: { status: 200 }'));
  });
});

describe('every problem at once', () => {
  it('a file with three distinct problems yields three diagnostics', async () => {
    const text = yaml(
      'name: many',
      'retries: two',
      'steps:',
      '  - htp: { url: "http://127.0.0.1:1/" }',
      '  - http: { url: "http://127.0.0.1:1/{{ vars.nope }}" }',
    );
    expect((await diagnose(text)).map(formatDiagnostic)).toEqual([
      'journeys/bad.yaml:2:10 › retries: expected a number, got the string "two"',
      'journeys/bad.yaml:4:5 › steps[0].htp: unknown step "htp"; did you mean "http"?',
      'journeys/bad.yaml:5:18 › steps[1].http.url: undefined variable vars.nope; define it in vars, with set or capture before this step, or pass --var nope=…',
    ]);
  });

  it('reports diagnostics in source order, whichever check found them', async () => {
    const text = yaml('name: many', 'steps:', '  - http: { url: "http://127.0.0.1:1/{{ vars.nope }}" }', '  - wait: 5', '  - ws.send: { as: ghost, text: hi }');
    expect((await diagnose(text)).map((d) => [d.line, d.code])).toEqual([
      [3, 'CEIL_TEMPLATE'],
      [4, 'CEIL_SCHEMA_INVALID'],
      [5, 'CEIL_ACTOR_UNKNOWN'],
    ]);
  });

  it('problems in a header and in several steps are all reported', async () => {
    const text = yaml(
      'name: many',
      'timeout: 0s',
      'steps:',
      '  - http: { ulr: "http://127.0.0.1:1/" }',
      '  - ws.send: { as: ghost, text: hi }',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
      '  - ws.expect: { as: a, json: { n: { $typ: number } }, regex: "(" }',
    );
    const diagnostics = await diagnose(text);
    expect(diagnostics.map((d) => [d.code, d.field])).toEqual([
      ['CEIL_SCHEMA_INVALID', 'timeout'],
      ['CEIL_SCHEMA_UNKNOWN_KEY', 'steps[0].http.ulr'],
      ['CEIL_ACTOR_UNKNOWN', 'steps[1].ws.send.as'],
      ['CEIL_MATCHER_UNKNOWN', 'steps[3].ws.expect.json.n.$typ'],
      ['CEIL_REGEX', 'steps[3].ws.expect.regex'],
    ]);
  });

  it('a header error does not make the vars it defines look undefined', async () => {
    const text = yaml('name: many', 'retries: two', 'vars:', '  base: "http://127.0.0.1:1"', 'steps:', '  - http: { url: "{{ vars.base }}/" }');
    expect((await single(text)).field).toBe('retries');
  });

  it('a step that fails validation still defines its captures and actors for later steps', async () => {
    const text = yaml(
      'name: many',
      'steps:',
      '  - http: { url: "http://127.0.0.1:1/", bogus: true }',
      '    capture: { id: json.id }',
      '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/", bogus: true }',
      '  - ws.send: { as: a, text: "{{ vars.id }}" }',
      '  - set: { x: "{{ vars.nope }}" }',
    );
    expect((await diagnose(text)).map((d) => [d.code, d.field])).toEqual([
      ['CEIL_SCHEMA_UNKNOWN_KEY', 'steps[0].http.bogus'],
      ['CEIL_SCHEMA_UNKNOWN_KEY', 'steps[1].ws.connect.bogus'],
      ['CEIL_TEMPLATE', 'steps[3].set.x'],
    ]);
  });
});

describe('a valid journey', () => {
  const text = yaml(
    'name: a dropped secret reads back once',
    'description: round trip',
    'tags: [dead-drop, critical]',
    'timeout: 10s',
    'retries: 1',
    'vars:',
    '  drop: "http://127.0.0.1:1"',
    'steps:',
    '  - name: create',
    '    http: { method: POST, url: "{{ vars.drop }}/secrets", json: { value: x } }',
    '    expect: { status: 201, json: { id: { $type: string } } }',
    '    capture: { id: json.id }',
    '  - http: { url: "{{ vars.drop }}/secrets/{{ vars.id }}" }',
    '  - ws.connect: { as: alice, url: "ws://127.0.0.1:1/" }',
    '  - wait: 1s',
  );

  it('compiles to a tagged union with names, locations and defaults', async () => {
    const journey = await loads(text);
    expect(journey).toMatchObject({
      name: 'a dropped secret reads back once',
      description: 'round trip',
      file: FILE,
      tags: ['dead-drop', 'critical'],
      vars: { drop: 'http://127.0.0.1:1' },
      timeoutMs: 10_000,
      retries: 1,
      location: { file: FILE, line: 1, column: 1 },
    });
    expect(journey.steps.map((step) => [step.index, step.kind, step.name, step.location.line, step.location.column, step.asserts])).toEqual([
      [0, 'http', 'create', 9, 5, true],
      [1, 'http', 'GET {{ vars.drop }}/secrets/{{ vars.id }}', 13, 5, false],
      [2, 'ws.connect', 'ws.connect alice', 14, 5, false],
      [3, 'wait', 'wait 1s', 15, 5, false],
    ]);
    expect(journey.steps[0]).toMatchObject({ expect: { status: 201 }, capture: { id: 'json.id' } });
  });

  it('defaults the timeout and retries', async () => {
    const journey = await loads(yaml('name: defaults', 'steps:', '  - assert: { value: 1, equals: 1 }'));
    expect(journey).toMatchObject({ timeoutMs: 30_000, retries: 0, tags: [], vars: {} });
  });

  it('warns, without failing, when the journey checks nothing', async () => {
    const loaded = await loadJourneyText(FILE, yaml('name: idle', 'steps:', '  - wait: 1s'));
    expect(loaded.journey).toBeDefined();
    expect(loaded.diagnostics).toEqual([
      {
        severity: 'warning',
        code: 'CEIL_NO_ASSERTION',
        file: FILE,
        line: 3,
        column: 3,
        field: 'steps',
        message: 'this journey checks nothing (no expect, ws.expect or assert); a run of it counts as nothing tested (exit 3)',
      },
    ]);
  });
});

describe('step labels', () => {
  it('labels a named step by its name and an unnamed one by kind and 1-based position, never by its URL', async () => {
    const journey = await loads(
      yaml(
        'name: labels',
        'steps:',
        '  - name: sign in',
        '    http: { url: "http://127.0.0.1:1/login" }',
        '  - http: { url: "http://127.0.0.1:1/items?token=abcdef0123456789" }',
        '  - wait: 1s',
      ),
    );
    expect(journey.steps.map((step) => step.label)).toEqual(['sign in', 'http#2', 'wait#3']);
    expect(journey.steps[1]!.name).toContain('/items');
  });
});
