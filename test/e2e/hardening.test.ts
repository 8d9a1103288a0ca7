/**
 * Fault cases from peer tools' bug trackers, through the real CLI: ordinary
 * YAML that used to crash the loader, alias bombs, dangling symlinks, huge
 * and binary files, secrets in every part of a URL (the serve history and its
 * WAL included), control bytes from targets and journey files, an oversized
 * WebSocket message, credentials in URLs, late capture typos, and journey
 * vars built on a target's vars.
 */
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from '../../fixtures/faults.js';
import type { JourneyView } from '../../src/serve/model.js';
import { runCli } from './cli.js';
import { Cleanup, closedPort, outcomeOf, runWithJson, show, startEchoServer, startServer, type TestServer } from './helpers.js';
import { eventually, getJson, startServe } from './serve-process.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

let faults: FaultServer;
beforeAll(async () => {
  faults = await startFaultServer();
});
afterAll(async () => {
  await faults?.close();
});

/** 50 steps sharing one `&headers` map: ordinary YAML, about 50 aliases. */
function sharedHeadersJourney(url: string): string {
  const steps = Array.from(
    { length: 50 },
    (_, index) => `  - name: call ${index}\n    http: { url: "${url}?n=${index}", headers: *headers }\n    expect: { status: 200 }`,
  );
  return ['name: shared headers', 'vars:', '  headers: &headers { accept: application/json, x-probe: ceiling }', 'steps:', ...steps, ''].join('\n');
}

/** The classic billion laughs: nine levels of nine aliases each. */
function aliasBomb(): string {
  const lines = ['name: laughs', 'vars:', '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`  ${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(', ')}]`);
    previous = name;
  }
  lines.push('steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { status: 200 }', '');
  return lines.join('\n');
}

const okJourney = (name: string, url: string) => `name: ${name}\nsteps:\n  - http: { url: "${url}" }\n    expect: { status: 200 }\n`;

describe('YAML aliases', () => {
  it('accepts 50 steps that share one &headers map, in validate and run', async () => {
    const dir = await cleanup.dir({ 'shared.yaml': sharedHeadersJourney(`${faults.url}/json`) });
    const validate = await runCli(['validate', dir]);
    expect(validate.code, show(validate)).toBe(0);
    const run = await runWithJson(cleanup, ['run', dir]);
    expect(run.code, show(run)).toBe(0);
    expect(outcomeOf(run.json, 'shared headers').journey.attempts[0]!.steps).toHaveLength(50);
  });

  it('refuses a billion-laughs file with a load error naming the file, and no stack trace', async () => {
    const dir = await cleanup.dir({ 'laughs.yaml': aliasBomb() });
    for (const command of ['validate', 'run']) {
      const result = await runCli([command, dir], { killAfterMs: 20_000 });
      expect(result.killed, show(result)).toBe(false);
      expect(result.code, show(result)).toBe(2);
      expect(result.stderr).toContain(path.join(dir, 'laughs.yaml'));
      expect(result.stderr).toMatch(/aliases unfold this file to more than 10000 extra values/);
      expect(result.stderr).not.toContain('internal error');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('takes a larger alias budget from CEILING_YAML_ALIAS_BUDGET, and refuses a bad value', async () => {
    const dir = await cleanup.dir({ 'shared.yaml': sharedHeadersJourney(`${faults.url}/json`) });
    const tight = await runCli(['validate', dir], { env: { CEILING_YAML_ALIAS_BUDGET: '10' } });
    expect(tight.code, show(tight)).toBe(2);
    expect(tight.stderr).toContain('more than 10 extra values');
    const bad = await runCli(['validate', dir], { env: { CEILING_YAML_ALIAS_BUDGET: 'lots' } });
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toContain('CEILING_YAML_ALIAS_BUDGET="lots" is not a whole number');
  });
});

describe('files that cannot be read', () => {
  it('a dangling and a self-looping *.yaml symlink are load errors naming each file (exit 2)', async () => {
    const dir = await cleanup.dir({ 'ok.yaml': okJourney('fine', `${faults.url}/json`) });
    await symlink('nowhere.yaml', path.join(dir, 'dangling.yaml'));
    await symlink('looping.yaml', path.join(dir, 'looping.yaml'));
    for (const command of ['validate', 'run']) {
      const result = await runCli([command, dir]);
      expect(result.code, show(result)).toBe(2);
      expect(result.stderr).toContain(`${path.join(dir, 'dangling.yaml')}:1:1: a symbolic link to nowhere.yaml, which does not exist`);
      expect(result.stderr).toContain(`${path.join(dir, 'looping.yaml')}:1:1: a symbolic link that points back to itself`);
      expect(result.stderr).not.toContain('internal error');
    }
  });

  it('a journey file over the size cap is refused at once with the limit and how to raise it', async () => {
    const dir = await cleanup.dir({
      'big.yaml': `name: big\nsteps:\n  - http: { url: "${faults.url}json" }\n    expect: { status: 200 }\n${'#'.repeat(2 * 1024 * 1024)}\n`,
    });
    const refused = await runCli(['validate', dir]);
    expect(refused.code, show(refused)).toBe(2);
    expect(refused.stderr).toContain(`${path.join(dir, 'big.yaml')}:1:1: the file is 2.0 MiB, over the 1 MiB limit for a journey file`);
    expect(refused.stderr).toContain('CEILING_MAX_FILE_SIZE');
    const raised = await runCli(['validate', dir], { env: { CEILING_MAX_FILE_SIZE: '4MiB' } });
    expect(raised.code, show(raised)).toBe(0);
  });

  it('a binary file is one short load error, not a flood of raw bytes', async () => {
    const bytes = Buffer.alloc(200 * 1024);
    for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 7919 + 13) % 256;
    const dir = await cleanup.dir();
    await writeFile(path.join(dir, 'blob.yaml'), bytes);
    const result = await runCli(['validate', dir]);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr).toContain(`${path.join(dir, 'blob.yaml')}:1:1: not UTF-8 text`);
    expect(result.stderr.length).toBeLessThan(1000);
  });
});

describe('ceiling serve with a bad file in its folder', () => {
  it('reports an alias bomb and a dangling symlink in reloadErrors and still picks up other edits', async () => {
    const dir = await cleanup.dir({ 'ok.yaml': okJourney('steady', `${faults.url}/json`) });
    const daemon = cleanup.add(await startServe([dir, '--reload-interval', '100ms', '--every', '1h', '--db', path.join(dir, '.state', 'h.db')]));
    await writeFile(path.join(dir, 'laughs.yaml'), aliasBomb());
    await symlink('nowhere.yaml', path.join(dir, 'dangling.yaml'));
    const errors = await eventually(async () => {
      const health = await getJson<{ reloadErrors: string[] }>(`${daemon.url}/healthz`);
      return health.body.reloadErrors.length >= 2 ? health.body.reloadErrors.join('\n') : undefined;
    }, 'both bad files in reloadErrors');
    expect(errors).toContain('laughs.yaml');
    expect(errors).toContain('dangling.yaml');
    // Another edit while both bad files are still there is picked up.
    await writeFile(path.join(dir, 'new.yaml'), okJourney('added later', `${faults.url}/json`));
    await eventually(async () => {
      const views = (await getJson<{ journeys: JourneyView[] }>(`${daemon.url}/api/v1/journeys`)).body.journeys;
      return views.some((view) => view.journey === 'added later') ? true : undefined;
    }, 'the new journey loaded');
    expect(daemon.stderr()).not.toContain('internal error');
  });
});

describe('terminal safety', () => {
  it('validate shows a raw ESC, BEL and NUL in a journey key escaped', async () => {
    const dir = await cleanup.dir({ 'keys.yaml': `name: keys\nsteps:\n  - http: { url: "http://127.0.0.1:1/", "\\e]0;pwned\\a\\e[31mred\\0": 1 }\n` });
    const result = await runCli(['validate', dir]);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(result.stderr).toContain('\\x1b]0;pwned\\x07\\x1b[31mred\\x00');
  });

  it("serve's stderr shows escape sequences and NUL from a target's answer escaped", async () => {
    const target = cleanup.add(
      await startServer((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('\u001b]0;owned\u0007\u001b[2Jwiped\u0000');
      }),
    );
    const dir = await cleanup.dir({
      'probe.yaml': `name: hostile target\nsteps:\n  - http: { url: "${target.url}/" }\n    expect: { status: 200, body: { equals: "fine" } }\n`,
    });
    const daemon = cleanup.add(await startServe([dir, '--every', '1s', '--alert-after', '1', '--db', path.join(dir, '.state', 'h.db')]));
    await eventually(async () => (daemon.stderr().includes('hostile target') && daemon.stderr().includes('failing') ? true : undefined), 'the failing line');
    await daemon.stop('SIGTERM');
    const stderr = daemon.stderr();
    expect(stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(stderr).toContain('\\x1b[2Jwiped\\x00');
  });
});

describe('WebSocket message over the size limit', () => {
  it('is reported as 1009, message too big, not as an unexplained 1006', async () => {
    const dir = await cleanup.dir({
      'huge.yaml': `name: huge message\nsteps:\n  - ws.connect: { as: a, url: "${faults.wsUrl}ws-huge" }\n  - name: wait for it\n    ws.expect: { as: a, text: "x", within: 10s }\n`,
    });
    const run = await runWithJson(cleanup, ['run', dir], { killAfterMs: 60_000 });
    expect(run.code, show(run)).toBe(1);
    const { failure } = outcomeOf(run.json, 'huge message');
    expect(failure?.message).toContain('code 1009');
    expect(failure?.message).toContain("message too big: the server sent a message over Ceiling's 16 MiB limit");
    expect(failure?.message).not.toContain('1006');
  });
});

describe('credentials in a URL', () => {
  it('are sent as Basic auth and redacted from every output', async () => {
    const echo = cleanup.add(await startEchoServer());
    const password = 'url-pw-Secret-4417';
    const dir = await cleanup.dir({
      'creds.yaml': `name: url credentials\nsteps:\n  - http: { url: "${echo.url.replace('http://', `http://robot:${password}@`)}/who" }\n    expect: { json: { headers: { authorization: "Basic wrong" } } }\n`,
    });
    const run = await runWithJson(cleanup, ['run', dir, '--reporter', `junit=${path.join(dir, 'out.xml')}`]);
    expect(run.code, show(run)).toBe(1);
    const actual = JSON.stringify(outcomeOf(run.json, 'url credentials').failure);
    // The target saw the header (its echo is in the failure's actual), and the value is redacted there.
    expect(actual).toContain('"actual":"[REDACTED:url credentials]"');
    const outputs = [run.stdout, run.stderr, await readFile(path.join(dir, 'out.xml'), 'utf8'), JSON.stringify(run.json)].join('\n');
    expect(outputs).not.toContain(password);
    expect(outputs).not.toContain(Buffer.from(`robot:${password}`).toString('base64'));
  });
});

describe('credentials in a WebSocket URL', () => {
  it('are redacted from the failure that names the URL', async () => {
    const port = await closedPort();
    const password = 'ws-pw-Secret-9931';
    const dir = await cleanup.dir({
      'ws-creds.yaml': `name: ws url credentials\nsteps:\n  - ws.connect: { as: a, url: "ws://robot:${password}@127.0.0.1:${port}/" }\n  - ws.expect: { as: a, text: hi }\n`,
    });
    const run = await runWithJson(cleanup, ['run', dir]);
    expect(run.code, show(run)).toBe(1);
    expect(outcomeOf(run.json, 'ws url credentials').failure?.code).toBe('CEIL_CONNECT_REFUSED');
    expect(`${run.stdout}${run.stderr}${JSON.stringify(run.json)}`).not.toContain(password);
  });
});

describe('mistakes surface before anything is sent', () => {
  it('a capture source typo fails validate, and run sends no request (exit 2)', async () => {
    let requests = 0;
    const target: TestServer = cleanup.add(
      await startServer((_req, res) => {
        requests++;
        res.writeHead(201, { 'content-type': 'application/json' }).end('[{"id":7}]');
      }),
    );
    const journey = [
      'name: create then read',
      'steps:',
      '  - name: create',
      `    http: { method: POST, url: "${target.url}/things" }`,
      '    expect: { status: 201 }',
      '    capture: { first: "json[0].id", id: jsn.id }',
      '  - name: read',
      `    http: { url: "${target.url}/things/{{ vars.id }}" }`,
      '    expect: { status: 200 }',
      '',
    ].join('\n');
    const dir = await cleanup.dir({ 'typo.yaml': journey });
    const validate = await runCli(['validate', dir]);
    expect(validate.code, show(validate)).toBe(2);
    expect(validate.stderr).toContain(`${path.join(dir, 'typo.yaml')}:6:`);
    expect(validate.stderr).toContain('steps[0].capture.id: unknown capture source "jsn.id" (did you mean "json.id"?)');
    // json[0].id is a real source: no complaint about it.
    expect(validate.stderr).not.toContain('capture.first');
    const run = await runCli(['run', dir]);
    expect(run.code, show(run)).toBe(2);
    expect(requests).toBe(0);
  });

  it('json[0].id captures from a body that is a list', async () => {
    const target = cleanup.add(await startServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[{"id":7}]')));
    const dir = await cleanup.dir({
      'list.yaml': `name: list capture\nsteps:\n  - http: { url: "${target.url}/" }\n    expect: { status: 200 }\n    capture: { first: "json[0].id" }\n  - assert: { value: "{{ vars.first }}", matches: 7 }\n`,
    });
    const run = await runWithJson(cleanup, ['run', dir]);
    expect(run.code, show(run)).toBe(0);
  });

  it('run --tag with no match says so in the summary line too', async () => {
    const dir = await cleanup.dir({ 'ok.yaml': okJourney('fine', `${faults.url}/json`) });
    const run = await runCli(['run', dir, '--tag', 'no-such-tag']);
    expect(run.code, show(run)).toBe(3);
    expect(run.stderr).toContain('no journey matched --tag/--grep');
    expect(run.stdout).toContain('nothing tested: no journey was run (none found, or none matched --tag/--grep)');
    expect(run.stdout).not.toContain('no journey made a single check');
  });
});

describe("journey vars built on a target's vars", () => {
  it('gate: vars: { api: "{{ vars.base_url }}/api" } sees the target var; a target var still wins over a journey var', async () => {
    const seen: string[] = [];
    const target = cleanup.add(
      await startServer((req, res) => {
        seen.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }),
    );
    const dir = await cleanup.dir({
      'ceiling.yaml': `targets:\n  prod:\n    vars: { base_url: "${target.url}", shade: target }\n`,
      'api.yaml': [
        'name: api via target var',
        'vars:',
        '  api: "{{ vars.base_url }}/api"',
        '  shade: journey',
        'steps:',
        '  - http: { url: "{{ vars.api }}/ping?shade={{ vars.shade }}" }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    });
    const result = await runCli(
      [
        'gate',
        path.join(dir, 'api.yaml'),
        '--config',
        path.join(dir, 'ceiling.yaml'),
        '--verdict-out',
        path.join(dir, 'verdict.json'),
        '--out',
        path.join(dir, 'out'),
        '--no-notify',
      ],
      {
        killAfterMs: 60_000,
      },
    );
    expect(result.code, show(result)).toBe(0);
    expect(seen).toContain('/api/ping?shade=target');
  });

  it('run: a journey var may use a --var', async () => {
    const target = cleanup.add(await startServer((_req, res) => res.writeHead(200).end('ok')));
    const dir = await cleanup.dir({
      'api.yaml':
        'name: api via --var\nvars:\n  api: "{{ vars.base_url }}/api"\nsteps:\n  - http: { url: "{{ vars.api }}/ping" }\n    expect: { status: 200 }\n',
    });
    const run = await runWithJson(cleanup, ['run', dir, '--var', `base_url=${target.url}`]);
    expect(run.code, show(run)).toBe(0);
  });
});

// ---- a canary in every part of a URL ----------------------------------------

const CANARY = 'CanaryLeak-Q7x9Zk';
/** In a hostname: lowercased and percent-decoded (%41 is "A") by the URL parser. */
const CANARY_HOST = `CanaryHost%41Leak-${'x'.repeat(50)}`;
/** In a hostname: turned into punycode (xn--…). */
const CANARY_IDN = `KanarienVögel-${'y'.repeat(52)}`;

/** Case-insensitive needles (every case and encoding of the canaries' distinctive parts), and exact ones for base64. */
const NEEDLES_IGNORING_CASE = ['canaryleak', 'q7x9zk', 'canaryhost', 'hostaleak', 'host%41leak', 'kanarienv', domainToASCII(CANARY_IDN).slice(0, 20)];
const NEEDLES_EXACT = [Buffer.from(`robot:${CANARY}`).toString('base64').slice(0, 16), Buffer.from(CANARY).toString('base64').slice(0, 12)];

function leaks(where: string, text: string): string[] {
  const lower = text.toLowerCase();
  const found: string[] = [];
  for (const needle of NEEDLES_IGNORING_CASE) if (lower.includes(needle.toLowerCase())) found.push(`${where}: ${needle}`);
  for (const needle of NEEDLES_EXACT) if (text.includes(needle)) found.push(`${where}: ${needle}`);
  return found;
}

const canaryJourneys = (echoUrl: string): Record<string, string> => ({
  'all-parts.yaml': [
    'name: every url part',
    'steps:',
    '  - name: echo',
    `    http: { url: "${echoUrl.replace('http://', 'http://robot:{{ secrets.CANARY }}@')}/p/{{ secrets.CANARY }}?q={{ secrets.CANARY }}#{{ secrets.CANARY }}" }`,
    '    expect: { json: { nope: true } }',
    '',
  ].join('\n'),
  'host.yaml': 'name: secret host\nsteps:\n  - name: resolve\n    http: { url: "http://{{ secrets.CANARY_HOST }}.invalid/" }\n    expect: { status: 200 }\n',
  'idn.yaml': 'name: secret idn host\nsteps:\n  - name: resolve\n    http: { url: "http://{{ secrets.CANARY_IDN }}.invalid/" }\n    expect: { status: 200 }\n',
});

describe('a secret in every part of a URL', () => {
  it('never reaches the console, JSON, JUnit, the status page, the API, alerts, the history database or its WAL', async () => {
    const echo = cleanup.add(await startEchoServer());
    const journeysDir = await cleanup.dir(canaryJourneys(echo.url));
    const work = await cleanup.dir({ 'secrets.env': `CANARY=${CANARY}\nCANARY_HOST=${CANARY_HOST}\nCANARY_IDN=${CANARY_IDN}\n` });
    const secretsFile = path.join(work, 'secrets.env');
    const found: string[] = [];

    const run = await runWithJson(cleanup, ['run', journeysDir, '--secrets-file', secretsFile, '--reporter', `junit=${path.join(work, 'junit.xml')}`]);
    expect(run.code, show(run)).toBe(1);
    // The canaries did reach the failures (so the test would see a leak): DNS errors for both hosts, the echo for the rest.
    expect(outcomeOf(run.json, 'secret host').failure?.code).toBe('CEIL_DNS_LOOKUP');
    expect(outcomeOf(run.json, 'secret idn host').failure?.code).toBe('CEIL_DNS_LOOKUP');
    expect(echo.requests()).toBe(1);
    found.push(...leaks('run stdout', run.stdout), ...leaks('run stderr', run.stderr), ...leaks('run JSON', JSON.stringify(run.json)));
    found.push(...leaks('run JUnit', await readFile(path.join(work, 'junit.xml'), 'utf8')));

    const bodies: string[] = [];
    const receiver = cleanup.add(
      await startServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          bodies.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(200).end('ok');
        });
      }),
    );
    const db = path.join(work, 'state', 'history.db');
    const daemon = cleanup.add(
      await startServe([
        journeysDir,
        '--every',
        '1s',
        '--db',
        db,
        '--alert-after',
        '1',
        '--webhook',
        `${receiver.url}/json`,
        '--slack-webhook',
        `${receiver.url}/slack`,
        '--secrets-file',
        secretsFile,
      ]),
    );
    await eventually(async () => (bodies.length >= 6 ? true : undefined), 'a failing alert per journey on both webhooks');
    const names = ['every url part', 'secret host', 'secret idn host'];
    for (const name of names) {
      const runs = await getJson<unknown>(`${daemon.url}/api/v1/journeys/${encodeURIComponent(name)}/runs`);
      found.push(...leaks(`/api runs of ${name}`, JSON.stringify(runs.body)));
    }
    for (const endpoint of ['/', '/api/v1/journeys', '/healthz', '/metrics']) {
      const response = await fetch(`${daemon.url}${endpoint}`, { signal: AbortSignal.timeout(5_000) });
      found.push(...leaks(endpoint, await response.text()));
    }
    // While serve runs, recent writes sit in the WAL.
    for (const file of await readdir(path.dirname(db)))
      found.push(...leaks(`${file} (running)`, (await readFile(path.join(path.dirname(db), file))).toString('latin1')));
    const stopped = await daemon.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    for (const file of await readdir(path.dirname(db)))
      found.push(...leaks(`${file} (stopped)`, (await readFile(path.join(path.dirname(db), file))).toString('latin1')));
    found.push(...leaks('serve stderr', daemon.stderr()), ...leaks('serve stdout', daemon.stdout()));
    found.push(...bodies.flatMap((body, index) => leaks(`webhook body ${index}`, body)));
    expect(found).toEqual([]);
  });
});
