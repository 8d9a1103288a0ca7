/**
 * The pieces behind the hardening e2e cases, one at a time: the alias budget,
 * file limits, capture-source checks, terminal-safe text, URL credentials,
 * redaction of normalized URL forms, and the order vars are rendered in.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runJourneys } from '../../src/engine/run.js';
import { captureSourceProblem } from '../../src/journey/capture-sources.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneys, loadJourneyText } from '../../src/journey/load.js';
import { DEFAULT_ALIAS_BUDGET, loadLimitsFrom } from '../../src/journey/load-limits.js';
import { parseWithPositions } from '../../src/journey/yaml-positions.js';
import { logSafe, terminalSafe, terminalSafeDeep } from '../../src/report/terminal-text.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { takeUrlCredentials } from '../../src/steps/url-credentials.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ceiling-hardening-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

function laughs(levels: number): string {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  let previous = 'a';
  for (let level = 1; level <= levels; level++) {
    const name = `l${level}`;
    lines.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(', ')}]`);
    previous = name;
  }
  return `${lines.join('\n')}\n`;
}

describe('the YAML alias budget', () => {
  it('lets 50 uses of one anchor through (yaml alone refused them as an attack)', () => {
    const items = Array.from({ length: 50 }, (_, index) => `  - { n: ${index}, headers: *h }`).join('\n');
    const parsed = parseWithPositions(`h: &h { accept: json, x-a: b }\nitems:\n${items}\n`);
    expect(parsed.errors).toEqual([]);
    expect((parsed.raw as { items: { headers: unknown }[] }).items[49]!.headers).toEqual({ accept: 'json', 'x-a': 'b' });
  });

  it('refuses a billion laughs without unfolding it, at the alias that broke the budget', () => {
    const parsed = parseWithPositions(laughs(9));
    expect(parsed.raw).toBeUndefined();
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatchObject({ code: 'ALIAS_BUDGET' });
    expect(parsed.errors[0]!.message).toContain(`more than ${DEFAULT_ALIAS_BUDGET} extra values`);
    expect(parsed.errors[0]!.position.line).toBeGreaterThan(1);
  });

  it('counts what nested aliases unfold to, not how many aliases there are', () => {
    // 3 levels: 9 + 81 + 729 aliases, unfolding to a few thousand values: inside the default budget, over a small one.
    expect(parseWithPositions(laughs(3)).errors).toEqual([]);
    expect(parseWithPositions(laughs(3), { aliasBudget: 500 }).errors[0]).toMatchObject({ code: 'ALIAS_BUDGET' });
  });

  it('refuses an alias inside the node it refers to', () => {
    const parsed = parseWithPositions('a: &loop { self: *loop }\n');
    expect(parsed.errors[0]).toMatchObject({ code: 'ALIAS_CYCLE' });
  });

  it('reports a bomb in a journey file as a CEIL_YAML_ALIAS_BUDGET diagnostic', async () => {
    const loaded = await loadJourneyText('journeys/bomb.yaml', `name: bomb\nvars:\n${laughs(9).replace(/^/gm, '  ')}steps:\n  - wait: 1s\n`);
    expect(loaded.journey).toBeUndefined();
    expect(loaded.diagnostics.map((d) => d.code)).toEqual(['CEIL_YAML_ALIAS_BUDGET']);
  });
});

describe('load limits', () => {
  it('default to 1 MiB per file and the alias budget', () => {
    expect(loadLimitsFrom({})).toEqual({ maxFileBytes: 1024 * 1024, aliasBudget: DEFAULT_ALIAS_BUDGET });
  });

  it('read sizes with units or in bytes, and whole numbers for the budget', () => {
    expect(loadLimitsFrom({ CEILING_MAX_FILE_SIZE: '4MiB', CEILING_YAML_ALIAS_BUDGET: '50000' })).toEqual({
      maxFileBytes: 4 * 1024 * 1024,
      aliasBudget: 50_000,
    });
    expect(loadLimitsFrom({ CEILING_MAX_FILE_SIZE: '2048' })).toMatchObject({ maxFileBytes: 2048 });
  });

  it('say what is wrong with a bad value', () => {
    expect(loadLimitsFrom({ CEILING_MAX_FILE_SIZE: 'huge' })).toMatch(/CEILING_MAX_FILE_SIZE="huge" is not a size/);
    expect(loadLimitsFrom({ CEILING_YAML_ALIAS_BUDGET: '-1' })).toMatch(/CEILING_YAML_ALIAS_BUDGET="-1" is not a whole number/);
  });

  it('refuse a file over the cap, unread, and load the others', async () => {
    const dir = await folder({ 'big.yaml': `name: big\nsteps:\n  - wait: 1s\n${'#'.repeat(5000)}\n`, 'small.yaml': 'name: small\nsteps:\n  - wait: 1s\n' });
    const loaded = await loadJourneys([dir], { limits: { maxFileBytes: 4096, aliasBudget: DEFAULT_ALIAS_BUDGET } });
    expect(loaded.journeys.map((journey) => journey.name)).toEqual(['small']);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map(formatDiagnostic)).toEqual([
      `${path.join(dir, 'big.yaml')}:1:1: the file is 5 KiB, over the 4 KiB limit for a journey file; split it, or raise CEILING_MAX_FILE_SIZE (e.g. CEILING_MAX_FILE_SIZE=4MiB)`,
    ]);
  });
});

describe('files a folder scan cannot read', () => {
  it('a dangling symlink, a symlink loop and a binary file are diagnostics for those files alone', async () => {
    const dir = await folder({ 'good.yaml': 'name: good\nsteps:\n  - wait: 1s\n', 'blob.yaml': Buffer.from([0x6e, 0x00, 0xff, 0xfe, 0x01]) });
    await symlink('missing.yaml', path.join(dir, 'dangling.yaml'));
    await symlink('self.yaml', path.join(dir, 'self.yaml'));
    const loaded = await loadJourneys([dir]);
    expect(loaded.journeys.map((journey) => journey.name)).toEqual(['good']);
    const byFile = Object.fromEntries(loaded.diagnostics.filter((d) => d.severity === 'error').map((d) => [path.basename(d.file), d.code]));
    expect(byFile).toEqual({ 'blob.yaml': 'CEIL_FILE_NOT_TEXT', 'dangling.yaml': 'CEIL_FILE_UNREADABLE', 'self.yaml': 'CEIL_FILE_UNREADABLE' });
  });

  it('a *.yaml link to a device is refused unread (reading /dev/zero would never end)', async () => {
    const dir = await folder({});
    await symlink('/dev/zero', path.join(dir, 'zero.yaml'));
    const loaded = await loadJourneys([dir]);
    expect(loaded.diagnostics.map(formatDiagnostic)).toEqual([
      `${path.join(dir, 'zero.yaml')}:1:1: not a regular file (a device or a pipe?); journey files are YAML text files`,
    ]);
  });

  it('a file with NUL bytes is not text even when it is valid UTF-8', async () => {
    const dir = await folder({ 'nul.yaml': 'name: nul\u0000\nsteps:\n  - wait: 1s\n' });
    const loaded = await loadJourneys([dir]);
    expect(loaded.diagnostics[0]).toMatchObject({ code: 'CEIL_FILE_NOT_TEXT' });
  });
});

describe('capture sources', () => {
  it.each([
    ['http', 'json'],
    ['http', 'json.items[0].id'],
    ['http', 'json[0].id'],
    ['http', 'header.location'],
    ['http', 'headers.x-request-id'],
    ['http', 'status'],
    ['http', 'body'],
    ['ws', 'text'],
    ['ws', 'json.user.id'],
    ['ws', 'json[1]'],
    ['browser', 'attribute.href'],
    ['browser', 'title'],
  ] as const)('%s accepts %s', (family, source) => {
    expect(captureSourceProblem(family, source)).toBeUndefined();
  });

  it.each([
    ['http', 'jsn.id', 'did you mean "json.id"?'],
    ['http', 'stauts', 'did you mean "status"?'],
    ['http', 'json.', 'unknown capture source "json."'],
    ['ws', 'header.x', 'ws.expect captures text, json'],
    ['browser', 'txt', 'did you mean "text"?'],
  ] as const)('%s refuses %s', (family, source, message) => {
    expect(captureSourceProblem(family, source)).toContain(message);
  });

  it('are checked when the file loads, with the field and a capture regex that does not compile', async () => {
    const loaded = await loadJourneyText(
      'journeys/c.yaml',
      [
        'name: c',
        'steps:',
        '  - http: { url: "http://127.0.0.1:1/" }',
        '    expect: { status: 200 }',
        '    capture: { id: jsn.id, token: { regex: "(unclosed", from: body } }',
        '  - ws.connect: { as: a, url: "ws://127.0.0.1:1/" }',
        '  - ws.expect: { as: a, text: hi, capture: { who: status } }',
        '',
      ].join('\n'),
    );
    expect(loaded.diagnostics.map((d) => `${d.code} ${d.field}`)).toEqual([
      'CEIL_CAPTURE_SOURCE steps[0].capture.id',
      'CEIL_REGEX steps[0].capture.token.regex',
      'CEIL_CAPTURE_SOURCE steps[2].ws.expect.capture.who',
    ]);
  });
});

describe('terminal-safe text', () => {
  it('escapes control bytes instead of passing them on', () => {
    expect(terminalSafe('a\u001b]0;title\u0007b\u0000c\u009bd\u202ee')).toBe('a\\x1b]0;title\\x07b\\x00c\\x9bd\\u202ee');
  });

  it('keeps tabs and newlines in console text, and escapes newlines in a log line so it cannot forge another', () => {
    expect(terminalSafe('a\tb\nc')).toBe('a\tb\nc');
    expect(logSafe('failing\nceiling serve: journey "x" is passing\r')).toBe('failing\\nceiling serve: journey "x" is passing\\r');
  });

  it('caps the length and says how long the text was', () => {
    const text = terminalSafe('x'.repeat(100_000), { maxChars: 100 });
    expect(text).toBe(`${'x'.repeat(100)}… (cut; 100000 characters in all)`);
  });

  it('keeps binary input bounded even when every byte needs escaping', () => {
    const binary = String.fromCharCode(...Array.from({ length: 50_000 }, (_, index) => index % 32));
    expect(logSafe(binary).length).toBeLessThan(9000);
  });

  it('drops whole escape sequences for the console reporter, which keeps its promise of plain text', () => {
    expect(terminalSafeDeep({ message: 'red \u001b[31mtext\u001b[0m\u0000' })).toEqual({ message: 'red text\\x00' });
  });
});

describe('credentials in an http URL', () => {
  it('become a Basic Authorization header, leave the URL, and are registered as secrets', () => {
    const url = new URL('http://robot:p%40ss-word-1@127.0.0.1:8080/x');
    const headers: Record<string, string> = {};
    const redactor = new Redactor();
    takeUrlCredentials(url, headers, redactor);
    expect(url.href).toBe('http://127.0.0.1:8080/x');
    expect(headers.authorization).toBe(`Basic ${Buffer.from('robot:p@ss-word-1').toString('base64')}`);
    expect(redactor.redact('p@ss-word-1 and p%40ss-word-1 and robot')).toBe('[REDACTED:url credentials] and [REDACTED:url credentials] and robot');
  });

  it('a token as the user name alone is the secret', () => {
    const redactor = new Redactor();
    const headers: Record<string, string> = {};
    takeUrlCredentials(new URL('https://ghp_token1234@example.test/'), headers, redactor);
    expect(redactor.redact('ghp_token1234')).toBe('[REDACTED:url credentials]');
  });

  it('refuses credentials in the URL next to an explicit Authorization', () => {
    expect(() => takeUrlCredentials(new URL('http://a:bbbb@h/'), { authorization: 'Bearer x' }, new Redactor())).toThrow(
      /carries credentials and the step sets an Authorization header/,
    );
  });

  it('leaves a URL without credentials alone', () => {
    const headers: Record<string, string> = {};
    takeUrlCredentials(new URL('http://h/'), headers, new Redactor());
    expect(headers).toEqual({});
  });

  it('never show the password in the step name', async () => {
    const loaded = await loadJourneyText('j.yaml', 'name: n\nsteps:\n  - http: { url: "http://robot:hunter22@127.0.0.1/" }\n    expect: { status: 200 }\n');
    expect(loaded.journey!.steps[0]!.name).toBe('GET http://robot:***@127.0.0.1/');
  });
});

describe('redaction of the forms a URL gives a secret', () => {
  const secret = 'CanaryHost%41Leak';
  const redactor = new Redactor();
  redactor.add(secret, 'HOST');
  redactor.add('KanarienVögel-geheim', 'IDN');
  redactor.add('Pass Word/Äx', 'PW');

  it.each([
    ['lowercased by a hostname', new URL(`http://${secret}.invalid/`).hostname],
    ['upper case', secret.toUpperCase()],
    ['percent-decoded', 'CanaryHostALeak'],
    ['punycode', domainToASCII('KanarienVögel-geheim')],
    [
      'user info',
      (() => {
        const url = new URL('http://h/');
        url.password = 'Pass Word/Äx';
        return url.password;
      })(),
    ],
    ['fragment', new URL(`http://h/#${'Pass Word/Äx'}`).hash.slice(1)],
    ['lower-case percent escapes', encodeURIComponent('Pass Word/Äx').toLowerCase()],
  ])('%s', (_form, text) => {
    expect(redactor.contains(`at ${text} here`)).toBe(true);
    expect(redactor.redact(`at ${text} here`)).toMatch(/^at \[REDACTED:(HOST|IDN|PW)\](\.invalid)? here$/);
  });
});

describe('journey vars', () => {
  it('see target vars and --var, which still win over a journey var of the same name', async () => {
    const loaded = await loadJourneyText(
      'j.yaml',
      'name: v\nvars:\n  api: "{{ vars.base_url }}/api"\n  shade: journey\nsteps:\n  - assert: [{ value: "{{ vars.api }}", equals: "http://t/api" }, { value: "{{ vars.shade }}", equals: target }]\n',
      { extraVars: ['base_url', 'shade'] },
    );
    expect(loaded.diagnostics).toEqual([]);
    const result = await runJourneys([loaded.journey!], {
      concurrency: 1,
      failOnFlaky: false,
      reporter: { name: 'none', onRunEnd() {} },
      version: 'test',
      vars: { base_url: 'http://t', shade: 'target' },
      env: () => undefined,
      secret: () => undefined,
      redactor: new Redactor(),
      signal: new AbortController().signal,
      outDir: 'ceiling-out',
    });
    expect(result.journeys[0]!.attempts[0]!.failure).toBeUndefined();
    expect(result.journeys[0]!.status).toBe('passed');
  });
});
