import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { HttpPhases } from '../../core/result.js';

/**
 * Where an HTTP request's time goes, split as blackbox_exporter splits it:
 * resolve, connect, TLS, time to first byte, body. Connection phases come
 * from the socket itself (its lookup, connect and secureConnect events, seen
 * by our connector); which socket served which request comes from undici's
 * diagnostics channels (undici:request:create, undici:client:sendHeaders).
 */

interface SocketTiming {
  created: number;
  lookedUp?: number;
  connected?: number;
  secured?: number;
}

const sockets = new WeakMap<Socket, SocketTiming>();

/** Called by the connector for every socket it opens. */
export function watchSocket(socket: Socket): void {
  const timing: SocketTiming = { created: performance.now() };
  sockets.set(socket, timing);
  socket.once('lookup', () => (timing.lookedUp = performance.now()));
  socket.once('connect', () => (timing.connected = performance.now()));
  socket.once('secureConnect', () => (timing.secured = performance.now()));
}

/** One request of a step (one hop of a redirect chain). */
export class HopTimer {
  readonly started = performance.now();
  sentAt?: number;
  socket?: Socket;
  headersAt?: number;
  endedAt?: number;

  phases(): HttpPhases {
    const end = this.endedAt ?? performance.now();
    const timing = this.socket ? sockets.get(this.socket) : undefined;
    // A socket opened before this request started is a reused connection: no connection phases.
    const fresh = timing !== undefined && timing.created >= this.started - 1;
    const connectStart = fresh ? (timing.lookedUp ?? timing.created) : 0;
    const dnsMs = fresh && timing.lookedUp !== undefined ? timing.lookedUp - timing.created : 0;
    const connectMs = fresh && timing.connected !== undefined ? timing.connected - connectStart : 0;
    const tlsMs = fresh && timing.secured !== undefined && timing.connected !== undefined ? timing.secured - timing.connected : 0;
    const sent = this.sentAt ?? this.started;
    const firstByteMs = this.headersAt !== undefined ? this.headersAt - sent : 0;
    const bodyMs = this.headersAt !== undefined ? end - this.headersAt : 0;
    return { dnsMs, connectMs, tlsMs, firstByteMs, bodyMs, totalMs: end - this.started };
  }
}

/** Adds the hops of a redirect chain; rounded to a tenth of a millisecond for the report. */
export function sumPhases(hops: readonly HttpPhases[]): HttpPhases {
  const total: HttpPhases = { dnsMs: 0, connectMs: 0, tlsMs: 0, firstByteMs: 0, bodyMs: 0, totalMs: 0 };
  for (const hop of hops) for (const key of Object.keys(total) as (keyof HttpPhases)[]) total[key] += hop[key];
  for (const key of Object.keys(total) as (keyof HttpPhases)[]) total[key] = Math.round(total[key] * 10) / 10;
  return total;
}

/** The hop whose request undici is creating right now: request() creates it synchronously. */
let creating: HopTimer | undefined;
const byRequest = new WeakMap<object, HopTimer>();

diagnosticsChannel.subscribe('undici:request:create', (message) => {
  if (!creating) return;
  byRequest.set((message as { request: object }).request, creating);
  creating = undefined;
});

diagnosticsChannel.subscribe('undici:client:sendHeaders', (message) => {
  const { request, socket } = message as { request: object; socket: Socket };
  const hop = byRequest.get(request);
  if (!hop) return;
  hop.sentAt = performance.now();
  hop.socket = socket;
});

/** Runs `start` (which must call undici's request synchronously) with its request tied to `hop`. */
export function timed<T>(hop: HopTimer, start: () => T): T {
  creating = hop;
  try {
    return start();
  } finally {
    creating = undefined;
  }
}
