import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../fixtures/duration.js';
import { parseServeArgs, UsageError } from '../../fixtures/serve-args.js';

describe('serve arguments', () => {
  it('parses a full chat invocation', () => {
    expect(parseServeArgs(['chat', '--port', '4100', '--bug', 'ghost-leave', '--keepalive', '200ms', '--version', '2.0.0', '--slow', '1s'])).toEqual({
      service: 'chat',
      port: 4100,
      bugs: ['ghost-leave'],
      keepaliveMs: 200,
      version: '2.0.0',
      slowMs: 1000,
    });
  });

  it('collects repeated --bug flags and leaves unset options out', () => {
    expect(parseServeArgs(['dead-drop', '--bug', 'stale-cache', '--bug', 'never-burn'])).toEqual({
      service: 'dead-drop',
      bugs: ['stale-cache', 'never-burn'],
    });
  });

  it('recognises --help', () => {
    expect(parseServeArgs(['--help'])).toBe('help');
  });

  it.each([
    [[], /missing service/],
    [['mail'], /unknown service "mail"/],
    [['chat', 'extra'], /unexpected argument/],
    [['chat', '--bug', 'stale-cache'], /unknown chat bug "stale-cache"; valid bugs: ghost-leave/],
    [['dead-drop', '--bug', 'ghost-leave'], /valid bugs: stale-cache, never-burn/],
    [['dead-drop', '--keepalive', '1s'], /only applies to chat/],
    [['chat', '--keepalive', '0ms'], /at least 1ms/],
    [['chat', '--port', '70000'], /--port/],
    [['chat', '--port', '-1'], /--port/],
    [['chat', '--slow', 'soon'], /--slow: invalid duration/],
    [['chat', '--frobnicate'], /frobnicate/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseServeArgs(argv)).toThrow(UsageError);
    expect(() => parseServeArgs(argv)).toThrow(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['1s', 1000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['75', 75],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 's', '-1s', '1h', '1 s s'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});
