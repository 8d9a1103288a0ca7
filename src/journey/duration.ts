import { configError } from '../core/failure.js';

/**
 * Durations always carry a unit. A bare number is ambiguous (ms? s?) and has
 * caused real outages in timeout configs, so it is rejected, not guessed.
 */
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const pattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
/** Node timers overflow past 2^31-1 ms and then fire at once, so longer durations are refused. */
export const MAX_DURATION_MS = 2_147_483_647;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(input: unknown): DurationResult {
  if (typeof input === 'number') {
    if (input < 0) return { ok: false, reason: `duration ${input} is negative and has no unit; write a positive duration such as "500ms" or "2s"` };
    if (input === 0) return { ok: false, reason: 'duration 0 is zero and has no unit; write a positive duration such as "500ms" or "2s"' };
    return { ok: false, reason: `duration ${input} has no unit; write it as "${input}ms" or "${input}s"` };
  }
  if (typeof input !== 'string') return { ok: false, reason: 'a duration must be a string such as "500ms", "2s" or "1m"' };
  const text = input.trim();
  if (text.startsWith('-')) return { ok: false, reason: `duration "${input}" is negative; it must be greater than zero` };
  const match = pattern.exec(text);
  if (!match) {
    if (/^\d+(\.\d+)?$/.test(text)) return { ok: false, reason: `duration "${input}" has no unit; write "${text}ms" or "${text}s"` };
    return { ok: false, reason: `"${input}" is not a duration; use a number with a unit: ms, s, m or h (e.g. "500ms", "2s")` };
  }
  const ms = Number(match[1]) * (units[match[2]!] ?? 1);
  if (!(ms > 0)) return { ok: false, reason: `duration "${input}" is zero; it must be greater than zero` };
  const rounded = Math.round(ms);
  if (rounded < 1) return { ok: false, reason: `duration "${input}" rounds to 0ms; the shortest duration is 1ms` };
  if (rounded > MAX_DURATION_MS) return { ok: false, reason: `duration "${input}" is too long; the longest is about 24 days ("596h")` };
  return { ok: true, ms: rounded };
}

/** For already-validated input, where a failure would be a programming error. */
export function durationMs(input: string): number {
  const parsed = parseDuration(input);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.ms;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  return `${(ms / 60_000).toFixed(1)}m`;
}

/**
 * A step's duration field as written, a template included: rendered now, then
 * read. What it renders to is checked as strictly as a literal one.
 */
export function renderedDurationMs(field: string, written: string, render: (text: string) => unknown = (text) => text): number {
  const rendered = typeof written === 'string' && written.includes('{{') ? render(written) : written;
  const parsed = parseDuration(typeof rendered === 'number' ? rendered : String(rendered));
  if (!parsed.ok) {
    throw configError('CEIL_TEMPLATE_DURATION', `${field}: ${written} rendered to ${JSON.stringify(rendered)}: ${parsed.reason}`, {
      hint: 'make the var hold a duration with its unit, e.g. "2s"',
    });
  }
  return parsed.ms;
}
