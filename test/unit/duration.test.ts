import { describe, expect, it } from 'vitest';
import { durationMs, formatMs, MAX_DURATION_MS, parseDuration } from '../../src/journey/duration.js';

function reasonOf(input: unknown): string {
  const parsed = parseDuration(input);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${parsed.ms}ms`);
  return parsed.reason;
}

describe('parseDuration', () => {
  it.each([
    ['1ms', 1],
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['2h', 7_200_000],
    [' 3s ', 3000],
    ['0.5ms', 1],
  ])('reads %j as %i ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, ms });
  });

  it('rejects a bare number and says which units to write', () => {
    expect(reasonOf(5)).toBe('duration 5 has no unit; write it as "5ms" or "5s"');
  });

  it('rejects a unit-less string and suggests the units', () => {
    expect(reasonOf('250')).toBe('duration "250" has no unit; write "250ms" or "250s"');
    expect(reasonOf('1.5')).toContain('has no unit');
  });

  it('rejects zero, with or without a unit, without suggesting "0ms"', () => {
    expect(reasonOf('0s')).toBe('duration "0s" is zero; it must be greater than zero');
    expect(reasonOf('0ms')).toContain('is zero');
    expect(reasonOf('0.0h')).toContain('is zero');
    const bare = reasonOf(0);
    expect(bare).toContain('zero');
    expect(bare).not.toContain('"0ms"');
  });

  it('rejects negative durations, with or without a unit', () => {
    expect(reasonOf('-2s')).toBe('duration "-2s" is negative; it must be greater than zero');
    expect(reasonOf(' -1ms')).toContain('negative');
    const bare = reasonOf(-5);
    expect(bare).toContain('negative');
    expect(bare).not.toContain('"-5ms"');
  });

  it('rejects a duration that rounds to 0ms instead of returning 0', () => {
    expect(reasonOf('0.4ms')).toContain('rounds to 0ms');
  });

  it('rejects a duration longer than a timer can hold instead of letting it fire at once', () => {
    expect(parseDuration('596h')).toEqual({ ok: true, ms: 596 * 3_600_000 });
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    expect(reasonOf('597h')).toContain('too long');
  });

  it.each(['2 s', '2sec', '2S', '1e3ms', 's', '', '1.s', '.5s', '1d', '2s5ms'])('rejects %j as not a duration', (input) => {
    expect(reasonOf(input)).toBe(`"${input}" is not a duration; use a number with a unit: ms, s, m or h (e.g. "500ms", "2s")`);
  });

  it.each([null, undefined, true, {}, ['2s']])('rejects the non-string %j', (input) => {
    expect(reasonOf(input)).toContain('must be a string');
  });
});

describe('durationMs', () => {
  it('returns milliseconds for valid input and throws the reason otherwise', () => {
    expect(durationMs('2s')).toBe(2000);
    expect(() => durationMs('2')).toThrow('has no unit');
  });
});

describe('formatMs', () => {
  it('uses ms below a second, seconds below a minute, then minutes', () => {
    expect(formatMs(0)).toBe('0ms');
    expect(formatMs(12.4)).toBe('12ms');
    expect(formatMs(1500)).toBe('1.50s');
    expect(formatMs(12_340)).toBe('12.3s');
    expect(formatMs(90_000)).toBe('1.5m');
  });
});
