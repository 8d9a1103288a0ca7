import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJourney, type JourneyRunOptions } from '../../src/engine/journey-runner.js';
import { SharedResources } from '../../src/engine/shared-resources.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import type { Journey } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { BrowserHost, type LaunchedBrowser } from '../../src/steps/browser/launch.js';
import { BROWSER_RESOURCE } from '../../src/steps/executor.js';
import { TestSite, chromiumProcesses, eventually, html } from './browser-harness.js';

/**
 * One browser for a long-lived process (serve's daemon, the gate's rounds):
 * shared across runs, a fresh context per run, started again when it dies,
 * and a cap on contexts in flight.
 */

let scratch: string;
let site: TestSite;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ceiling-browser-host-'));
  site = await TestSite.start({
    '/': html('<!doctype html><title>Home</title><h1>Welcome</h1>'),
    '/hang': () => undefined,
  });
});

afterAll(async () => {
  await site.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function journey(name: string, stepsYaml: string): Promise<Journey> {
  const { journey: loaded, diagnostics } = await loadJourneyText(`${name}.yaml`, `name: ${name}\ntimeout: 20s\nsteps:\n${stepsYaml}`);
  if (!loaded) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return loaded;
}

function runOptions(resources: SharedResources, overrides: Partial<JourneyRunOptions> = {}): JourneyRunOptions {
  return {
    retries: 0,
    vars: {},
    env: (name) => (name === 'SITE' ? site.url : undefined),
    secret: () => undefined,
    redactor: new Redactor(),
    resources,
    signal: new AbortController().signal,
    outDir: scratch,
    trace: 'off',
    ...overrides,
  };
}

const visit = `  - browser.open: { as: alice, baseUrl: "{{ env.SITE }}" }
  - browser.goto: { as: alice, url: / }
  - browser.expectTitle: { as: alice, equals: Home }
`;

describe('a browser shared by the runs of a daemon', () => {
  it('serves every run from one browser, and after it is killed mid-run the next run gets a new one', async () => {
    const daemon = new SharedResources();
    try {
      const first = await runJourney(await journey('first', visit), runOptions(new SharedResources(daemon)));
      const second = await runJourney(await journey('second', visit), runOptions(new SharedResources(daemon)));
      expect([first.status, second.status]).toEqual(['passed', 'passed']);
      const host = daemon.shared<BrowserHost>(
        BROWSER_RESOURCE,
        () => {
          throw new Error('the daemon should already hold the browser');
        },
        () => undefined,
      );
      expect(host.launches).toBe(1);
      expect(host.contextsInFlight).toBe(0);

      // Kill Chromium while a run waits on a page that never answers.
      const killed = await runJourney(
        await journey('killed', `  - browser.open: { as: alice, baseUrl: "{{ env.SITE }}" }\n  - browser.goto: { as: alice, url: /hang }\n`),
        runOptions(new SharedResources(daemon), {
          onStepEnd: (_ref, step) => {
            if (step.kind !== 'browser.open') return;
            const main = chromiumProcesses().find((entry) => entry.command.includes('--user-data-dir=') && !entry.command.includes('--type='));
            if (main) process.kill(main.pid, 'SIGKILL');
          },
        }),
      );
      expect(killed.status).toBe('error');
      expect(killed.attempts[0]!.failure!.code).toMatch(/^CEIL_BROWSER_/);
      expect(killed.attempts[0]!.failure!.code).not.toBe('CEIL_INTERNAL');

      const after = await runJourney(await journey('after', visit), runOptions(new SharedResources(daemon)));
      expect(after.status).toBe('passed');
      expect(host.launches).toBe(2);
      expect(host.contextsInFlight).toBe(0);
    } finally {
      await daemon.closeAll();
    }
    await eventually(() => chromiumProcesses().length === 0, 'Chromium to exit', 10_000);
  });
});

describe('BrowserHost', () => {
  const fakeBrowser = () => {
    const listeners: (() => void)[] = [];
    return {
      isConnected: () => true,
      once: (_event: string, listener: () => void) => listeners.push(listener),
      close: async () => undefined,
    } as unknown as LaunchedBrowser['browser'];
  };

  it('tries again on the next call after a launch failed, and reports the failure to the caller', async () => {
    let calls = 0;
    const host = new BrowserHost({}, async () => {
      calls++;
      if (calls === 1) throw new Error('cannot start the browser');
      return { browser: fakeBrowser(), found: { executable: '/fake', source: 'system' } };
    });
    await expect(host.browser()).rejects.toThrow('cannot start the browser');
    await expect(host.browser()).resolves.toMatchObject({ found: { executable: '/fake' } });
    expect(calls).toBe(2);
    // A healthy browser is kept.
    await host.browser();
    expect(calls).toBe(2);
    await host.close();
  });

  it('caps the contexts in flight: one more waits for a free slot, and an abort while waiting gives up the wait', async () => {
    const host = new BrowserHost({}, async () => ({ browser: fakeBrowser(), found: { executable: '/fake', source: 'system' } }), 1);
    const releaseFirst = await host.acquireContext(new AbortController().signal);
    let secondGotIt = false;
    const second = host.acquireContext(new AbortController().signal).then((release) => {
      secondGotIt = true;
      return release;
    });
    const giveUp = new AbortController();
    const third = host.acquireContext(giveUp.signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondGotIt).toBe(false);
    giveUp.abort(new Error('the step gave up'));
    await expect(third).rejects.toThrow('the step gave up');
    releaseFirst();
    releaseFirst();
    const releaseSecond = await second;
    expect(host.contextsInFlight).toBe(1);
    releaseSecond();
    expect(host.contextsInFlight).toBe(0);
    await host.close();
  });
});
