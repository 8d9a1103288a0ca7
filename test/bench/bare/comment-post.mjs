// Bare baseline for the comment-post journey, with playwright-core directly:
// one Chromium, and per journey a new context and page, goto, fill the
// "Comment" field, click "Post", wait until the status reads "Saved!", close
// the context. Not compiled by tsc; the bench runs it from the source folder.
//
//   COMMENTS_URL=http://127.0.0.1:PORT BARE_BROWSER=/usr/bin/chromium \
//   BARE_BROWSER_ARGS='["--flag", ...]' BARE_BROWSER_SANDBOX=0|1 \
//   node comment-post.mjs [journeys] [trace]
//
// With BARE_PRINT_TIMES=1 it prints each journey's wall time in ms, one a line
// ("journey N MS"), for the bench's per-run comparison with ceiling serve.
//
// The bench passes the executable and the launch flags Ceiling itself would
// use, so both sides start the same Chromium the same way. With "trace" every
// context records a Playwright trace the way Ceiling's browser actors do
// (snapshots, no screencast frames, no sources), discarded at the end like a
// passing journey's. Exits 0 when every journey passed, 1 with a message on
// the first failure.
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const base = process.env.COMMENTS_URL;
const executablePath = process.env.BARE_BROWSER;
const journeys = Number(process.argv[2] ?? 1);
const trace = process.argv[3] === 'trace';
let args;
try {
  args = JSON.parse(process.env.BARE_BROWSER_ARGS ?? '[]');
} catch {
  args = undefined;
}
if (
  !base ||
  !executablePath ||
  !Array.isArray(args) ||
  !Number.isInteger(journeys) ||
  journeys < 1 ||
  journeys > 1_000 ||
  (process.argv[3] ?? 'trace') !== 'trace'
) {
  process.stderr.write('usage: COMMENTS_URL=... BARE_BROWSER=... BARE_BROWSER_ARGS=[json] node comment-post.mjs [journeys 1..1000] [trace]\n');
  process.exit(2);
}

// The same per-step bounds as the bench journey: 10s for actions, 5s for the expectation (Ceiling's default `within`).
const STEP_MS = 10_000;
const EXPECT_MS = 5_000;

async function journey(browser, n) {
  const text = `bench ${randomBytes(9).toString('base64url').slice(0, 12)}`;
  const context = await browser.newContext();
  try {
    if (trace) await context.tracing.start({ snapshots: true, screenshots: false, sources: false, title: `journey ${n}` });
    const page = await context.newPage();
    await page.goto(`${base}/`, { timeout: STEP_MS, waitUntil: 'load' });
    await page.getByLabel('Comment').fill(text, { timeout: STEP_MS });
    await page.getByRole('button', { name: 'Post' }).click({ timeout: STEP_MS });
    await page
      .getByTestId('status')
      .filter({ hasText: /^\s*Saved!\s*$/ })
      .waitFor({ state: 'visible', timeout: EXPECT_MS })
      .catch(async (error) => {
        const shown = await page
          .getByTestId('status')
          .textContent({ timeout: 1_000 })
          .catch(() => '(unreadable)');
        throw new Error(`journey ${n}: status never read "Saved!" (last: ${JSON.stringify(shown)}): ${error.message.split('\n')[0]}`);
      });
  } finally {
    if (trace) await context.tracing.stop().catch(() => {});
    await context.close();
  }
}

// Bounded as a whole: a hung page must not hang the bench. Playwright's own
// exit handler kills the browser's process group when this exits early.
const overall = setTimeout(() => {
  process.stderr.write('bare comment-post: gave up after 50s\n');
  process.exit(1);
}, 50_000);
overall.unref();

let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args,
    chromiumSandbox: process.env.BARE_BROWSER_SANDBOX === '1',
    timeout: 30_000,
  });
  for (let n = 1; n <= journeys; n++) {
    const started = performance.now();
    await journey(browser, n);
    if (process.env.BARE_PRINT_TIMES === '1') process.stdout.write(`journey ${n} ${(performance.now() - started).toFixed(1)}\n`);
  }
} catch (error) {
  process.stderr.write(`bare comment-post: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
