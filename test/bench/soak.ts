/**
 * `npm run soak`: `ceiling serve` left running for a while under a realistic
 * probe load, to see whether it holds steady. It starts the demo services
 * (dead-drop and chat) and a black-hole target in this process, writes a
 * folder of scheduled journeys (by default 200 HTTP round trips and 10 chat
 * join/leave journeys every 5 s, plus one journey against the black hole that
 * is due every 2 s but takes 5 s to time out), and runs the daemon on it as a
 * child process. After a warm-up it samples the daemon every minute: runs per
 * second from its metrics, CPU, RSS and open descriptors from /proc, skipped
 * runs, and runs in flight. It ends with start against end and a verdict per
 * goal. It is a benchmark, not a test: a missed goal prints ✗ and still exits 0;
 * only a soak that could not be carried out exits non-zero.
 *
 *   node dist/test/bench/soak.js [--minutes N] [--journeys N] [--ws-journeys N] [--concurrency N] [--poll SECONDS] [--cli FILE]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startChat } from '../../fixtures/chat.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';
import { startCountingHole, type CountingHole } from './soak-hole.js';
import { HANGING_EVERY_S, HANGING_JOURNEY, HANGING_TIMEOUT_S, writeSoakSuite, type SoakSuite } from './soak-journeys.js';
import { hasMetric, sampleProcess, ServeClient, SoakError, sumOf, taggedProcesses, type MetricSample, type ProcessSample } from './soak-probe.js';
import { ServeProcess, type Stopped } from './soak-serve.js';
import { formatKb, formatMs, table } from './stats.js';

const SAMPLE_EVERY_MS = 60_000;
const WARMUP_CAP_MS = 30_000;
/** As often as a Prometheus would scrape; scraping harder would make the soak measure its own polling. */
const SCRAPE_EVERY_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;
const GRACE_MS = 10_000;
/** The bound on SIGTERM → exit before SIGKILL: the daemon's grace plus time to close its store. */
const STOP_BOUND_MS = GRACE_MS + 5_000;
/** A final window shorter than this is folded into the one before, so its rates are not noise. */
const MIN_WINDOW_MS = 10_000;

const RSS_GROWTH_GOAL = 0.1;
const FD_TOLERANCE = 5;
/**
 * Open descriptors include the sockets of runs in flight and idle keep-alive
 * connections, so one read swings by several. The lowest of a burst of reads
 * is the floor a leak would raise.
 */
const FD_READS = 20;
const FD_READ_GAP_MS = 50;

const TAG_VARIABLE = 'CEILING_SOAK_TAG';

// ---------------------------------------------------------------- arguments

const USAGE = `usage: npm run soak -- [--minutes N] [--journeys N] [--ws-journeys N] [--concurrency N] [--poll SECONDS] [--cli FILE]
  --minutes N       length of the whole soak, warm-up included; fractions allowed, e.g. 0.5 (default 10)
  --journeys N      HTTP journeys, each a dead-drop round trip every 5s (default 200)
  --ws-journeys N   chat join/leave journeys every 5s (default 10)
  --concurrency N   ceiling serve --concurrency (default 32)
  --poll SECONDS    how often the journey list is read to catch runs in flight (default 5);
                    /metrics is read every ${SCRAPE_EVERY_MS / 1000}s and at each sample, as a Prometheus would
  --cli FILE        the ceiling CLI to soak (default dist/cli/main.js, the bundle users run)`;

interface Options {
  minutes: number;
  http: number;
  ws: number;
  concurrency: number;
  pollMs: number;
  cli: string | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        minutes: { type: 'string' },
        journeys: { type: 'string' },
        'ws-journeys': { type: 'string' },
        concurrency: { type: 'string' },
        poll: { type: 'string' },
        cli: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new SoakError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help === true) return 'help';
  const number = (flag: string, raw: string | undefined, fallback: number, min: number, max: number, whole: boolean): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      throw new SoakError(`--${flag} takes ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, not "${raw}"\n${USAGE}`);
    }
    return n;
  };
  const minutes = number('minutes', values.minutes, 10, 0.25, 24 * 60, false);
  return {
    minutes,
    http: number('journeys', values.journeys, 200, 0, 5_000, true),
    ws: number('ws-journeys', values['ws-journeys'], 10, 0, 500, true),
    concurrency: number('concurrency', values.concurrency, 32, 1, 1_000, true),
    pollMs: number('poll', values.poll, 5, 0.5, 60, false) * 1000,
    cli: values.cli,
  };
}

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'bench'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new SoakError('cannot find the repo root (a folder with package.json and test/bench/) above the soak');
    dir = parent;
  }
}

// ---------------------------------------------------------------- observation

/** One sample of the daemon: its process and its counters at one moment. */
interface Snapshot {
  at: number;
  proc: ProcessSample;
  runs: number;
  hangingRuns: number;
  /** Runs of the other journeys that did not pass: these should all pass against healthy services. */
  othersNotPassed: number;
  skippedHanging: number;
  skippedOthers: number;
  inFlight: number | undefined;
  metricsBytes: number;
  /** The highest of the burst of descriptor reads; proc.fds holds the lowest. */
  fdsMax: number;
  /** From the daemon's own default metrics: tells heap growth apart from the allocator holding on to pages. */
  heapUsedBytes: number | undefined;
}

/** What the pollers saw between samples; peaks, since a sample at one moment misses short overlaps. */
interface Watch {
  polls: number;
  scrapes: number;
  failures: number;
  lastFailure?: string;
  maxPollMs: number;
  maxScrapeMs: number;
  /** Most journeys the API listed as running at once. */
  peakRunning: number;
  /** Highest ceiling_runs_in_flight read (summed over its series). */
  peakInFlightGauge: number;
  /** Polls that found the hanging journey running: shows the poll can see it at all. */
  hangingSeenRunning: number;
}

const isHanging = (labels: Readonly<Record<string, string>>): boolean => labels.journey === HANGING_JOURNEY;
const isOther = (labels: Readonly<Record<string, string>>): boolean => labels.journey !== undefined && labels.journey !== HANGING_JOURNEY;

function inFlightOf(samples: readonly MetricSample[], watch: Watch): number | undefined {
  if (!hasMetric(samples, 'ceiling_runs_in_flight')) return undefined;
  const total = sumOf(samples, 'ceiling_runs_in_flight');
  watch.peakInFlightGauge = Math.max(watch.peakInFlightGauge, total);
  return total;
}

async function snapshot(pid: number, client: ServeClient, watch: Watch): Promise<Snapshot> {
  // A scrape can time out on a loaded machine; a sample is worth a few tries, and no more.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const scraped = await client.metrics(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
      const at = performance.now();
      const proc = sampleProcess(pid);
      let fdsMax = proc.fds;
      for (let i = 1; i < FD_READS; i++) {
        await sleep(FD_READ_GAP_MS);
        const fds = sampleProcess(pid).fds;
        proc.fds = Math.min(proc.fds, fds);
        fdsMax = Math.max(fdsMax, fds);
      }
      const samples = scraped.value;
      return {
        at,
        proc,
        fdsMax,
        heapUsedBytes: hasMetric(samples, 'ceiling_nodejs_heap_size_used_bytes') ? sumOf(samples, 'ceiling_nodejs_heap_size_used_bytes') : undefined,
        runs: sumOf(samples, 'ceiling_journey_runs_total'),
        hangingRuns: sumOf(samples, 'ceiling_journey_runs_total', isHanging),
        othersNotPassed: sumOf(samples, 'ceiling_journey_runs_total', (l) => isOther(l) && l.result !== 'passed'),
        skippedHanging: sumOf(samples, 'ceiling_journey_skipped_runs_total', isHanging),
        skippedOthers: sumOf(samples, 'ceiling_journey_skipped_runs_total', isOther),
        inFlight: inFlightOf(samples, watch),
        metricsBytes: scraped.bytes,
      };
    } catch (error) {
      if (error instanceof SoakError && /\/proc/.test(error.message)) throw error;
      lastError = error;
      await sleep(1_000);
    }
  }
  throw new SoakError(`could not sample the daemon: ${(lastError as Error).message}`);
}

/** Calls `poll` every `everyMs` until `until` or the signal; bounded by count as well, in case the clock misbehaves. */
async function repeat(everyMs: number, until: number, signal: AbortSignal, poll: () => Promise<void>): Promise<void> {
  const bound = Math.ceil((until - performance.now()) / everyMs) + 2;
  for (let i = 0; i < bound && !signal.aborted && performance.now() < until; i++) {
    await poll();
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
  }
}

function pollers(client: ServeClient, watch: Watch, until: number, signal: AbortSignal, pollMs: number): Promise<void[]> {
  const failed = (error: unknown): void => {
    if (signal.aborted) return;
    watch.failures++;
    watch.lastFailure = (error as Error).message;
  };
  const api = repeat(pollMs, until, signal, async () => {
    try {
      const { value: rows, ms } = await client.journeys(AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]));
      watch.polls++;
      watch.maxPollMs = Math.max(watch.maxPollMs, ms);
      watch.peakRunning = Math.max(watch.peakRunning, rows.filter((row) => row.running).length);
      if (rows.some((row) => row.name === HANGING_JOURNEY && row.running)) watch.hangingSeenRunning++;
    } catch (error) {
      failed(error);
    }
  });
  const scrape = repeat(SCRAPE_EVERY_MS, until, signal, async () => {
    try {
      const { value: samples, ms } = await client.metrics(AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]));
      watch.scrapes++;
      watch.maxScrapeMs = Math.max(watch.maxScrapeMs, ms);
      inFlightOf(samples, watch);
    } catch (error) {
      failed(error);
    }
  });
  return Promise.all([api, scrape]);
}

// ---------------------------------------------------------------- report

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

interface Rates {
  runsPerS: number;
  cpuPct: number;
  notPassedPerS: number;
}

function rates(from: Snapshot, to: Snapshot): Rates {
  const seconds = Math.max(0.001, (to.at - from.at) / 1000);
  return {
    runsPerS: (to.runs - from.runs) / seconds,
    cpuPct: (100 * (to.proc.cpuSeconds - from.proc.cpuSeconds)) / seconds,
    notPassedPerS: (to.othersNotPassed - from.othersNotPassed) / seconds,
  };
}

function progressLine(started: number, from: Snapshot, to: Snapshot, watch: Watch, hole: CountingHole): string {
  const r = rates(from, to);
  return (
    `[${clock(to.at - started).padStart(6)}] runs ${r.runsPerS.toFixed(1)}/s · cpu ${r.cpuPct.toFixed(0)}% · ` +
    `rss ${formatKb(to.proc.rssKb)} · fds ${to.proc.fds}–${to.fdsMax} · skipped: others ${to.skippedOthers}, hanging ${to.skippedHanging} · ` +
    `in flight now ${to.inFlight ?? '?'}, peak ${Math.max(watch.peakRunning, watch.peakInFlightGauge)} · ` +
    `black hole: open ${hole.open()}, peak ${hole.peak()}` +
    (r.notPassedPerS > 0 ? ` · NOT PASSING ${(to.othersNotPassed - from.othersNotPassed).toString()} runs` : '')
  );
}

/** The least-squares line of RSS (KiB) against time (hours) through the samples. */
function rssLine(snapshots: readonly Snapshot[]): { slopeKbPerHour: number; at: (ms: number) => number } | undefined {
  if (snapshots.length < 3) return undefined;
  const xs = snapshots.map((s) => s.at / 3_600_000);
  const ys = snapshots.map((s) => s.proc.rssKb);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  if (den <= 0) return undefined;
  const slope = num / den;
  return { slopeKbPerHour: slope, at: (ms) => my + slope * (ms / 3_600_000 - mx) };
}

/**
 * Memory is judged from minute 10 on (start-up and the heap settling come
 * first), by the trend, never by one reading against another: V8's heap swings
 * RSS by about 35 MiB between collections. A short soak uses what it has.
 */
const MEMORY_FROM_MS = 10 * 60_000;
const MINIMA_WINDOWS = 6;

function memorySamples(snapshots: readonly Snapshot[]): readonly Snapshot[] {
  const from = snapshots[0]!.at + MEMORY_FROM_MS;
  const later = snapshots.filter((s) => s.at >= from);
  return later.length >= 3 ? later : snapshots;
}

/** The lowest RSS in each of equal stretches of time: the floor the heap returns to. */
function windowMinima(samples: readonly Snapshot[]): number[] {
  const start = samples[0]!.at;
  const span = Math.max(1, samples[samples.length - 1]!.at - start);
  const minima: number[] = new Array<number>(MINIMA_WINDOWS).fill(Number.POSITIVE_INFINITY);
  for (const s of samples) {
    const index = Math.min(MINIMA_WINDOWS - 1, Math.floor(((s.at - start) / span) * MINIMA_WINDOWS));
    minima[index] = Math.min(minima[index]!, s.proc.rssKb);
  }
  return minima.filter(Number.isFinite);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function signed(n: number, digits = 0): string {
  return `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)}`;
}

interface Verdict {
  goal: string;
  ok: boolean;
  detail: string;
}

function render(args: {
  options: Options;
  suite: SoakSuite;
  started: number;
  snapshots: readonly Snapshot[];
  watch: Watch;
  hole: { peak: number; accepted: number; openAtEnd: number };
  stopped: Stopped | undefined;
  interrupted: boolean;
}): string {
  const { options, suite, snapshots, watch, hole, stopped } = args;
  const first = snapshots[0]!;
  const last = snapshots[snapshots.length - 1]!;
  const firstWindow = snapshots.length > 1 ? rates(first, snapshots[1]!) : undefined;
  const lastWindow = snapshots.length > 1 ? rates(snapshots[snapshots.length - 2]!, last) : undefined;
  const whole = snapshots.length > 1 ? rates(first, last) : undefined;
  const fmt = (r: Rates | undefined, pick: (r: Rates) => number, unit: string, digits: number): string =>
    r === undefined ? 'n/a' : `${pick(r).toFixed(digits)}${unit}`;
  const rssGrowth = (last.proc.rssKb - first.proc.rssKb) / first.proc.rssKb;
  const memory = memorySamples(snapshots);
  const line = rssLine(memory);
  const memoryFrom = memory[0]!.at;
  const memoryTo = memory[memory.length - 1]!.at;
  const trendGrowth = line === undefined ? undefined : (line.at(memoryTo) - line.at(memoryFrom)) / line.at(memoryFrom);
  const minima = windowMinima(memory);
  const fdGrowth = last.proc.fds - first.proc.fds;
  const measuredMs = last.at - first.at;

  const rows: string[][] = [
    ['', 'start', 'end', 'change'],
    [
      'runs/s (first, last minute)',
      fmt(firstWindow, (r) => r.runsPerS, '/s', 1),
      fmt(lastWindow, (r) => r.runsPerS, '/s', 1),
      `whole: ${fmt(whole, (r) => r.runsPerS, '/s', 1)}`,
    ],
    [
      'CPU, % of one core (first, last minute)',
      fmt(firstWindow, (r) => r.cpuPct, '%', 1),
      fmt(lastWindow, (r) => r.cpuPct, '%', 1),
      `whole: ${fmt(whole, (r) => r.cpuPct, '%', 1)}`,
    ],
    ['RSS (VmRSS)', formatKb(first.proc.rssKb), formatKb(last.proc.rssKb), `${signed(100 * rssGrowth, 1)}%`],
    ['open fds (lowest of a 1 s burst)', String(first.proc.fds), String(last.proc.fds), signed(fdGrowth)],
    ['open fds (highest of the burst)', String(first.fdsMax), String(last.fdsMax), signed(last.fdsMax - first.fdsMax)],
    [
      'JS heap used (daemon metrics)',
      first.heapUsedBytes === undefined ? 'n/a' : formatKb(first.heapUsedBytes / 1024),
      last.heapUsedBytes === undefined ? 'n/a' : formatKb(last.heapUsedBytes / 1024),
      first.heapUsedBytes === undefined || last.heapUsedBytes === undefined
        ? ''
        : `${signed((100 * (last.heapUsedBytes - first.heapUsedBytes)) / first.heapUsedBytes, 1)}%`,
    ],
    ['runs started (counter)', String(first.runs), String(last.runs), signed(last.runs - first.runs)],
    ['skipped runs, other journeys', String(first.skippedOthers), String(last.skippedOthers), signed(last.skippedOthers - first.skippedOthers)],
    ['skipped runs, hanging journey', String(first.skippedHanging), String(last.skippedHanging), signed(last.skippedHanging - first.skippedHanging)],
    ['runs not passing, other journeys', String(first.othersNotPassed), String(last.othersNotPassed), signed(last.othersNotPassed - first.othersNotPassed)],
  ];

  const peakInFlight = Math.max(watch.peakRunning, watch.peakInFlightGauge);
  const atCapacity = peakInFlight >= options.concurrency;
  const hangingSkipGrew = last.skippedHanging > first.skippedHanging;
  const expected = suite.expectedRunsPerSecond;
  const verdicts: Verdict[] = [
    {
      goal: `RSS trend < +${100 * RSS_GROWTH_GOAL}% from minute ${clock(memoryFrom - first.at)} to the end (least-squares line)`,
      ok: trendGrowth !== undefined && trendGrowth < RSS_GROWTH_GOAL,
      detail:
        (line === undefined || trendGrowth === undefined
          ? 'too few samples for a trend'
          : `${formatKb(line.at(memoryFrom))} → ${formatKb(line.at(memoryTo))} on the line (${signed(100 * trendGrowth, 1)}%, ${signed(line.slopeKbPerHour / 1024 / 60, 2)} MiB/min)`) +
        `; floor per ${plural(minima.length, 'window')}: ${minima.map((kb) => formatKb(kb)).join(' → ')}`,
    },
    {
      goal: `open fds flat (end − start ≤ ${FD_TOLERANCE})`,
      ok: fdGrowth <= FD_TOLERANCE,
      detail: `${first.proc.fds} → ${last.proc.fds}`,
    },
    {
      goal: 'no tick skipped for the non-hanging journeys',
      ok: last.skippedOthers === 0,
      detail:
        `${last.skippedOthers} skipped over the whole run; peak in flight ${peakInFlight} of --concurrency ${options.concurrency}` +
        (atCapacity ? ' (capacity was reached, so skips may be the limit working, not a scheduler fault)' : ' (below capacity throughout)'),
    },
    {
      goal: 'hanging target: no pile-up (≤ 1 run in flight)',
      ok: hole.peak <= 1 && hangingSkipGrew,
      detail:
        `peak ${hole.peak} connection(s) open at once at the black hole (${hole.accepted} accepted)` +
        `; skipped ${first.skippedHanging} → ${last.skippedHanging}${hangingSkipGrew ? '' : ' (did not grow: its overlapping ticks were not counted as skipped)'}` +
        `; ${last.hangingRuns} runs at every ${HANGING_EVERY_S}s with a ${HANGING_TIMEOUT_S}s timeout`,
    },
    {
      goal: '(sanity) every run of the other journeys passed',
      ok: last.othersNotPassed === 0,
      detail: `${last.othersNotPassed} not passing of ${last.runs - last.hangingRuns}`,
    },
    {
      goal: '(sanity) run rate within 10% of the schedule',
      ok: whole !== undefined && Math.abs(whole.runsPerS - expected) <= 0.1 * expected,
      detail: `${fmt(whole, (r) => r.runsPerS, '/s', 2)} measured, ${expected.toFixed(2)}/s scheduled`,
    },
  ];
  if (stopped !== undefined) {
    verdicts.push({
      goal: `SIGTERM: exits 0 within ${formatMs(STOP_BOUND_MS)}`,
      ok: !stopped.killed && stopped.code === 0,
      detail:
        `${stopped.killed ? 'SIGKILLed after the bound' : stopped.signal !== null ? `killed by ${stopped.signal}` : `exit code ${stopped.code}`} after ${formatMs(stopped.ms)}; ` +
        `black hole connections open just before: ${hole.openAtEnd}`,
    });
  }

  const notes = [
    `measured ${clock(measuredMs)} (min:s) after a ${clock(first.at - args.started)} warm-up, ${snapshots.length} samples; ` +
      `journeys: ${suite.http} HTTP + ${suite.ws} WebSocket every 5s with up to 2s jitter, 1 hanging; --concurrency ${options.concurrency}`,
    `pollers: ${watch.polls} journey-list reads (slowest ${formatMs(watch.maxPollMs)}), ${watch.scrapes} /metrics scrapes ` +
      `(slowest ${formatMs(watch.maxScrapeMs)}, ${formatKb(last.metricsBytes / 1024)} each)` +
      (watch.failures > 0 ? `; ${watch.failures} failed, last: ${watch.lastFailure}` : '') +
      `; the hanging journey was seen running in ${watch.hangingSeenRunning} of them`,
  ];
  const rssKbs = snapshots.map((s) => s.proc.rssKb);
  notes.push(
    `RSS over all ${snapshots.length} samples: lowest ${formatKb(Math.min(...rssKbs))}, highest ${formatKb(Math.max(...rssKbs))}; ` +
      `end against start (${signed(100 * rssGrowth, 1)}%) is shown for information only: one reading swings with the garbage collector`,
  );
  if (measuredMs < 10 * 60_000) notes.push('a short soak: RSS growth here is mostly the V8 heap settling; judge memory on a run of 10 minutes or more');
  if (last.inFlight === undefined) notes.push('ceiling_runs_in_flight was not exported; peak in flight comes from the journey list alone');
  if (args.interrupted) notes.push('INTERRUPTED: the figures cover the part of the soak that ran.');

  const verdictRows: string[][] = [['goal', '', 'observed'], ...verdicts.map((v) => [v.goal, v.ok ? '✓' : '✗', v.detail])];
  return [table(rows, new Set([1, 2, 3])), '', table(verdictRows, new Set()), '', ...notes].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const root = findRepoRoot();
  const cli = options.cli !== undefined ? path.resolve(options.cli) : path.join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new SoakError(`${cli} is missing: run npm run build first (npm run soak does)`);

  const work = await mkdtemp(path.join(tmpdir(), 'ceiling-soak-'));
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const services: RunningService[] = [];
  let hole: CountingHole | undefined;
  let serve: ServeProcess | undefined;
  // Aborted by Ctrl-C, SIGTERM, or the daemon dying under us; every wait below watches it.
  const soak = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined) {
      // A second signal: the operator wants out now. The daemon goes by pid; in-process services go with us.
      serve?.kill();
      try {
        rmSync(work, { recursive: true, force: true });
      } catch {
        process.stderr.write(`soak: could not remove ${work}\n`);
      }
      process.stderr.write(`\nsoak: second ${signal}, killed ceiling serve (pid ${serve?.pid ?? 'none'}) and exited\n`);
      process.exit(130);
    }
    interrupted = signal;
    process.stderr.write(`\nsoak: ${signal}, stopping (again to force)\n`);
    soak.abort(new SoakError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const drop = await startDeadDrop({ host: '127.0.0.1', port: 0 });
    services.push(drop);
    const chat = await startChat({ host: '127.0.0.1', port: 0 });
    services.push(chat);
    if (chat.wsUrl === undefined) throw new SoakError('the chat service reported no wsUrl');
    const target = await startCountingHole();
    hole = target;
    const suite = await writeSoakSuite(path.join(work, 'journeys'), { http: options.http, ws: options.ws });

    const token = randomBytes(24).toString('hex');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DROP_URL: drop.url,
      CHAT_URL: chat.wsUrl,
      HOLE_URL: target.url,
      CEILING_API_TOKEN: token,
      [TAG_VARIABLE]: tag,
    };
    const cpuList = cpus();
    process.stdout.write(
      `ceiling soak — node ${process.version}, ${cpuList.length} CPU${cpuList.length === 1 ? '' : 's'} (${cpuList[0]?.model.trim() ?? 'unknown model'})\n` +
        `${options.minutes} min: ${suite.http} HTTP + ${suite.ws} WebSocket journeys every 5s, 1 hanging every ${HANGING_EVERY_S}s ` +
        `(timeout ${HANGING_TIMEOUT_S}s); ${suite.expectedRunsPerSecond.toFixed(1)} runs/s scheduled; --concurrency ${options.concurrency}\n`,
    );
    const started = await ServeProcess.start({
      cli,
      args: [
        suite.dir,
        '--listen',
        '127.0.0.1:0',
        '--db',
        path.join(work, 'history.db'),
        '--concurrency',
        String(options.concurrency),
        '--location',
        'soak',
        '--grace',
        `${GRACE_MS / 1000}s`,
      ],
      env,
      cwd: work,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    serve = started.serve;
    const daemon = serve;
    let stopRequested = false;
    void daemon.exited.then((exit) => {
      if (!stopRequested && !soak.signal.aborted)
        soak.abort(new SoakError(`ceiling serve exited during the soak (${exit.signal ?? `exit code ${exit.code}`})\n${daemon.tail()}`));
    });
    const client = new ServeClient(started.url, token, REQUEST_TIMEOUT_MS);
    process.stdout.write(`ceiling serve pid ${daemon.pid} on ${started.url}\n\n`);

    const t0 = performance.now();
    const totalMs = options.minutes * 60_000;
    const end = t0 + totalMs;
    const warmupMs = Math.min(WARMUP_CAP_MS, totalMs * 0.1);
    const watch: Watch = {
      polls: 0,
      scrapes: 0,
      failures: 0,
      maxPollMs: 0,
      maxScrapeMs: 0,
      peakRunning: 0,
      peakInFlightGauge: 0,
      hangingSeenRunning: 0,
    };
    const stopPolling = new AbortController();
    const polling = pollers(client, watch, end, AbortSignal.any([soak.signal, stopPolling.signal]), options.pollMs).catch((error: unknown) => {
      if (!soak.signal.aborted) soak.abort(error);
    });
    const waitUntil = async (at: number): Promise<boolean> => {
      await sleep(Math.max(0, at - performance.now()), undefined, { signal: soak.signal }).catch(() => undefined);
      return !soak.signal.aborted;
    };

    const snapshots: Snapshot[] = [];
    let stopped: Stopped | undefined;
    let holeOpenAtEnd = 0;
    try {
      process.stdout.write(`warm-up ${formatMs(warmupMs)}…\n`);
      if (await waitUntil(t0 + warmupMs)) {
        const first = await snapshot(daemon.pid, client, watch);
        snapshots.push(first);
        process.stdout.write(
          `[${clock(first.at - t0).padStart(6)}] start: rss ${formatKb(first.proc.rssKb)} · fds ${first.proc.fds}–${first.fdsMax} · ${first.runs} runs so far\n`,
        );
        for (let next = first.at + SAMPLE_EVERY_MS; next <= end - MIN_WINDOW_MS; next += SAMPLE_EVERY_MS) {
          if (!(await waitUntil(next))) break;
          const sample = await snapshot(daemon.pid, client, watch);
          process.stdout.write(`${progressLine(t0, snapshots[snapshots.length - 1]!, sample, watch, target)}\n`);
          snapshots.push(sample);
        }
        // Interrupted by the operator, the daemon is still up: the part that ran is still worth a final sample.
        const daemonAlive = daemon.exit === undefined;
        if ((await waitUntil(end)) || (interrupted !== undefined && daemonAlive)) {
          const sample = await snapshot(daemon.pid, client, watch);
          process.stdout.write(`${progressLine(t0, snapshots[snapshots.length - 1]!, sample, watch, target)} (end)\n`);
          snapshots.push(sample);
        }
      }
      stopPolling.abort();
      await polling;
      holeOpenAtEnd = target.open();
      stopRequested = true;
      if (daemon.exit === undefined) stopped = await daemon.stop(STOP_BOUND_MS);
    } catch (error) {
      // A daemon that died makes the next sample fail too; its exit status and output say more than that failure.
      if (soak.signal.aborted && interrupted === undefined) throw soak.signal.reason;
      throw error;
    } finally {
      stopPolling.abort();
    }

    const reason: unknown = soak.signal.reason;
    if (reason !== undefined && interrupted === undefined) throw reason;
    if (snapshots.length === 0) {
      process.stdout.write('\nstopped before the warm-up ended: nothing measured\n');
      return interrupted !== undefined ? 130 : 1;
    }
    process.stdout.write(
      `\n${render({
        options,
        suite,
        started: t0,
        snapshots,
        watch,
        hole: { peak: target.peak(), accepted: target.accepted(), openAtEnd: holeOpenAtEnd },
        stopped,
        interrupted: interrupted !== undefined,
      })}\n`,
    );
    return interrupted !== undefined ? 130 : 0;
  } finally {
    const problems: string[] = [];
    if (serve !== undefined && serve.exit === undefined) {
      const stopped = await serve.stop(STOP_BOUND_MS).catch((error: unknown) => {
        problems.push((error as Error).message);
        return undefined;
      });
      if (stopped?.killed === true) problems.push(`ceiling serve (pid ${serve.pid}) ignored SIGTERM for ${formatMs(STOP_BOUND_MS)} and was SIGKILLed`);
    }
    await Promise.allSettled([...services.map((service) => service.close()), hole?.close()]);
    // Anything the daemon started carries the tag in its environment, even after being re-parented.
    const left = taggedProcesses(TAG_VARIABLE, tag);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone between the scan and the kill.
      }
    }
    if (left.length > 0) problems.push(`killed ${left.length} process(es) left running by the soak: ${left.join(', ')}`);
    await rm(work, { recursive: true, force: true }).catch((error: unknown) => problems.push(`could not remove ${work}: ${(error as Error).message}`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.write(problems.length === 0 ? 'cleanup: ceiling serve gone, services closed, no tagged process left, temp dir removed\n' : '');
    for (const problem of problems) process.stderr.write(`soak: ${problem}\n`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `\nsoak aborted: ${error instanceof SoakError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
