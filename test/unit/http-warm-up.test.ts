import { describe, expect, it, vi } from 'vitest';
import { warmHttpClient } from '../../src/steps/http/warm-up.js';

const listening = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
const sockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

describe('warmHttpClient', () => {
  it('makes its loopback request and leaves no server or socket behind, once per process', async () => {
    const serversBefore = listening();
    const socketsBefore = sockets();
    const first = warmHttpClient();
    expect(warmHttpClient()).toBe(first);
    await first;
    // Handles leave the list once libuv has closed them, a few turns of the loop later.
    await vi.waitFor(
      () => {
        expect(listening()).toBe(serversBefore);
        expect(sockets()).toBeLessThanOrEqual(socketsBefore);
      },
      { timeout: 10_000, interval: 20 },
    );
  });
});
