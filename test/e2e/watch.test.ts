/**
 * `ceiling run --watch` through the real CLI: a first run of everything, a
 * re-run of only the edited journey, a full run on Enter, one browser kept
 * across runs, and a clean end on SIGINT with nothing left running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, root } from './cli.js';
import { Cleanup } from './helpers.js';
import { startDemoServices } from './services.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A journey against the dead-drop service; `status` is what the health check is expected to answer. */
const dropJourney = (name: string, status: number) => `name: ${name}
vars:
  drop: "{{ env.DROP_URL }}"
steps:
  - http: { url: "{{ vars.drop }}/health" }
    expect: { status: ${status} }
`;

const browserJourney = `name: page opens
vars:
  comments: "{{ env.COMMENTS_URL }}"
steps:
  - browser.open: { as: reader }
  - browser.goto: { as: reader, url: "{{ vars.comments }}/" }
  - browser.expectVisible: { as: reader, target: { role: button, name: Post } }
`;

/** The process ids below `pid` with their parents, read from /proc (Linux), to see what the CLI started and whether it is still there. */
function descendantsOf(pid: number): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; the fields after the last ")" are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found = new Map<number, number>();
  let frontier = [pid];
  while (frontier.length > 0) {
    const children = [...parents].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    for (const child of children) found.set(child, parents.get(child)!);
    frontier = children;
  }
  return found;
}

/** Still running: present and not a zombie (an ended child the container's init has not reaped yet). */
const isAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

class WatchedCli {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Waits until the output holds `count` matches of `pattern`; a bounded wait, not a timing claim. */
  async waitFor(pattern: RegExp, count = 1, withinMs = 60_000): Promise<void> {
    const global = new RegExp(pattern.source, `${pattern.flags}g`);
    const deadline = Date.now() + withinMs;
    while ((this.output.match(global)?.length ?? 0) < count) {
      if (Date.now() > deadline) throw new Error(`no ${count}× ${pattern} in the output within ${withinMs} ms:\n${this.output}`);
      if (this.child.exitCode !== null) throw new Error(`the CLI exited (${this.child.exitCode}) before ${pattern}:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  count(pattern: RegExp): number {
    return this.output.match(new RegExp(pattern.source, `${pattern.flags}g`))?.length ?? 0;
  }

  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe('ceiling run --watch', () => {
  it('re-runs only the edited journey, all on Enter, keeps one browser, and ends cleanly on SIGINT', { timeout: 180_000 }, async () => {
    const services = cleanup.add(await startDemoServices());
    const dir = await cleanup.dir({
      'edited.yaml': dropJourney('edited journey', 200),
      'steady.yaml': dropJourney('steady journey', 200),
      'browser.yaml': browserJourney,
    });
    const out = path.join(dir, 'out');
    const child = spawn(process.execPath, [cliPath, 'run', '--watch', dir, '--reporter', 'console', '--reporter', 'json', '--out', out], {
      cwd: root,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...services.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cli = new WatchedCli(child);
    cleanup.add(cli);

    await cli.waitFor(/PASS\s+edited journey/);
    await cli.waitFor(/PASS\s+steady journey/);
    await cli.waitFor(/PASS\s+page opens/);
    await cli.waitFor(/waiting for changes/);
    const firstReport = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as { journeys: unknown[] };
    expect(firstReport.journeys).toHaveLength(3);
    const started = descendantsOf(child.pid!);
    // The browser itself is the CLI's own child; its page processes come and go with the pages.
    const browserPids = [...started].filter(([, parent]) => parent === child.pid).map(([pid]) => pid);
    expect(browserPids.length).toBeGreaterThan(0);

    await writeFile(path.join(dir, 'edited.yaml'), dropJourney('edited journey', 418));
    await cli.waitFor(/FAIL\s+edited journey/);
    await cli.waitFor(/waiting for changes/, 2);
    expect(cli.output).toMatch(/edited\.yaml changed/);
    expect(cli.output).toMatch(/^running 1 journey$/m);
    expect(cli.count(/PASS\s+steady journey/)).toBe(1);
    expect(cli.count(/PASS\s+page opens/)).toBe(1);
    // Every run rewrites the JSON report: this one holds the edited journey alone.
    const secondReport = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as { journeys: { name: string; status: string }[] };
    expect(secondReport.journeys.map((journey) => [journey.name, journey.status])).toEqual([['edited journey', 'failed']]);

    // A half-written save shows its diagnostics and runs nothing from that file.
    await writeFile(path.join(dir, 'edited.yaml'), 'name: edited journey\nsteps:\n  - http: { url: "{{ vars.drop }}/health"\n');
    await cli.waitFor(/none of its journeys was run/);
    await cli.waitFor(/waiting for changes/, 3);
    expect(cli.output).toMatch(/edited\.yaml:\d+:\d+/);
    expect(cli.count(/^running \d+ journeys?$/m)).toBe(2);

    child.stdin.write('\n');
    await cli.waitFor(/PASS\s+steady journey/, 2);
    await cli.waitFor(/PASS\s+page opens/, 2);
    await cli.waitFor(/waiting for changes/, 4);
    // The browser started for the first run served the run after it as well.
    for (const pid of browserPids) expect(isAlive(pid)).toBe(true);

    child.kill('SIGINT');
    const exit = await Promise.race([cli.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000))]);
    expect(exit).toEqual({ code: 130, signal: null });
    expect([...started.keys()].filter(isAlive)).toEqual([]);
  });
});
