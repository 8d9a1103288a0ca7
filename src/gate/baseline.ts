import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FailureCode } from '../core/failure-codes.js';
import type { JourneyResult } from '../core/result.js';
import { writeToFile } from '../report/output.js';
import { HistoryError, HistoryStore, maxRunsLimit } from '../history/store.js';
import type { RunRecord } from '../history/records.js';
import { addSample, isDuration, samplesFromResults, splitStepKey, stepKey, stepLabels, type SampleOptions, type StepKey } from './latency.js';

/**
 * The latency baseline the bake window is compared with: per journey and
 * step, the durations seen before the deploy. It comes from a run made just
 * before the deploy (`--baseline-out`, read back with `--baseline`) or from the
 * serve daemon's history, and is stored as plain JSON.
 */

export interface BaselineFile {
  schemaVersion: 1;
  /** ISO 8601. */
  createdAt: string;
  source: 'run' | 'history';
  /** journey → step → durations in ms. */
  steps: Record<string, Record<string, number[]>>;
}

export class BaselineError extends Error {
  readonly code = 'CEIL_GATE_BASELINE' satisfies FailureCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BaselineError';
  }
}

const durations = z.array(z.number().nonnegative());
const baselineSchema: z.ZodType<BaselineFile> = z.strictObject({
  schemaVersion: z.literal(1),
  createdAt: z.iso.datetime({ offset: true }),
  source: z.enum(['run', 'history']),
  steps: z.record(z.string(), z.record(z.string(), durations)),
});

export function baselineFromResults(results: readonly JourneyResult[], createdAt: Date, options: SampleOptions = {}): BaselineFile {
  return { schemaVersion: 1, createdAt: createdAt.toISOString(), source: 'run', steps: nestSamples(samplesFromResults(results, options)) };
}

/**
 * Pools several baselines, step by step. The newest `createdAt` is kept, and
 * the source is `history` only when every part came from history.
 */
export function mergeBaselines(files: readonly BaselineFile[]): BaselineFile {
  const [first, ...rest] = files;
  if (!first) throw new RangeError('mergeBaselines: give at least one baseline');
  const samples = new Map<StepKey, number[]>();
  for (const file of files) {
    for (const [key, values] of baselineSamples(file)) for (const value of values) addSample(samples, key, value);
  }
  const newest = rest.reduce((latest, file) => (Date.parse(file.createdAt) > Date.parse(latest) ? file.createdAt : latest), first.createdAt);
  return {
    schemaVersion: 1,
    createdAt: newest,
    source: files.every((file) => file.source === 'history') ? 'history' : 'run',
    steps: nestSamples(samples),
  };
}

/** Creates missing folders; a reader never sees half a file (written beside, then renamed). */
export async function writeBaseline(file: string, baseline: BaselineFile): Promise<void> {
  await writeToFile(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

export async function readBaseline(file: string): Promise<BaselineFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new BaselineError(`${file}: no such file; create it with ceiling gate --baseline-out ${file}`, { cause: error });
    }
    throw invalidBaseline(file, `cannot be read (${reasonOf(error)})`, error);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalidBaseline(file, `is not valid JSON (${reasonOf(error)})`, error);
  }
  const version = typeof data === 'object' && data !== null && 'schemaVersion' in data ? data.schemaVersion : undefined;
  if (typeof version === 'number' && version > 1) {
    throw invalidBaseline(file, `was written by a newer ceiling (baseline schema ${version}; this one reads 1)`);
  }
  const parsed = baselineSchema.safeParse(data);
  if (!parsed.success) throw invalidBaseline(file, describeIssues(parsed.error.issues));
  return parsed.data;
}

export interface HistoryBaselineOptions {
  /** How far back to look, in ms before `now`: runs that started earlier are left out. */
  sinceMs: number;
  /** The newest this many passed or flaky runs of each journey; 200 unless set. */
  maxRunsPerJourney?: number;
  /** Epoch ms; the current time unless set. */
  now?: number;
  /**
   * Only runs probed from this location (`ceiling serve --location`). Latency
   * from another region is not comparable with the gate's own runs.
   */
  location?: string;
  /** Only runs against this target. */
  target?: string;
}

export const defaultHistoryRunsPerJourney = 200;

/**
 * A baseline from the serve daemon's history: the step durations of passed
 * and flaky runs of exactly these journey names. A journey the history does
 * not know just has no samples.
 */
export function baselineFromHistory(dbFile: string, journeys: readonly string[], options: HistoryBaselineOptions): BaselineFile {
  const maxRuns = options.maxRunsPerJourney ?? defaultHistoryRunsPerJourney;
  if (!(options.sinceMs > 0)) throw new RangeError(`baselineFromHistory: sinceMs must be greater than 0 (got ${options.sinceMs})`);
  if (!Number.isInteger(maxRuns) || maxRuns < 1) {
    throw new RangeError(`baselineFromHistory: maxRunsPerJourney must be a whole number of at least 1 (got ${maxRuns})`);
  }
  // HistoryStore.open creates a missing file; a typo in the path must not
  // quietly become an empty history and a gate with no latency check.
  if (!existsSync(dbFile)) {
    throw new BaselineError(
      `${dbFile}: no history database there; give the file ceiling serve writes (its --db), or take a baseline with ceiling gate --baseline-out FILE`,
    );
  }
  const now = options.now ?? Date.now();
  const store = openHistory(dbFile);
  const samples = new Map<StepKey, number[]>();
  try {
    for (const journey of new Set(journeys)) {
      for (const run of recentCleanRuns(store, journey, { ...options, cutoff: now - options.sinceMs, maxRuns })) {
        const labels = stepLabels(run.steps.map((step) => step.name));
        run.steps.forEach((step, index) => {
          // An HTTP step is judged by its whole request, as the gate's fresh samples are.
          const ms = step.requestMs ?? step.durationMs;
          if (step.status === 'passed' && isDuration(ms)) addSample(samples, stepKey(journey, labels[index]!), ms);
        });
      }
    }
  } catch (error) {
    throw error instanceof HistoryError ? new BaselineError(error.message, { cause: error }) : error;
  } finally {
    store.close();
  }
  return { schemaVersion: 1, createdAt: new Date(now).toISOString(), source: 'history', steps: nestSamples(samples) };
}

function openHistory(dbFile: string): HistoryStore {
  try {
    // The bounds only steer prune(), which a baseline never calls: nothing is deleted.
    return HistoryStore.open({
      file: dbFile,
      maxAgeMs: Number.MAX_SAFE_INTEGER,
      maxRunsPerJourney: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
  } catch (error) {
    throw error instanceof HistoryError ? new BaselineError(error.message, { cause: error }) : error;
  }
}

/** Newest first, page by page, stopping at the window's start or once enough runs were taken. */
function* recentCleanRuns(
  store: HistoryStore,
  journey: string,
  filter: { cutoff: number; maxRuns: number; location?: string; target?: string },
): Generator<RunRecord> {
  let taken = 0;
  let before: number | undefined;
  for (;;) {
    const page = store.runs(journey, before === undefined ? { limit: maxRunsLimit } : { limit: maxRunsLimit, before });
    for (const run of page) {
      if (run.startedAt < filter.cutoff) return;
      if (run.result !== 'passed' && run.result !== 'flaky') continue;
      if (filter.location !== undefined && run.location !== filter.location) continue;
      if (filter.target !== undefined && run.target !== filter.target) continue;
      yield run;
      taken += 1;
      if (taken >= filter.maxRuns) return;
    }
    const oldest = page[page.length - 1];
    if (page.length < maxRunsLimit || !oldest) return;
    before = oldest.startedAt;
  }
}

export function baselineSamples(baseline: BaselineFile): Map<StepKey, number[]> {
  const samples = new Map<StepKey, number[]>();
  for (const [journey, steps] of Object.entries(baseline.steps)) {
    for (const [step, values] of Object.entries(steps)) samples.set(stepKey(journey, step), [...values]);
  }
  return samples;
}

/** Every step duration in the baseline, over all journeys and steps. */
export function sampleCount(baseline: BaselineFile): number {
  let count = 0;
  for (const steps of Object.values(baseline.steps)) for (const values of Object.values(steps)) count += values.length;
  return count;
}

/** Built with fromEntries so a journey called `__proto__` stays an ordinary key. */
function nestSamples(samples: ReadonlyMap<StepKey, number[]>): BaselineFile['steps'] {
  const byJourney = new Map<string, [string, number[]][]>();
  for (const [key, values] of samples) {
    const { journey, step } = splitStepKey(key);
    const steps = byJourney.get(journey);
    if (steps) steps.push([step, values]);
    else byJourney.set(journey, [[step, values]]);
  }
  return Object.fromEntries([...byJourney].map(([journey, steps]) => [journey, Object.fromEntries(steps)]));
}

function invalidBaseline(file: string, problem: string, cause?: unknown): BaselineError {
  return new BaselineError(`${file}: ${problem}; regenerate it with ceiling gate --baseline-out ${file}`, cause === undefined ? undefined : { cause });
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return 'is not a baseline file';
  const where = first.path.length > 0 ? `${formatPath(first.path)}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return `${where}${first.message}${more}`;
}

/** `steps["chat announces who left"]["connect alice"][2]`: names hold spaces and dots, so they are quoted. */
function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const name = String(segment);
      if (index === 0 && /^[A-Za-z_$][\w$]*$/.test(name)) return name;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
