/**
 * Planted secrets through the real CLI: they travel in headers, JSON bodies,
 * URL paths and queries, Basic auth and WebSocket frames, and show up in
 * failures (expected/actual, error messages). Whatever the reporter, none of
 * their forms (raw, base64, base64url, URL-encoded, nor a long fragment of
 * any of those) may reach stdout, stderr or any file the run writes.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from '../../fixtures/faults.js';
import { runCli } from './cli.js';
import { Cleanup, closedPort, outcomeOf, show, startServer } from './helpers.js';
import type { RunResult } from '../../src/core/result.js';

/** From --secrets-file. A space, a slash and a plus make every encoding differ from the raw value. */
const FILE_SECRET = 's3cr3t-PLANTED qz/9137+ok';
/** From the environment. */
const ENV_SECRET = 'env-S3CRET:pl4nted&8842';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

function formsOf(secret: string): Record<string, string> {
  return {
    raw: secret,
    base64: b64(secret),
    'base64 unpadded': b64(secret).replace(/=+$/, ''),
    base64url: b64url(secret),
    encodeURIComponent: encodeURIComponent(secret),
    encodeURI: encodeURI(secret),
    'form-encoded': new URLSearchParams([['x', secret]]).toString().slice(2),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    'basic auth token': b64(`robot:${secret}`),
  };
}

/** Every form, and every fragment of FRAGMENT chars of it: a truncated secret is still a leak. */
const FRAGMENT = 10;
function forbidden(): { label: string; text: string }[] {
  const found: { label: string; text: string }[] = [];
  for (const [name, secret] of [
    ['file secret', FILE_SECRET],
    ['env secret', ENV_SECRET],
  ] as const) {
    for (const [form, text] of Object.entries(formsOf(secret))) {
      found.push({ label: `${name} (${form})`, text });
      // The basic token's fragments also cover the user name, which is not secret.
      if (form === 'basic auth token') continue;
      for (let start = 0; start + FRAGMENT <= text.length; start++) {
        found.push({ label: `${name} (${form}, fragment at ${start})`, text: text.slice(start, start + FRAGMENT) });
      }
    }
  }
  return found;
}

/** One line per leaking spot (not per matching fragment), with some context around it. */
function leaksIn(where: string, text: string): string[] {
  const spots = new Map<number, string>();
  for (const item of forbidden()) {
    for (let at = text.indexOf(item.text); at !== -1; at = text.indexOf(item.text, at + 1)) {
      const line = text.lastIndexOf('\n', at) + 1;
      if (spots.has(line)) continue;
      const context = text.slice(Math.max(line, at - 50), at + item.text.length + 30);
      spots.set(line, `${where}: ${item.label} ${JSON.stringify(item.text)} in …${JSON.stringify(context)}…`);
    }
  }
  return [...spots.values()];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let faults: FaultServer;
beforeAll(async () => {
  faults = await startFaultServer();
});
afterAll(() => faults?.close());

/** What the echo server received, raw, to prove the secrets really were sent. */
const received: string[] = [];

async function startRecordingEcho() {
  return cleanup.add(
    await startServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push(`${req.url} ${JSON.stringify(req.headers)} ${body}`);
        const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      });
    }),
  );
}

/**
 * Runs the journeys with the file secret in --secrets-file and the env secret
 * in the environment, with console, json and junit reporters writing into --out;
 * returns every leak found in stdout, stderr and each file under --out.
 */
async function runAndScan(journeys: Record<string, string>) {
  const echo = await startRecordingEcho();
  const deadPort = await closedPort();
  const dir = await cleanup.dir(journeys);
  const secretsDir = await cleanup.dir();
  const secretsFile = path.join(secretsDir, 'secrets.env');
  await writeFile(secretsFile, `FILE_TOKEN="${FILE_SECRET}"\n`);
  const out = await cleanup.dir();
  const run = await runCli(
    ['run', dir, '--secrets-file', secretsFile, '--reporter', 'console', '--reporter', 'json', '--reporter', 'junit', '--out', out, '--concurrency', '1'],
    {
      env: { ENV_TOKEN: ENV_SECRET, ECHO_URL: echo.url, DEAD_PORT: String(deadPort), FAULT_WS: faults.wsUrl.replace(/\/$/, '') },
      killAfterMs: 20_000,
    },
  );
  expect(run.killed, show(run)).toBe(false);
  const files = await filesUnder(out);
  const texts = new Map<string, string>();
  for (const file of files) texts.set(path.relative(out, file), await readFile(file, 'utf8'));
  const leaks = [...leaksIn('stdout', run.stdout), ...leaksIn('stderr', run.stderr)];
  for (const [name, text] of texts) leaks.push(...leaksIn(name, text));
  const json = texts.has('results.json') ? (JSON.parse(texts.get('results.json')!) as RunResult) : undefined;
  return { run, texts, json, leaks };
}

describe('secret redaction across every output', () => {
  it('no form of a planted secret reaches stdout, stderr, or any report file', async () => {
    const { run, texts, json, leaks } = await runAndScan({
      '1-everywhere.yaml': `name: secrets travel everywhere
retries: 1
steps:
  - name: send the secrets in every part of a request
    http:
      method: POST
      url: "{{ env.ECHO_URL }}/echo/{{ secrets.FILE_TOKEN }}"
      query: { token: "{{ secrets.FILE_TOKEN }}", env: "{{ secrets.ENV_TOKEN }}" }
      headers:
        x-api-key: "{{ secrets.ENV_TOKEN }}"
        x-file-key: "{{ secrets.FILE_TOKEN }}"
        x-basic: "{{ basicAuth('robot', secrets.ENV_TOKEN) }}"
      json: { token: "{{ secrets.FILE_TOKEN }}", nested: { env: "{{ secrets.ENV_TOKEN }}" } }
      auth: { basic: { user: robot, password: "{{ secrets.FILE_TOKEN }}" } }
    expect: { status: 200, json: "everything the server saw, as actual" }
`,
      '2-expected.yaml': `name: a secret in expected and actual
steps:
  - name: compare against the secret
    http: { url: "{{ env.ECHO_URL }}/echo", headers: { x-api-key: "{{ secrets.ENV_TOKEN }}" } }
    expect: { status: 200, json: { headers: { x-api-key: "{{ secrets.FILE_TOKEN }}" } } }
`,
      '3-assert.yaml': `name: a secret in an assert
steps:
  - name: assert on the secret
    assert: { value: "{{ secrets.ENV_TOKEN }}", equals: "not the token" }
`,
      '4-refused.yaml': `name: a secret in a refused URL
steps:
  - name: call a closed port with the secret in the path
    http: { url: "http://127.0.0.1:{{ env.DEAD_PORT }}/{{ secrets.FILE_TOKEN }}/x?k={{ secrets.FILE_TOKEN }}" }
    expect: { status: 200 }
`,
      // The secret straddles the 160-character body excerpt a status mismatch quotes.
      '5-status-excerpt.yaml': `name: a secret cut by a body excerpt
steps:
  - name: status mismatch quoting the body
    http: { url: "{{ env.ECHO_URL }}/${'p'.repeat(120)}/{{ secrets.FILE_TOKEN }}" }
    expect: { status: 201 }
`,
      '6-websocket.yaml': `name: a secret over a WebSocket
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-echo", headers: { x-api-key: "{{ secrets.ENV_TOKEN }}" } }
  - ws.send: { as: alice, json: { type: login, token: "{{ secrets.ENV_TOKEN }}", file: "{{ secrets.FILE_TOKEN }}" } }
  - name: expect something else
    ws.expect: { as: alice, json: { type: welcome }, within: 300ms }
`,
      // A frame over 2000 characters is shown as a 300-character preview; the secret straddles that cut.
      '7-websocket-preview.yaml': `name: a secret cut by a frame preview
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-echo" }
  - ws.send: { as: alice, text: "${'x'.repeat(286)}{{ secrets.FILE_TOKEN }}${'y'.repeat(2000)}" }
  - name: expect something else
    ws.expect: { as: alice, text: welcome, within: 300ms }
`,
      // The expected json is described in the message, cut at 200 characters, across the secret.
      '8-websocket-criteria.yaml': `name: a secret cut in a message description
steps:
  - ws.connect: { as: alice, url: "{{ env.FAULT_WS }}/ws-echo" }
  - name: expect a long message with a secret
    ws.expect: { as: alice, json: { type: welcome, pad: "${'z'.repeat(150)}", token: "{{ secrets.ENV_TOKEN }}" }, within: 300ms }
`,
    });
    expect(run.code, show(run)).toBe(1);

    // The secrets really went out: the test would prove nothing otherwise.
    const wire = received.join('\n');
    expect(wire).toContain(FILE_SECRET);
    expect(wire).toContain(ENV_SECRET);
    expect(wire).toContain(b64(`robot:${FILE_SECRET}`));
    expect(wire).toContain(b64(`robot:${ENV_SECRET}`));

    expect([...texts.keys()].sort()).toEqual(['junit.xml', 'results.json']);
    expect(json?.journeys).toHaveLength(8);
    for (const journey of json?.journeys ?? []) expect(journey.status, journey.name).not.toBe('passed');
    expect(outcomeOf(json, 'a secret in a refused URL').failure).toMatchObject({ class: 'connect', code: 'CEIL_CONNECT_REFUSED' });
    expect(outcomeOf(json, 'a secret in an assert').failure?.code).toBe('CEIL_ASSERT_EQUALS');
    expect(outcomeOf(json, 'a secret cut by a body excerpt').failure?.code).toBe('CEIL_HTTP_STATUS');
    expect(outcomeOf(json, 'a secret over a WebSocket').failure?.code).toBe('CEIL_WS_EXPECT_TIMEOUT');
    expect(outcomeOf(json, 'a secret cut by a frame preview').failure?.code).toBe('CEIL_WS_EXPECT_TIMEOUT');

    expect(leaks).toEqual([]);

    // Redacted, not dropped: the reader still sees where a secret was.
    expect(run.stdout).toContain('[REDACTED');
    expect(texts.get('results.json')).toContain('[REDACTED');
    expect(texts.get('junit.xml')).toContain('[REDACTED');
  });

  // The URL parser escapes fewer characters than encodeURIComponent, so its form is a form of its own.
  it('a secret with a space and a pipe in a URL path is redacted as the URL parser encodes it', async () => {
    const secret = 'tok en|42^x-PLANTED';
    const deadPort = await closedPort();
    const dir = await cleanup.dir({
      'pipe.yaml': `name: a pipe in a secret
steps:
  - http: { url: "http://127.0.0.1:${deadPort}/{{ secrets.PIPE_TOKEN }}" }
    expect: { status: 200 }
`,
    });
    const run = await runCli(['run', dir, '--out', await cleanup.dir()], { env: { PIPE_TOKEN: secret }, killAfterMs: 15_000 });
    expect(run.code, show(run)).toBe(1);
    expect(run.stdout).toContain('CEIL_CONNECT_REFUSED');
    expect(run.stdout).not.toContain('PLANTED');
    expect(run.stdout).toContain('[REDACTED');
  });

  // Mismatch messages cut long values; the cut must come after redaction or half a secret survives it.
  it('a secret cut in a JSON mismatch message does not leak its first half', async () => {
    const { run, leaks } = await runAndScan({
      'json-message.yaml': `name: a secret cut in a mismatch message
steps:
  - name: json mismatch quoting the body
    http: { url: "{{ env.ECHO_URL }}/${'q'.repeat(185)}/{{ secrets.FILE_TOKEN }}" }
    expect: { json: { url: 42 } }
`,
    });
    expect(run.code, show(run)).toBe(1);
    expect(leaks).toEqual([]);
  });
});
