import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { createApiHandler, type ApiDependencies } from '../../src/serve/http-api.js';

/** The serve API handler on a real 127.0.0.1 socket, and a client that reads whole replies: shared by the API tests. */

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send the body with Transfer-Encoding: chunked, without a Content-Length. */
  chunked?: boolean;
}

export class TestServer {
  private constructor(
    readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(deps: ApiDependencies): Promise<TestServer> {
    const server = http.createServer(createApiHandler(deps));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TestServer(server, (server.address() as AddressInfo).port);
  }

  request(path: string, options: RequestOptions = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined && !options.chunked) headers['content-length'] = String(Buffer.byteLength(options.body));
      const request = http.request({ host: '127.0.0.1', port: this.port, path, method: options.method ?? 'GET', headers, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      // The server may close after a 413 while the client still writes; the reply has arrived by then.
      request.on('error', reject);
      if (options.body !== undefined) {
        if (options.chunked) {
          const body = Buffer.from(options.body);
          for (let offset = 0; offset < body.length; offset += 1024) request.write(body.subarray(offset, offset + 1024));
        } else request.write(options.body);
      }
      request.end();
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  postJson(path: string, value: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof value === 'string' ? value : JSON.stringify(value),
    });
  }
}

export function json(reply: Reply): Record<string, unknown> {
  expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(reply.body) as Record<string, unknown>;
}
