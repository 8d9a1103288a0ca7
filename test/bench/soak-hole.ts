/**
 * A black-hole target that also counts: it accepts connections and never
 * answers (as fixtures/black-hole.ts does), and it records how many of them
 * were open at once. Each run of the hanging journey holds exactly one
 * connection until its deadline, so the peak is the number of runs that were
 * in flight against it together, seen from outside the daemon rather than
 * taken on its word.
 */
import { createServer, type Socket } from 'node:net';
import { closeServer, DEFAULT_HOST, listen } from '../../fixtures/lifecycle.js';

export interface CountingHole {
  url: string;
  /** Connections open right now. */
  open(): number;
  /** The most connections open at once since start. */
  peak(): number;
  accepted(): number;
  close(): Promise<void>;
}

export async function startCountingHole(): Promise<CountingHole> {
  const sockets = new Set<Socket>();
  let peak = 0;
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    peak = Math.max(peak, sockets.size);
    socket.once('close', () => sockets.delete(socket));
    // Swallow the request so the client never blocks on a full window; silence is the only fault.
    socket.resume();
    socket.on('error', () => {});
  });
  const port = await listen(server, 0, DEFAULT_HOST);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${DEFAULT_HOST}:${port}`,
    open: () => sockets.size,
    peak: () => peak,
    accepted: () => accepted,
    close: () => (closed ??= closeServer(server, sockets)),
  };
}
