import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RunResources } from '../../src/steps/executor.js';
import { StepSession } from './step-session.js';

export { compile, failureOf } from './step-session.js';

/**
 * What the browser tests share: a run's resources that count what they
 * create, a hand-built journey session like the engine's, a tiny web server,
 * and a look at the process table for leftover Chromium processes.
 */

export const DEFAULT_STEP_TIMEOUT_MS = 5_000;

/** Like the engine's run resources, plus a count of how often each was created. */
export class CountingResources implements RunResources {
  readonly created = new Map<string, number>();
  readonly #entries = new Map<string, { value: unknown; close: (value: never) => Promise<void> | void }>();

  shared<T>(key: string, create: () => T, close: (value: T) => Promise<void> | void): T {
    const existing = this.#entries.get(key);
    if (existing) return existing.value as T;
    this.created.set(key, (this.created.get(key) ?? 0) + 1);
    const value = create();
    this.#entries.set(key, { value, close: close as (value: never) => Promise<void> | void });
    return value;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map((entry) => entry.close(entry.value as never)));
  }
}

export interface SessionOptions {
  resources: RunResources;
  outDir: string;
  vars?: Record<string, unknown>;
  secrets?: Record<string, string>;
  browserPath?: string;
}

/** A journey session for browser steps: they write evidence and screenshots under outDir. */
export class Session extends StepSession {
  constructor(options: SessionOptions) {
    super({ ...options, defaultTimeoutMs: DEFAULT_STEP_TIMEOUT_MS, journey: { name: 'browser steps', file: 'browser.test.ts' } });
  }
}

export type Route = (request: http.IncomingMessage, response: http.ServerResponse, body: string) => void;

/** A web server on 127.0.0.1:0 with a route per path; requests it has no route for get a 404. */
export class TestSite {
  readonly requests: { method: string; url: string; cookie?: string }[] = [];
  readonly #sockets = new Set<Socket>();

  private constructor(
    readonly server: http.Server,
    readonly url: string,
  ) {
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(routes: Record<string, Route>): Promise<TestSite> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const pathname = new URL(request.url ?? '/', 'http://x').pathname;
        site.requests.push({ method: request.method ?? 'GET', url: request.url ?? '/', ...(request.headers.cookie ? { cookie: request.headers.cookie } : {}) });
        const route = routes[pathname];
        if (route) route(request, response, Buffer.concat(chunks).toString('utf8'));
        else response.writeHead(404, { 'content-type': 'text/html' }).end('<title>Not found</title><h1>Not found</h1>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const site: TestSite = new TestSite(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return site;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function html(body: string, status = 200, headers: Record<string, string> = {}): Route {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(body);
  };
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  command: string;
}

/** The process table from /proc: Linux only, like the CI that runs these tests. */
export function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may itself hold spaces or parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      entries.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]), command });
    } catch {
      // The process ended while the table was read.
    }
  }
  return entries;
}

/** Every process descended from `root` (not counting root itself). */
export function descendants(root: number): ProcessEntry[] {
  const table = processTable();
  const found: ProcessEntry[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const entry of table) {
      if (parents.has(entry.ppid) && !parents.has(entry.pid)) {
        parents.add(entry.pid);
        found.push(entry);
        grew = true;
      }
    }
  }
  return found;
}

/** The browser processes this test process started: Chromium runs as a direct child of the Node process that launched it. */
export function chromiumProcesses(): ProcessEntry[] {
  return descendants(process.pid).filter((entry) => /chrom/i.test(entry.command));
}

/** Polls a condition the test cannot subscribe to; bounded so a regression fails instead of hanging. */
export async function eventually(condition: () => boolean, what: string, limitMs = 5_000): Promise<void> {
  const giveUpAt = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
