import { errors } from 'playwright-core';

/**
 * Every Playwright call of a step is given a timeout that ends a little before
 * the step's deadline, and is raced against the step's signal. The margin lets
 * the step say what it was waiting for (the locator, the last text seen)
 * instead of being cut off by the engine with a bare "step timed out".
 */

/** With no deadline at all (a journey always has one; direct callers may not), a wait still ends: nothing in a smoke test should take longer. */
export const UNBOUNDED_WAIT_MS = 10 * 60_000;
const MIN_MARGIN_MS = 20;
const MAX_MARGIN_MS = 150;

export interface Window {
  readonly started: number;
  /** Epoch ms at which this step stops waiting and reports what it saw. */
  readonly until: number;
}

/** From now until `withinMs` later (when given), always ending a margin before the step deadline. */
export function stepWindow(deadline: number, withinMs?: number): Window {
  const started = Date.now();
  const left = deadline - started;
  const margin = Number.isFinite(left) ? Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, left / 10)) : 0;
  const requested = withinMs === undefined ? Number.POSITIVE_INFINITY : started + withinMs;
  const until = Math.min(requested, deadline - margin, started + UNBOUNDED_WAIT_MS);
  return { started, until };
}

/** A Playwright `timeout`: never 0, which Playwright reads as "wait forever". */
export function msLeft(window: Window): number {
  return Math.max(1, Math.ceil(window.until - Date.now()));
}

export function isTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError || (error as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** For calls that take no timeout of their own (page.title, evaluateAll, close). */
export function withTimeout<T>(work: Promise<T>, ms: number, what = 'the browser'): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new errors.TimeoutError(`${what} did not answer within ${ms}ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Playwright's message without colour codes and without its call log. */
export function plainMessage(error: unknown): string {
  const raw = (error as { message?: unknown } | null)?.message;
  const text = typeof raw === 'string' ? raw : String(error);
  return text
    .replace(ANSI, '')
    .split(/\n\s*Call log:/)[0]!
    .replace(/^[a-zA-Z]+\.[a-zA-Z]+: /, '')
    .replace(/^Error: /, '')
    .trim();
}

/** The last thing Playwright was waiting for, e.g. "element is not enabled"; it says why an action never happened. */
export function lastLogLine(error: unknown): string | undefined {
  const raw = (error as { message?: unknown } | null)?.message;
  if (typeof raw !== 'string') return undefined;
  const log = raw.replace(ANSI, '').split(/\n\s*Call log:/)[1];
  if (!log) return undefined;
  const lines = log
    .split('\n')
    .map((line) => line.replace(/^\s*-\s*/, '').trim())
    .filter((line) => line !== '' && !/^retrying|^waiting \d+ms|^\d+ × /.test(line));
  return lines.at(-1);
}
