/**
 * The runner's own health, for `npm run bench -- --only runner`:
 *
 * - the event-loop delay maximum of a mixed suite (WebSocket, HTTP and browser
 *   journeys at once) while journeys are live, as the run's JSON reports it,
 *   on a quiet machine and with a busy loop on every core;
 * - the first step's overhead: the duration Ceiling reports for one GET in a
 *   fresh process against the same GET timed in a bare undici script;
 * - serve's cost per browser run: the run durations `ceiling serve` records
 *   for a browser journey every second, against a bare Playwright script that
 *   reuses one browser with a fresh context per journey.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runChild } from './child.js';
import { ServeProcess } from './soak-serve.js';
import { formatMs, median, percentile, table } from './stats.js';

const CHILD_TIMEOUT_MS = 120_000;

export interface RunnerBenchSetup {
  cli: string;
  benchDir: string;
  work: string;
  /** With CHAT_URL, DROP_URL, COMMENTS_URL and the BARE_BROWSER* variables set. */
  env: NodeJS.ProcessEnv;
  runs: number;
  browserRuns: number;
  log: (line: string) => void;
}

interface RunReport {
  status?: string;
  runner?: { eventLoopDelayMaxMs?: number };
  journeys?: { name: string; status: string; attempts: { failure?: { message?: string }; steps: { durationMs: number; phases?: { totalMs: number } }[] }[] }[];
}

async function runCeiling(setup: RunnerBenchSetup, target: string, name: string, extra: string[] = []): Promise<RunReport> {
  const file = path.join(setup.work, `runner-${name}.json`);
  const result = await runChild({
    args: [setup.cli, 'run', target, '--reporter', `json=${file}`, ...extra],
    env: setup.env,
    cwd: setup.work,
    timeoutMs: CHILD_TIMEOUT_MS,
  });
  const report = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as RunReport;
  await rm(file, { force: true });
  if (result.code !== 0 || report.status !== 'passed') {
    const failed = (report.journeys ?? [])
      .filter((journey) => journey.status !== 'passed')
      .map((journey) => `${journey.name}: ${journey.attempts.at(-1)?.failure?.message ?? journey.status}`);
    throw new Error(`ceiling run ${name} did not pass (exit ${result.code}): ${failed.join('; ')}${result.stderr.slice(-500)}`);
  }
  return report;
}

/** Busy loops on every core, ended by their own pids. */
async function withHogs<T>(work: () => Promise<T>): Promise<T> {
  const hogs: ChildProcess[] = Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    return await work();
  } finally {
    await Promise.all(
      hogs.map(
        (hog) =>
          new Promise<void>((resolve) => {
            if (hog.exitCode !== null || hog.signalCode !== null) return resolve();
            hog.once('exit', () => resolve());
            hog.kill('SIGKILL');
          }),
      ),
    );
  }
}

async function mixedSuite(setup: RunnerBenchSetup): Promise<string> {
  const dir = path.join(setup.work, 'mixed');
  await mkdir(dir, { recursive: true });
  for (const file of ['chat-leave.yaml', 'comment-post.yaml', 'secret-roundtrip.yaml'])
    await copyFile(path.join(setup.benchDir, 'journeys', file), path.join(dir, file));
  return dir;
}

export interface RunnerResults {
  loopQuiet: number[];
  loopBusy: number[];
  firstStepMs: number[];
  firstStepWireMs: number[];
  bareFirstMs: number[];
  serveRunMs: number[];
  bareBrowserMs: number[];
}

export async function measureRunner(setup: RunnerBenchSetup): Promise<RunnerResults> {
  const mixed = await mixedSuite(setup);
  const loop = async (label: string): Promise<number[]> => {
    const delays: number[] = [];
    for (let run = 0; run < setup.browserRuns; run++) {
      setup.log(`  runner: mixed suite ${label}, run ${run + 1}/${setup.browserRuns}`);
      const report = await runCeiling(setup, mixed, `mixed-${label}-${run}`, ['--concurrency', '3']);
      delays.push(report.runner?.eventLoopDelayMaxMs ?? Number.NaN);
    }
    return delays;
  };
  const loopQuiet = await loop('quiet');
  const loopBusy = await withHogs(() => loop('busy'));

  const firstJourney = path.join(setup.work, 'first-step.yaml');
  await writeFile(firstJourney, 'name: first step\nsteps:\n  - http: { url: "{{ env.DROP_URL }}/health" }\n    expect: { status: 200 }\n');
  const firstStepMs: number[] = [];
  const firstStepWireMs: number[] = [];
  const bareFirstMs: number[] = [];
  for (let run = 0; run < setup.runs; run++) {
    setup.log(`  runner: first step, run ${run + 1}/${setup.runs}`);
    const report = await runCeiling(setup, firstJourney, `first-${run}`);
    const step = report.journeys?.[0]?.attempts[0]?.steps[0];
    firstStepMs.push(step?.durationMs ?? Number.NaN);
    firstStepWireMs.push(step?.phases?.totalMs ?? Number.NaN);
    const bare = await runChild({
      args: [path.join(setup.benchDir, 'bare', 'first-request.mjs'), `${setup.env.DROP_URL}/health`],
      env: setup.env,
      cwd: setup.work,
      timeoutMs: CHILD_TIMEOUT_MS,
    });
    if (bare.code !== 0) throw new Error(`bare first-request failed: ${bare.stderr}`);
    bareFirstMs.push(Number(bare.stdout.trim()));
  }

  const { serveRunMs } = await serveBrowserRuns(setup);
  setup.log('  runner: bare Playwright, one browser');
  const bare = await runChild({
    args: [path.join(setup.benchDir, 'bare', 'comment-post.mjs'), String(setup.browserRuns + 1)],
    env: { ...setup.env, BARE_PRINT_TIMES: '1' },
    cwd: setup.work,
    timeoutMs: CHILD_TIMEOUT_MS,
  });
  if (bare.code !== 0) throw new Error(`bare comment-post failed: ${bare.stderr}`);
  // The first journey warms the browser up, as serve's first run does; both sides drop it.
  const bareBrowserMs = bare.stdout
    .split('\n')
    .map((line) => /^journey (\d+) ([\d.]+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && match[1] !== '1')
    .map((match) => Number(match[2]));
  return { loopQuiet, loopBusy, firstStepMs, firstStepWireMs, bareFirstMs, serveRunMs, bareBrowserMs };
}

async function serveBrowserRuns(setup: RunnerBenchSetup): Promise<{ serveRunMs: number[] }> {
  const dir = path.join(setup.work, 'serve-browser');
  await mkdir(dir, { recursive: true });
  await copyFile(path.join(setup.benchDir, 'journeys', 'comment-post.yaml'), path.join(dir, 'comment-post.yaml'));
  const { serve, url } = await ServeProcess.start({
    cli: setup.cli,
    args: [dir, '--listen', '127.0.0.1:0', '--every', '1s', '--db', path.join(setup.work, 'serve-browser.db'), '--reload-interval', '0s'],
    env: setup.env,
    cwd: setup.work,
    readyTimeoutMs: 60_000,
  });
  const wanted = setup.browserRuns + 1;
  try {
    const runsUrl = `${url}/api/v1/journeys/${encodeURIComponent('bench comment post')}/runs?limit=200`;
    const until = Date.now() + wanted * 10_000 + 30_000;
    for (;;) {
      const body = (await (await fetch(runsUrl)).json()) as { runs: { durationMs: number; result: string; failureMessage?: string }[] };
      const failed = body.runs.find((run) => run.result !== 'passed');
      if (failed) throw new Error(`serve's browser run did not pass: ${failed.failureMessage ?? failed.result}`);
      setup.log(`  runner: serve browser runs ${body.runs.length}/${wanted}`);
      if (body.runs.length >= wanted) {
        // Newest first; the oldest (first) run is the warm-up.
        return { serveRunMs: body.runs.slice(0, -1).map((run) => run.durationMs) };
      }
      if (Date.now() > until) throw new Error(`serve recorded only ${body.runs.length} of ${wanted} runs in time`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    await serve.stop(10_000);
  }
}

/** A build without the figure (an older one, via CEILING_BENCH_CLI) reports NaN; shown as n/a. */
function known(values: readonly number[]): number[] {
  return values.filter((value) => Number.isFinite(value));
}

function medianOf(values: readonly number[]): number {
  return values.length > 0 ? median(values) : Number.NaN;
}

function show(value: number): string {
  return Number.isFinite(value) ? formatMs(value) : 'n/a';
}

export function renderRunner(raw: RunnerResults): string {
  const results: RunnerResults = {
    ...raw,
    loopQuiet: known(raw.loopQuiet),
    loopBusy: known(raw.loopBusy),
    firstStepWireMs: known(raw.firstStepWireMs),
  };
  const rows: string[][] = [['runner case', 'runs', 'ceiling median', 'ceiling max / p90', 'baseline median', 'figure', 'goal', '']];
  const quietMax = results.loopQuiet.length > 0 ? Math.max(...results.loopQuiet) : Number.NaN;
  rows.push([
    'event-loop delay max, mixed suite, quiet',
    String(results.loopQuiet.length),
    show(medianOf(results.loopQuiet)),
    show(quietMax),
    '—',
    show(quietMax),
    '< 100 ms',
    quietMax < 100 ? '✓' : '✗',
  ]);
  const busyMax = results.loopBusy.length > 0 ? Math.max(...results.loopBusy) : Number.NaN;
  rows.push([
    'event-loop delay max, mixed suite, busy loop on every core',
    String(results.loopBusy.length),
    show(medianOf(results.loopBusy)),
    show(busyMax),
    '—',
    show(busyMax),
    '(info)',
    '',
  ]);
  const overhead = median(results.firstStepMs) - median(results.bareFirstMs);
  rows.push([
    'first step (GET /health) vs bare undici warmed alike, fresh process',
    String(results.firstStepMs.length),
    formatMs(median(results.firstStepMs)),
    formatMs(percentile(results.firstStepMs, 90)),
    formatMs(median(results.bareFirstMs)),
    `${overhead >= 0 ? '+' : '−'}${formatMs(Math.abs(overhead))}`,
    '< 2 ms',
    overhead < 2 ? '✓' : '✗',
  ]);
  const serveRatio = median(results.serveRunMs) / median(results.bareBrowserMs);
  rows.push([
    'serve browser run vs bare Playwright reusing one browser',
    String(results.serveRunMs.length),
    formatMs(median(results.serveRunMs)),
    formatMs(percentile(results.serveRunMs, 90)),
    formatMs(median(results.bareBrowserMs)),
    `${serveRatio.toFixed(2)}×`,
    '≤ 1.2×',
    serveRatio <= 1.2 ? '✓' : '✗',
  ]);
  return [
    table(rows, new Set([1, 2, 3, 4, 5])),
    `First step: the step's reported durationMs (its wire time, phases.totalMs, has median ${show(medianOf(results.firstStepWireMs))}); ` +
      "event-loop delay: the run JSON's runner.eventLoopDelayMaxMs, measured while journeys are live; " +
      'serve: the durations serve recorded per run, the first run of each side dropped as warm-up. ' +
      "The machine's own load shows in the event-loop figures: a shared 2-core box is never quiet.",
  ].join('\n');
}
