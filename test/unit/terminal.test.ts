import { describe, expect, it } from 'vitest';
import { wantsColor } from '../../src/cli/terminal.js';

describe('wantsColor', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it('FORCE_COLOR wins over everything: on for any value but 0 or false, off for those', () => {
    expect(wantsColor(pipe, { FORCE_COLOR: '1', CI: 'true', NO_COLOR: '1' })).toBe(true);
    expect(wantsColor(pipe, { FORCE_COLOR: '3' })).toBe(true);
    expect(wantsColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColor(tty, { FORCE_COLOR: 'false' })).toBe(false);
  });

  it('otherwise NO_COLOR turns it off, CI keeps a terminal plain, and a pipe is plain', () => {
    expect(wantsColor(tty, {})).toBe(true);
    expect(wantsColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(tty, { CI: 'true' })).toBe(false);
    expect(wantsColor(pipe, {})).toBe(false);
    expect(wantsColor(tty, { FORCE_COLOR: '' })).toBe(true);
  });
});
