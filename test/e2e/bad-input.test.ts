/**
 * Invalid input through the real CLI: every problem is reported on stderr as
 * `file:line:col › field: message` with exit code 2, all at once, before any
 * journey runs. Positions are checked exactly: an editor jumps to them.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { Cleanup, outcomeOf, runWithJson, show } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Writes one journey file and returns its path. */
async function journeyFile(name: string, text: string): Promise<string> {
  const dir = await cleanup.dir({ [name]: text });
  return path.join(dir, name);
}

/** `ceiling validate FILE` and `ceiling run FILE`: both must refuse with the same diagnostics. */
async function bothRefuse(file: string) {
  const validate = await runCli(['validate', file], { killAfterMs: 15_000 });
  const out = await cleanup.dir();
  const run = await runCli(['run', file, '--out', out], { killAfterMs: 15_000 });
  for (const result of [validate, run]) {
    expect(result.killed, show(result)).toBe(false);
    expect(result.code, show(result)).toBe(2);
  }
  expect(run.stdout, 'nothing may run: not even the run header').not.toContain('running');
  expect(run.stderr).toContain('no journey was run');
  return { validate, run };
}

/** The diagnostic lines of stderr, with the file's folder stripped. */
function diagnostics(stderr: string, file: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(file))
    .map((line) => path.basename(file) + line.slice(file.length));
}

describe('journey files that are not valid: exit 2 with file:line:col › field: message', () => {
  it('a tab used as indentation', async () => {
    const file = await journeyFile('tab.yaml', 'name: tabbed\nsteps:\n\t- http: { url: "http://127.0.0.1:9/" }\n');
    const { validate, run } = await bothRefuse(file);
    const lines = diagnostics(validate.stderr, file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tab\.yaml:3:1\b.*: Tabs are not allowed as indentation; indent with spaces$/);
    expect(diagnostics(run.stderr, file)).toEqual(lines);
  });

  it('a duplicate key points at the second occurrence', async () => {
    const file = await journeyFile(
      'dup.yaml',
      ['name: duplicate', 'steps:', '  - http:', '      url: http://127.0.0.1:9/a', '      url: http://127.0.0.1:9/b', '    expect: { status: 200 }', ''].join(
        '\n',
      ),
    );
    const { validate } = await bothRefuse(file);
    expect(diagnostics(validate.stderr, file)).toEqual([
      'dup.yaml:5:7 › steps[0].http.url: duplicate key "url": each key may appear once per mapping; remove or rename one of them',
    ]);
  });

  it('an unknown step kind gets a did-you-mean', async () => {
    const file = await journeyFile('step.yaml', ['name: typo in step', 'steps:', '  - name: first', '    htp: { url: "http://127.0.0.1:9/" }', ''].join('\n'));
    const { validate } = await bothRefuse(file);
    expect(diagnostics(validate.stderr, file)).toEqual(['step.yaml:4:5 › steps[0].htp: unknown step "htp"; did you mean "http"?']);
  });

  it('an unknown key gets a did-you-mean and no second "url is missing" report', async () => {
    const file = await journeyFile(
      'key.yaml',
      ['name: typo in key', 'steps:', '  - http:', '      method: GET', '      ulr: "http://127.0.0.1:9/"', '    expect: { status: 200 }', ''].join('\n'),
    );
    const { validate } = await bothRefuse(file);
    const lines = diagnostics(validate.stderr, file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^key\.yaml:5:7 › steps\[0\]\.http\.ulr: unknown key "ulr"; did you mean "url"\?/);
  });

  it('a missing required field', async () => {
    const file = await journeyFile('missing.yaml', ['name: no url', 'steps:', '  - http: { method: POST }', '    expect: { status: 200 }', ''].join('\n'));
    const { validate } = await bothRefuse(file);
    expect(diagnostics(validate.stderr, file)).toEqual(['missing.yaml:3:11 › steps[0].http.url: required field "url" is missing']);
  });

  it('a value of the wrong type', async () => {
    const file = await journeyFile(
      'type.yaml',
      ['name: wrong types', 'retries: two', 'steps:', '  - http: { url: "http://127.0.0.1:9/", insecure: "yes" }', '    expect: { status: 200 }', ''].join(
        '\n',
      ),
    );
    const { validate } = await bothRefuse(file);
    expect(diagnostics(validate.stderr, file)).toEqual([
      'type.yaml:2:10 › retries: expected a number, got the string "two"',
      'type.yaml:4:51 › steps[0].http.insecure: expected true or false, got the string "yes"',
    ]);
  });

  it('an undefined variable is caught by validate, before anything runs', async () => {
    const file = await journeyFile(
      'var.yaml',
      [
        'name: undefined var',
        'vars:',
        '  base: http://127.0.0.1:9',
        'steps:',
        '  - http: { url: "{{ vars.base }}/{{ vars.nope }}" }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    );
    const { validate } = await bothRefuse(file);
    const lines = diagnostics(validate.stderr, file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^var\.yaml:5:18 › steps\[0\]\.http\.url: undefined variable vars\.nope; .*--var nope=/);
    // Passing it with --var is the fix the message names.
    const fixed = await runCli(['validate', file, '--var', 'nope=x'], { killAfterMs: 15_000 });
    expect(fixed.code, show(fixed)).toBe(0);
  });

  it('durations without a unit, zero or negative', async () => {
    const file = await journeyFile(
      'durations.yaml',
      [
        'name: bad durations',
        'timeout: 500',
        'steps:',
        '  - wait: 0s',
        '  - http: { url: "http://127.0.0.1:9/" }',
        '    timeout: -2s',
        '    expect: { status: 200 }',
        '  - wait: -5',
        '  - wait: 0',
        '',
      ].join('\n'),
    );
    const { validate } = await bothRefuse(file);
    expect(diagnostics(validate.stderr, file)).toEqual([
      'durations.yaml:2:10 › timeout: duration 500 has no unit; write it as "500ms" or "500s"',
      'durations.yaml:4:11 › steps[0].wait: duration "0s" is zero; it must be greater than zero',
      'durations.yaml:6:14 › steps[1].timeout: duration "-2s" is negative; it must be greater than zero',
      'durations.yaml:8:11 › steps[2].wait: duration -5 is negative and has no unit; write a positive duration such as "500ms" or "2s"',
      'durations.yaml:9:11 › steps[3].wait: duration 0 is zero and has no unit; write a positive duration such as "500ms" or "2s"',
    ]);
  });

  it('several files with errors are all reported in one go', async () => {
    const dir = await cleanup.dir({
      'a.yaml': 'name: a\nsteps:\n  - htp: { url: "http://127.0.0.1:9/" }\n',
      'b.yaml': 'name: b\nsteps:\n  - wait: 5\n',
      'c.yaml': 'name: c\nsteps:\n  - assert: { value: true }\n',
      'd.yaml': 'name: d\nsteps: []\n',
    });
    const validate = await runCli(['validate', dir], { killAfterMs: 15_000 });
    expect(validate.code, show(validate)).toBe(2);
    const lines = validate.stderr
      .split('\n')
      .filter((line) => line.startsWith(dir))
      .map((line) => path.relative(dir, line));
    expect(lines).toEqual([
      'a.yaml:3:5 › steps[0].htp: unknown step "htp"; did you mean "http"?',
      'b.yaml:3:11 › steps[0].wait: duration 5 has no unit; write it as "5ms" or "5s"',
      expect.stringMatching(/^d\.yaml:2:8 › steps: a journey needs at least one step$/),
    ]);
    expect(validate.stderr).toContain('3 error(s) in 4 file(s)');

    const out = await cleanup.dir();
    const run = await runCli(['run', dir, '--out', out], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(2);
    // The valid journey c does not run while others are broken.
    expect(run.stdout).not.toContain('PASS');
    expect(run.stderr.split('\n').filter((line) => line.startsWith(dir))).toHaveLength(3);
  });
});

describe('problems only known at run time: exit 2, naming the value and the fix', () => {
  it('a journey var whose template fails at run time names its file, line and column', async () => {
    const file = await journeyFile(
      'var.yaml',
      [
        'name: var needs env',
        'vars:',
        '  base: "http://127.0.0.1:9"',
        '  token: "{{ env.CEILING_TEST_UNSET }}"',
        'steps:',
        '  - assert: { value: true }',
        '',
      ].join('\n'),
    );
    const run = await runWithJson(cleanup, ['run', file], { env: { CEILING_TEST_UNSET: undefined } });
    expect(run.code, show(run)).toBe(2);
    const failure = run.json!.journeys[0]!.attempts[0]!.failure!;
    expect(failure).toMatchObject({ code: 'CEIL_TEMPLATE_UNDEFINED', location: { file, line: 4, column: 10 } });
    expect(run.stdout).toContain(`${file}:4:10`);
  });

  it('an unset environment variable', async () => {
    const file = await journeyFile(
      'env.yaml',
      [
        'name: needs env',
        'steps:',
        '  - name: call it',
        '    http: { url: "http://127.0.0.1:9/{{ env.CEILING_TEST_UNSET }}" }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    );
    const run = await runWithJson(cleanup, ['run', file], { env: { CEILING_TEST_UNSET: undefined } });
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(2);
    const outcome = outcomeOf(run.json, 'needs env');
    expect(outcome.step?.name).toBe('call it');
    expect(outcome.failure).toMatchObject({ class: 'config', code: 'CEIL_TEMPLATE_UNDEFINED' });
    expect(outcome.failure?.message).toContain('env.CEILING_TEST_UNSET');
    expect(run.stdout).toContain('undefined env.CEILING_TEST_UNSET');
    expect(run.stdout).toMatch(/set the environment variable CEILING_TEST_UNSET or pass --env-file/);
    expect(run.stdout).toMatch(/invalid: fix the reported problems/);
    expect(run.json?.status).toBe('invalid');

    // The fix named in the message works: the variable, from an --env-file.
    const envDir = await cleanup.dir({ '.env': 'CEILING_TEST_UNSET=from-file\n' });
    const fixed = await runWithJson(cleanup, ['run', file, '--env-file', path.join(envDir, '.env')], { env: { CEILING_TEST_UNSET: undefined } });
    expect(outcomeOf(fixed.json, 'needs env').failure?.class).toBe('connect');
  });

  it('a secret that is neither in --secrets-file nor in the environment', async () => {
    const file = await journeyFile(
      'secret.yaml',
      [
        'name: needs secret',
        'steps:',
        '  - name: call it',
        '    http: { url: "http://127.0.0.1:9/", headers: { x-token: "{{ secrets.NOPE }}" } }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    );
    const run = await runWithJson(cleanup, ['run', file], { env: { NOPE: undefined } });
    expect(run.code, show(run)).toBe(2);
    expect(outcomeOf(run.json, 'needs secret').failure).toMatchObject({ class: 'config', code: 'CEIL_TEMPLATE_UNDEFINED' });
    expect(run.stdout).toContain('undefined secrets.NOPE');
    expect(run.stdout).toContain('add it to --secrets-file');
  });
});

describe('command-line mistakes', () => {
  it('an empty folder is "nothing tested" (exit 3) for run and validate', async () => {
    const dir = await cleanup.dir();
    const out = await cleanup.dir();
    const run = await runCli(['run', dir, '--out', out], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(3);
    expect(run.stderr).toContain(`nothing tested: no journey files in ${dir}`);
    const validate = await runCli(['validate', dir], { killAfterMs: 15_000 });
    expect(validate.code, show(validate)).toBe(3);
    expect(validate.stderr).toContain('no journey files found');
  });

  it('a path that does not exist is invalid input', async () => {
    const dir = await cleanup.dir();
    const missing = path.join(dir, 'nope.yaml');
    const run = await runCli(['run', missing, '--out', dir], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain(`${missing}:1:1: no such file or folder`);
  });

  it('an unknown reporter is refused with a did-you-mean, never replaced by the default', async () => {
    const dir = await cleanup.dir({ 'a.yaml': 'name: a\nsteps:\n  - assert: { value: true }\n' });
    const run = await runCli(['run', dir, '--reporter', 'jsno', '--out', dir], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain('unknown reporter "jsno"');
    expect(run.stderr).toContain('did you mean "json"?');
    expect(run.stdout).toBe('');
  });

  it('an unknown option is a usage error', async () => {
    const run = await runCli(['run', 'journeys', '--retires', '2'], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain("unknown option '--retires'");
    expect(run.stdout).toBe('');
  });

  it('an unknown command is a usage error with a suggestion', async () => {
    const run = await runCli(['rn', 'journeys'], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain("unknown command 'rn'");
    expect(run.stderr).toContain('Did you mean run?');
  });

  it('a unit-less --timeout and a zero --concurrency are refused', async () => {
    const timeout = await runCli(['run', 'journeys', '--timeout', '5'], { killAfterMs: 15_000 });
    expect(timeout.code, show(timeout)).toBe(2);
    expect(timeout.stderr).toContain('--timeout: duration "5" has no unit');
    const concurrency = await runCli(['run', 'journeys', '--concurrency', '0'], { killAfterMs: 15_000 });
    expect(concurrency.code, show(concurrency)).toBe(2);
    expect(concurrency.stderr).toContain('--concurrency must be at least 1');
  });

  // Commander prints only its own InvalidArgumentError; anything else would exit 2 with nothing said.
  it('a malformed --retries / --concurrency says what is wrong', async () => {
    for (const args of [
      ['--retries', '-1'],
      ['--retries', 'two'],
      ['--concurrency', '1.5'],
    ]) {
      const run = await runCli(['run', 'journeys', ...args], { killAfterMs: 15_000 });
      expect(run.code, show(run)).toBe(2);
      expect(run.stderr, show(run)).toContain(args[0]!);
      expect(run.stderr, show(run)).toContain(args[1]!);
    }
  });

  it('`ceiling schema` prints a JSON Schema that lists every step kind', async () => {
    const run = await runCli(['schema'], { killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(0);
    const schema = JSON.parse(run.stdout) as {
      $schema: string;
      properties: { steps: { items: { anyOf: { properties: Record<string, unknown>; required?: string[] }[] } } };
    };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    const kinds = schema.properties.steps.items.anyOf.map((option) =>
      Object.keys(option.properties).find((key) => !['name', 'timeout', 'expect', 'capture'].includes(key)),
    );
    expect(kinds).toEqual(
      expect.arrayContaining([
        'http',
        'ws.connect',
        'ws.send',
        'ws.expect',
        'ws.expectNone',
        'ws.close',
        'ws.drop',
        'ws.ghost',
        'ws.expectClosed',
        'wait',
        'assert',
        'set',
      ]),
    );
  });
});
