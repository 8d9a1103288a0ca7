import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JourneyView, RunRecord } from '../../src/serve/model.js';
import { inShard } from '../../src/serve/shard.js';
import { runCli } from './cli.js';
import { Cleanup, closedPort, show, startServer, type TestServer } from './helpers.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-process.js';

/**
 * Fault cases of `ceiling serve` from issue 11, through the real CLI: one
 * daemon per history file, alerts that survive a restart undelivered, a full
 * disk, nothing to serve, and a --db path mkdir cannot create.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const daemon = await startServe(args, { env });
  cleanup.add(daemon);
  return daemon;
}

async function journeyState(daemon: ServeProcess, name: string): Promise<JourneyView | undefined> {
  return (await getJson<{ journeys: JourneyView[] }>(`${daemon.url}/api/v1/journeys`)).body.journeys.find((journey) => journey.journey === name);
}

interface Health {
  status: string;
  journeys: number;
  problems?: string[];
  history: { errors: number; failingSince?: number };
}

async function health(daemon: ServeProcess): Promise<{ status: number; body: Health }> {
  return getJson<Health>(`${daemon.url}/healthz`);
}

/** A journey that fails at once, every second: the target's port is closed. */
function failingJourney(name: string, port: number, schedule = '{ every: 1s }'): string {
  return [`name: ${name}`, `schedule: ${schedule}`, 'steps:', `  - http: { url: "http://127.0.0.1:${port}/state" }`, '    expect: { status: 200 }', ''].join(
    '\n',
  );
}

interface Receiver extends TestServer {
  /** Bodies it accepted (answered 2xx). */
  accepted: Record<string, unknown>[];
  /** Every POST, accepted or not. */
  attempts(): number;
  setStatus(status: number): void;
}

/** A webhook receiver whose answer the test sets: 503 plays a receiver that is down. */
async function startReceiver(status = 200): Promise<Receiver> {
  const accepted: Record<string, unknown>[] = [];
  let answer = status;
  let attempts = 0;
  const server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      attempts++;
      if (answer < 300) accepted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(answer).end();
    });
  });
  return Object.assign(server, {
    accepted,
    attempts: () => attempts,
    setStatus: (next: number) => {
      answer = next;
    },
  });
}

describe('one daemon per history file', () => {
  it("refuses a second serve on the same --db with exit 2 naming the first one's PID, and starts again after kill -9", async () => {
    const port = await closedPort();
    const dir = await cleanup.dir({ 'a.yaml': failingJourney('locked out', port) });
    const db = path.join(dir, 'state', 'history.db');
    const first = await serve([dir, '--db', db]);

    const second = await runCli(['serve', dir, '--db', db, '--listen', '127.0.0.1:0'], { killAfterMs: 20_000 });
    expect(second.code, show(second)).toBe(2);
    expect(second.stderr).toContain(`PID ${first.pid}`);
    expect(second.stderr).toContain(db);
    expect(second.stderr).toContain('--db');
    // The first one is untouched and still records.
    expect((await health(first)).status).toBe(200);

    // The operating system drops the lock with the process: no stale lock file to clean up.
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');
    const third = await serve([dir, '--db', db]);
    await eventually(async () => ((await journeyState(third, 'locked out'))?.lastRunAt !== undefined ? true : undefined), 'a run after the restart');
    expect((await third.stop('SIGTERM')).code).toBe(0);
  }, 60_000);
});

describe('alerts that were never delivered', () => {
  it('are sent after a restart (kill -9 or SIGTERM), once, and never again once delivered', async () => {
    const port = await closedPort();
    const receiver = cleanup.add(await startReceiver(503));
    const dir = await cleanup.dir({ 'a.yaml': failingJourney('undelivered', port) });
    const db = path.join(dir, '.state', 'history.db');
    const args = [dir, '--db', db, '--alert-after', '2', '--webhook', `${receiver.url}/hook`, '--grace', '1s'];

    // 1. The receiver is down: the failing alert is queued and retried when the process is killed.
    const first = await serve(args);
    await eventually(async () => (receiver.attempts() > 0 ? true : undefined), 'an attempt to deliver the failing alert');
    expect(await journeyState(first, 'undelivered')).toMatchObject({ alerting: true });
    await first.stop('SIGKILL');

    // 2. Still down; this time SIGTERM abandons it at shutdown.
    const attemptsBefore = receiver.attempts();
    const second = await serve(args);
    await eventually(async () => (receiver.attempts() > attemptsBefore ? true : undefined), 'the alert sent again after kill -9');
    expect((await second.stop('SIGTERM')).code).toBe(0);
    expect(second.stderr()).toContain('abandoned at shutdown');
    expect(receiver.accepted).toHaveLength(0);

    // 3. The receiver is back: the restart delivers the failing alert it was owed, once.
    receiver.setStatus(200);
    const third = await serve(args);
    await eventually(async () => (receiver.accepted.length > 0 ? true : undefined), 'the failing alert delivered after the restart');
    expect(receiver.accepted[0]).toMatchObject({ event: 'failing', journey: 'undelivered' });
    const runsSeen = (await journeyState(third, 'undelivered'))!.consecutiveFailures;
    await eventually(
      async () => (((await journeyState(third, 'undelivered'))?.consecutiveFailures ?? 0) >= runsSeen + 2 ? true : undefined),
      'two more failed runs',
    );
    expect((await third.stop('SIGTERM')).code).toBe(0);

    // 4. Delivered means delivered: a fourth start sends nothing, however many runs fail.
    const fourth = await serve(args);
    const before = (await journeyState(fourth, 'undelivered'))!.consecutiveFailures;
    await eventually(
      async () => (((await journeyState(fourth, 'undelivered'))?.consecutiveFailures ?? 0) >= before + 2 ? true : undefined),
      'two more failed runs',
    );
    expect((await fourth.stop('SIGTERM')).code).toBe(0);
    expect(receiver.accepted).toHaveLength(1);
  }, 120_000);
});

/** A 2 MiB tmpfs, when this process may mount one (root in CI); undefined with the reason otherwise. */
function smallVolume(dir: string): { path: string; unmount: () => void } | string {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a small tmpfs';
  const mountPoint = path.join(dir, 'small-disk');
  mkdirSync(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    return `mount -t tmpfs is not permitted here: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
  return {
    path: mountPoint,
    unmount: () => {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
      rmSync(mountPoint, { recursive: true, force: true });
    },
  };
}

/** Writes zeros until the volume is full. */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) await handle.write(block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

describe('a full disk', () => {
  it('is counted, shown in /healthz, logged once, survived, and shutdown still exits 0', async (context) => {
    const dir = await cleanup.dir();
    const volume = smallVolume(dir);
    if (typeof volume === 'string') {
      context.skip(volume);
      return;
    }
    cleanup.add({ close: () => volume.unmount() });
    const port = await closedPort();
    const journeys = path.join(dir, 'journeys');
    mkdirSync(journeys);
    for (const name of ['a', 'b', 'c', 'd']) await writeFile(path.join(journeys, `${name}.yaml`), failingJourney(`disk ${name}`, port));
    const db = path.join(volume.path, 'history.db');
    const daemon = await serve([journeys, '--db', db]);
    await eventually(async () => ((await journeyState(daemon, 'disk a'))?.lastRunAt !== undefined ? true : undefined), 'a first run');

    const filler = path.join(volume.path, 'filler');
    await fill(filler);
    const failing = await eventually(async () => {
      const now = await health(daemon);
      return now.body.history.errors >= 8 ? now : undefined;
    }, 'history writes failing');
    expect(failing.body.status).toBe('degraded');
    expect(failing.body.problems?.join('\n')).toMatch(/history cannot be written/);
    // Not a minute yet: degraded, but still 200.
    expect(failing.status).toBe(200);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/ceiling_history_write_errors_total\{location="local",target="default"\} (\d+)/);
    expect(Number(/ceiling_history_write_errors_total\{[^}]*\} (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(8);
    // Logged once, not once a run: within a minute there is one line however many writes failed.
    expect(daemon.stderr().match(/history: cannot write/g)).toHaveLength(1);

    // Space is freed: runs are recorded again and the health comes back.
    await rm(filler);
    const recovered = await eventually(async () => {
      const now = await health(daemon);
      return now.body.status === 'ok' ? now : undefined;
    }, 'writes working again');
    expect(recovered.status).toBe(200);
    const recordedAfter = Date.now();
    await eventually(async () => {
      const runs = (await getJson<{ runs: RunRecord[] }>(`${daemon.url}/api/v1/journeys/disk%20b/runs?limit=1`)).body.runs;
      return runs[0] && runs[0].startedAt >= recordedAfter ? true : undefined;
    }, 'a run recorded after space was freed');
    expect(daemon.stderr()).toContain('history: writes work again');

    // Full again at shutdown: the final checkpoint may fail, and the exit is still 0.
    await fill(filler);
    await eventually(async () => ((await health(daemon)).body.history.failingSince !== undefined ? true : undefined), 'writes failing again');
    const stopped = await daemon.stop('SIGTERM');
    expect(stopped, daemon.stderr()).toMatchObject({ code: 0, killed: false });
  }, 90_000);
});

describe('nothing to serve', () => {
  it('an empty folder refuses to start with exit 3, naming the folder', async () => {
    const dir = await cleanup.dir();
    const result = await runCli(['serve', dir, '--db', path.join(dir, 'h.db'), '--listen', '127.0.0.1:0']);
    expect(result.code, show(result)).toBe(3);
    expect(result.stderr).toContain(`no journey in ${dir}`);
    expect(result.stdout).not.toContain('listening');
  });

  it('an empty shard or selection refuses to start with exit 3, naming the shard and filters', async () => {
    const port = await closedPort();
    const dir = await cleanup.dir({ 'a.yaml': failingJourney('only one', port) });
    // One journey, two shards: the one it does not hash to is empty.
    const empty = inShard('only one', { index: 1, total: 2 }) ? '2/2' : '1/2';
    const sharded = await runCli(['serve', dir, '--shard', empty, '--db', path.join(dir, 'h.db'), '--listen', '127.0.0.1:0']);
    expect(sharded.code, show(sharded)).toBe(3);
    expect(sharded.stderr).toContain(`none of the 1 journeys in ${dir} is selected by --shard ${empty}`);

    const tagged = await runCli(['serve', dir, '--tag', 'nope', '--grep', 'zzz', '--db', path.join(dir, 'h.db'), '--listen', '127.0.0.1:0']);
    expect(tagged.code, show(tagged)).toBe(3);
    expect(tagged.stderr).toContain('--tag nope --grep zzz');
  }, 60_000);

  it('says degraded in /healthz when a reload leaves no journey', async () => {
    const port = await closedPort();
    const dir = await cleanup.dir({ 'a.yaml': failingJourney('soon gone', port) });
    const daemon = await serve([dir, '--db', path.join(dir, '.state', 'h.db'), '--reload-interval', '100ms']);
    expect((await health(daemon)).body.status).toBe('ok');
    await rm(path.join(dir, 'a.yaml'));
    const degraded = await eventually(async () => {
      const now = await health(daemon);
      return now.body.journeys === 0 ? now : undefined;
    }, 'no journey left');
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.problems?.join('\n')).toContain('no journey is loaded');
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
  }, 60_000);
});

describe('a --db path that cannot be created', () => {
  it('under /proc exits 2 at once instead of spinning', async (context) => {
    if (process.platform !== 'linux') {
      context.skip('/proc is Linux only');
      return;
    }
    const port = await closedPort();
    const dir = await cleanup.dir({ 'a.yaml': failingJourney('proc', port) });
    const result = await runCli(['serve', dir, '--db', '/proc/self/nope/h.db', '--listen', '127.0.0.1:0'], { killAfterMs: 20_000 });
    expect(result.killed, show(result)).toBe(false);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr).toContain('/proc/self/nope/h.db');
  }, 30_000);
});
