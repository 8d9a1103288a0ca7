import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChat } from '../../fixtures/chat.js';
import type { RunningService } from '../../fixtures/service.js';
import type { RunResult } from '../../src/core/result.js';
import type { GateResult } from '../../src/gate/model.js';
import { root, runCli, type CliResult } from './cli.js';
import { startDnsFleet } from './dnsmasq.js';
import { Cleanup, show } from './helpers.js';
import { TEST_KEEPALIVE_MS } from './services.js';

/**
 * gate, drill and `run --target` over a target group found in DNS: chat
 * instances published as SRV records by a real dnsmasq, each instance its
 * own target, the fleet's size and versions part of the verdict.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const JOURNEY = path.join(root, 'journeys/chat-leave.yaml');
const SRV_NAME = '_http._tcp.chat.test';

async function chat(version = '1.5.0'): Promise<RunningService> {
  return cleanup.add(await startChat({ keepaliveMs: TEST_KEEPALIVE_MS, version }));
}

const instanceName = (service: RunningService): string => `chat/127.0.0.1:${service.port}`;

/** A discovered chat group, with the version probe every instance answers. */
function configText(discover: string, extra: string[] = []): string {
  return [
    'targets:',
    '  chat:',
    `    discover: ${discover}`,
    '    vars: { chat: "ws://{{ target.host }}:{{ target.port }}/", chatHttp: "{{ target.url }}" }',
    ...extra,
    'version:',
    '  url: "{{ vars.chatHttp }}/version"',
    '  json: version',
    '',
  ].join('\n');
}

const srvDiscover = (resolver: string, name = SRV_NAME): string => `{ srv: ${name}, scheme: http, resolver: "${resolver}", timeout: 2s }`;

interface GateRun extends CliResult {
  verdict: GateResult;
  dir: string;
  /** Present when the rollback command ran: the failing targets it was told. */
  rolledBack?: string;
}

/** The gate through the real CLI, with a rollback that leaves a marker holding CEILING_FAILING_TARGETS. */
async function gate(config: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<GateRun> {
  const dir = await cleanup.dir({ 'ceiling.yaml': config });
  const marker = path.join(dir, 'rolled-back');
  const rollback = `${process.execPath} -e "require('fs').writeFileSync('${marker}', process.env.CEILING_FAILING_TARGETS)"`;
  const verdictFile = path.join(dir, 'verdict.json');
  const result = await runCli(
    [
      'gate',
      JOURNEY,
      '--config',
      path.join(dir, 'ceiling.yaml'),
      '--verdict-out',
      verdictFile,
      '--out',
      path.join(dir, 'out'),
      '--on-fail',
      rollback,
      '--recover-within',
      '1ms',
      ...args,
    ],
    { env, killAfterMs: 60_000 },
  );
  let verdict: GateResult;
  try {
    verdict = JSON.parse(await readFile(verdictFile, 'utf8')) as GateResult;
  } catch {
    throw new Error(`no verdict file was written\n${show(result)}`);
  }
  const rolledBack = existsSync(marker) ? await readFile(marker, 'utf8') : undefined;
  return { ...result, verdict, dir, ...(rolledBack !== undefined ? { rolledBack } : {}) };
}

async function waitForFile(file: string): Promise<number> {
  for (;;) {
    if (existsSync(file)) {
      const text = await readFile(file, 'utf8');
      if (text !== '') return Number(text);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The parent of a process, from /proc (Linux, as CI runs). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ceiling gate over a fleet found in DNS (dnsmasq)', () => {
  it('finds the one instance left on the old version, names it in every output, and rolls back', async () => {
    const fleet = [await chat(), await chat(), await chat('1.4.1')];
    const stale = instanceName(fleet[2]!);
    const dns = await startDnsFleet(
      cleanup,
      SRV_NAME,
      fleet.map((service) => service.port),
    );
    const dir = await cleanup.dir();
    const junit = path.join(dir, 'gate.xml');
    const summary = path.join(dir, 'summary.md');
    const run = await gate(configText(srvDiscover(dns.resolver), ['    expect: { count: 3 }']), ['--expect-version', '1.5.0', '--junit', junit], {
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.reason).toBe(`target ${stale} runs 1.4.1, expected 1.5.0`);
    expect(run.verdict.targets.map((target) => target.name).sort()).toEqual(fleet.map(instanceName).sort());
    expect(run.verdict.targets.find((target) => target.name === stale)).toMatchObject({ version: '1.4.1', status: 'failed' });
    expect(run.verdict.fleets).toEqual([
      {
        group: 'chat',
        source: `SRV ${SRV_NAME} at ${dns.resolver}`,
        expected: { count: 3 },
        found: 3,
        instances: expect.arrayContaining(fleet.map(instanceName)),
        versions: [
          { version: '1.5.0', count: 2, instances: expect.arrayContaining([instanceName(fleet[0]!), instanceName(fleet[1]!)]) },
          { version: '1.4.1', count: 1, instances: [stale] },
        ],
      },
    ]);
    const skew = `chat: 2 × 1.5.0, 1 × 1.4.1 (${stale})`;
    expect(run.stdout).toContain(skew);
    expect(await readFile(junit, 'utf8')).toContain(skew);
    expect(await readFile(summary, 'utf8')).toContain(skew);
    expect(run.stderr).toContain(`discovered chat (SRV ${SRV_NAME} at ${dns.resolver}): 3 instances`);
    // The rollback is told which instance failed: the one no hand-written list held.
    expect(run.rolledBack).toBe(stale);
  }, 90_000);

  it('fails at once, before any round, when it finds two of the three instances it expects, and lists them', async () => {
    const fleet = [await chat(), await chat()];
    const dns = await startDnsFleet(
      cleanup,
      SRV_NAME,
      fleet.map((service) => service.port),
    );
    const run = await gate(configText(srvDiscover(dns.resolver), ['    expect: { count: 3 }']));
    expect(run.code, show(run)).toBe(1);
    const found = fleet.map(instanceName).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(run.verdict.reason).toBe(`chat: expected 3 instances, found 2: ${found.join(', ')}`);
    expect(run.verdict.rounds).toBe(0);
    expect(run.verdict.findings).toEqual([expect.objectContaining({ kind: 'fleet', target: 'chat', code: 'CEIL_DISCOVERY_FLEET_SHORT', critical: true })]);
    expect(run.stdout).toContain('chat: expected 3 instances, found 2');
    expect(run.rolledBack).toBe('chat');
  }, 90_000);

  it('is inconclusive (exit 3) and rolls nothing back when the name resolves to nothing', async () => {
    const running = await chat();
    const dns = await startDnsFleet(cleanup, SRV_NAME, [running.port]);
    const run = await gate(configText(srvDiscover(dns.resolver, '_http._tcp.absent.test'), ['    expect: { count: 3 }']));
    expect(run.code, show(run)).toBe(3);
    expect(run.verdict).toMatchObject({ verdict: 'inconclusive', rounds: 0, targets: [] });
    expect(run.verdict.findings[0]).toMatchObject({ kind: 'infrastructure', target: 'chat', code: 'CEIL_DISCOVERY_NOT_FOUND' });
    expect(run.verdict.reason).toContain('_http._tcp.absent.test');
    expect(run.verdict.reason).toContain('nothing was rolled back');
    expect(run.rolledBack).toBeUndefined();
    expect(run.verdict.rollback).toBeUndefined();
  }, 60_000);

  it('is inconclusive (exit 3), within its timeout, when the DNS server never answers', async () => {
    const silent: Socket = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    cleanup.add({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const run = await gate(configText(`{ srv: ${SRV_NAME}, resolver: "127.0.0.1:${silent.address().port}", timeout: 1s }`));
    expect(run.killed).toBe(false);
    expect(run.code, show(run)).toBe(3);
    expect(run.verdict.findings[0]?.code).toBe('CEIL_DISCOVERY_DNS_TIMEOUT');
    expect(run.rolledBack).toBeUndefined();
  }, 60_000);

  it('is inconclusive (exit 3), within its timeout, when the discovery command hangs, with its redacted stderr in the reason', async () => {
    const hang = `process.stderr.write("listing with token " + process.env.DISCOVERY_TOKEN + "\\n"); setInterval(() => {}, 1000)`;
    const config = configText(`{ command: ["${process.execPath}", "-e", ${JSON.stringify(hang)}], timeout: 1s }`);
    const dir = await cleanup.dir({ 'secrets.env': 'DISCOVERY_TOKEN=hunter2-discovery-secret\n' });
    const run = await gate(config, ['--secrets-file', path.join(dir, 'secrets.env')], { DISCOVERY_TOKEN: 'hunter2-discovery-secret' });
    expect(run.killed).toBe(false);
    expect(run.code, show(run)).toBe(3);
    expect(run.verdict.findings[0]?.code).toBe('CEIL_DISCOVERY_COMMAND_TIMEOUT');
    expect(run.rolledBack).toBeUndefined();
    const everything = `${run.stdout}${run.stderr}${JSON.stringify(run.verdict)}`;
    expect(everything).not.toContain('hunter2-discovery-secret');
    expect(run.verdict.reason).toContain('listing with token');
  }, 60_000);

  it('stops discovering on SIGINT: exit 130, the command ended, no rollback', async () => {
    const dir = await cleanup.dir();
    const started = path.join(dir, 'discovery-started');
    const slow = `require('fs').writeFileSync(${JSON.stringify(started)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const config = configText(`{ command: ["${process.execPath}", "-e", ${JSON.stringify(slow)}], timeout: 10m }`);
    const run = gate(config, [], {});
    // gate() spawns the CLI itself; find it through the discovery command it starts, then interrupt the CLI.
    const commandPid = await waitForFile(started);
    process.kill(parentOf(commandPid), 'SIGINT');
    const result = await run;
    expect(result.killed).toBe(false);
    expect(result.code, show(result)).toBe(130);
    expect(result.verdict).toMatchObject({ verdict: 'inconclusive', exitCode: 130 });
    expect(result.rolledBack).toBeUndefined();
    expect(isAlive(commandPid)).toBe(false);
  }, 60_000);
});

describe('ceiling drill and run --target over a fleet found in DNS', () => {
  it('drill finds the instances and verifies each', async () => {
    const fleet = [await chat(), await chat()];
    const dns = await startDnsFleet(
      cleanup,
      SRV_NAME,
      fleet.map((service) => service.port),
    );
    const dir = await cleanup.dir({ 'ceiling.yaml': configText(srvDiscover(dns.resolver), ['    expect: { min: 2 }']) });
    const report = path.join(dir, 'drill.json');
    const result = await runCli(
      [
        'drill',
        JOURNEY,
        '--config',
        path.join(dir, 'ceiling.yaml'),
        '--deploy',
        'true',
        '--rollback',
        'true',
        '--report-out',
        report,
        '--out',
        path.join(dir, 'out'),
      ],
      { killAfterMs: 60_000 },
    );
    expect(result.code, show(result)).toBe(0);
    for (const service of fleet) expect(result.stdout).toContain(instanceName(service));
    const json = JSON.parse(await readFile(report, 'utf8')) as { ok: boolean; fleets: { group: string; found: number }[] };
    expect(json.fleets).toEqual([expect.objectContaining({ group: 'chat', found: 2 })]);

    // One instance gone: the drill refuses to rehearse on a short fleet.
    await dns.server.setRecords({ srv: [{ name: SRV_NAME, target: '127.0.0.1', port: fleet[0]!.port }] });
    const short = await runCli(['drill', JOURNEY, '--config', path.join(dir, 'ceiling.yaml'), '--deploy', 'true', '--rollback', 'true'], {
      killAfterMs: 60_000,
    });
    expect(short.code, show(short)).toBe(1);
    expect(short.stdout).toContain('chat: expected at least 2 instances, found 1');
  }, 90_000);

  it('run --target GROUP runs every journey once per instance', async () => {
    const fleet = [await chat(), await chat()];
    const dns = await startDnsFleet(
      cleanup,
      SRV_NAME,
      fleet.map((service) => service.port),
    );
    const dir = await cleanup.dir({ 'ceiling.yaml': configText(srvDiscover(dns.resolver)) });
    const json = path.join(dir, 'run.json');
    const result = await runCli(['run', JOURNEY, '--target', 'chat', '--reporter', `json=${json}`, '--out', path.join(dir, 'out')], {
      cwd: dir,
      killAfterMs: 60_000,
    });
    expect(result.code, show(result)).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as RunResult;
    expect(report.journeys.map((journey) => [journey.name, journey.status]).sort()).toEqual(
      fleet.map((service) => [`chat announces who left @ ${instanceName(service)}`, 'passed']).sort(),
    );

    const absent = await cleanup.dir({ 'ceiling.yaml': configText(srvDiscover(dns.resolver, '_http._tcp.absent.test')) });
    const nothing = await runCli(['run', JOURNEY, '--target', 'chat'], { cwd: absent, killAfterMs: 60_000 });
    expect(nothing.code, show(nothing)).toBe(3);
    expect(nothing.stderr).toContain('CEIL_DISCOVERY_NOT_FOUND');
  }, 90_000);
});
