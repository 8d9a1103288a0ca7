import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

/** Bounds the whole warm-up: it is an optimisation, never a reason to wait. */
const WARM_UP_LIMIT_MS = 2_000;

let warming: Promise<void> | undefined;

/**
 * undici compiles its HTTP parser (WebAssembly) on its first connection, about
 * 10 ms of CPU that would otherwise land in the first HTTP step's time and be
 * read as the service's latency. One request to a throwaway server on loopback
 * during preparation pays it, with the step code's own first-call costs. A
 * failure here changes nothing: the first step then pays the cost itself.
 */
export function warmHttpClient(): Promise<void> {
  warming ??= warmUp().catch(() => undefined);
  return warming;
}

async function warmUp(): Promise<void> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const agent = new Agent({ keepAliveTimeout: 1 });
  try {
    const { port } = server.address() as AddressInfo;
    const response = await request(`http://127.0.0.1:${port}/`, {
      dispatcher: agent,
      headers: { 'accept-encoding': 'gzip, deflate, br' },
      signal: AbortSignal.timeout(WARM_UP_LIMIT_MS),
    });
    JSON.parse(await response.body.text());
  } finally {
    await agent.destroy().catch(() => undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
