import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { abortFailure } from '../../core/deadline.js';
import { configError, StepFailure } from '../../core/failure.js';
import { formatMs } from '../../journey/duration.js';
import { classifyNetworkError } from '../../core/network-errors.js';
import { Inbox, InboxMessage } from './inbox.js';
import type { AutoReplyRule } from './match.js';
import { EXPIRED, waitUntil, windowEnd } from './wait.js';

/** Teardown must finish even when a peer never lets go; past this the socket is abandoned as destroyed. */
const TEARDOWN_CLOSE_WAIT_MS = 1000;

export interface ConnectRequest {
  name: string;
  url: string;
  headers: Record<string, string>;
  protocols: string[];
  handshakeTimeoutMs?: number;
  insecure: boolean;
  autoReplies: AutoReplyRule[];
}

function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

const stateNames: Record<number, string> = {
  [WebSocket.CONNECTING]: 'still connecting',
  [WebSocket.OPEN]: 'open',
  [WebSocket.CLOSING]: 'closing',
  [WebSocket.CLOSED]: 'closed',
};

/**
 * One WebSocket client of a journey. Listeners are attached before the
 * handshake completes, because a server may greet in the same packet as its
 * 101 answer and that first message must reach the inbox too.
 */
export class WsActor {
  readonly inbox = new Inbox();
  #ghosted = false;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly socket: WebSocket,
    private readonly autoReplies: readonly AutoReplyRule[],
  ) {
    socket.on('message', this.#onMessage);
    socket.on('ping', this.#onPing);
    // Errors always have a listener: an unhandled 'error' event would crash the whole run.
    socket.on('error', this.#onError);
    socket.addEventListener('close', this.#onClose);
  }

  /** Opens the connection; on any failure the socket is already closed when this rejects. */
  static async connect(request: ConnectRequest, signal: AbortSignal, stepDeadline: number): Promise<WsActor> {
    const boundMs = windowEnd(request.handshakeTimeoutMs, stepDeadline) - Date.now();
    let socket: WebSocket;
    try {
      socket = new WebSocket(request.url, request.protocols, {
        headers: request.headers,
        rejectUnauthorized: !request.insecure,
        // Pongs are sent by hand so that a ghosted actor provably never answers a ping (see ghost()).
        autoPong: false,
        // One frame may not take more memory than this; ws closes with 1009 past it.
        maxPayload: MAX_MESSAGE_BYTES,
        ...(Number.isFinite(boundMs) ? { handshakeTimeout: Math.max(1, Math.ceil(boundMs)) } : {}),
      });
    } catch (error) {
      throw configError('CEIL_WS_URL_INVALID', `cannot open a WebSocket to ${request.url}: ${(error as Error).message}`, {
        hint: 'use a ws:// or wss:// URL',
      });
    }
    const actor = new WsActor(request.name, request.url, socket, request.autoReplies);
    try {
      await handshake(socket, request.url, boundMs, signal);
    } catch (failure) {
      await actor.shutdown();
      throw failure;
    }
    return actor;
  }

  get isClosed(): boolean {
    return this.socket.readyState === WebSocket.CLOSED;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get ghosted(): boolean {
    return this.#ghosted;
  }

  /** Resolves once the frame is handed to the kernel; a write error becomes a classified failure. */
  send(frame: string, signal: AbortSignal): Promise<void> {
    if (!this.isOpen) return Promise.reject(this.#notOpen());
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(abortFailure(signal));
      const onAbort = () => reject(abortFailure(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.socket.send(frame, (error) => {
        signal.removeEventListener('abort', onAbort);
        if (error) reject(classifyNetworkError(error, signal, this.url));
        else resolve();
      });
    });
  }

  /** Starts the closing handshake and waits for it; a peer that never answers is cut off when the step runs out. */
  async close(code: number, reason: string, signal: AbortSignal): Promise<void> {
    // The handshake needs the peer's answer, which a ghosted socket would never read; the ghost flag still keeps pongs and replies off.
    if (this.#ghosted) this.#rawSocket()?.resume();
    if (this.socket.readyState === WebSocket.OPEN) {
      try {
        this.socket.close(code, reason);
      } catch (error) {
        throw configError('CEIL_WS_CLOSE_CODE_INVALID', `ws.close: ${(error as Error).message}`, {
          hint: 'use 1000, 1001, 1002, 1003, 1007–1014 or an application code 3000–4999, and a reason of at most 123 bytes',
        });
      }
    }
    try {
      await this.#closed(Number.POSITIVE_INFINITY, signal);
    } catch (failure) {
      this.socket.terminate();
      throw failure;
    }
  }

  /** Cuts the TCP connection without a close frame, as a crashed client or a dead network would. */
  async drop(signal: AbortSignal): Promise<void> {
    this.socket.terminate();
    await this.#closed(Number.POSITIVE_INFINITY, signal);
  }

  /**
   * Leaves the TCP connection open but stops reading it, so the peer sees a
   * silent client: no pongs, no replies, no close. Only the server's own
   * keepalive can notice, which is exactly what this is for.
   */
  ghost(): void {
    // The flag alone guarantees no pong, reply or recording, even if ws resumes the socket after backpressure.
    this.#ghosted = true;
    // Pausing makes the TCP side realistic too: unread data piles up and the receive window closes, as with a hung client.
    this.#rawSocket()?.pause();
  }

  /** ws keeps its net.Socket private, yet it is the only handle that stops reading without closing. */
  #rawSocket(): { pause(): void; resume(): void } | undefined {
    return (this.socket as unknown as { _socket?: { pause(): void; resume(): void } })._socket ?? undefined;
  }

  /** For teardown: never throws and never waits long, whatever state the socket is in. */
  async shutdown(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) {
      try {
        this.socket.terminate();
      } catch (error) {
        this.inbox.recordError(error);
      }
      await this.#closed(Date.now() + TEARDOWN_CLOSE_WAIT_MS).catch(() => undefined);
    }
    this.#detach();
  }

  #notOpen(): StepFailure {
    const closed = this.inbox.closed;
    const how = closed ? ` (close code ${closed.code}${closed.reason ? `, reason "${closed.reason}"` : ''})` : '';
    return new StepFailure(
      'connect',
      'CEIL_WS_NOT_OPEN',
      `cannot send: the connection of ${this.name} is ${stateNames[this.socket.readyState] ?? 'not open'}${how}`,
      {
        hint: 'an earlier step or the server closed it; check the steps before this one',
      },
    );
  }

  async #closed(until: number, signal?: AbortSignal): Promise<void> {
    const outcome = await waitUntil(this.inbox.subscribe, () => this.inbox.closed, until, signal);
    if (outcome === EXPIRED) throw new Error(`${this.name} did not close within ${formatMs(until - Date.now())}`);
  }

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.#ghosted) return;
    const message = new InboxMessage(frameText(data), isBinary, Date.now());
    const reply = this.#autoReplyFor(message);
    if (reply !== undefined) {
      this.socket.send(reply, (error) => {
        if (error) this.inbox.recordError(error);
      });
    }
    if (!this.inbox.recordMessage(message)) this.socket.terminate();
  };

  #autoReplyFor(message: InboxMessage): string | undefined {
    for (const rule of this.autoReplies) {
      const groups = rule.when.match(message);
      if (groups) return rule.reply(groups);
    }
    return undefined;
  }

  readonly #onPing = (payload: Buffer): void => {
    if (this.#ghosted || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.pong(payload, undefined, (error) => {
      if (error) this.inbox.recordError(error);
    });
  };

  readonly #onError = (error: Error): void => {
    this.inbox.recordError(error);
  };

  readonly #onClose = (event: WebSocket.CloseEvent): void => {
    // When Ceiling itself closed the connection over a protocol problem (a message over maxPayload is 1009),
    // the peer's answer is usually lost with the socket (1006); the reason Ceiling closed is what explains it.
    const own = ownCloseReason(this.inbox.errors);
    const close = own && !event.wasClean ? { code: own.code, reason: own.reason } : { code: event.code, reason: event.reason };
    this.inbox.recordClose({ ...close, wasClean: event.wasClean, at: Date.now() });
  };

  #detach(): void {
    this.socket.off('message', this.#onMessage);
    this.socket.off('ping', this.#onPing);
    this.socket.removeEventListener('close', this.#onClose);
    // The error listener stays: a late error from a dying socket must not become an uncaught exception.
  }
}

/** The largest message accepted; ws closes the connection with 1009 past it. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** ws's error codes for frames it refuses, and the close code it sends for each. */
const refusedFrames: Record<string, { code: number; reason: string }> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: {
    code: 1009,
    reason: `message too big: the server sent a message over Ceiling's ${MAX_MESSAGE_BYTES / (1024 * 1024)} MiB limit`,
  },
  WS_ERR_INVALID_UTF8: { code: 1007, reason: 'invalid UTF-8 in a text message from the server' },
};

function ownCloseReason(errors: readonly { code?: string }[]): { code: number; reason: string } | undefined {
  for (const error of errors) {
    const refused = error.code !== undefined ? refusedFrames[error.code] : undefined;
    if (refused) return refused;
  }
  return undefined;
}

function handshakeTimedOut(url: string, boundMs: number): StepFailure {
  return new StepFailure('timeout', 'CEIL_WS_HANDSHAKE_TIMEOUT', `the WebSocket handshake with ${url} got no answer within ${formatMs(boundMs)}`, {
    hint: 'the server accepted the TCP connection but never answered the upgrade; is it overloaded, or is a proxy swallowing the request?',
  });
}

function upgradeRejected(url: string, response: IncomingMessage): StepFailure {
  const status = response.statusCode ?? 0;
  return new StepFailure(
    'protocol',
    'CEIL_WS_UPGRADE_REJECTED',
    `${url} answered the WebSocket upgrade with HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd(),
    {
      expected: 101,
      actual: status,
      hint: 'check the path, the auth headers and the Origin the server accepts',
    },
  );
}

/** Waits for the 101 answer, bounded by the handshake timeout, the step deadline and the step signal. */
function handshake(socket: WebSocket, url: string, boundMs: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortFailure(signal));
    let timer: NodeJS.Timeout | undefined;
    const settle = (finish: () => void) => {
      if (timer) clearTimeout(timer);
      socket.off('open', onOpen);
      socket.off('error', onError);
      socket.off('unexpected-response', onUnexpectedResponse);
      signal.removeEventListener('abort', onAbort);
      finish();
    };
    const onOpen = () => settle(resolve);
    const onError = (error: Error) => {
      // ws reports its own handshakeTimeout as a plain error; it is the same finding as our timer's.
      const failure = /handshake has timed out/i.test(error.message) ? handshakeTimedOut(url, boundMs) : classifyNetworkError(error, signal, url);
      settle(() => reject(failure));
    };
    const onUnexpectedResponse = (_request: unknown, response: IncomingMessage) => settle(() => reject(upgradeRejected(url, response)));
    const onAbort = () => settle(() => reject(abortFailure(signal)));
    socket.on('open', onOpen);
    socket.on('error', onError);
    socket.on('unexpected-response', onUnexpectedResponse);
    signal.addEventListener('abort', onAbort, { once: true });
    if (Number.isFinite(boundMs)) {
      timer = setTimeout(() => settle(() => reject(handshakeTimedOut(url, boundMs))), Math.max(0, boundMs));
      timer.unref();
    }
  });
}
