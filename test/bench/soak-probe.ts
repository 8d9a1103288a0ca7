/**
 * What the soak reads about the daemon: its process from /proc (CPU ticks,
 * RSS, open descriptors), its /metrics in the Prometheus text format, and its
 * journey list from the API. Reading /proc needs no agent in the daemon, and
 * reading the endpoints is what Prometheus and the status page do anyway.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export class SoakError extends Error {}

// ---------------------------------------------------------------- /proc

let clockTicks: number | undefined;

/** utime and stime are counted in these; Node has no sysconf, and 100 is Linux's value on every common arch. */
function ticksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
    clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

export interface ProcessSample {
  /** User plus system CPU time since the process started, in seconds. */
  cpuSeconds: number;
  rssKb: number;
  fds: number;
}

/** Throws a SoakError when the process is gone or /proc is not there: a sample of nothing would read as zero growth. */
export function sampleProcess(pid: number): ProcessSample {
  let stat: string;
  let status: string;
  let fds: number;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch (error) {
    throw new SoakError(`cannot read /proc/${pid} (${(error as Error).message}); the soak needs Linux procfs and a live daemon`);
  }
  // Fields after the parenthesised command name (which may itself hold ") "): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || rss === undefined) {
    throw new SoakError(`unexpected /proc/${pid}/stat or status layout`);
  }
  return { cpuSeconds: (utime + stime) / ticksPerSecond(), rssKb: Number(rss), fds };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * Live processes (zombies excluded) whose environment carries `name=value`.
 * The daemon and anything it starts inherit the tag, so this finds them even
 * after they were re-parented.
 */
export function taggedProcesses(name: string, value: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const wanted = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = readOrUndefined(`/proc/${entry}/stat`);
    if (stat === undefined) continue;
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') continue;
    const environ = readOrUndefined(`/proc/${entry}/environ`);
    if (environ?.split('\0').includes(wanted)) found.push(Number(entry));
  }
  return found;
}

// ---------------------------------------------------------------- /metrics

export interface MetricSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * The Prometheus text exposition format, samples only (HELP and TYPE lines
 * are skipped). Journey names are free text, so label values are read with
 * their escapes (\\, \", \n) rather than split on commas.
 */
export function parseExposition(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (why: string): never => {
      throw new SoakError(`/metrics line ${lineNo}: ${why}: ${line.slice(0, 200)}`);
    };
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      for (;;) {
        rest = rest.trimStart();
        if (rest.startsWith('}')) {
          rest = rest.slice(1);
          break;
        }
        const label = LABEL_NAME.exec(rest)?.[0] ?? fail('bad label name');
        rest = rest.slice(label.length);
        if (!rest.startsWith('="')) fail(`label ${label} has no ="value"`);
        let i = 2;
        let value = '';
        for (; i < rest.length && rest[i] !== '"'; i++) {
          const c = rest[i]!;
          if (c !== '\\') {
            value += c;
            continue;
          }
          const next = rest[++i];
          value += next === 'n' ? '\n' : (next ?? '');
        }
        if (i >= rest.length) fail(`label ${label} is not closed`);
        labels[label] = value;
        rest = rest.slice(i + 1).trimStart();
        if (rest.startsWith(',')) rest = rest.slice(1);
      }
    }
    const [valueText] = rest.trim().split(/\s+/);
    const value = parseValue(valueText ?? '');
    if (valueText === undefined || valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) fail('bad value');
    samples.push({ name, labels, value });
  }
  return samples;
}

export function sumOf(samples: readonly MetricSample[], name: string, where: (labels: Readonly<Record<string, string>>) => boolean = () => true): number {
  let total = 0;
  for (const sample of samples) if (sample.name === name && where(sample.labels)) total += sample.value;
  return total;
}

export function hasMetric(samples: readonly MetricSample[], name: string): boolean {
  return samples.some((sample) => sample.name === name);
}

// ---------------------------------------------------------------- API

/** The fields of GET /api/v1/journeys the soak relies on; anything else in a row is ignored. */
export interface JourneyRow {
  name: string;
  running: boolean;
  skippedRuns: number;
}

function rowsOf(body: unknown): JourneyRow[] {
  const list = typeof body === 'object' && body !== null ? (body as { journeys?: unknown }).journeys : undefined;
  if (!Array.isArray(list)) throw new SoakError('GET /api/v1/journeys: expected {"journeys": [...]}');
  return list.map((row: unknown, i) => {
    const r = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
    // The daemon's shared record calls the name `journey`; the API documents `name`. Either is the exact journey name.
    const name = typeof r.name === 'string' ? r.name : r.journey;
    if (typeof name !== 'string' || typeof r.running !== 'boolean' || typeof r.skippedRuns !== 'number') {
      throw new SoakError(`GET /api/v1/journeys: journeys[${i}] lacks name (string), running (boolean) or skippedRuns (number)`);
    }
    return { name, running: r.running, skippedRuns: r.skippedRuns };
  });
}

export interface Timed<T> {
  value: T;
  ms: number;
}

/** One daemon's endpoints; every request is bounded and sends the bearer token (harmless where none is required). */
export class ServeClient {
  constructor(
    readonly base: string,
    private readonly token: string,
    private readonly timeoutMs: number,
  ) {}

  private async get(path: string, stop: AbortSignal): Promise<Timed<Response>> {
    const started = performance.now();
    const response = await fetch(`${this.base}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.any([stop, AbortSignal.timeout(this.timeoutMs)]),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new SoakError(`GET ${path}: HTTP ${response.status}`);
    }
    return { value: response, ms: performance.now() - started };
  }

  async metrics(stop: AbortSignal): Promise<Timed<MetricSample[]> & { bytes: number }> {
    const started = performance.now();
    const { value: response } = await this.get('/metrics', stop);
    const text = await response.text();
    return { value: parseExposition(text), ms: performance.now() - started, bytes: Buffer.byteLength(text) };
  }

  async journeys(stop: AbortSignal): Promise<Timed<JourneyRow[]>> {
    const started = performance.now();
    const { value: response } = await this.get('/api/v1/journeys', stop);
    const body: unknown = await response.json();
    return { value: rowsOf(body), ms: performance.now() - started };
  }
}
