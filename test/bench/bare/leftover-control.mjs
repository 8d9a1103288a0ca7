// Positive control for the bench's leftover check: starts the bench's Chromium,
// with the same flags and a profile under this process's TMPDIR (as Playwright
// would), detached and unowned, and exits leaving it running. A browser that
// Playwright launched exits with its pipe when its node process dies, so a
// leftover needs something like this: the bench must find what this leaves
// behind, and then kills it. Not compiled by tsc.
//
//   BARE_BROWSER=... BARE_BROWSER_ARGS=[json] node leftover-control.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const executable = process.env.BARE_BROWSER;
let args;
try {
  args = JSON.parse(process.env.BARE_BROWSER_ARGS ?? '[]');
} catch {
  args = undefined;
}
if (!executable || !Array.isArray(args)) {
  process.stderr.write('usage: BARE_BROWSER=... BARE_BROWSER_ARGS=[json] node leftover-control.mjs\n');
  process.exit(2);
}
const profile = mkdtempSync(path.join(tmpdir(), 'playwright_chromiumdev_profile-'));
const child = spawn(executable, ['--headless', ...args, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
  detached: true,
  stdio: 'ignore',
});
child.unref();
// Long enough for the browser to start its zygotes and helpers, so they are left behind too.
await new Promise((resolve) => setTimeout(resolve, 1_500));
