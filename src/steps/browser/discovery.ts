import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { configError } from '../../core/failure.js';

/**
 * Where the Chromium for browser steps comes from, in a fixed order: the one
 * the user named, then Playwright's own download, then the system's. The
 * first that exists wins; nothing is ever downloaded.
 */

/** Debian and Ubuntu packages, Google's packages and the snap, in the order a user most likely has them. */
export const SYSTEM_BROWSER_CANDIDATES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
];

export type BrowserSource = 'browser-path' | 'playwright' | 'system';

export interface FoundBrowser {
  executable: string;
  source: BrowserSource;
}

export interface DiscoveryOptions {
  /** --browser-path, already merged with CEILING_BROWSER_PATH by the CLI. */
  browserPath?: string;
  /** Read for CEILING_BROWSER_PATH, CEILING_SYSTEM_BROWSERS and PATH; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where Playwright's own Chromium would be; defaults to asking playwright-core. Tests replace it. */
  playwrightExecutable?: () => string | undefined;
}

type Probe = { ok: true } | { ok: false; reason: string };

function probe(file: string): Probe {
  try {
    if (!statSync(file).isFile()) return { ok: false, reason: 'is not a file' };
    accessSync(file, constants.X_OK);
    return { ok: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'does not exist' };
    if (code === 'EACCES') return { ok: false, reason: 'is not executable' };
    return { ok: false, reason: (error as Error).message };
  }
}

/** A bare name is looked up on PATH, like a shell would; anything with a slash is a path. */
function resolveCandidate(candidate: string, pathVariable: string | undefined): string | undefined {
  if (candidate.includes('/')) return probe(path.resolve(candidate)).ok ? path.resolve(candidate) : undefined;
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, candidate);
    if (probe(file).ok) return file;
  }
  return undefined;
}

function playwrightDefault(): string | undefined {
  try {
    // Throws on platforms Playwright has no build for; then there is simply no such browser.
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

export const BROWSER_NOT_FOUND_HINT =
  'install one: `apt-get install chromium` (Debian/Ubuntu), or `npx playwright install chromium`; ' +
  'or name one with --browser-path /path/to/chrome or CEILING_BROWSER_PATH';

export function findChromium(options: DiscoveryOptions = {}): FoundBrowser {
  const env = options.env ?? process.env;
  const named = options.browserPath ?? (env.CEILING_BROWSER_PATH || undefined);
  if (named !== undefined) {
    const executable = named.includes('/') ? path.resolve(named) : resolveCandidate(named, env.PATH);
    const checked = executable === undefined ? ({ ok: false, reason: 'is not on PATH' } as const) : probe(executable);
    if (!checked.ok || executable === undefined) {
      throw configError(
        'CEIL_BROWSER_PATH_INVALID',
        `the browser named by --browser-path or CEILING_BROWSER_PATH (${named}) ${checked.ok ? 'cannot be used' : checked.reason}`,
        {
          hint: 'point it at a Chromium or Chrome executable, or leave it unset to use the one Playwright installed or the system one',
        },
      );
    }
    return { executable, source: 'browser-path' };
  }

  const bundled = (options.playwrightExecutable ?? playwrightDefault)();
  if (bundled && probe(bundled).ok) return { executable: bundled, source: 'playwright' };

  // Packagers know where their distribution puts Chromium; an empty list means "use no system browser".
  const override = env.CEILING_SYSTEM_BROWSERS;
  const candidates = override === undefined ? SYSTEM_BROWSER_CANDIDATES : override.split(':').filter((entry) => entry !== '');
  for (const candidate of candidates) {
    const executable = resolveCandidate(candidate, env.PATH);
    if (executable) return { executable, source: 'system' };
  }

  const looked = [bundled ? `Playwright's ${bundled}` : "Playwright's browsers", ...candidates];
  throw configError('CEIL_BROWSER_NOT_FOUND', `browser steps need Chromium or Chrome, and none was found; ${BROWSER_NOT_FOUND_HINT}`, {
    actual: `looked for: ${looked.join(', ')}`,
    hint: BROWSER_NOT_FOUND_HINT,
  });
}
