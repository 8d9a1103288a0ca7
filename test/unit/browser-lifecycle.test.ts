import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJourney, type JourneyRunOptions } from '../../src/engine/journey-runner.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { StepFailure } from '../../src/core/failure.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { BrowserActor } from '../../src/steps/browser/actor.js';
import { findChromium, SYSTEM_BROWSER_CANDIDATES } from '../../src/steps/browser/discovery.js';
import { launchChromium, launchPlan } from '../../src/steps/browser/launch.js';
import { CountingResources, Session, TestSite, chromiumProcesses, compile, eventually, failureOf, html, processTable } from './browser-harness.js';

let scratch: string;
let fakeBrowser: string;
let site: TestSite;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ceiling-browser-lifecycle-'));
  fakeBrowser = path.join(scratch, 'fake-chrome');
  await writeFile(fakeBrowser, '#!/bin/sh\nexit 0\n');
  await chmod(fakeBrowser, 0o755);
  site = await TestSite.start({
    '/': html('<!doctype html><title>Home</title><h1>Welcome</h1>'),
    '/form': html('<!doctype html><title>Form</title><label>Note <textarea></textarea></label>'),
    '/hang': () => undefined,
  });
});

afterAll(async () => {
  await site.stop();
  await rm(scratch, { recursive: true, force: true });
});

const noPlaywright = () => path.join(os.tmpdir(), 'no-such-playwright-chromium');

function notFound(run: () => unknown): StepFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof StepFailure) return error;
    throw error;
  }
  throw new Error('expected discovery to fail');
}

describe('finding Chromium', () => {
  it('takes --browser-path first, and names it when it is missing or unusable', async () => {
    expect(findChromium({ browserPath: fakeBrowser, playwrightExecutable: () => '/usr/bin/chromium', env: {} })).toEqual({
      executable: fakeBrowser,
      source: 'browser-path',
    });
    expect(findChromium({ env: { CEILING_BROWSER_PATH: fakeBrowser } })).toEqual({ executable: fakeBrowser, source: 'browser-path' });
    const missing = notFound(() => findChromium({ browserPath: '/opt/nowhere/chrome', env: {} }));
    expect([missing.failureClass, missing.code]).toEqual(['config', 'CEIL_BROWSER_PATH_INVALID']);
    expect(missing.message).toContain('/opt/nowhere/chrome');
    expect(missing.message).toContain('does not exist');
    const plain = path.join(scratch, 'not-executable');
    await writeFile(plain, 'just text');
    await chmod(plain, 0o644);
    expect(notFound(() => findChromium({ browserPath: plain, env: {} })).message).toContain('is not executable');
  });

  it("then Playwright's own Chromium, when it is installed", () => {
    expect(findChromium({ playwrightExecutable: () => fakeBrowser, env: {} })).toEqual({ executable: fakeBrowser, source: 'playwright' });
  });

  it('then the system one, from the built-in list or CEILING_SYSTEM_BROWSERS, with bare names looked up on PATH', () => {
    expect(SYSTEM_BROWSER_CANDIDATES.slice(0, 5)).toEqual([
      '/usr/bin/chromium',
      '/usr/bin/chromium-browser',
      '/usr/bin/google-chrome',
      '/usr/bin/google-chrome-stable',
      '/snap/bin/chromium',
    ]);
    // This machine, like CI, has Debian's chromium and no Playwright download.
    expect(findChromium({ playwrightExecutable: noPlaywright, env: { PATH: process.env.PATH } })).toEqual({
      executable: '/usr/bin/chromium',
      source: 'system',
    });
    expect(findChromium({ playwrightExecutable: noPlaywright, env: { CEILING_SYSTEM_BROWSERS: `/nope/chrome:${fakeBrowser}` } })).toEqual({
      executable: fakeBrowser,
      source: 'system',
    });
    expect(findChromium({ playwrightExecutable: noPlaywright, env: { CEILING_SYSTEM_BROWSERS: 'fake-chrome', PATH: `/nope:${scratch}` } })).toEqual({
      executable: fakeBrowser,
      source: 'system',
    });
  });

  it('fails as a config error that names every way to get a browser when there is none', () => {
    const none = notFound(() => findChromium({ playwrightExecutable: noPlaywright, env: { CEILING_SYSTEM_BROWSERS: '' } }));
    expect([none.failureClass, none.code]).toEqual(['config', 'CEIL_BROWSER_NOT_FOUND']);
    for (const way of ['apt-get install chromium', 'npx playwright install chromium', '--browser-path /path/to/chrome', 'CEILING_BROWSER_PATH']) {
      expect(none.message).toContain(way);
    }
  });

  it('reports a bad --browser-path from browser.open as a config failure', async () => {
    const resources = new CountingResources();
    const session = new Session({ resources, outDir: scratch, browserPath: '/opt/nowhere/chrome' });
    try {
      const failure = await failureOf(session.run((await compile('- browser.open: { as: alice }'))[0]));
      expect([failure.failureClass, failure.code]).toEqual(['config', 'CEIL_BROWSER_PATH_INVALID']);
    } finally {
      await session.close();
      await resources.closeAll();
    }
  });
});

describe('launching', () => {
  it('passes --no-sandbox only to a root process, and keeps background networking off', () => {
    const root = launchPlan(true);
    const user = launchPlan(false);
    expect(root.args).toContain('--no-sandbox');
    expect(root.chromiumSandbox).toBe(false);
    expect(user.args).not.toContain('--no-sandbox');
    expect(user.chromiumSandbox).toBe(true);
    for (const flag of ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage']) {
      expect(root.args).toContain(flag);
      expect(user.args).toContain(flag);
    }
    const features = user.args
      .find((arg) => arg.startsWith('--disable-features='))!
      .slice('--disable-features='.length)
      .split(',');
    expect(features).toEqual(expect.arrayContaining(['Translate', 'OptimizationHints', 'MediaRouter']));
  });

  it("launches with our --disable-features last, keeping all of Playwright's", async () => {
    const launched = await launchChromium();
    try {
      const main = chromiumProcesses().find((entry) => entry.command.includes('--remote-debugging-pipe'));
      expect(main).toBeDefined();
      const lists = main!.command
        .split(' ')
        .filter((arg) => arg.startsWith('--disable-features='))
        .map((arg) => arg.slice('--disable-features='.length).split(','));
      // Chromium honours only the last one.
      const effective = lists.at(-1)!;
      for (const list of lists) expect(effective).toEqual(expect.arrayContaining(list));
      expect(effective).toEqual(expect.arrayContaining(['Translate', 'OptimizationHints', 'MediaRouter']));
    } finally {
      await launched.browser.close();
    }
  });

  it('sends nothing anywhere but to the pages it is told to open', async () => {
    // Chromium's own network log records every DNS query and every connection, the browser's background work included.
    const netLog = path.join(scratch, 'net-log.json');
    const launched = await launchChromium({ extraArgs: [`--log-net-log=${netLog}`] });
    try {
      const actor = await BrowserActor.open(launched.browser, { name: 'alice', insecure: false, trace: true }, new AbortController().signal);
      await actor.page.goto(`${site.url}/form`);
      // Typing into a field is what makes a full Chromium fetch spell-check dictionaries.
      await actor.page.getByLabel('Note').fill('a sentance with speling mistakes');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await actor.shutdown();
    } finally {
      await launched.browser.close();
    }
    const log = JSON.parse(await readFile(netLog, 'utf8')) as {
      constants: { logEventTypes: Record<string, number> };
      events: { type: number; params?: Record<string, unknown> }[];
    };
    const names = new Map(Object.entries(log.constants.logEventTypes).map(([name, id]) => [id, name]));
    const connects: string[] = [];
    const outside: string[] = [];
    for (const event of log.events) {
      const name = names.get(event.type);
      const address = typeof event.params?.address === 'string' ? event.params.address : undefined;
      if (name === 'TCP_CONNECT_ATTEMPT' && address) {
        connects.push(address);
        if (!/^(127\.|\[::1\])/.test(address)) outside.push(`tcp ${address}`);
      }
      if (name === 'DNS_TRANSACTION' && event.params?.hostname) outside.push(`dns ${String(event.params.hostname)}`);
      // Chromium's IPv6 reachability probe connects a UDP socket to a public address to learn a route; it sends nothing.
      if (name === 'UDP_CONNECT' && address && address !== '[2001:4860:4860::8888]:443' && !address.startsWith('127.')) outside.push(`udp ${address}`);
    }
    // The log is read right: the page's own connections are in it.
    expect(connects).toContain(new URL(site.url).host);
    expect(outside).toEqual([]);
  });
});

async function journey(name: string, stepsYaml: string): Promise<Journey> {
  const { journey: loaded, diagnostics } = await loadJourneyText(
    `${name}.yaml`,
    `name: ${name}\ntimeout: 20s\nsteps:\n${stepsYaml.replace(/^\s*\n/, '').trimEnd()}\n`,
  );
  if (!loaded) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return loaded;
}

function runOptions(resources: CountingResources, signal: AbortSignal): JourneyRunOptions {
  return {
    retries: 0,
    vars: {},
    env: (name) => (name === 'SITE' ? site.url : undefined),
    secret: () => undefined,
    redactor: new Redactor(),
    resources,
    signal,
    outDir: scratch,
  };
}

/** The user-data-dir Playwright gave the browser: it exists while Chromium runs and goes with it. */
function userDataDir(): string {
  const main = chromiumProcesses().find((entry) => entry.command.includes('--user-data-dir='));
  const dir = /--user-data-dir=(\S+)/.exec(main?.command ?? '')?.[1];
  if (!dir) throw new Error('no running Chromium with a user-data-dir');
  return dir;
}

describe('one browser per run, and nothing left behind', () => {
  it('launches once for two journeys, and after the run no Chromium process or profile remains', async () => {
    const resources = new CountingResources();
    const options = runOptions(resources, new AbortController().signal);
    let profile: string | undefined;
    const seenDuringRun: number[] = [];
    const first = await runJourney(
      await journey(
        'first',
        `
  - browser.open: { as: alice, baseUrl: "{{ env.SITE }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectText: { as: alice, target: { role: heading }, text: Welcome }
`,
      ),
      {
        ...options,
        onStepEnd: () => {
          profile ??= userDataDir();
          seenDuringRun.push(chromiumProcesses().length);
        },
      },
    );
    const second = await runJourney(
      await journey(
        'second',
        `
  - browser.open: { as: bob, baseUrl: "{{ env.SITE }}" }
  - browser.goto: { as: bob, url: / }
  - browser.expectTitle: { as: bob, equals: Home }
`,
      ),
      options,
    );
    expect([first.status, second.status]).toEqual(['passed', 'passed']);
    expect(resources.created.get('browser')).toBe(1);
    expect(Math.min(...seenDuringRun)).toBeGreaterThan(0);
    expect(existsSync(profile!)).toBe(true);
    await resources.closeAll();
    await eventually(() => chromiumProcesses().length === 0, 'Chromium to exit');
    expect(processTable().filter((entry) => entry.command.includes(profile!))).toEqual([]);
    await eventually(() => !existsSync(profile!), 'the profile to be removed');
  });

  it('leaves nothing behind when the run is interrupted mid-step', async () => {
    const resources = new CountingResources();
    const interrupt = new AbortController();
    let profile: string | undefined;
    const pending = runJourney(
      await journey(
        'interrupted',
        `
  - browser.open: { as: alice, baseUrl: "{{ env.SITE }}" }
  - browser.goto: { as: alice, url: /hang }
`,
      ),
      {
        ...runOptions(resources, interrupt.signal),
        onStepEnd: () => {
          profile = userDataDir();
          // The goto to /hang is under way once the open has ended; interrupt it shortly after.
          setTimeout(() => interrupt.abort(), 300);
        },
      },
    );
    const result = await pending;
    expect(result.attempts[0]?.failure?.class).toBe('interrupted');
    expect(result.attempts[0]?.cleanupErrors).toEqual([]);
    // A navigation still pending when the run stopped does not keep the evidence from being taken.
    expect(result.attempts[0]?.attachments?.map((attachment) => attachment.name)).toEqual(['screenshot alice', 'trace alice']);
    await resources.closeAll();
    await eventually(() => chromiumProcesses().length === 0, 'Chromium to exit');
    expect(processTable().filter((entry) => entry.command.includes(profile!))).toEqual([]);
  });
});
