import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runRollback } from '../../src/gate/rollback.js';
import { Redactor } from '../../src/secrets/redactor.js';

/** The rollback runner with real child processes: argv only, bounded, redacted. */

const never = new AbortController().signal;

function processState(pid: number): string {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 'gone';
  } catch {
    return 'gone';
  }
}

function run(script: string, options: { timeoutMs?: number; env?: Record<string, string>; redactor?: Redactor; signal?: AbortSignal } = {}) {
  return runRollback({
    command: [process.execPath, '-e', script],
    env: options.env ?? {},
    timeoutMs: options.timeoutMs ?? 10_000,
    redactor: options.redactor ?? new Redactor(),
    signal: options.signal ?? never,
  });
}

describe('runRollback', () => {
  it('runs the command with its environment and keeps its output', async () => {
    const outcome = await run("console.log('verdict', process.env.CEILING_VERDICT); console.error('to stderr')", { env: { CEILING_VERDICT: 'fail' } });
    expect(outcome).toMatchObject({ ok: true, exitCode: 0 });
    expect(outcome.output).toContain('verdict fail');
    expect(outcome.output).toContain('to stderr');
  });

  it('passes arguments as they are: no shell ever sees them', async () => {
    const outcome = await runRollback({
      command: [process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$(touch /tmp/ceiling-never)', '&&', 'rm -rf /'],
      env: {},
      timeoutMs: 10_000,
      redactor: new Redactor(),
      signal: never,
    });
    expect(JSON.parse(outcome.output.trim())).toEqual(['$(touch /tmp/ceiling-never)', '&&', 'rm -rf /']);
  });

  it('reports a failing command with its exit code', async () => {
    const outcome = await run("console.error('permission denied'); process.exit(3)");
    expect(outcome).toMatchObject({ ok: false, exitCode: 3 });
    expect(outcome.output).toContain('permission denied');
  });

  it('kills a command that outlives its timeout, with everything it started', async () => {
    const script =
      "const { spawn } = require('child_process'); const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log('child', c.pid); setInterval(() => {}, 1000);";
    const outcome = await run(script, { timeoutMs: 500 });
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('did not finish within');
    const child = Number(/child (\d+)/.exec(outcome.output)?.[1]);
    expect(child).toBeGreaterThan(0);
    // The grandchild was in the killed process group. This VM's pid 1 does not reap, so dead may mean a zombie.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(processState(child)).toMatch(/^(gone|Z)$/);
  });

  it('says when the command cannot be started', async () => {
    const outcome = await runRollback({ command: ['/no/such/rollback.sh'], env: {}, timeoutMs: 1_000, redactor: new Redactor(), signal: never });
    expect(outcome).toMatchObject({ ok: false, exitCode: null });
    expect(outcome.output).toContain('cannot start /no/such/rollback.sh: no such file or command');
  });

  it('redacts secrets the command prints', async () => {
    const redactor = new Redactor();
    redactor.add('rollback-secret-5521', 'DEPLOY_TOKEN');
    const outcome = await run("console.log('token rollback-secret-5521')", { redactor });
    expect(outcome.output).toContain('[REDACTED:DEPLOY_TOKEN]');
    expect(outcome.output).not.toContain('rollback-secret-5521');
  });
});
