import { chromium, type Browser } from 'playwright-core';
import { StepFailure, configError } from '../../core/failure.js';
import { BROWSER_RESOURCE, type RunResources, type RunSettings, type StepContext } from '../executor.js';
import { findChromium, type DiscoveryOptions, type FoundBrowser } from './discovery.js';
import { plainMessage, withTimeout } from './bounds.js';

export { BROWSER_RESOURCE } from '../executor.js';

/** A cold Chromium starts in well under a second; a slow CI box under load gets generous room before this becomes a finding. */
const LAUNCH_TIMEOUT_MS = 30_000;
/** Closing asks Chromium nicely first; past this the run moves on and Playwright's exit handler kills the process group. */
const CLOSE_LIMIT_MS = 5_000;

/**
 * Chromium honours only the last --disable-features on its command line, and
 * Playwright passes its own list first, so ours repeats Playwright 1.65's list
 * (which also keeps start-up from calling Google) with our additions. A test
 * checks this stays a superset of what Playwright actually passes.
 */
const DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
  // Ours: translation, model downloads and cast discovery all phone home, and this machine's network is closed.
  'Translate',
  'OptimizationGuideModelDownloading',
  'DialMediaRouteProvider',
  'CertificateTransparencyComponentUpdater',
  'AutofillServerCommunication',
  'InterestFeedContentSuggestions',
];

/** Port 9 (discard) is on Chromium's list of ports it never connects to, so a request sent here ends before any socket opens. */
const NOWHERE = 'http://127.0.0.1:9';

export interface LaunchPlan {
  args: string[];
  /** False makes Playwright pass --no-sandbox. */
  chromiumSandbox: boolean;
}

/**
 * Chromium refuses to run its sandbox as root, which is how containers and CI
 * usually run; anyone else keeps the sandbox. /dev/shm is tiny in containers,
 * so shared memory goes to /tmp. Nothing in the background may reach the network.
 */
export function launchPlan(isRoot = process.getuid?.() === 0): LaunchPlan {
  return {
    chromiumSandbox: !isRoot,
    args: [
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-dev-shm-usage',
      '--disable-domain-reliability',
      '--disable-client-side-phishing-detection',
      '--no-pings',
      '--metrics-recording-only',
      `--disable-features=${DISABLED_FEATURES.join(',')}`,
      // A full Chromium (Debian's, unlike Playwright's headless shell) still calls home in three ways that no switch turns off,
      // measured with --log-net-log: the component updater, the Google-account cookie check (ListAccounts) and the spell-check
      // dictionary download. The first two are pointed at a port Chromium itself refuses to use; the download host never resolves.
      `--component-updater=url-source=${NOWHERE}`,
      `--gaia-url=${NOWHERE}`,
      '--host-resolver-rules=MAP redirector.gvt1.com ~NOTFOUND',
      ...(isRoot ? ['--no-sandbox'] : []),
    ],
  };
}

export interface LaunchedBrowser {
  browser: Browser;
  found: FoundBrowser;
}

export interface LaunchOptions extends DiscoveryOptions {
  /** Appended after ours; tests use it to route background traffic to a recording proxy. */
  extraArgs?: string[];
}

export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const found = findChromium(options);
  const plan = launchPlan();
  try {
    const browser = await chromium.launch({
      executablePath: found.executable,
      headless: true,
      args: [...plan.args, ...(options.extraArgs ?? [])],
      chromiumSandbox: plan.chromiumSandbox,
      timeout: LAUNCH_TIMEOUT_MS,
      // The CLI turns SIGINT/SIGTERM into an orderly stop that still collects evidence and closes the browser;
      // Playwright's own handlers would kill it underneath that, and on SIGINT even exit the process.
      // On a hard exit Playwright's 'exit' handler still kills Chromium's whole process group.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: true,
    });
    return { browser, found };
  } catch (error) {
    throw launchFailure(error, found);
  }
}

function launchFailure(error: unknown, found: FoundBrowser): StepFailure {
  const message = plainMessage(error).split('\n').slice(0, 6).join('\n');
  const sandbox = /sandbox/i.test(message) ? ' If it complains about the sandbox, run as root in the container or enable unprivileged user namespaces.' : '';
  return configError('CEIL_BROWSER_LAUNCH', `cannot start the browser ${found.executable} (found via ${found.source}): ${message}`, {
    hint: `check that it runs: ${found.executable} --headless --version; or pick another with --browser-path.${sandbox}`,
  });
}

/** Closes the run's browser at run end; never throws and never waits past its limit. */
export async function closeLaunched(launching: Promise<LaunchedBrowser>): Promise<void> {
  let launched: LaunchedBrowser;
  try {
    launched = await launching;
  } catch {
    return;
  }
  await withTimeout(launched.browser.close(), CLOSE_LIMIT_MS).catch(() => undefined);
}

/** Contexts one browser holds at once; more wait for a free slot (a daemon must not open contexts without limit). */
export const MAX_CONTEXTS_IN_FLIGHT = 16;

/**
 * The one browser of a run, or of a whole daemon: launched on first need,
 * launched again when it crashed, was killed or failed to start, so one bad
 * moment costs one run, not every later one. Contexts in flight are capped.
 */
export class BrowserHost {
  #launching: Promise<LaunchedBrowser> | undefined;
  #closed = false;
  #contexts = 0;
  readonly #waiting: (() => void)[] = [];
  /** How many launches were started; serve's tests and the bench read it. */
  launches = 0;

  constructor(
    private readonly options: LaunchOptions,
    private readonly launch: (options: LaunchOptions) => Promise<LaunchedBrowser> = launchChromium,
    readonly maxContexts = MAX_CONTEXTS_IN_FLIGHT,
  ) {}

  /** The running browser; not tied to any step's signal, so a later journey shares it even when the first gave up waiting. */
  browser(): Promise<LaunchedBrowser> {
    if (this.#closed) return Promise.reject(configError('CEIL_BROWSER_CLOSED', 'the browser was closed at the end of the run'));
    if (this.#launching) return this.#launching;
    this.launches++;
    const launching = this.launch(this.options);
    this.#launching = launching;
    launching.then(
      ({ browser }) => {
        // A crash or a kill: the next caller gets a fresh browser, and this one's contexts fail on their own.
        browser.once('disconnected', () => {
          if (this.#launching === launching) this.#launching = undefined;
        });
        if (!browser.isConnected() && this.#launching === launching) this.#launching = undefined;
      },
      () => {
        // Every step that awaits this launch reports its failure; the next one tries again.
        if (this.#launching === launching) this.#launching = undefined;
      },
    );
    return launching;
  }

  /** Waits for a free context slot (or the signal); the returned function frees it, once. */
  async acquireContext(signal: AbortSignal): Promise<() => void> {
    if (this.#contexts >= this.maxContexts) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = this.#waiting.indexOf(wake);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(wake);
      });
    } else {
      this.#contexts++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so the count stays right.
      if (next) next();
      else this.#contexts--;
    };
  }

  get contextsInFlight(): number {
    return this.#contexts;
  }

  /** Never throws and never waits past its limit. */
  async close(): Promise<void> {
    this.#closed = true;
    const launching = this.#launching;
    this.#launching = undefined;
    if (launching) await closeLaunched(launching);
  }
}

/** The run's browser host (the daemon's, in serve), created by the first step or by the run's preparation. */
export function browserHost(resources: RunResources, settings: RunSettings, launch?: (options: LaunchOptions) => Promise<LaunchedBrowser>): BrowserHost {
  return resources.shared(
    BROWSER_RESOURCE,
    () => new BrowserHost({ ...(settings.browserPath !== undefined ? { browserPath: settings.browserPath } : {}) }, launch),
    (host) => host.close(),
  );
}

/** The run's one browser, launched by the first browser.open that needs it (or before the first journey). */
export function sharedBrowser(context: StepContext, launch?: (options: LaunchOptions) => Promise<LaunchedBrowser>): Promise<LaunchedBrowser> {
  return browserHost(context.resources, context.settings, launch).browser();
}
