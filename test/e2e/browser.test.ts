/**
 * Browser journeys through the real, built CLI in real Chromium, against small
 * pages served by this test: a missing element, a refused or never-loading
 * page, no browser at all, secrets typed into a page (screenshots masked,
 * traces scrubbed), SIGINT mid-journey, no Chromium left behind, and an
 * HTTP-only run that never loads Playwright.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from '../../fixtures/faults.js';
import type { Attachment, RunResult } from '../../src/core/result.js';
import { findChromium } from '../../src/steps/browser/discovery.js';
import { root, runCli, type CliOptions, type CliResult } from './cli.js';
import { Cleanup, closedPort, outcomeOf, show, startServer, type TestServer } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let faults: FaultServer;
beforeAll(async () => {
  faults = await startFaultServer();
});
afterAll(() => faults?.close());

/** Each CLI run gets the whole of this; a browser run normally takes a few seconds. */
const KILL_AFTER_MS = 30_000;
const TEST_TIMEOUT_MS = 60_000;

// ---- pages ------------------------------------------------------------------

/**
 * The vault page has fixed geometry so the test knows where each element is
 * in a 400x300 screenshot: the password field at (20,20) 200x30, the echo of
 * it at (20,80) 200x30, the button at (20,140).
 */
const VIEWPORT = { width: 400, height: 300 } as const;
const PASSWORD_BOX = { left: 20, top: 20, width: 200, height: 30 } as const;
const ECHO_BOX = { left: 20, top: 80, width: 200, height: 30 } as const;
const BUTTON_BOX = { left: 20, top: 140, width: 100, height: 30 } as const;

const css = (box: { left: number; top: number; width: number; height: number }) =>
  `position:absolute;left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px;margin:0`;

const VAULT_PAGE = `<!doctype html>
<html><head><title>Vault</title><style>
  html, body { margin: 0; padding: 0; background: #ffffff; }
  * { box-sizing: border-box; }
</style></head><body>
<label for="pw" style="position:absolute;left:240px;top:20px">Password</label>
<input id="pw" type="text" autocomplete="off" style="${css(PASSWORD_BOX)};border:1px solid #333;font:16px monospace;background:#fff;color:#000">
<p id="echo" data-testid="echo" style="${css(ECHO_BOX)};font:16px monospace;color:#000;background:#ffff00;overflow:hidden"></p>
<button id="show" type="button" style="${css(BUTTON_BOX)}">Show</button>
<script>
  document.getElementById('show').addEventListener('click', async () => {
    const value = document.getElementById('pw').value;
    const response = await fetch('/save?pw=' + encodeURIComponent(value), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pw: value }),
    });
    const saved = await response.json();
    document.getElementById('echo').textContent = saved.pw;
    document.title = 'saved';
  });
</script>
</body></html>`;

const HOME_PAGE = '<!doctype html><title>Home</title><h1>Welcome</h1><label>Name <input></label><button>Go</button>';

interface Site extends TestServer {
  /** Raw request lines and bodies of /save, to prove a secret really went through the page. */
  saved: string[];
  /** Requests to /ready, which a journey calls to say where it got to. */
  ready(): number;
}

/** The test's web server: a home page, the vault, its /save echo, and a page that never finishes. */
async function startSite(): Promise<Site> {
  const saved: string[] = [];
  let ready = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/save') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        saved.push(`${req.url} ${body}`);
        const pw = (JSON.parse(body) as { pw: string }).pw;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pw }));
      });
      return;
    }
    if (url.pathname === '/ready') {
      ready++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/partial') {
      // Headers and the start of a page, then nothing: the load event never comes.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.write(`<!doctype html><html><head><title>Partial</title></head><body><p>still loading${' '.repeat(2048)}`);
      return;
    }
    const page = url.pathname === '/vault' ? VAULT_PAGE : url.pathname === '/' ? HOME_PAGE : undefined;
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  };
  const server = await startServer(handler);
  return Object.assign(server, { saved, ready: () => ready });
}

// ---- runs -------------------------------------------------------------------

interface BrowserRun extends CliResult {
  out: string;
  json: RunResult | undefined;
  junit: string | undefined;
  /** stdout and stderr together: where a message lands is the CLI's business. */
  output: string;
}

/** Runs journeys with console, JSON and JUnit reporters, everything under one --out. */
async function runJourneys(journeys: Record<string, string>, args: string[] = [], options: CliOptions = {}): Promise<BrowserRun> {
  const dir = await cleanup.dir(journeys);
  const out = await cleanup.dir();
  const result = await runCli(['run', dir, '--out', out, '--reporter', 'console', '--reporter', 'json', '--reporter', 'junit', '--concurrency', '1', ...args], {
    killAfterMs: KILL_AFTER_MS,
    ...options,
  });
  const json = await readFile(path.join(out, 'results.json'), 'utf8').then(
    (text) => JSON.parse(text) as RunResult,
    () => undefined,
  );
  const junit = await readFile(path.join(out, 'junit.xml'), 'utf8').catch(() => undefined);
  return { ...result, out, json, junit, output: `${result.stdout}\n${result.stderr}` };
}

function attachmentsOf(json: RunResult | undefined, journey: string): Attachment[] {
  return outcomeOf(json, journey).journey.attempts.at(-1)?.attachments ?? [];
}

/** A path from a report, which may be relative to the CLI's working directory. */
const onDisk = (file: string) => path.resolve(root, file);

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index === -1) throw new Error(`"${needle}" is not in the journey`);
  return index + 1;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

/** Failure evidence: one PNG screenshot and one trace zip for the actor, both on disk and well-formed. */
async function expectEvidence(run: BrowserRun, journey: string, actor: string): Promise<{ png: Buffer; trace: Record<string, Uint8Array> }> {
  const attachments = attachmentsOf(run.json, journey);
  const shot = attachments.find((item) => item.contentType === 'image/png' && item.name === `screenshot ${actor}`);
  const zip = attachments.find((item) => item.contentType === 'application/zip' && item.name === `trace ${actor}`);
  expect(shot, JSON.stringify(attachments)).toBeDefined();
  expect(zip, JSON.stringify(attachments)).toBeDefined();
  for (const item of [shot!, zip!]) {
    expect(existsSync(onDisk(item.path)), item.path).toBe(true);
    expect(run.stdout, 'the console lists the attachment').toContain(`${item.name}: ${item.path}`);
    expect(run.junit, 'JUnit lists the attachment').toContain(`[[ATTACHMENT|${onDisk(item.path)}]]`);
  }
  const png = await readFile(onDisk(shot!.path));
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const trace = unzipSync(new Uint8Array(await readFile(onDisk(zip!.path))));
  expect(
    Object.keys(trace).some((name) => name.endsWith('.trace')),
    Object.keys(trace).join(', '),
  ).toBe(true);
  return { png, trace };
}

// ---- processes --------------------------------------------------------------

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  /** Clock ticks since boot; with the pid, names one process even if the pid is reused. */
  start: string;
  command: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]), start: fields[19]!, command };
  } catch {
    return undefined; // Gone while being read.
  }
}

function processTable(): Proc[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((entry): entry is Proc => entry !== undefined);
}

function environHas(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(marker);
  } catch {
    return false;
  }
}

/**
 * Every process one CLI run started, found four ways because each alone can
 * miss some: descendants of the CLI (seen while it runs), a unique variable in
 * the environment they inherit (Chromium's crash handlers double-fork away
 * from the tree, but keep it), the browser's process group (Playwright starts
 * Chromium as a group leader), and the run's own --user-data-dir (zygote
 * children overwrite their environment block with their title).
 */
class RunProcesses {
  readonly marker = `CEILING_E2E_RUN=${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  readonly #seen = new Map<string, Proc>();
  readonly #groups = new Set<number>();
  readonly #profiles = new Set<string>();
  #cli: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** The env to give the CLI, and the onSpawn that starts watching it. */
  options(): Pick<CliOptions, 'env' | 'onSpawn'> {
    const [name, value] = this.marker.split('=') as [string, string];
    return {
      env: { [name]: value },
      onSpawn: (pid) => {
        this.#cli = pid;
        this.scan();
        this.#timer = setInterval(() => this.scan(), 50);
        cleanup.add({ close: () => this.stop() });
      },
    };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  scan(): void {
    const table = processTable();
    const tree = new Set(this.#cli === undefined ? [] : [this.#cli]);
    for (let grew = true; grew;) {
      grew = false;
      for (const entry of table) {
        if (tree.has(entry.ppid) && !tree.has(entry.pid)) {
          tree.add(entry.pid);
          grew = true;
        }
      }
    }
    for (const entry of table) {
      if (entry.pid === this.#cli) continue;
      const ours =
        tree.has(entry.pid) ||
        this.#groups.has(entry.pgid) ||
        [...this.#profiles].some((profile) => entry.command.includes(profile)) ||
        environHas(entry.pid, this.marker);
      if (!ours) continue;
      const key = `${entry.pid}:${entry.start}`;
      // A zombie's command line reads empty; keep what the process was.
      const before = this.#seen.get(key);
      this.#seen.set(key, entry.command === '' && before ? { ...entry, command: before.command } : entry);
      if (/chrom/i.test(entry.command) && entry.pid === entry.pgid) this.#groups.add(entry.pgid);
      const profile = /--user-data-dir=(\S+)/.exec(entry.command)?.[1];
      if (profile) this.#profiles.add(profile);
    }
  }

  /** Browser processes of this run seen at any time. */
  browsers(): Proc[] {
    return [...this.#seen.values()].filter((entry) => /chrom/i.test(entry.command));
  }

  /** Processes of this run still running (a zombie has exited; only its parent's wait is missing). */
  alive(): Proc[] {
    this.scan();
    return [...this.#seen.values()].filter((entry) => {
      const now = readProc(entry.pid);
      return now !== undefined && now.start === entry.start && now.state !== 'Z' && now.state !== 'X';
    });
  }

  /** After the CLI exited: every process it started is gone within 2 s. Survivors fail the test, and are then killed. */
  async expectAllGone(): Promise<void> {
    this.stop();
    const giveUpAt = Date.now() + 2_000;
    let left = this.alive();
    while (left.length > 0 && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = this.alive();
    }
    for (const entry of left) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {
        // Ended meanwhile.
      }
    }
    expect(left.map((entry) => `${entry.pid} ${entry.state} ${entry.command.slice(0, 160)}`)).toEqual([]);
  }
}

// ---- 1. a missing element -----------------------------------------------------

describe('a missing element', () => {
  it(
    'click and expectVisible on { label: Nope } fail as assertions naming the locator and the step, with a screenshot and trace on disk',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const site = cleanup.add(await startSite());
      const click = `name: click a missing element
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectVisible: { as: alice, target: { role: heading, name: Welcome } }
  - name: click nope
    timeout: 2s
    browser.click: { as: alice, target: { label: Nope } }
`;
      const visible = `name: expect a missing element
steps:
  - browser.open: { as: bob, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: bob, url: / }
  - name: nope is visible
    browser.expectVisible: { as: bob, target: { label: Nope }, within: 1s }
`;
      const run = await runJourneys({ 'click.yaml': click, 'visible.yaml': visible }, [], { env: { WEB: site.url } });
      expect(run.killed, show(run)).toBe(false);
      expect(run.code, show(run)).toBe(1);

      for (const [journey, file, text, stepName, actor] of [
        ['click a missing element', 'click.yaml', click, 'click nope', 'alice'],
        ['expect a missing element', 'visible.yaml', visible, 'nope is visible', 'bob'],
      ] as const) {
        const outcome = outcomeOf(run.json, journey);
        expect(outcome.status).toBe('failed');
        expect(outcome.step?.name).toBe(stepName);
        expect(outcome.failure, show(run)).toMatchObject({ class: 'assertion', code: 'CEIL_BROWSER_NO_ELEMENT' });
        expect(outcome.failure?.message).toContain('label "Nope"');
        const line = lineOf(text, `- name: ${stepName}`);
        expect(outcome.step?.location).toMatchObject({ line });
        expect(run.stdout).toMatch(new RegExp(`${file.replace('.', '\\.')}:${line}:\\d+ › ${stepName}`));
        await expectEvidence(run, journey, actor);
      }
      expect(run.stdout).toContain('assertion CEIL_BROWSER_NO_ELEMENT: no element matches label "Nope"');
    },
  );
});

describe('--trace off', () => {
  it('still writes the failure screenshot, but records no trace', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const journey = `name: no trace wanted
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectVisible: { as: alice, target: { label: Nope }, within: 1s }
`;
    const run = await runJourneys({ 'untraced.yaml': journey }, ['--trace', 'off'], { env: { WEB: site.url } });
    expect(run.code, show(run)).toBe(1);
    const attachments = attachmentsOf(run.json, 'no trace wanted');
    expect(attachments.map((item) => item.name)).toEqual(['screenshot alice']);
  });
});

// ---- 2./3. pages that do not load ------------------------------------------------

describe('pages that do not load', () => {
  it('navigation to a refused port fails as connect CEIL_CONNECT_REFUSED', { timeout: TEST_TIMEOUT_MS }, async () => {
    const port = await closedPort();
    const run = await runJourneys(
      {
        'refused.yaml': `name: refused page
steps:
  - browser.open: { as: alice }
  - name: go nowhere
    browser.goto: { as: alice, url: "http://127.0.0.1:{{ env.DEAD_PORT }}/" }
  - browser.expectTitle: { as: alice, text: never }
`,
      },
      [],
      { env: { DEAD_PORT: String(port) } },
    );
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(1);
    const outcome = outcomeOf(run.json, 'refused page');
    expect(outcome.step?.name).toBe('go nowhere');
    expect(outcome.failure, show(run)).toMatchObject({ class: 'connect', code: 'CEIL_CONNECT_REFUSED' });
    expect(run.stdout).toContain('connect CEIL_CONNECT_REFUSED');
  });

  for (const variant of [
    {
      name: 'sends headers and part of the page, never the rest',
      url: (site: Site) => `${site.url}/partial`,
      message: /the page arrived, but its "load" event never came/,
    },
    { name: 'accepts the connection and never answers', url: () => `${faults.url.replace(/\/$/, '')}/hang`, message: /sent no page within/ },
  ]) {
    it(`a page that ${variant.name}: timeout at the step's 2s, and the process exits on its own`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const site = cleanup.add(await startSite());
      const run = await runJourneys(
        {
          'stuck.yaml': `name: stuck page
timeout: 20s
steps:
  - browser.open: { as: alice }
  - name: load the stuck page
    timeout: 2s
    browser.goto: { as: alice, url: "{{ env.PAGE }}" }
  - browser.expectTitle: { as: alice, text: never }
`,
        },
        [],
        { env: { PAGE: variant.url(site) } },
      );
      expect(run.killed, show(run)).toBe(false);
      expect(run.signal, show(run)).toBeNull();
      expect(run.code, show(run)).toBe(1);
      const outcome = outcomeOf(run.json, 'stuck page');
      expect(outcome.step?.name).toBe('load the stuck page');
      expect(outcome.failure, show(run)).toMatchObject({ class: 'timeout' });
      expect(outcome.failure?.code).toBe('CEIL_BROWSER_LOAD_TIMEOUT');
      expect(outcome.failure?.message).toMatch(variant.message);
      // Chromium takes no picture while a navigation is pending; the evidence still has one.
      await expectEvidence(run, 'stuck page', 'alice');
    });
  }
});

// ---- 4. finding the browser ------------------------------------------------------

describe('finding the browser', () => {
  const journey = `name: opens a page
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectTitle: { as: alice, equals: Home }
`;

  /** No Playwright download (an empty PLAYWRIGHT_BROWSERS_PATH), no system browser, and nothing named. */
  async function nowhere(): Promise<NodeJS.ProcessEnv> {
    return { PLAYWRIGHT_BROWSERS_PATH: await cleanup.dir(), CEILING_SYSTEM_BROWSERS: '/nonexistent/chrome', CEILING_BROWSER_PATH: undefined };
  }

  it(
    'with no browser anywhere: exit 2, naming apt-get, npx playwright install and --browser-path / CEILING_BROWSER_PATH',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const site = cleanup.add(await startSite());
      const run = await runJourneys({ 'open.yaml': journey }, [], { env: { WEB: site.url, ...(await nowhere()) } });
      expect(run.killed, show(run)).toBe(false);
      expect(run.code, show(run)).toBe(2);
      expect(outcomeOf(run.json, 'opens a page').failure).toMatchObject({ class: 'config', code: 'CEIL_BROWSER_NOT_FOUND' });
      for (const way of ['apt-get install chromium', 'npx playwright install chromium', '--browser-path', 'CEILING_BROWSER_PATH', '/nonexistent/chrome']) {
        expect(run.output, show(run)).toContain(way);
      }
      expect(site.requests()).toBe(0);
    },
  );

  it('--browser-path /nonexistent: exit 2 naming the path', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const run = await runJourneys({ 'open.yaml': journey }, ['--browser-path', '/nonexistent'], { env: { WEB: site.url, CEILING_BROWSER_PATH: undefined } });
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(2);
    expect(outcomeOf(run.json, 'opens a page').failure).toMatchObject({ class: 'config', code: 'CEIL_BROWSER_PATH_INVALID' });
    expect(run.output).toContain('/nonexistent');
    expect(run.output).toContain('does not exist');
  });

  it('--browser-path to a real Chromium works, even when nothing else would be found', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Debian's chromium where it is installed (this machine, CI); otherwise whatever discovery finds here.
    const executable = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : findChromium().executable;
    const site = cleanup.add(await startSite());
    const run = await runJourneys({ 'open.yaml': journey }, ['--browser-path', executable], { env: { WEB: site.url, ...(await nowhere()) } });
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(0);
    expect(outcomeOf(run.json, 'opens a page').status).toBe('passed');
    expect(site.requests()).toBeGreaterThan(0);
  });
});

// ---- 5. secrets ------------------------------------------------------------------

const SECRET = 'planted-Secret-4471';

/**
 * Every byte form the secret could take in a file: UTF-8, UTF-16, URL- and
 * JSON-escaped, and base64/base64url at each of the three alignments it can
 * have inside a longer encoded blob (only the characters that depend on the
 * secret's bytes alone are kept).
 */
function secretForms(secret: string): { label: string; bytes: Buffer }[] {
  const forms: { label: string; text: string | Buffer }[] = [
    { label: 'raw', text: secret },
    { label: 'utf16le', text: Buffer.from(secret, 'utf16le') },
    { label: 'encodeURIComponent', text: encodeURIComponent(secret) },
    { label: 'JSON-escaped', text: JSON.stringify(secret).slice(1, -1) },
  ];
  for (const encoding of ['base64', 'base64url'] as const) {
    forms.push({ label: encoding, text: Buffer.from(secret).toString(encoding).replace(/=+$/, '') });
    for (let shift = 0; shift < 3; shift++) {
      const encoded = Buffer.concat([Buffer.alloc(shift, 0x41), Buffer.from(secret)]).toString(encoding);
      const fixed = encoded.slice(shift > 0 ? 4 : 0, Math.floor((shift + Buffer.byteLength(secret)) / 3) * 4);
      forms.push({ label: `${encoding} at alignment ${shift}`, text: fixed });
    }
  }
  return forms.map((form) => ({ label: form.label, bytes: Buffer.isBuffer(form.text) ? form.text : Buffer.from(form.text) }));
}

function leaksIn(where: string, bytes: Uint8Array, forms: { label: string; bytes: Buffer }[]): string[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return forms.filter((form) => buffer.includes(form.bytes)).map((form) => `${where}: ${form.label}`);
}

function pixel(png: PNG, x: number, y: number): [number, number, number, number] {
  const at = (png.width * y + x) * 4;
  return [png.data[at]!, png.data[at + 1]!, png.data[at + 2]!, png.data[at + 3]!];
}

/** Points of the box that are not #FF00FF, as "x,y=r,g,b,a" (the first few). */
function unmasked(png: PNG, box: { left: number; top: number; width: number; height: number }): string[] {
  const off: string[] = [];
  for (let y = box.top; y < box.top + box.height; y++) {
    for (let x = box.left; x < box.left + box.width; x++) {
      const [r, g, b, a] = pixel(png, x, y);
      if (r !== 255 || g !== 0 || b !== 255 || a !== 255) off.push(`${x},${y}=${r},${g},${b},${a}`);
    }
  }
  return off.slice(0, 10);
}

describe('secrets typed into a page', () => {
  it('never reach any output or trace entry, and are masked #FF00FF in the failure screenshot', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const secretsDir = await cleanup.dir();
    const secretsFile = path.join(secretsDir, 'secrets.env');
    await writeFile(secretsFile, `PW=${SECRET}\n`);
    const run = await runJourneys(
      {
        'vault.yaml': `name: vault shows the password
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}", viewport: { width: ${VIEWPORT.width}, height: ${VIEWPORT.height} } }
  - browser.goto: { as: alice, url: /vault }
  - browser.fill: { as: alice, target: { label: Password }, value: "{{ secrets.PW }}" }
  - browser.click: { as: alice, target: { role: button, name: Show } }
  - browser.expectTitle: { as: alice, equals: saved }
  - name: the echo is something else
    browser.expectText: { as: alice, target: { testId: echo }, equals: "not the password", within: 1s }
`,
      },
      ['--secrets-file', secretsFile],
      { env: { WEB: site.url } },
    );
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(1);

    // The secret really went through the page: typed, sent, echoed back and shown.
    expect(site.saved.join('\n')).toContain(SECRET);
    const outcome = outcomeOf(run.json, 'vault shows the password');
    expect(outcome.step?.name).toBe('the echo is something else');
    expect(outcome.failure).toMatchObject({ class: 'assertion', code: 'CEIL_BROWSER_TEXT' });
    expect(JSON.stringify(outcome.failure?.actual)).toContain('[REDACTED');

    // No form of it in any byte of stdout, stderr, or any file under --out, nor inside any zip entry.
    const forms = secretForms(SECRET);
    const leaks = [...leaksIn('stdout', Buffer.from(run.stdout), forms), ...leaksIn('stderr', Buffer.from(run.stderr), forms)];
    const files = await filesUnder(run.out);
    expect(files.map((file) => path.relative(run.out, file))).toEqual(expect.arrayContaining(['results.json', 'junit.xml']));
    let zips = 0;
    let redactedEntries = 0;
    for (const file of files) {
      const bytes = await readFile(file);
      leaks.push(...leaksIn(path.relative(run.out, file), bytes, forms));
      if (!file.endsWith('.zip')) continue;
      zips++;
      for (const [name, entry] of Object.entries(unzipSync(new Uint8Array(bytes)))) {
        leaks.push(...leaksIn(`${path.relative(run.out, file)} » ${name}`, entry, forms));
        if (Buffer.from(entry).includes('[REDACTED')) redactedEntries++;
      }
    }
    expect(leaks).toEqual([]);
    expect(zips, 'one trace zip').toBe(1);
    // The trace did hold the secret (the scrubber had something to redact): the scan above looked at the right bytes.
    expect(redactedEntries).toBeGreaterThan(0);

    // The failure screenshot: the field and the paragraph showing the secret are solid #FF00FF.
    const { png: pngBytes } = await expectEvidence(run, 'vault shows the password', 'alice');
    const png = PNG.sync.read(pngBytes);
    expect([png.width, png.height]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    expect(unmasked(png, PASSWORD_BOX), 'the password field is masked').toEqual([]);
    expect(unmasked(png, ECHO_BOX), 'the paragraph echoing the password is masked').toEqual([]);
    // Controls: the mask is where the secret is, not everywhere.
    expect(pixel(png, 300, 250)).toEqual([255, 255, 255, 255]);
    expect(unmasked(png, { ...BUTTON_BOX, width: 1, height: 1, left: BUTTON_BOX.left + 50, top: BUTTON_BOX.top + 15 })).toHaveLength(1);
  });
});

// ---- 6. lifecycle ----------------------------------------------------------------

describe('the browser processes of a run', () => {
  it('SIGINT while a browser journey waits: exit 130 on its own, reports written, no Chromium left', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const processes = new RunProcesses();
    const watch = processes.options();
    let sent = false;
    const run = await runJourneys(
      {
        'waits.yaml': `name: waits with a page open
timeout: 30s
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - name: the page is open
    http: { url: "{{ env.WEB }}/ready" }
  - name: a long wait
    wait: 10s
  - name: never appears
    browser.expectVisible: { as: alice, target: { label: Nope }, within: 20s }
`,
      },
      [],
      {
        env: { WEB: site.url, ...watch.env },
        onSpawn: (pid, output) => {
          watch.onSpawn?.(pid, output);
          // /ready is called after the page loaded; a moment later the journey is in its 10s wait.
          let readyAt: number | undefined;
          const timer = setInterval(() => {
            if (site.ready() === 0) return;
            readyAt ??= Date.now();
            if (Date.now() - readyAt < 300) return;
            clearInterval(timer);
            try {
              process.kill(pid, 'SIGINT');
              sent = true;
            } catch {
              // Already gone: `sent` stays false and the test says so.
            }
          }, 50);
          cleanup.add({ close: () => clearInterval(timer) });
        },
      },
    );
    expect(sent, show(run)).toBe(true);
    expect(run.killed, show(run)).toBe(false);
    expect(run.signal, show(run)).toBeNull();
    expect(run.code, show(run)).toBe(130);
    expect(run.json).toMatchObject({ interrupted: true, status: 'interrupted', exitCode: 130 });
    const outcome = outcomeOf(run.json, 'waits with a page open');
    expect(outcome.step?.name).toBe('a long wait');
    expect(outcome.failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
    expect(outcome.journey.attempts[0]?.steps.map((step) => step.status)).toEqual(['passed', 'passed', 'passed', 'error', 'skipped']);
    expect(run.stderr).toContain('SIGINT received');
    // The orderly stop still collected the page's evidence before closing the browser.
    await expectEvidence(run, 'waits with a page open', 'alice');
    expect(run.junit).toContain('CEIL_INTERRUPTED');
    expect(processes.browsers().length, 'the watch saw the browser').toBeGreaterThan(0);
    await processes.expectAllGone();
  });

  it('a passing browser run leaves no Chromium behind', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const processes = new RunProcesses();
    const watch = processes.options();
    const run = await runJourneys(
      {
        'passes.yaml': `name: passes
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectVisible: { as: alice, target: { role: heading, name: Welcome } }
`,
      },
      [],
      { env: { WEB: site.url, ...watch.env }, onSpawn: watch.onSpawn! },
    );
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(0);
    expect(processes.browsers().length, 'the watch saw the browser').toBeGreaterThan(0);
    await processes.expectAllGone();
  });
});

// ---- 7. Playwright stays unloaded ------------------------------------------------

/**
 * A preload for `node --import`, as test/bench/bare/trace-loads.mjs does it:
 * ESM resolutions through a module.register() resolve hook (which runs in the
 * loader thread, so it appends to a file) and CommonJS through Module._load.
 */
const TRACE_PRELOAD = `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
const file = process.env.CEILING_E2E_LOAD_TRACE;
if (file) {
  const load = Module._load;
  Module._load = function tracedLoad(request, parent, isMain) {
    appendFileSync(file, 'cjs ' + request + '\\n');
    return load.apply(this, [request, parent, isMain]);
  };
  register('./trace-hooks.mjs', import.meta.url, { data: { file } });
}
`;
const TRACE_HOOKS = `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data?.file; }
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file) appendFileSync(file, 'esm ' + specifier + ' -> ' + resolved.url + '\\n');
  return resolved;
}
`;

describe('loading Playwright', () => {
  it('an HTTP-only run never loads it; a browser run does (the detector works)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const site = cleanup.add(await startSite());
    const tracer = await cleanup.dir({ 'trace-loads.mjs': TRACE_PRELOAD, 'trace-hooks.mjs': TRACE_HOOKS });
    const nodeOptions = `--import=${pathToFileURL(path.join(tracer, 'trace-loads.mjs')).href}`;

    async function traced(name: string, journey: string): Promise<{ run: BrowserRun; loads: string }> {
      const traceFile = path.join(tracer, `${name}.log`);
      const run = await runJourneys({ [`${name}.yaml`]: journey }, [], {
        env: { WEB: site.url, NODE_OPTIONS: nodeOptions, CEILING_E2E_LOAD_TRACE: traceFile },
      });
      const loads = await readFile(traceFile, 'utf8').catch(() => '');
      return { run, loads };
    }

    const http = await traced(
      'http',
      `name: http only
steps:
  - http: { url: "{{ env.WEB }}/" }
    expect: { status: 200 }
`,
    );
    expect(http.run.code, show(http.run)).toBe(0);
    // The tracer ran in the CLI: it saw the CLI's own imports.
    expect(http.loads).toMatch(/^esm node:/m);
    expect(http.loads).not.toMatch(/playwright/i);

    const browser = await traced(
      'browser',
      `name: browser
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.WEB }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectTitle: { as: alice, equals: Home }
`,
    );
    expect(browser.run.code, show(browser.run)).toBe(0);
    expect(browser.loads).toMatch(/^esm playwright-core -> /m);
  });
});
