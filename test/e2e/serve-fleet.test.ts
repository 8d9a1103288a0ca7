import { createSocket, type Socket } from 'node:dgram';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import { startDnsServer } from '../../fixtures/dns-server.js';
import type { JourneyView } from '../../src/serve/model.js';
import { root, runCli } from './cli.js';
import { Cleanup } from './helpers.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-process.js';

/**
 * `ceiling serve --config` following a fleet published in a real DNS server
 * (dnsmasq): the instances it finds are probed with the real secret journey
 * against real dead-drop services; when the SRV answer changes, a new
 * instance is probed and a gone one leaves /metrics and the API; when the DNS
 * server stops answering, the last fleet is kept and /healthz says why.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const JOURNEY = path.join(root, 'journeys/secret-roundtrip.yaml');
const SRV = '_http._tcp.drop.test';

const config = (resolver: string, extra = '') => `
targets:
  drop:
    discover: { srv: ${SRV}, scheme: http, resolver: "${resolver}", every: 1s, timeout: 1s }
    expect: { count: 2 }
    vars: { drop: "{{ target.url }}" }
${extra}`;

async function metricsOf(serve: ServeProcess): Promise<string> {
  const response = await fetch(`${serve.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

const upSeries = (metrics: string): string[] =>
  [...metrics.matchAll(/^ceiling_journey_up\{[^}]*target="([^"]+)"[^}]*\} 1$/gm)].map((match) => match[1]!).sort();
const targetsSeen = (metrics: string): string[] => [...new Set([...metrics.matchAll(/target="([^"]+)"/g)].map((match) => match[1]!))].sort();

async function journeyTargets(serve: ServeProcess): Promise<string[]> {
  const { body } = await getJson<{ journeys: JourneyView[] }>(`${serve.url}/api/v1/journeys`);
  return body.journeys.map((view) => `${view.targetGroup}|${view.target}`).sort();
}

/** A UDP socket on the DNS server's old port that takes every query and answers none. */
async function silentDns(port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', resolve);
  });
  socket.on('message', () => undefined);
  return socket;
}

describe('serve --config with a DNS-discovered fleet', () => {
  it('probes each instance, follows the SRV answer as it changes, and keeps the last fleet when DNS goes silent', async () => {
    const [a, b, c] = await Promise.all([startDeadDrop(), startDeadDrop(), startDeadDrop()]);
    for (const service of [a!, b!, c!]) cleanup.add(service);
    const portOf = (service: { url: string }) => Number(new URL(service.url).port);
    const name = (service: { url: string }) => `drop/127.0.0.1:${portOf(service)}`;
    const dns = await startDnsServer({
      srv: [
        { name: SRV, target: '127.0.0.1', port: portOf(a!) },
        { name: SRV, target: '127.0.0.1', port: portOf(b!) },
      ],
    });
    cleanup.add({ close: () => dns.stop() });
    const dir = await cleanup.dir({ 'ceiling.yaml': config(dns.address, `  single:\n    vars: { drop: "${c!.url}" }\n`) });
    const serve = cleanup.add(
      await startServe([JOURNEY, '--config', path.join(dir, 'ceiling.yaml'), '--every', '1s', '--db', path.join(dir, 'history.db'), '--reload-interval', '0s']),
    );

    // Both instances and the static target are probed, each with its own series.
    await eventually(async () => {
      const up = upSeries(await metricsOf(serve));
      return up.length === 3 ? up : undefined;
    }, 'three targets up');
    let metrics = await metricsOf(serve);
    expect(upSeries(metrics)).toEqual([name(a!), name(b!), 'single'].sort());
    expect(metrics).toMatch(/^ceiling_fleet_instances\{location="local",target_group="drop"\} 2$/m);
    expect(metrics).toMatch(/^ceiling_fleet_expected_instances\{location="local",target_group="drop"\} 2$/m);
    expect(metrics).toMatch(/^ceiling_discovery_errors_total\{location="local",target_group="drop"\} 0$/m);
    expect(await journeyTargets(serve)).toEqual([`drop|${name(a!)}`, `drop|${name(b!)}`, 'single|single'].sort());
    const page = await (await fetch(`${serve.url}/`)).text();
    expect(page).toContain('data-target-group="drop"');
    expect(page).toContain(`data-target="${name(a!)}"`);
    const runs = await getJson<{ runs: { target: string }[] }>(
      `${serve.url}/api/v1/journeys/${encodeURIComponent('a dropped secret reads back once')}/runs?target=${encodeURIComponent(name(a!))}`,
    );
    expect(runs.body.runs.length).toBeGreaterThan(0);
    expect(runs.body.runs.every((run) => run.target === name(a!))).toBe(true);

    // The fleet moves: a leaves, c joins.
    await dns.setRecords({
      srv: [
        { name: SRV, target: '127.0.0.1', port: portOf(b!) },
        { name: SRV, target: '127.0.0.1', port: portOf(c!) },
      ],
    });
    await eventually(async () => {
      const up = upSeries(await metricsOf(serve));
      return up.includes(name(c!)) ? up : undefined;
    }, 'the new instance is probed');
    await eventually(async () => {
      const seen = targetsSeen(await metricsOf(serve));
      return seen.includes(name(a!)) ? undefined : seen;
    }, 'the gone instance leaves /metrics');
    expect(await journeyTargets(serve)).toEqual([`drop|${name(b!)}`, `drop|${name(c!)}`, 'single|single'].sort());
    expect(serve.stderr()).toContain(`no longer probing ${name(a!)}`);

    // DNS goes silent: the last fleet stays, /healthz says degraded with the reason, the counter counts.
    await dns.stop();
    const silent = await silentDns(dns.port);
    cleanup.add({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const health = await eventually(async () => {
      const { status, body } = await getJson<{ status: string; problems?: string[]; fleet?: { group: string; instances: number; error?: { code: string } }[] }>(
        `${serve.url}/healthz`,
      );
      return body.status === 'degraded' ? { status, body } : undefined;
    }, '/healthz reports the failed discovery');
    expect(health.status).toBe(200);
    expect(health.body.problems?.join('\n')).toMatch(/discovery of drop failed .*CEIL_DISCOVERY_DNS_TIMEOUT/);
    expect(health.body.fleet).toEqual([
      expect.objectContaining({ group: 'drop', instances: 2, error: expect.objectContaining({ code: 'CEIL_DISCOVERY_DNS_TIMEOUT' }) }),
    ]);
    metrics = await metricsOf(serve);
    expect(metrics).toMatch(/^ceiling_discovery_errors_total\{location="local",target_group="drop"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^ceiling_fleet_instances\{location="local",target_group="drop"\} 2$/m);
    expect(await journeyTargets(serve)).toEqual([`drop|${name(b!)}`, `drop|${name(c!)}`, 'single|single'].sort());

    const stopped = await serve.stop();
    expect(stopped.code).toBe(0);
  }, 120_000);

  it('a first discovery that fails starts the daemon with no instance of the group and says so in /healthz', async () => {
    const silent = await silentDns(0);
    cleanup.add({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const dir = await cleanup.dir({ 'ceiling.yaml': config(`127.0.0.1:${silent.address().port}`) });
    const serve = cleanup.add(await startServe([JOURNEY, '--config', path.join(dir, 'ceiling.yaml'), '--db', path.join(dir, 'history.db')]));
    const { body } = await getJson<{ status: string; problems?: string[]; fleet?: unknown[] }>(`${serve.url}/healthz`);
    expect(body.status).toBe('degraded');
    expect(body.fleet).toEqual([expect.objectContaining({ group: 'drop', instances: 0 })]);
    expect(await journeyTargets(serve)).toEqual([]);
    expect(await metricsOf(serve)).toMatch(/^ceiling_fleet_instances\{location="local",target_group="drop"\} 0$/m);
  }, 60_000);

  it('bad input: --config with errors, an unknown --target, and --target twice without --config are exit 2 with what to do', async () => {
    const dir = await cleanup.dir({
      'bad.yaml': 'targets:\n  web:\n    discover: { srv: _http._tcp.web.test, every: 30 }\n',
      'good.yaml': 'targets:\n  web:\n    vars: { drop: "http://127.0.0.1:9" }\n',
    });
    const bad = await runCli(['serve', JOURNEY, '--listen', '127.0.0.1:0', '--config', path.join(dir, 'bad.yaml'), '--db', path.join(dir, 'h.db')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:3:\d+ .*every/);
    const unknown = await runCli([
      'serve',
      JOURNEY,
      '--listen',
      '127.0.0.1:0',
      '--config',
      path.join(dir, 'good.yaml'),
      '--target',
      'wbe',
      '--db',
      path.join(dir, 'h.db'),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--target: wbe is not in');
    expect(unknown.stderr).toContain('web');
    const twice = await runCli(['serve', JOURNEY, '--listen', '127.0.0.1:0', '--target', 'a', '--target', 'b', '--db', path.join(dir, 'h.db')]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('pass --config');
  }, 60_000);
});
