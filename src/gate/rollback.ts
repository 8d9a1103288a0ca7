import { spawn } from 'node:child_process';
import type { Redactor } from '../secrets/redactor.js';
import type { RollbackOutcome } from './model.js';

/**
 * Runs the rollback command as an argv list, never through a shell, so no
 * text from a response can become a command. The environment carries only
 * values from the config and from ceiling itself; everything a target said is
 * in the verdict file the command can read.
 */

/** Enough of the output to see why a rollback failed, without holding a flood in memory. */
const OUTPUT_LIMIT = 64 * 1024;

export interface RollbackOptions {
  command: readonly string[];
  env: Record<string, string>;
  timeoutMs: number;
  redactor: Redactor;
  signal: AbortSignal;
  cwd?: string;
}

export function runRollback(options: RollbackOptions): Promise<RollbackOutcome> {
  const started = performance.now();
  const [program, ...args] = options.command;
  return new Promise((resolve) => {
    let output = '';
    let dropped = 0;
    const keep = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > OUTPUT_LIMIT) {
        dropped += output.length - OUTPUT_LIMIT;
        output = output.slice(-OUTPUT_LIMIT);
      }
    };
    let finished = false;
    const finish = (exitCode: number | null, signal: string | undefined, note?: string): void => {
      // 'error' and 'close' can both arrive for a command that failed to start.
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      const prefix = dropped > 0 ? `[${dropped} earlier characters of output dropped]\n` : '';
      const text = options.redactor.redact(`${prefix}${output}${note ? `${output.endsWith('\n') || output === '' ? '' : '\n'}${note}\n` : ''}`);
      resolve({
        command: [...options.command],
        exitCode,
        ...(signal ? { signal } : {}),
        output: text,
        durationMs: Math.round(performance.now() - started),
        ok: exitCode === 0 && !note,
      });
    };
    if (program === undefined) {
      resolve({ command: [], exitCode: null, output: 'no rollback command was given', durationMs: 0, ok: false });
      return;
    }
    // A process group of its own, so a timeout ends the script and everything it started.
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    let note: string | undefined;
    const timer = setTimeout(() => {
      note = `ceiling: the rollback did not finish within ${Math.round(options.timeoutMs / 1000)} s and was killed`;
      killGroup();
    }, options.timeoutMs);
    const onAbort = (): void => {
      note = 'ceiling: the rollback was interrupted';
      killGroup();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => {
      note = `ceiling: cannot start ${program}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or command' : error.message}`;
      finish(null, undefined, note);
    });
    child.once('close', (code, signal) => finish(code, signal ?? undefined, note));
  });
}
