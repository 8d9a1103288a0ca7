import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP receiver on 127.0.0.1:0 standing in for a Pushgateway or a
 * webhook: it records every request and answers as the test says.
 */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request; `requestNumber` starts at 1. Not answering at all plays a hung receiver. */
export type Reply = (response: ServerResponse, requestNumber: number) => void;

export interface Receiver {
  /** http://127.0.0.1:<port> */
  base: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

export const answer =
  (status: number, body = 'ok', headers: Record<string, string> = {}): Reply =>
  (response) => {
    response.writeHead(status, headers);
    response.end(body);
  };

/** Answers with the statuses in turn, then 200. */
export const answerInTurn =
  (...statuses: number[]): Reply =>
  (response, requestNumber) =>
    answer(statuses[requestNumber - 1] ?? 200)(response, requestNumber);

export const neverAnswer: Reply = () => undefined;

export async function startReceiver(reply: Reply): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      reply(response, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    close: async () => {
      // A hung exchange would otherwise hold close() open until its socket times out.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
