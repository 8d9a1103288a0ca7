/**
 * Small helpers shared by the fault, secrets, lifecycle and bad-input e2e
 * tests: a JSON-report run, failure lookup, throwaway local servers, and one
 * cleanup list so every server, folder and child is released after each test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FailureInfo, JourneyResult, RunResult, StepResult } from '../../src/core/result.js';
import { runCli, scratch, type CliOptions, type CliResult } from './cli.js';

/** A host glibc rejects locally (first label of 64+ characters): a DNS failure without any packet. */
export const UNRESOLVABLE_HOST = `${'a'.repeat(64)}.invalid`;

/** Cleanups registered during a test, run in reverse by `cleanup.run()` in afterEach. */
export class Cleanup {
  private readonly tasks: (() => Promise<void> | void)[] = [];

  add<T extends { close(): Promise<void> | void }>(resource: T): T {
    this.tasks.push(() => resource.close());
    return resource;
  }

  /** A scratch folder removed after the test. */
  async dir(files: Record<string, string> = {}): Promise<string> {
    const dir = await scratch(files);
    this.tasks.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.tasks.length > 0) {
      try {
        await this.tasks.pop()!();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

export interface JsonRun extends CliResult {
  /** The --reporter json file, parsed; undefined when it was not written. */
  json: RunResult | undefined;
  reportDir: string;
}

/**
 * Runs the CLI with `--reporter console --reporter json=<tmp>` appended (plus
 * any extra args), and parses the JSON report.
 */
export async function runWithJson(cleanup: Cleanup, args: string[], options: CliOptions = {}): Promise<JsonRun> {
  const reportDir = await cleanup.dir();
  const jsonPath = path.join(reportDir, 'results.json');
  const result = await runCli([...args, '--reporter', 'console', '--reporter', `json=${jsonPath}`, '--out', path.join(reportDir, 'out')], {
    killAfterMs: 20_000,
    ...options,
  });
  let json: RunResult | undefined;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as RunResult;
  } catch {
    json = undefined;
  }
  return { ...result, json, reportDir };
}

export interface JourneyOutcome {
  journey: JourneyResult;
  status: JourneyResult['status'];
  /** The step that ended the last attempt. */
  step: StepResult | undefined;
  failure: FailureInfo | undefined;
}

export function outcomeOf(json: RunResult | undefined, name: string): JourneyOutcome {
  if (!json) throw new Error('no JSON report was written');
  const journey = json.journeys.find((item) => item.name === name);
  if (!journey) throw new Error(`journey "${name}" is not in the report; have: ${json.journeys.map((j) => j.name).join(', ')}`);
  const attempt = journey.attempts.at(-1);
  const step =
    attempt?.failedStep !== undefined
      ? attempt.steps.find((item) => item.index === attempt.failedStep)
      : attempt?.steps.find((item) => item.status === 'failed' || item.status === 'error');
  return { journey, status: journey.status, step, failure: attempt?.failure };
}

/** Formats a CliResult for assertion messages, so a failing test shows what the CLI said. */
export function show(result: CliResult): string {
  return `code=${result.code} signal=${result.signal} killed=${result.killed}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

export interface TestServer {
  url: string;
  port: number;
  /** How many requests arrived so far. */
  requests(): number;
  close(): Promise<void>;
}

/** A plain HTTP server on 127.0.0.1:0 whose sockets are all cut on close. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse, count: number) => void): Promise<TestServer> {
  let count = 0;
  const server: Server = createServer((req, res) => handler(req, res, ++count));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => count,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      })),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** 500 for the first `failures` requests, 200 {"ok":true} after. */
export function startFlakyServer(failures = 1): Promise<TestServer> {
  return startServer((_req, res, count) => sendJson(res, count <= failures ? 500 : 200, { ok: count > failures, request: count }));
}

/** Answers every request with what it received: method, url, headers and body. */
export function startEchoServer(): Promise<TestServer> {
  return startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => sendJson(res, 200, { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
  });
}

/** A loopback port that was just listened on and closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = await startServer(() => {});
  await server.close();
  return server.port;
}
