import { afterEach, describe, expect, it, vi } from 'vitest';
import { runFleetStory } from '../../fixtures/fleet-demo.js';
import { root } from './cli.js';

/** `npm start`'s third part on its own: the instance no list named is found in DNS, named and redeployed. */

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the fleet demo', () => {
  it('finds three instances in dnsmasq, fails the one on v1 by name, and ends with every instance on the release', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => lines.push(parts.join(' ')));
    expect(await runFleetStory(root)).toBe(true);
    const text = lines.join('\n');
    const stale = /chat-c\.demo\.test http:\/\/127\.0\.0\.1:(\d+) {2}v1\.0\.0/.exec(text);
    expect(stale, text).not.toBeNull();
    const after = text.slice(text.indexOf('After the gate:'));
    expect(after).toMatch(new RegExp(`127\\.0\\.0\\.1:${stale![1]} {2}v2\\.0\\.0`));
    expect(after).not.toContain('v1.0.0');
  }, 90_000);
});
