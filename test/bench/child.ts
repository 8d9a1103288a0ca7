/**
 * Runs one child process and measures it: wall time from spawn to exit, and
 * peak RSS read from /proc/<pid>/status (VmHWM) every few milliseconds, so no
 * external tool is needed. Every child is bounded by a kill timeout, and the
 * live ones are tracked so an error or a signal can end them by handle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface ChildSpec {
  /** Arguments after the node executable. */
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Killed (SIGKILL) after this long; the run then counts as failed. */
  timeoutMs: number;
}

export interface ChildResult {
  wallMs: number;
  /** Peak resident set size in KiB, the last VmHWM value read; undefined if none could be read. */
  peakRssKb: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const RSS_POLL_MS = 5;
const MAX_CAPTURE = 64 * 1024;
const VM_HWM = /^VmHWM:\s+(\d+)\s+kB$/m;

/** Children not yet reaped, each with the promise of its 'close'. */
const live = new Map<ChildProcess, Promise<void>>();

/** Kills every child still running (by handle); used on errors and signals. */
export function killLiveChildren(): void {
  for (const child of live.keys()) child.kill('SIGKILL');
}

/** Kills whatever is still running and waits until each of those is reaped; returns how many there were. */
export async function reapLiveChildren(): Promise<number> {
  const pending = [...live.values()];
  killLiveChildren();
  await Promise.all(pending);
  return pending.length;
}

function readPeakRssKb(pid: number): number | undefined {
  try {
    const match = VM_HWM.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    // Gone already, or no procfs: keep the last value read.
    return undefined;
  }
}

function capture(stream: NodeJS.ReadableStream | null, into: { text: string }): void {
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    if (into.text.length < MAX_CAPTURE) into.text += chunk.slice(0, MAX_CAPTURE - into.text.length);
  });
}

export function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      reject(error);
      return;
    }
    live.set(child, new Promise((done) => child.once('close', () => done())));
    const out = { text: '' };
    const err = { text: '' };
    capture(child.stdout, out);
    capture(child.stderr, err);

    let peakRssKb: number | undefined;
    let exitedAt: number | undefined;
    let timedOut = false;
    const poll = (): void => {
      if (child.pid === undefined || exitedAt !== undefined) return;
      const value = readPeakRssKb(child.pid);
      if (value !== undefined) peakRssKb = value;
    };
    poll();
    const poller = setInterval(poll, RSS_POLL_MS);
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, spec.timeoutMs);

    const finish = (): void => {
      clearInterval(poller);
      clearTimeout(killer);
      live.delete(child);
    };
    child.once('exit', () => {
      exitedAt = performance.now();
    });
    child.once('error', (error) => {
      // Spawn failed (no 'close' follows when the process never started).
      if (child.pid === undefined) {
        finish();
        reject(error);
      }
    });
    child.once('close', (code, signal) => {
      finish();
      resolve({
        wallMs: (exitedAt ?? performance.now()) - started,
        peakRssKb,
        code,
        signal,
        timedOut,
        stdout: out.text,
        stderr: err.text,
      });
    });
  });
}
