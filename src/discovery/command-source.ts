import { spawn } from 'node:child_process';
import { z } from 'zod';
import type { Redactor } from '../secrets/redactor.js';
import { INSTANCE_NAME_PATTERN } from './instance.js';
import type { DiscoveryProblem } from './problem.js';

/**
 * The `command` source: an argv run without a shell, in its own process
 * group so that a timeout kills whatever it started too. Its stdout is a
 * JSON list of {name?, url, ...vars}; its stderr is kept (the end of it,
 * redacted) to explain a failure.
 */

export interface CommandInstance {
  url: string;
  host: string;
  port: number;
  name?: string;
  /** Extra keys, as strings: `{{ target.KEY }}` in the group's vars. */
  extra: Record<string, string>;
}

export type CommandResult = { instances: CommandInstance[] } | { problem: DiscoveryProblem };

export interface CommandOptions {
  group: string;
  argv: readonly string[];
  timeoutMs: number;
  cwd?: string;
  redactor?: Redactor;
  signal?: AbortSignal;
}

/** A fleet list is small; a command that prints more than this is not printing one. */
const MAX_STDOUT_BYTES = 4 * 1024 * 1024;
/** The end of stderr is where the reason usually is. */
const STDERR_KEPT_CHARS = 2_000;

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };
const EXTRA_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** These come from the URL, so a command cannot make them disagree with it. */
const RESERVED_KEYS = new Set(['host', 'port']);

const instanceSchema = z
  .object({
    url: z.string({ error: 'needs "url", e.g. "http://10.0.3.7:8080"' }).refine((text) => {
      try {
        return new URL(text).protocol in DEFAULT_PORTS;
      } catch {
        return false;
      }
    }, 'url must be an http, https, ws or wss URL, e.g. "http://10.0.3.7:8080"'),
    name: z.string().regex(INSTANCE_NAME_PATTERN, 'name starts with a letter or digit and holds only letters, digits, "_", ".", ":" and "-"').optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()], { error: 'extra values are strings, numbers or booleans' }))
  .superRefine((item, ctx) => {
    for (const key of Object.keys(item)) {
      if (key === 'url' || key === 'name') continue;
      if (RESERVED_KEYS.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" comes from url; leave it out` });
      else if (!EXTRA_KEY.test(key))
        ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is not a name templates can reach; use letters, digits and _` });
    }
  });
const outputSchema = z.array(instanceSchema, { error: 'expected a JSON list of {"url": …} objects' });

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  startError?: Error;
  timedOut: boolean;
  tooLarge: boolean;
  aborted: boolean;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

function runCommand(options: CommandOptions): Promise<Exit> {
  const [command, ...args] = options.argv;
  return new Promise((resolve) => {
    const child = spawn(command ?? '', args, { cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    const exit: Exit = { code: null, signal: null, stdout: '', stderr: '', timedOut: false, tooLarge: false, aborted: false };
    const stop = (reason: 'timedOut' | 'tooLarge' | 'aborted'): void => {
      exit[reason] = true;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('timedOut'), options.timeoutMs);
    timer.unref();
    const onAbort = (): void => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) stop('tooLarge');
      else stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT_CHARS * 2);
    });
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Whatever the command left running in the background goes with it.
      killGroup(child.pid);
      exit.stdout = Buffer.concat(stdout).toString('utf8');
      exit.stderr = stderr;
      resolve(exit);
    };
    child.on('error', (error) => {
      exit.startError = error;
      finish();
    });
    // A background process left holding stdout would keep 'close' away until the timeout: the list is complete once the command exits.
    child.on('exit', () => killGroup(child.pid));
    child.on('close', (code, signal) => {
      exit.code = code;
      exit.signal = signal;
      finish();
    });
    if (options.signal?.aborted) stop('aborted');
  });
}

function stderrTail(text: string, redactor: Redactor | undefined): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const tail = trimmed.length > STDERR_KEPT_CHARS ? `…${trimmed.slice(-STDERR_KEPT_CHARS)}` : trimmed;
  return `; stderr: ${redactor ? redactor.redact(tail) : tail}`;
}

export async function runDiscoveryCommand(options: CommandOptions): Promise<CommandResult> {
  const { group, redactor } = options;
  const shown = options.argv.join(' ');
  const problem = (code: DiscoveryProblem['code'], message: string): CommandResult => ({
    problem: { code, message: redactor ? redactor.redact(message) : message },
  });
  const exit = await runCommand(options);
  const stderr = stderrTail(exit.stderr, redactor);
  if (exit.startError) {
    const code = (exit.startError as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT'
        ? "check the path (a relative one is resolved against the config file's folder) or PATH"
        : code === 'EACCES'
          ? 'make it executable (chmod +x)'
          : 'check the command';
    return problem('CEIL_DISCOVERY_COMMAND_FAILED', `${group}: discovery command ${shown} could not start (${code ?? exit.startError.message}); ${hint}`);
  }
  if (exit.timedOut)
    return problem(
      'CEIL_DISCOVERY_COMMAND_TIMEOUT',
      `${group}: discovery command ${shown} did not finish within ${options.timeoutMs} ms and was killed; make it faster or raise discover.timeout${stderr}`,
    );
  if (exit.aborted) return problem('CEIL_DISCOVERY_COMMAND_FAILED', `${group}: discovery command ${shown} was stopped because the run was cancelled${stderr}`);
  if (exit.tooLarge)
    return problem(
      'CEIL_DISCOVERY_COMMAND_OUTPUT',
      `${group}: discovery command ${shown} printed more than ${MAX_STDOUT_BYTES} bytes; it should print a JSON list of {"url": …} objects`,
    );
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
    return problem('CEIL_DISCOVERY_COMMAND_FAILED', `${group}: discovery command ${shown} ${how}${stderr}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(exit.stdout);
  } catch {
    // JSON.parse's own message repeats the whole output; its start says enough.
    const start = exit.stdout.trim();
    const shownStart = start.length > 80 ? `${start.slice(0, 80)}…` : start;
    return problem(
      'CEIL_DISCOVERY_COMMAND_OUTPUT',
      `${group}: discovery command ${shown} did not print JSON; it printed ${JSON.stringify(shownStart)}; it should print a list such as [{"url": "http://10.0.3.7:8080"}]${stderr}`,
    );
  }
  const parsed = outputSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` at ${issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')}` : '';
    return problem(
      'CEIL_DISCOVERY_COMMAND_OUTPUT',
      `${group}: discovery command ${shown} printed JSON that is not a list of instances${where}: ${issue.message}${stderr}`,
    );
  }
  const instances = parsed.data.map((item): CommandInstance => {
    const url = new URL(item.url);
    const extra: Record<string, string> = {};
    for (const [key, value] of Object.entries(item)) if (key !== 'url' && key !== 'name') extra[key] = String(value);
    return {
      url: item.url,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? DEFAULT_PORTS[url.protocol]! : Number(url.port),
      ...(item.name !== undefined ? { name: item.name } : {}),
      extra,
    };
  });
  return { instances };
}
