/**
 * The `ceiling serve` child of the soak: started with a bounded wait for its
 * "listening on" line, drained so a chatty daemon never blocks on a full pipe,
 * and stopped the way an orchestrator stops it (SIGTERM, then SIGKILL after a
 * bound), always by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { SoakError } from './soak-probe.js';

const READY_LINE = /ceiling serve: listening on (http:\/\/\S+)/;
const TAIL_CHARS = 8 * 1024;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Stopped extends Exit {
  /** From SIGTERM to exit. */
  ms: number;
  /** True when it had to be SIGKILLed after the grace bound. */
  killed: boolean;
}

export interface ServeSpec {
  cli: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  readyTimeoutMs: number;
}

function describe(exit: Exit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export class ServeProcess {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #stdout = '';
  #stderr = '';

  private constructor(private readonly child: ChildProcess) {
    if (child.pid === undefined) throw new SoakError('ceiling serve did not start (no pid)');
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    const keep = (stream: NodeJS.ReadableStream | null, which: 'out' | 'err'): void => {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        // Only the tail is kept: it explains a crash, and a daemon logging every run for an hour must not fill our heap.
        if (which === 'out') this.#stdout = (this.#stdout + chunk).slice(-TAIL_CHARS);
        else this.#stderr = (this.#stderr + chunk).slice(-TAIL_CHARS);
      });
    };
    keep(child.stdout, 'out');
    keep(child.stderr, 'err');
  }

  /** Resolves with the base URL once the daemon says it listens; kills it and throws if it exits or stays silent. */
  static async start(spec: ServeSpec): Promise<{ serve: ServeProcess; url: string }> {
    const child = spawn(process.execPath, [spec.cli, 'serve', ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const failedToSpawn = new Promise<never>((_, reject) =>
      child.once('error', (error) => reject(new SoakError(`cannot start ceiling serve: ${error.message}`))),
    );
    await Promise.race([new Promise((resolve) => child.once('spawn', resolve)), failedToSpawn]);
    const serve = new ServeProcess(child);
    let timer: NodeJS.Timeout | undefined;
    let onData: ((chunk: string) => void) | undefined;
    try {
      const url = await Promise.race([
        new Promise<string>((resolve) => {
          let seen = '';
          onData = (chunk: string) => {
            seen = (seen + chunk).slice(-TAIL_CHARS);
            const match = READY_LINE.exec(seen);
            if (match?.[1] !== undefined) resolve(match[1].replace(/\/$/, ''));
          };
          child.stdout?.on('data', onData);
        }),
        serve.exited.then((exit) => {
          throw new SoakError(`ceiling serve exited before it was ready (${describe(exit)})\n${serve.tail()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new SoakError(`ceiling serve printed no "listening on" line within ${spec.readyTimeoutMs / 1000}s\n${serve.tail()}`)),
            spec.readyTimeoutMs,
          );
        }),
      ]);
      return { serve, url };
    } catch (error) {
      await serve.stop(2_000);
      throw error;
    } finally {
      clearTimeout(timer);
      if (onData !== undefined) child.stdout?.off('data', onData);
    }
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  tail(): string {
    const parts: string[] = [];
    if (this.#stderr.trim() !== '') parts.push(`--- serve stderr (tail) ---\n${this.#stderr.trimEnd()}`);
    if (this.#stdout.trim() !== '') parts.push(`--- serve stdout (tail) ---\n${this.#stdout.trimEnd()}`);
    return parts.join('\n');
  }

  /** SIGTERM, wait up to graceMs, then SIGKILL and wait a further bound. Safe to call after it exited. */
  async stop(graceMs: number): Promise<Stopped> {
    const started = performance.now();
    if (this.#exit !== undefined) return { ...this.#exit, ms: 0, killed: false };
    this.child.kill('SIGTERM');
    const waited = async (ms: number): Promise<Exit | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      });
      const result = await Promise.race([this.exited, bound]);
      clearTimeout(timer);
      return result;
    };
    const graceful = await waited(graceMs);
    if (graceful !== undefined) return { ...graceful, ms: performance.now() - started, killed: false };
    this.child.kill('SIGKILL');
    const forced = await waited(5_000);
    if (forced === undefined) throw new SoakError(`ceiling serve (pid ${this.pid}) survived SIGKILL for 5s`);
    return { ...forced, ms: performance.now() - started, killed: true };
  }

  /** For a second Ctrl-C: no waiting. */
  kill(): void {
    if (this.#exit === undefined) this.child.kill('SIGKILL');
  }
}
