import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath, root } from './cli.js';

/**
 * `ceiling serve` as a real child process: started, waited for until it
 * listens, and always stopped by its own handle, so no test leaves a daemon
 * behind even when an assertion fails half way.
 */

export interface ServeProcess {
  url: string;
  pid: number;
  stderr(): string;
  stdout(): string;
  /** Sends a signal and resolves once the process has exited; SIGKILLs it after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
  close(): Promise<void>;
}

const LISTENING = /ceiling serve: listening on (http:\/\/\S+)/;

export function startServe(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; startLimitMs?: number } = {}): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [cliPath, 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let killed = false;

  const stop: ServeProcess['stop'] = async (signal = 'SIGTERM', killAfterMs = 20_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    const result = await exited;
    clearTimeout(timer);
    return { ...result, killed };
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ceiling serve did not start listening within ${options.startLimitMs ?? 20_000} ms\nstderr:\n${stderr}`));
    }, options.startLimitMs ?? 20_000);
    const onData = () => {
      const match = LISTENING.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        url: match[1]!,
        pid: child.pid!,
        stderr: () => stderr,
        stdout: () => stdout,
        stop,
        close: async () => {
          await stop('SIGKILL', 5_000);
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`ceiling serve exited with ${code} before listening\nstderr:\n${stderr}`));
    });
  });
}

/** Polls until `check` returns a value (not undefined), bounded so a broken daemon fails the test instead of hanging it. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, limitMs = 20_000): Promise<T> {
  const until = Date.now() + limitMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export async function getJson<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
