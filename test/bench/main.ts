/**
 * `npm run bench`: how much Ceiling costs over a bare script making the same
 * calls with undici, ws or playwright-core directly. Each case runs side by
 * side in alternating runs (ceiling, bare, ceiling, bare, …) after warm-ups,
 * and the bench prints medians, p90s and the ratio of medians against a goal.
 * The browser cases also count the Chromium processes each run leaves behind.
 * It is a measurement, not a test: it never fails on time, only when a run
 * itself fails (a benchmark of a failing run means nothing).
 *
 *   node dist/test/bench/main.js [--only GROUPS] [--runs N] [--browser-runs N] [--warmups N] [--quick]
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startChat } from '../../fixtures/chat.js';
import { startComments } from '../../fixtures/comments.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';
import { findChromium, type FoundBrowser } from '../../src/steps/browser/discovery.js';
import { launchPlan } from '../../src/steps/browser/launch.js';
import { killLiveChildren, reapLiveChildren, runChild, type ChildResult } from './child.js';
import { CHILD_TAG_VARIABLE, chromiumNeedles, isMarked, killMarked, leftoverAfter, scanChromium, type Mark } from './chromium.js';
import { formatKb, formatMs, median, percentile, table } from './stats.js';
import { measureRunner, renderRunner } from './runner-cases.js';

const CHILD_TIMEOUT_MS = 60_000;
const BATCH_SIZE = 100;
/** Browser journeys in the reused-browser case; each one is a new context and page. */
const BROWSER_BATCH_SIZE = 20;
/** A Chromium process still alive this long after its run's process exited counts as left over. */
const LEFTOVER_GRACE_MS = 1_000;

class BenchError extends Error {}

/** Set by SIGINT/SIGTERM: the running child is killed and no further run starts. */
let interrupted: NodeJS.Signals | undefined;

function stopIfInterrupted(): void {
  if (interrupted !== undefined) throw new BenchError(`interrupted by ${interrupted}; every child was killed and reaped`);
}

// ---------------------------------------------------------------- arguments

const GROUPS = ['startup', 'http', 'ws', 'browser', 'runner'] as const;
type Group = (typeof GROUPS)[number];

const USAGE = `usage: npm run bench -- [--only GROUPS] [--runs N] [--browser-runs N] [--warmups N] [--quick]
  --only GROUPS     only these cases, comma-separated or repeated: ${GROUPS.join(', ')} (default: all)
  --runs N          measured runs per side and case (default 15, --quick 5)
  --browser-runs N  the same for the browser cases, each run of which starts Chromium (default 7, --quick 3)
  --warmups N       unmeasured runs per side before those (default 2, --quick 1; browser cases 1)
  --quick           fewer runs, for a fast look; figures are noisier`;

interface Options {
  runs: number;
  warmups: number;
  browserRuns: number;
  browserWarmups: number;
  quick: boolean;
  only: ReadonlySet<Group>;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string', multiple: true },
        runs: { type: 'string' },
        'browser-runs': { type: 'string' },
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
  const only = new Set<Group>();
  for (const name of (values.only ?? []).flatMap((list) => list.split(',')).map((name) => name.trim())) {
    if (name === '') continue;
    if (!(GROUPS as readonly string[]).includes(name)) throw new BenchError(`--only takes ${GROUPS.join(', ')}, not "${name}"\n${USAGE}`);
    only.add(name as Group);
  }
  const quick = values.quick === true;
  const warmups = count('warmups', values.warmups, quick ? 1 : 2, 0);
  return {
    quick,
    runs: count('runs', values.runs, quick ? 5 : 15, 1),
    warmups,
    browserRuns: count('browser-runs', values['browser-runs'], quick ? 3 : 7, 1),
    browserWarmups: values.warmups === undefined ? 1 : warmups,
    only: only.size === 0 ? new Set(GROUPS) : only,
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

/** A further side measured in the same alternation, for information only: it has no goal. */
interface Extra {
  /** Names its runs and report files, e.g. "bare-traced". */
  key: string;
  /** How the report names it, e.g. "bare with Playwright tracing". */
  label: string;
  side: Side;
}

interface Case {
  title: string;
  ceiling: Side;
  bare: Side;
  extras?: Extra[];
  timeGoal: number;
  /** Only the batch cases have an RSS goal; the others print RSS for information. */
  rssGoal?: number;
  /** Browser cases: fewer runs (each starts Chromium), and every run is checked for Chromium processes it left behind. */
  browser?: boolean;
}

interface Samples {
  wallMs: number[];
  rssKb: number[];
  /** Browser cases: how many Chromium processes each run left behind, warm-ups included. */
  leftover: number[];
}

interface Measured {
  spec: Case;
  runs: number;
  warmups: number;
  ceiling: Samples;
  bare: Samples;
  /** In the order of spec.extras. */
  extras: Samples[];
  /** Browser cases: Chromium processes already running (someone else's) when the case started. */
  chromiumBefore?: number;
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

/** `count` copies of a single journey, each with its own name, in a folder of their own. */
async function writeBatch(journeyFile: string, dir: string, count: number): Promise<void> {
  const source = await readFile(journeyFile, 'utf8');
  const name = /^name: (.*)$/m.exec(source)?.[1];
  if (name === undefined) throw new BenchError(`${journeyFile} has no top-level "name:" line to vary`);
  const stem = path.basename(journeyFile, '.yaml');
  await mkdir(dir, { recursive: true });
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const n = String(i + 1).padStart(3, '0');
      return writeFile(path.join(dir, `${stem}-${n}.yaml`), source.replace(/^name: .*$/m, `name: ${name} ${n}`));
    }),
  );
}

// ---------------------------------------------------------------- measuring

/** What the browser cases need to find the Chromium processes of one run. */
interface ChromiumWatch {
  needles: string[];
  /** Unique to this bench; every child's tag starts with it. */
  benchTag: string;
  /** Every child's TMPDIR is a folder under this one. */
  tmpRoot: string;
}

/** The bench-wide mark: any Chromium any of this bench's children started. */
function benchMark(watch: ChromiumWatch): Mark {
  return { tag: `${watch.benchTag}/`, dir: watch.tmpRoot, prefix: true };
}

/** Runs with their own TMPDIR and tag, so that the Chromium processes they start can be told apart from anyone else's. */
async function markedEnv(env: NodeJS.ProcessEnv, watch: ChromiumWatch, run: string): Promise<{ env: NodeJS.ProcessEnv; mark: Mark }> {
  const dir = path.join(watch.tmpRoot, run);
  await mkdir(dir, { recursive: true });
  const mark: Mark = { tag: `${watch.benchTag}/${run}`, dir };
  return { env: { ...env, TMPDIR: dir, [CHILD_TAG_VARIABLE]: mark.tag }, mark };
}

/** Counts what a finished run left running, then kills it (by pid, only marked processes) so the next run starts clean. */
async function collectLeftovers(watch: ChromiumWatch, mark: Mark, run: string): Promise<number> {
  const left = await leftoverAfter(watch.needles, mark, LEFTOVER_GRACE_MS);
  if (left.length > 0) {
    const stuck = await killMarked(left, watch.needles, mark);
    process.stderr.write(
      `\n  run ${run} left ${left.length} Chromium process(es) alive ${LEFTOVER_GRACE_MS} ms after it exited; killed them:` +
        left.map((proc) => `\n    ${proc.pid} ${proc.cmdline.slice(0, 120)}`).join('') +
        '\n',
    );
    if (stuck.length > 0) throw new BenchError(`Chromium process(es) ${stuck.join(', ')} of run ${run} survived SIGKILL`);
  }
  await rm(mark.dir, { recursive: true, force: true });
  return left.length;
}

async function measure(spec: Case, options: Options, env: NodeJS.ProcessEnv, cwd: string, watch: ChromiumWatch | undefined): Promise<Measured> {
  const runs = spec.browser === true ? options.browserRuns : options.runs;
  const warmups = spec.browser === true ? options.browserWarmups : options.warmups;
  const empty = (): Samples => ({ wallMs: [], rssKb: [], leftover: [] });
  const measured: Measured = { spec, runs, warmups, ceiling: empty(), bare: empty(), extras: (spec.extras ?? []).map(empty) };
  const sides: { key: string; side: Side; samples: Samples }[] = [
    { key: 'ceiling', side: spec.ceiling, samples: measured.ceiling },
    { key: 'bare', side: spec.bare, samples: measured.bare },
    ...(spec.extras ?? []).map((extra, i) => ({ key: extra.key, side: extra.side, samples: measured.extras[i]! })),
  ];
  const checked = spec.browser === true ? watch : undefined;
  if (spec.browser === true && checked === undefined) throw new BenchError(`${spec.title}: a browser case needs the Chromium watch`);
  if (checked !== undefined) {
    const before = scanChromium(checked.needles);
    measured.chromiumBefore = before.length;
    // None of ours can be running yet; if one is, it belongs to an earlier case and must not be blamed on this one.
    await collectLeftovers(checked, benchMark(checked), `before ${spec.title}`);
  }
  const total = warmups + runs;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const warm = i < warmups;
    const run = warm ? `warmup${i + 1}` : String(i - warmups + 1);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r  ${spec.title}: ${warm ? `warm-up ${i + 1}/${warmups}` : `run ${i - warmups + 1}/${runs}`}   `);
    }
    // Strictly alternating, ceiling first: drift in the machine's state hits both sides alike.
    for (const { key, side, samples } of sides) {
      stopIfInterrupted();
      const name = `${key}-${run}`;
      const marked = checked === undefined ? undefined : await markedEnv(env, checked, name);
      const result = await runChild({ args: side.args(name), env: marked?.env ?? env, cwd, timeoutMs: CHILD_TIMEOUT_MS });
      stopIfInterrupted();
      // Counted before the verdict, so a failed run's browser is cleaned up too.
      if (checked !== undefined && marked !== undefined) samples.leftover.push(await collectLeftovers(checked, marked.mark, name));
      await side.verify(result, name);
      if (warm) continue;
      samples.wallMs.push(result.wallMs);
      if (result.peakRssKb !== undefined) samples.rssKb.push(result.peakRssKb);
    }
  }
  const done = `  ${spec.title}: ${runs} runs per side in ${formatMs(performance.now() - started)}`;
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
    return {
      line: `HTTP-only run loaded playwright: unknown (the tracer missed its control: esm ${esmSeen ? 'seen' : 'missed'}, require ${cjsSeen ? 'seen' : 'missed'})`,
    };
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

// ---------------------------------------------------------------- leftover check control

/**
 * Proves the leftover check can see a leftover: a control script starts the
 * bench's Chromium detached, the way nothing should, and exits; the check
 * must find its processes (which are then killed).
 */
async function checkLeftoverControl(watch: ChromiumWatch, control: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const { env: markedChildEnv, mark } = await markedEnv(env, watch, 'leftover-control');
  const result = await runChild({ args: [control], env: markedChildEnv, cwd, timeoutMs: CHILD_TIMEOUT_MS });
  stopIfInterrupted();
  const left = await leftoverAfter(watch.needles, mark, LEFTOVER_GRACE_MS);
  const stuck = left.length > 0 ? await killMarked(left, watch.needles, mark) : [];
  await rm(mark.dir, { recursive: true, force: true });
  if (stuck.length > 0) throw new BenchError(`Chromium process(es) ${stuck.join(', ')} of the leftover control survived SIGKILL`);
  requireExitZero(result, 'leftover check control');
  return left.length > 0
    ? `Leftover check control: a Chromium started detached and abandoned on purpose was seen (${plural(left.length, 'process')}) and killed.`
    : 'Leftover check: unknown (its control abandoned a Chromium and the check saw none of its processes).';
}

// ---------------------------------------------------------------- report

function ratio(ceiling: number, bare: number): number {
  return bare > 0 ? ceiling / bare : Number.POSITIVE_INFINITY;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : /s$/.test(word) ? 'es' : 's'}`;
}

function render(results: readonly Measured[]): string {
  const timeRows: string[][] = [['case', 'runs', 'ceiling median', 'bare median', 'ratio', 'goal', '', 'ceiling p90', 'bare p90']];
  const rssRows: string[][] = [['case (peak RSS)', 'ceiling median', 'bare median', 'ratio', 'goal', '', 'ceiling max', 'bare max']];
  const leftRows: string[][] = [
    ['case (Chromium processes left after the run)', 'runs checked', 'ceiling max', 'bare max', 'goal', '', 'running before (not ours)'],
  ];
  const notes: string[] = [];
  for (const { spec, runs, warmups, ceiling, bare, extras, chromiumBefore } of results) {
    const c = median(ceiling.wallMs);
    const b = median(bare.wallMs);
    const r = ratio(c, b);
    timeRows.push([
      spec.title,
      String(runs),
      formatMs(c),
      formatMs(b),
      `${r.toFixed(2)}×`,
      `≤ ${spec.timeGoal}×`,
      r <= spec.timeGoal ? '✓' : '✗',
      formatMs(percentile(ceiling.wallMs, 90)),
      formatMs(percentile(bare.wallMs, 90)),
    ]);
    (spec.extras ?? []).forEach((extra, i) => {
      const samples = extras[i]!;
      const e = median(samples.wallMs);
      timeRows.push([
        `  ↳ ceiling vs ${extra.label}`,
        String(runs),
        formatMs(c),
        formatMs(e),
        `${ratio(c, e).toFixed(2)}×`,
        '(info)',
        '',
        formatMs(percentile(ceiling.wallMs, 90)),
        formatMs(percentile(samples.wallMs, 90)),
      ]);
      const cost = e - b;
      const gap = c - b;
      // A gap within a few percent of bare is run-to-run noise; apportioning it would print nonsense percentages.
      const share =
        gap <= 0
          ? `; ceiling is not slower than bare here (gap ${formatMs(gap)})`
          : gap < 0.03 * b
            ? `; the ceiling − bare gap (${formatMs(gap)}) is within noise, too small to apportion`
            : ` = ${Math.round((100 * cost) / gap)}% of the ceiling − bare gap of ${formatMs(gap)}`;
      notes.push(`${spec.title}: ${extra.label} costs ${formatMs(cost)} over bare (median ${formatMs(e)} vs ${formatMs(b)})${share}.`);
    });
    if (spec.browser === true) {
      const checked = warmups + runs;
      const cl = Math.max(...ceiling.leftover);
      const bl = Math.max(...bare.leftover, ...extras.flatMap((x) => x.leftover));
      leftRows.push([spec.title, `${checked} per side`, String(cl), String(bl), '0', cl === 0 && bl === 0 ? '✓' : '✗', String(chromiumBefore ?? 0)]);
    }
    const rssTitle = spec.browser === true ? `${spec.title} (node process only)` : spec.title;
    if (ceiling.rssKb.length === 0 || bare.rssKb.length === 0) {
      rssRows.push([rssTitle, 'n/a', 'n/a', '', spec.rssGoal === undefined ? '—' : `≤ ${spec.rssGoal}×`, '?', '', '']);
      continue;
    }
    const cr = median(ceiling.rssKb);
    const br = median(bare.rssKb);
    const rr = ratio(cr, br);
    rssRows.push([
      rssTitle,
      formatKb(cr),
      formatKb(br),
      `${rr.toFixed(2)}×`,
      spec.rssGoal === undefined ? '(info)' : `≤ ${spec.rssGoal}×`,
      spec.rssGoal === undefined ? '' : rr <= spec.rssGoal ? '✓' : '✗',
      formatKb(Math.max(...ceiling.rssKb)),
      formatKb(Math.max(...bare.rssKb)),
    ]);
  }
  const runCounts = [...new Set(results.map((m) => `${plural(m.runs, 'measured run')} after ${plural(m.warmups, 'warm-up')}`))];
  const note =
    `${runCounts.join(' / ')} per side per case (see the runs column), ` +
    'alternating ceiling/bare; wall time is spawn to exit of the whole process; ratio = ceiling median / bare median.';
  const parts = [table(timeRows, new Set([1, 2, 3, 4, 7, 8])), '', table(rssRows, new Set([1, 2, 3, 6, 7]))];
  if (leftRows.length > 1) {
    parts.push(
      '',
      table(leftRows, new Set([1, 2, 3, 4, 6])),
      `A process counts as a run's when it carries that run's tag (environment) or TMPDIR (profile folder on its command line), ` +
        `and as left over when it is still alive ${LEFTOVER_GRACE_MS} ms after the run's node process exited; every run is checked, warm-ups included.`,
    );
  }
  parts.push('', note, ...notes);
  return parts.join('\n');
}

// ---------------------------------------------------------------- main

/** The Chromium Ceiling would use, and the flags it would launch it with, so the bare script starts the very same. */
function browserSetup(): { found: FoundBrowser; args: string[]; sandbox: boolean } {
  let found: FoundBrowser;
  try {
    found = findChromium();
  } catch (error) {
    throw new BenchError(`the browser cases need Chromium: ${(error as Error).message}`);
  }
  const plan = launchPlan();
  return { found, args: plan.args, sandbox: plan.chromiumSandbox };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const wants = (group: Group): boolean => options.only.has(group);
  const root = findRepoRoot();
  // CEILING_BENCH_CLI points the ceiling side at another build (say, the previous commit's) for a before/after comparison.
  const cli = process.env.CEILING_BENCH_CLI ? path.resolve(process.env.CEILING_BENCH_CLI) : path.join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new BenchError(`${cli} is missing: run npm run build first (npm run bench does)`);
  const benchDir = path.join(root, 'test', 'bench');
  const httpJourney = path.join(benchDir, 'journeys', 'secret-roundtrip.yaml');
  const wsJourney = path.join(benchDir, 'journeys', 'chat-leave.yaml');
  const browserJourney = path.join(benchDir, 'journeys', 'comment-post.yaml');
  const bareHttp = path.join(benchDir, 'bare', 'secret-roundtrip.mjs');
  const bareWs = path.join(benchDir, 'bare', 'chat-leave.mjs');
  const bareBrowser = path.join(benchDir, 'bare', 'comment-post.mjs');
  const leftoverControl = path.join(benchDir, 'bare', 'leftover-control.mjs');
  for (const file of [httpJourney, wsJourney, browserJourney, bareHttp, bareWs, bareBrowser, leftoverControl]) {
    if (!existsSync(file)) throw new BenchError(`${file} is missing`);
  }
  const browser = wants('browser') || wants('runner') ? browserSetup() : undefined;

  const cpuList = cpus();
  const counts = [
    ...(GROUPS.some((group) => group !== 'browser' && wants(group)) ? [`${plural(options.runs, 'measured run')} + ${plural(options.warmups, 'warm-up')}`] : []),
    ...(browser !== undefined ? [`browser cases ${plural(options.browserRuns, 'measured run')} + ${plural(options.browserWarmups, 'warm-up')}`] : []),
  ];
  process.stdout.write(
    `ceiling bench — node ${process.version} on ${process.platform}/${process.arch}, ` +
      `${cpuList.length} CPU${cpuList.length === 1 ? '' : 's'} (${cpuList[0]?.model.trim() ?? 'unknown model'})\n` +
      `cases: ${[...options.only].join(', ')}; ${counts.join('; ')} per side per case${options.quick ? ' (--quick)' : ''}\n` +
      (browser !== undefined
        ? `chromium: ${browser.found.executable} (${browser.found.source}), headless, ${browser.sandbox ? 'sandboxed' : '--no-sandbox (running as root)'}, ` +
          `the same ${browser.args.length} flags on both sides\n`
        : '') +
      '\n',
  );

  const work = await mkdtemp(path.join(tmpdir(), 'ceiling-bench-'));
  const watch: ChromiumWatch | undefined =
    browser === undefined
      ? undefined
      : { needles: chromiumNeedles(browser.found.executable), benchTag: `${process.pid}-${randomBytes(4).toString('hex')}`, tmpRoot: path.join(work, 'tmp') };
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
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CEILING_TRACE_FILE;
    delete env[CHILD_TAG_VARIABLE];
    const reports = path.join(work, 'reports');
    await mkdir(reports);
    const cases: Case[] = [];

    if (wants('startup')) {
      cases.push({
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
      });
    }

    if (wants('http') || wants('runner')) {
      const drop = await startDeadDrop({ host: '127.0.0.1', port: 0 });
      services.push(drop);
      env.DROP_URL = drop.url;
    }
    if (wants('http')) {
      const batchDir = path.join(work, 'batch');
      await writeBatch(httpJourney, batchDir, BATCH_SIZE);
      cases.push(
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
      );
    }

    if (wants('ws') || wants('runner')) {
      const chat = await startChat({ host: '127.0.0.1', port: 0 });
      services.push(chat);
      if (chat.wsUrl === undefined) throw new BenchError('the chat service reported no wsUrl');
      env.CHAT_URL = chat.wsUrl;
    }
    if (wants('ws')) {
      cases.push({
        title: 'WS leave journey (2 clients)',
        ceiling: ceilingRun(cli, wsJourney, 1, reports),
        bare: bareRun([bareWs]),
        timeGoal: 1.5,
      });
    }

    if (browser !== undefined) {
      const comments = await startComments({ host: '127.0.0.1', port: 0 });
      services.push(comments);
      // Ceiling finds the browser itself, as a user's run would; the bare script is handed what it found and Ceiling's launch flags.
      Object.assign(env, {
        COMMENTS_URL: comments.url,
        BARE_BROWSER: browser.found.executable,
        BARE_BROWSER_ARGS: JSON.stringify(browser.args),
        BARE_BROWSER_SANDBOX: browser.sandbox ? '1' : '0',
      });
    }
    if (browser !== undefined && wants('browser')) {
      const browserBatch = path.join(work, 'browser-batch');
      await writeBatch(browserJourney, browserBatch, BROWSER_BATCH_SIZE);
      const traced = (journeys: number): Extra => ({
        key: 'bare-traced',
        label: 'bare with Playwright tracing',
        side: bareRun([bareBrowser, String(journeys), 'trace']),
      });
      cases.push(
        {
          title: `browser journeys ×${BROWSER_BATCH_SIZE}, one browser, concurrency 1`,
          ceiling: ceilingRun(cli, browserBatch, BROWSER_BATCH_SIZE, reports, ['--concurrency', '1']),
          bare: bareRun([bareBrowser, String(BROWSER_BATCH_SIZE)]),
          extras: [traced(BROWSER_BATCH_SIZE)],
          timeGoal: 1.15,
          browser: true,
        },
        {
          title: 'browser journey ×1, cold process (launches Chromium)',
          ceiling: ceilingRun(cli, browserJourney, 1, reports),
          bare: bareRun([bareBrowser, '1']),
          extras: [traced(1)],
          timeGoal: 1.2,
          browser: true,
        },
      );
    }

    process.stderr.write('measuring (progress on stderr)…\n');
    const results: Measured[] = [];
    for (const spec of cases) results.push(await measure(spec, options, env, work, watch));

    const playwright = wants('http') ? await checkPlaywright(root, cli, httpJourney, env, work) : undefined;
    stopIfInterrupted();
    const leftoverLine = watch !== undefined ? await checkLeftoverControl(watch, leftoverControl, env, work) : undefined;

    const runner = wants('runner')
      ? await measureRunner({
          cli,
          benchDir,
          work,
          env,
          runs: options.runs,
          browserRuns: options.browserRuns,
          log: (line) => process.stderr.write(`${line}\n`),
        })
      : undefined;
    stopIfInterrupted();

    const checks = [playwright?.line, leftoverLine].filter((line) => line !== undefined);
    if (results.length > 0) process.stdout.write(`\n${render(results)}\n${checks.length === 0 ? '' : `\n${checks.join('\n')}\n`}`);
    if (runner !== undefined) process.stdout.write(`\nThe runner's own health\n${renderRunner(runner)}\n`);
    process.stdout.write(`bench took ${formatMs(performance.now() - benchStarted)}\n`);
  } finally {
    const killed = await reapLiveChildren();
    if (killed > 0) process.stderr.write(`bench: killed ${killed} child process(es) that were still running\n`);
    if (watch !== undefined) {
      // A child killed on a timeout or a signal never closed its browser; nothing of ours may outlive the bench.
      const mark = benchMark(watch);
      const left = scanChromium(watch.needles).filter((proc) => isMarked(proc, mark));
      if (left.length > 0) {
        const stuck = await killMarked(left, watch.needles, mark);
        process.stderr.write(
          `bench: killed ${left.length} Chromium process(es) its runs had left${stuck.length > 0 ? `; ${stuck.join(', ')} would not die` : ''}\n`,
        );
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(services.map((service) => service.close()));
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `\nbench aborted: ${error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
