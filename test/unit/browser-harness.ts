import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { raceAbort, scopedSignal } from '../../src/engine/deadline.js';
import { TeardownStack } from '../../src/engine/teardown.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { StepFailure } from '../../src/journey/failure.js';
import type { CompiledStep } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { render } from '../../src/journey/template.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { secretLookup } from '../../src/secrets/sources.js';
import * as browserSteps from '../../src/steps/browser/steps.js';
import { Actors, type EvidenceCollector, type Executor, type RunResources, type StepContext, type StepOutcome } from '../../src/steps/executor.js';

/**
 * What the browser tests share: a run's resources that count what they
 * create, a hand-built journey session like the engine's, a tiny web server,
 * and a look at the process table for leftover Chromium processes.
 */

type BrowserKind = Extract<CompiledStep['kind'], `browser.${string}`>;

const executors: { [K in BrowserKind]: Executor<K> } = {
  'browser.open': browserSteps.browserOpen,
  'browser.goto': browserSteps.browserGoto,
  'browser.reload': browserSteps.browserReload,
  'browser.click': browserSteps.browserClick,
  'browser.fill': browserSteps.browserFill,
  'browser.select': browserSteps.browserSelect,
  'browser.check': browserSteps.browserCheck,
  'browser.press': browserSteps.browserPress,
  'browser.waitFor': browserSteps.browserWaitFor,
  'browser.screenshot': browserSteps.browserScreenshot,
  'browser.expectText': browserSteps.browserExpectText,
  'browser.expectVisible': browserSteps.browserExpectVisible,
  'browser.expectHidden': browserSteps.browserExpectHidden,
  'browser.expectUrl': browserSteps.browserExpectUrl,
  'browser.expectTitle': browserSteps.browserExpectTitle,
};

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

/** One journey attempt: what the engine holds across steps, with a fresh deadline per step. */
export class Session {
  readonly actors = new Actors();
  readonly teardown = new TeardownStack();
  readonly redactor = new Redactor();
  readonly evidence: EvidenceCollector[] = [];
  readonly interrupt = new AbortController();
  readonly vars: Record<string, unknown>;

  constructor(private readonly options: SessionOptions) {
    this.vars = { ...(options.vars ?? {}) };
  }

  async run(step: CompiledStep | undefined): Promise<StepOutcome> {
    if (!step) throw new Error('no such step in the compiled journey');
    const timeoutMs = step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const scoped = scopedSignal(this.interrupt.signal, timeoutMs, () => new StepFailure('timeout', 'CEIL_TIMEOUT_STEP', `step timed out after ${timeoutMs}ms`));
    const secret = secretLookup(this.options.secrets ?? {}, () => undefined, this.redactor);
    const context: StepContext = {
      signal: scoped.signal,
      deadline: scoped.deadline,
      vars: this.vars,
      actors: this.actors,
      teardown: this.teardown,
      evidence: this.evidence,
      settings: { outDir: this.options.outDir, ...(this.options.browserPath !== undefined ? { browserPath: this.options.browserPath } : {}) },
      journey: { name: 'browser steps', file: 'browser.test.ts' },
      redactor: this.redactor,
      resources: this.options.resources,
      render: (value) =>
        render(value, {
          vars: this.vars,
          env: () => undefined,
          secret,
          onSecretDerived: (derived) => this.redactor.add(derived),
        }),
    };
    try {
      const executor = executors[step.kind as BrowserKind] as Executor<BrowserKind> | undefined;
      if (!executor) throw new Error(`not a browser step: ${step.kind}`);
      const outcome = await raceAbort(executor(step as never, context), scoped.signal);
      Object.assign(this.vars, outcome.captured);
      return outcome;
    } finally {
      scoped.dispose();
    }
  }

  async runAll(steps: readonly CompiledStep[]): Promise<StepOutcome[]> {
    const outcomes: StepOutcome[] = [];
    for (const step of steps) outcomes.push(await this.run(step));
    return outcomes;
  }

  async close(): Promise<string[]> {
    return this.teardown.runAll();
  }
}

/** Steps are written flush left: YAML accepts a block sequence at its key's indentation. */
export async function compile(stepsYaml: string, vars: Record<string, unknown> = {}): Promise<CompiledStep[]> {
  const text = `name: t\nvars: ${JSON.stringify(vars)}\nsteps:\n${stepsYaml.trim()}\n`;
  const { journey, diagnostics } = await loadJourneyText('t.yaml', text);
  if (!journey) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return journey.steps;
}

export async function failureOf(pending: Promise<unknown>): Promise<StepFailure> {
  try {
    await pending;
  } catch (error) {
    if (error instanceof StepFailure) return error;
    throw error;
  }
  throw new Error('expected the step to fail, but it passed');
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
