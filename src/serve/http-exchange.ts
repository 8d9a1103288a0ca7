import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What every route of the daemon's HTTP surface shares: the request and its
 * answer, the error a handler throws instead of answering, the bounded body
 * reader and the writers. Route tables (http-api.ts, delivery-routes.ts)
 * build on this file; it imports none of them.
 */

export const MAX_TRIGGER_BODY_BYTES = 16 * 1024;

export interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  method: string;
  query: URLSearchParams;
}

export type Method = 'GET' | 'HEAD' | 'POST';

export type RouteHandler = (exchange: Exchange, params: string[]) => Promise<void> | void;

/** One entry of a route table: a path matcher (its captures become params) and a handler per method. */
export interface Route {
  match(path: string): string[] | undefined;
  methods: Partial<Record<Method, RouteHandler>>;
}

/** What a route handler may signal instead of an answer; turned into a JSON error by the one place that writes them. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function exactly(path: string): (candidate: string) => string[] | undefined {
  return (candidate) => (candidate === path ? [] : undefined);
}

/**
 * Reads at most MAX_TRIGGER_BODY_BYTES. Past that it stops listening without
 * destroying the request (which would reset the socket before the 413 is
 * written); Node discards the rest and closes the connection after the answer.
 */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers['content-length'] ?? 0) > MAX_TRIGGER_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      request.off('data', onData).off('end', onEnd).off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_TRIGGER_BODY_BYTES) {
        stop();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (): void => {
      stop();
      reject(new HttpProblem(400, 'the request body was cut off'));
    };
    request.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function tooLarge(): HttpProblem {
  // The rest of the body is never read, so the connection cannot be reused.
  return new HttpProblem(
    413,
    `the request body is over ${MAX_TRIGGER_BODY_BYTES / 1024} KiB`,
    'send {"journey": [...]} or {"tag": "..."}, or no body to run every journey',
    { connection: 'close' },
  );
}

export function send(exchange: Exchange, status: number, headers: Record<string, string>, body: string): void {
  const { response } = exchange;
  response.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-length': String(Buffer.byteLength(body)) });
  response.end(exchange.method === 'HEAD' ? undefined : body);
}

export function sendJson(exchange: Exchange, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(exchange, status, { 'content-type': 'application/json; charset=utf-8', ...headers }, `${JSON.stringify(value)}\n`);
}
