/**
 * `ceiling show-report [path]`: points at the HTML report a run wrote
 * (`--reporter html`). It prints the report's path, or with `--serve` serves
 * it on 127.0.0.1 until SIGINT or SIGTERM. Only a person at a terminal gets
 * a browser opened for them: never in CI, a pipe or a test.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXIT } from '../core/exit-codes.js';
import { defaultOutputFiles } from '../report/index.js';
import { startReportServer } from './report-server.js';

export const DEFAULT_REPORT_PATH = path.join('ceiling-out', defaultOutputFiles.html);

export interface ShowReportFlags {
  serve: boolean;
  port: number;
}

const wantsBrowser = (): boolean => process.stdout.isTTY === true && !process.env.CI;

/** Best effort: a machine without a desktop has no opener, and the printed path or URL is enough. */
function openInBrowser(target: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [target]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', target]] : ['xdg-open', [target]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener at all: nothing to do.
  }
}

/** A folder means the report.html in it, so `ceiling show-report ceiling-out` works too. */
async function reportFile(given: string): Promise<string | undefined> {
  const resolved = path.resolve(given);
  try {
    const info = await stat(resolved);
    if (info.isFile()) return resolved;
    if (info.isDirectory()) {
      const inside = path.join(resolved, defaultOutputFiles.html);
      if ((await stat(inside)).isFile()) return inside;
    }
  } catch {
    // Missing: reported below.
  }
  return undefined;
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function showReportCommand(given: string | undefined, flags: ShowReportFlags): Promise<number> {
  const requested = given ?? DEFAULT_REPORT_PATH;
  const file = await reportFile(requested);
  if (file === undefined) {
    process.stderr.write(
      `ceiling show-report: no HTML report at ${requested}: write one with \`ceiling run --reporter html\` (or html=PATH), or give the report's path\n`,
    );
    return EXIT.invalid;
  }
  if (!flags.serve) {
    process.stdout.write(`${file}\n`);
    if (wantsBrowser()) openInBrowser(pathToFileURL(file).href);
    return EXIT.passed;
  }

  let server;
  try {
    server = await startReportServer(file, flags.port);
  } catch (error) {
    process.stderr.write(
      `ceiling show-report: cannot listen on 127.0.0.1:${flags.port}: ${(error as Error).message}; pick another --port, or 0 for any free one\n`,
    );
    return EXIT.invalid;
  }
  const stopped = waitForStopSignal();
  process.stdout.write(`serving ${file} at ${server.url} (Ctrl-C to stop)\n`);
  if (wantsBrowser()) openInBrowser(server.url);
  await stopped;
  await server.close();
  return EXIT.passed;
}
