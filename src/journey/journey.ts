import { createHash } from 'node:crypto';
import type { CaptureMap, HttpExpect, StepKind, StepSpec } from './schema.js';
import type { SourceLocation } from '../core/source-location.js';

/** A validated step: the tagged union the engine and executors work with. */
export type CompiledStep = {
  [K in StepKind]: {
    index: number;
    kind: K;
    name: string;
    /**
     * What names the step where names become keys (metric labels): the name the
     * file gives it, else its kind and 1-based position (`http#2`). Never the
     * description made up from the step's URL or target, which may hold a token.
     */
    label: string;
    spec: StepSpec<K>;
    expect?: HttpExpect;
    capture?: CaptureMap;
    timeoutMs?: number;
    /** A templated `timeout`, rendered when the step runs (timeoutMs is then absent). */
    timeoutTemplate?: string;
    /** Poll: repeat the step every everyMs until it passes, at most attempts times. */
    until?: { everyMs: number; attempts?: number };
    location: SourceLocation;
    /** Set on the journey's finally (cleanup) steps; index then counts within finally. */
    section?: 'finally';
    /** True when this step checks something, so a journey can be told apart from one that tests nothing. */
    asserts: boolean;
  };
}[StepKind];

export type StepOf<K extends StepKind> = Extract<CompiledStep, { kind: K }>;

/** When `ceiling serve` runs a journey; jitter delays each start by a random share of it. */
export type Schedule = { kind: 'every'; everyMs: number; jitterMs: number } | { kind: 'cron'; cron: string; timezone?: string; jitterMs: number };

export interface Journey {
  name: string;
  description?: string;
  file: string;
  tags: string[];
  vars: Record<string, unknown>;
  timeoutMs: number;
  retries: number;
  /** Absent when the file sets none; `ceiling serve` then applies its default. */
  schedule?: Schedule;
  /** False when the journey says `trace: { propagate: false }`: with tracing on, its requests still carry no traceparent header. */
  propagateTrace?: false;
  steps: CompiledStep[];
  /** Cleanup steps run after the steps whatever happened; absent when the file has none. */
  finally?: CompiledStep[];
  /** The finally steps' own budget, apart from timeoutMs. */
  finallyTimeoutMs?: number;
  location: SourceLocation;
}

export const DEFAULT_JOURNEY_TIMEOUT_MS = 30_000;
export const DEFAULT_FINALLY_TIMEOUT_MS = 10_000;

/** Where a step sits in the file: steps[i] or finally[i]. */
export function stepPath(step: { index: number; section?: 'finally' }): (string | number)[] {
  return [step.section ?? 'steps', step.index];
}

/**
 * A folder name for a journey's files (evidence, screenshots): a readable slug
 * plus a digest of file and name, so no name can escape the output folder and
 * two journeys never share one.
 */
export function journeyFolderName(journey: { name: string; file: string }): string {
  const slug =
    journey.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'journey';
  const digest = createHash('sha1').update(`${journey.file}\0${journey.name}`).digest('hex').slice(0, 8);
  return `${slug}-${digest}`;
}
