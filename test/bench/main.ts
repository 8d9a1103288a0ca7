/**
 * `npm run bench`: how much Ceiling costs over a bare script making the same
 * calls with undici or ws directly. Each case runs side by side in
 * alternating runs (ceiling, bare, ceiling, bare, …) after warm-ups, and the
 * bench prints medians, p90s and the ratio of medians against a goal. It is a
 * measurement, not a test: it never fails on time, only when a run itself
 * fails (a benchmark of a failing run means nothing).
 *
 *   node dist/test/bench/main.js [--runs N] [--warmups N] [--quick]
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startChat } from '../../fixtures/chat.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';
import { killLiveChildren, reapLiveChildren, runChild, type ChildResult } from './child.js';
import { formatKb, formatMs, median, percentile, table } from './stats.js';

const CHILD_TIMEOUT_MS = 60_000;
const BATCH_SIZE = 100;

class BenchError extends Error {}

/** Set by SIGINT/SIGTERM: the running child is killed and no further run starts. */
let interrupted: NodeJS.Signals | undefined;

function stopIfInterrupted(): void {
  if (interrupted !== undefined) throw new BenchError(`interrupted by ${interrupted}; every child was killed and reaped`);
}

// ---------------------------------------------------------------- arguments

const USAGE = `usage: npm run bench -- [--runs N] [--warmups N] [--quick]
  --runs N     measured runs per side and case (default 15, --quick 5)
  --warmups N  unmeasured runs per side before those (default 2, --quick 1)
  --quick      fewer runs, for a fast look; figures are noisier`;

interface Options {
  runs: number;
  warmups: number;
  quick: boolean;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        warmups: { type: 'string' },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new BenchError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const count = (flag: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > 200) throw new BenchError(`--${flag} takes a whole number from ${min} to 200, not "${raw}"`);
    return n;
  };
  const quick = values.quick === true;
  return {
    quick,
    runs: count('runs', values.runs, quick ? 5 : 15, 1),
    warmups: count('warmups', values.warmups, quick ? 1 : 2, 0),
  };
}

// ---------------------------------------------------------------- paths

/** The repo root: the nearest folder above this file whose package.json is Ceiling's. */
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(path.join(dir, 'test', 'bench', 'bare'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new BenchError('cannot find the repo root (a folder with package.json and test/bench/bare/) above the bench');
    dir = parent;
  }
}

// ---------------------------------------------------------------- cases

/** One side of a case: what to run for a given run number, and how to tell the run passed. */
interface Side {
  args(run: string): string[];
  /** Throws a BenchError describing why the run does not count. */
  verify(result: ChildResult, run: string): Promise<void>;
}

interface Case {
  title: string;
  ceiling: Side;
  bare: Side;
  timeGoal: number;
  /** Only the batch cases have an RSS goal; the others print RSS for information. */
  rssGoal?: number;
}

interface Samples {
  wallMs: number[];
  rssKb: number[];
}

interface Measured {
  spec: Case;
  ceiling: Samples;
  bare: Samples;
}

function describeExit(result: ChildResult): string {
  if (result.timedOut) return `killed after ${CHILD_TIMEOUT_MS / 1000}s`;
  if (result.signal !== null) return `killed by ${result.signal}`;
  return `exit code ${result.code}`;
}

function tail(text: string, lines = 15): string {
  const kept = text.trimEnd().split('\n').slice(-lines).join('\n');
  return kept === '' ? '' : `\n${kept.replace(/^/gm, '    ')}`;
}

function requireExitZero(result: ChildResult, what: string): void {
  if (result.code === 0 && !result.timedOut) return;
  throw new BenchError(`${what} failed (${describeExit(result)})${tail(result.stderr)}${tail(result.stdout)}`);
}

interface JsonReport {
  status?: unknown;
  totals?: { journeys?: unknown; passed?: unknown };
  journeys?: { name?: unknown; status?: unknown; attempts?: { failure?: { message?: unknown } }[] }[];
}

/** A ceiling run counts only if it exited 0 and its JSON report says every expected journey passed. */
function ceilingRun(cli: string, target: string, expectedJourneys: number, reportDir: string, extraArgs: string[] = []): Side {
  const reportFor = (run: string): string => path.join(reportDir, `report-${run}.json`);
  return {
    args: (run) => [cli, 'run', target, ...extraArgs, '--reporter', `json=${reportFor(run)}`],
    async verify(result, run) {
      const file = reportFor(run);
      let report: JsonReport | undefined;
      try {
        report = JSON.parse(await readFile(file, 'utf8')) as JsonReport;
      } catch {
        report = undefined;
      } finally {
        await rm(file, { force: true });
      }
      const what = `run ${run}`;
      if (report === undefined) {
        requireExitZero(result, what);
        throw new BenchError(`${what} wrote no readable JSON report at ${file}${tail(result.stderr)}`);
      }
      const failed = (report.journeys ?? []).filter((j) => j.status !== 'passed');
      const detail = failed
        .slice(0, 3)
        .map((j) => `\n    ${String(j.name)}: ${String(j.status)} — ${String(j.attempts?.at(-1)?.failure?.message ?? '')}`)
        .join('');
      if (report.status !== 'passed') {
        throw new BenchError(`${what}: the JSON report says "${String(report.status)}" (${describeExit(result)})${detail}${tail(result.stderr)}`);
      }
      if (report.totals?.journeys !== expectedJourneys || report.totals.passed !== expectedJourneys) {
        throw new BenchError(
          `${what}: expected ${expectedJourneys} passed journeys, the report has ${String(report.totals?.passed)} of ${String(report.totals?.journeys)}`,
        );
      }
      requireExitZero(result, what);
    },
  };
}

function bareRun(args: string[]): Side {
  return {
    args: () => args,
    async verify(result, run) {
      requireExitZero(result, `run ${run} (node ${args.map((a) => path.basename(a)).join(' ')})`);
    },
  };
}

/** 100 copies of the single journey, each with its own name, in a folder of their own. */
async function writeBatch(journeyFile: string, dir: string): Promise<void> {
  const source = await readFile(journeyFile, 'utf8');
  if (!/^name: .*$/m.test(source)) throw new BenchError(`${journeyFile} has no top-level "name:" line to vary`);
  await mkdir(dir, { recursive: true });
  await Promise.all(
    Array.from({ length: BATCH_SIZE }, (_, i) => {
      const n = String(i + 1).padStart(3, '0');
      return writeFile(path.join(dir, `secret-roundtrip-${n}.yaml`), source.replace(/^name: .*$/m, `name: bench secret roundtrip ${n}`));
    }),
  );
}

// ---------------------------------------------------------------- measuring

async function measure(spec: Case, options: Options, env: NodeJS.ProcessEnv, cwd: string): Promise<Measured> {
  const measured: Measured = { spec, ceiling: { wallMs: [], rssKb: [] }, bare: { wallMs: [], rssKb: [] } };
  const total = options.warmups + options.runs;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const warm = i < options.warmups;
    const run = warm ? `warmup${i + 1}` : String(i - options.warmups + 1);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r  ${spec.title}: ${warm ? `warm-up ${i + 1}/${options.warmups}` : `run ${i - options.warmups + 1}/${options.runs}`}   `);
    }
    // Strictly alternating, ceiling first: drift in the machine's state hits both sides alike.
    for (const side of ['ceiling', 'bare'] as const) {
      stopIfInterrupted();
      const result = await runChild({ args: spec[side].args(`${side}-${run}`), env, cwd, timeoutMs: CHILD_TIMEOUT_MS });
      stopIfInterrupted();
      await spec[side].verify(result, `${side}-${run}`);
      if (warm) continue;
      measured[side].wallMs.push(result.wallMs);
      if (result.peakRssKb !== undefined) measured[side].rssKb.push(result.peakRssKb);
    }
  }
  const done = `  ${spec.title}: ${options.runs} runs per side in ${formatMs(performance.now() - started)}`;
  process.stderr.write(process.stderr.isTTY ? `\r${done}        \n` : `${done}\n`);
  return measured;
}

// ---------------------------------------------------------------- playwright check

interface PlaywrightCheck {
  line: string;
}

/**
 * Runs the single HTTP journey once under a preload that records every module
 * load (ESM resolve hook + CommonJS Module._load), after proving on a control
 * script that the same preload does see a playwright import and a require.
 */
async function checkPlaywright(root: string, cli: string, journey: string, env: NodeJS.ProcessEnv, cwd: string): Promise<PlaywrightCheck> {
  const bare = path.join(root, 'test', 'bench', 'bare');
  const preload = pathToFileURL(path.join(bare, 'trace-loads.mjs')).href;
  const traced = async (name: string, args: string[]): Promise<{ result: ChildResult; loads: string[] }> => {
    const traceFile = path.join(cwd, `trace-${name}.txt`);
    const result = await runChild({
      args: ['--import', preload, ...args],
      env: { ...env, CEILING_TRACE_FILE: traceFile },
      cwd,
      timeoutMs: CHILD_TIMEOUT_MS,
    });
    const text = await readFile(traceFile, 'utf8').catch(() => '');
    await rm(traceFile, { force: true });
    return { result, loads: text.split('\n').filter(Boolean) };
  };

  const control = await traced('control', [path.join(bare, 'trace-control.mjs')]);
  requireExitZero(control.result, 'playwright tracer control');
  const esmSeen = control.loads.some((l) => l.startsWith('esm playwright '));
  const cjsSeen = control.loads.some((l) => l.startsWith('cjs playwright-core '));
  if (!esmSeen || !cjsSeen) {
    return { line: `HTTP-only run loaded playwright: unknown (the tracer missed its control: esm ${esmSeen ? 'seen' : 'missed'}, require ${cjsSeen ? 'seen' : 'missed'})` };
  }

  const side = ceilingRun(cli, journey, 1, cwd);
  const run = await traced('ceiling', side.args('playwright-check'));
  await side.verify(run.result, 'playwright-check');
  if (run.loads.length === 0) return { line: 'HTTP-only run loaded playwright: unknown (the tracer recorded no module loads at all in the ceiling run)' };
  const hits = run.loads.filter((l) => /playwright/i.test(l));
  const verdict = hits.length === 0 ? 'no' : `YES (${hits.slice(0, 3).join('; ')})`;
  return {
    line: `HTTP-only run loaded playwright: ${verdict} (${run.loads.length} module loads traced; control: import and require of playwright both detected)`,
  };
}

// ---------------------------------------------------------------- report

function ratio(ceiling: number, bare: number): number {
  return bare > 0 ? ceiling / bare : Number.POSITIVE_INFINITY;
}

function render(results: readonly Measured[], options: Options): string {
  const timeRows: string[][] = [['case', 'ceiling median', 'bare median', 'ratio', 'goal', '', 'ceiling p90', 'bare p90']];
  const rssRows: string[][] = [['case (peak RSS)', 'ceiling median', 'bare median', 'ratio', 'goal', '', 'ceiling max', 'bare max']];
  for (const { spec, ceiling, bare } of results) {
    const c = median(ceiling.wallMs);
    const b = median(bare.wallMs);
    const r = ratio(c, b);
    timeRows.push([
      spec.title,
      formatMs(c),
      formatMs(b),
      `${r.toFixed(2)}×`,
      `≤ ${spec.timeGoal}×`,
      r <= spec.timeGoal ? '✓' : '✗',
      formatMs(percentile(ceiling.wallMs, 90)),
      formatMs(percentile(bare.wallMs, 90)),
    ]);
    if (ceiling.rssKb.length === 0 || bare.rssKb.length === 0) {
      rssRows.push([spec.title, 'n/a', 'n/a', '', spec.rssGoal === undefined ? '—' : `≤ ${spec.rssGoal}×`, '?', '', '']);
      continue;
    }
    const cr = median(ceiling.rssKb);
    const br = median(bare.rssKb);
    const rr = ratio(cr, br);
    rssRows.push([
      spec.title,
      formatKb(cr),
      formatKb(br),
      `${rr.toFixed(2)}×`,
      spec.rssGoal === undefined ? '(info)' : `≤ ${spec.rssGoal}×`,
      spec.rssGoal === undefined ? '' : rr <= spec.rssGoal ? '✓' : '✗',
      formatKb(Math.max(...ceiling.rssKb)),
      formatKb(Math.max(...bare.rssKb)),
    ]);
  }
  const right = new Set([1, 2, 3, 6, 7]);
  const note =
    `${options.runs} measured runs per side per case, after ${options.warmups} warm-up${options.warmups === 1 ? '' : 's'}, ` +
    'alternating ceiling/bare; wall time is spawn to exit of the whole process; ratio = ceiling median / bare median.';
  return [table(timeRows, right), '', table(rssRows, right), '', note].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const root = findRepoRoot();
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new BenchError(`${cli} is missing: run npm run build first (npm run bench does)`);
  const benchDir = path.join(root, 'test', 'bench');
  const httpJourney = path.join(benchDir, 'journeys', 'secret-roundtrip.yaml');
  const wsJourney = path.join(benchDir, 'journeys', 'chat-leave.yaml');
  const bareHttp = path.join(benchDir, 'bare', 'secret-roundtrip.mjs');
  const bareWs = path.join(benchDir, 'bare', 'chat-leave.mjs');
  for (const file of [httpJourney, wsJourney, bareHttp, bareWs]) {
    if (!existsSync(file)) throw new BenchError(`${file} is missing`);
  }

  const cpuList = cpus();
  process.stdout.write(
    `ceiling bench — node ${process.version} on ${process.platform}/${process.arch}, ` +
      `${cpuList.length} CPU${cpuList.length === 1 ? '' : 's'} (${cpuList[0]?.model.trim() ?? 'unknown model'})\n` +
      `${options.runs} measured runs + ${options.warmups} warm-up${options.warmups === 1 ? '' : 's'} per side per case${options.quick ? ' (--quick)' : ''}\n\n`,
  );

  const work = await mkdtemp(path.join(tmpdir(), 'ceiling-bench-'));
  const services: RunningService[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${signal}, stopping\n`);
    interrupted = signal;
    killLiveChildren();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const benchStarted = performance.now();
  try {
    const drop = await startDeadDrop({ host: '127.0.0.1', port: 0 });
    services.push(drop);
    const chat = await startChat({ host: '127.0.0.1', port: 0 });
    services.push(chat);
    if (chat.wsUrl === undefined) throw new BenchError('the chat service reported no wsUrl');

    const batchDir = path.join(work, 'batch');
    await writeBatch(httpJourney, batchDir);
    const reports = path.join(work, 'reports');
    await mkdir(reports);

    const env: NodeJS.ProcessEnv = { ...process.env, DROP_URL: drop.url, CHAT_URL: chat.wsUrl };
    delete env.CEILING_TRACE_FILE;

    const cases: Case[] = [
      {
        title: 'ceiling --version vs node -e 0',
        ceiling: {
          args: () => [cli, '--version'],
          async verify(result, run) {
            requireExitZero(result, `run ${run}`);
            if (!/^\d+\.\d+\.\d+/.test(result.stdout.trim())) throw new BenchError(`ceiling --version printed "${result.stdout.trim()}"`);
          },
        },
        bare: bareRun(['-e', '0']),
        timeGoal: 2,
      },
      {
        title: 'HTTP journey ×1 (3 requests)',
        ceiling: ceilingRun(cli, httpJourney, 1, reports),
        bare: bareRun([bareHttp, '1', '1']),
        timeGoal: 1.3,
      },
      {
        title: `HTTP journeys ×${BATCH_SIZE}, concurrency 1`,
        ceiling: ceilingRun(cli, batchDir, BATCH_SIZE, reports, ['--concurrency', '1']),
        bare: bareRun([bareHttp, String(BATCH_SIZE), '1']),
        timeGoal: 1.3,
        rssGoal: 1.3,
      },
      {
        title: `HTTP journeys ×${BATCH_SIZE}, concurrency 10`,
        ceiling: ceilingRun(cli, batchDir, BATCH_SIZE, reports, ['--concurrency', '10']),
        bare: bareRun([bareHttp, String(BATCH_SIZE), '10']),
        timeGoal: 1.3,
        rssGoal: 1.3,
      },
      {
        title: 'WS leave journey (2 clients)',
        ceiling: ceilingRun(cli, wsJourney, 1, reports),
        bare: bareRun([bareWs]),
        timeGoal: 1.5,
      },
    ];

    process.stderr.write('measuring (progress on stderr)…\n');
    const results: Measured[] = [];
    for (const spec of cases) results.push(await measure(spec, options, env, work));

    const playwright = await checkPlaywright(root, cli, httpJourney, env, work);
    stopIfInterrupted();

    process.stdout.write(`\n${render(results, options)}\n\n${playwright.line}\n`);
    process.stdout.write(`bench took ${formatMs(performance.now() - benchStarted)}\n`);
  } finally {
    const killed = await reapLiveChildren();
    if (killed > 0) process.stderr.write(`bench: killed ${killed} child process(es) that were still running\n`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(services.map((service) => service.close()));
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench aborted: ${error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
