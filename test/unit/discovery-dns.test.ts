import { createSocket, type Socket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../fixtures/dns-server.js';
import { discoverFleet, type DiscoveryResult, type DiscoverySpec } from '../../src/discovery/index.js';
import { parseDnsServer } from '../../src/discovery/spec.js';

/** Discovery against a real DNS server: dnsmasq on a loopback port. A missing dnsmasq fails here, loudly. */

const at = (server: DnsServer) => parseDnsServer(server.address)!;
const srvSpec = (server: DnsServer, name: string, timeoutMs = 5_000): DiscoverySpec => ({
  source: { kind: 'srv', name, scheme: 'http' },
  resolver: at(server),
  timeoutMs,
  everyMs: 30_000,
});
const dnsSpec = (server: DnsServer, name: string, port: number): DiscoverySpec => ({
  source: { kind: 'dns', name, port, scheme: 'http' },
  resolver: at(server),
  timeoutMs: 5_000,
  everyMs: 30_000,
});

function instancesOf(result: DiscoveryResult) {
  if ('problem' in result) throw new Error(`expected instances, got ${result.problem.code}: ${result.problem.message}`);
  return result.instances;
}

describe('discoverFleet against dnsmasq', () => {
  let server: DnsServer;
  beforeAll(async () => {
    server = await startDnsServer({
      srv: [
        { name: '_http._tcp.web.test', target: 'web1.test', port: 18081 },
        { name: '_http._tcp.web.test', target: 'web2.test', port: 18082 },
        { name: '_http._tcp.web.test', target: '127.0.0.1', port: 18083 },
        { name: '_http._tcp.lost.test', target: 'nowhere.test', port: 18084 },
      ],
      hosts: { 'web1.test': ['127.0.0.1'], 'web2.test': ['127.0.0.1'], 'pool.test': ['127.0.0.2', '127.0.0.3'], 'dual.test': ['127.0.0.4', '::1'] },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('finds an SRV fleet of three, each named from group and address, with its port and template values', async () => {
    const instances = instancesOf(
      await discoverFleet('web', srvSpec(server, '_http._tcp.web.test'), {
        vars: { base_url: '{{ target.url }}', label: '{{ target.name }} on {{ target.port }}', token: '{{ secrets.token }}' },
      }),
    );
    expect(instances.map((instance) => instance.name)).toEqual(['web/127.0.0.1:18081', 'web/127.0.0.1:18082', 'web/127.0.0.1:18083']);
    expect(instances[1]).toMatchObject({
      group: 'web',
      host: '127.0.0.1',
      port: 18082,
      url: 'http://127.0.0.1:18082',
      values: { url: 'http://127.0.0.1:18082', host: '127.0.0.1', port: '18082', name: 'web/127.0.0.1:18082' },
      // Only target.* is filled in; the journey still renders its own templates.
      vars: { base_url: 'http://127.0.0.1:18082', label: 'web/127.0.0.1:18082 on 18082', token: '{{ secrets.token }}' },
    });
  });

  it('finds every A record of a name, each with the given port', async () => {
    const instances = instancesOf(await discoverFleet('api', dnsSpec(server, 'pool.test', 8080)));
    expect(instances.map((instance) => [instance.name, instance.url])).toEqual([
      ['api/127.0.0.2:8080', 'http://127.0.0.2:8080'],
      ['api/127.0.0.3:8080', 'http://127.0.0.3:8080'],
    ]);
  });

  it('takes AAAA records too, and brackets IPv6 in names and URLs', async () => {
    const instances = instancesOf(await discoverFleet('api', dnsSpec(server, 'dual.test', 8080)));
    expect(instances.map((instance) => [instance.name, instance.url, instance.host])).toEqual([
      ['api/[::1]:8080', 'http://[::1]:8080', '::1'],
      ['api/127.0.0.4:8080', 'http://127.0.0.4:8080', '127.0.0.4'],
    ]);
  });

  it('sees the new set when the answers change', async () => {
    const spec = dnsSpec(server, 'moving.test', 9000);
    await server.setHosts({ 'web1.test': ['127.0.0.1'], 'web2.test': ['127.0.0.1'], 'moving.test': ['127.0.0.2', '127.0.0.3'] });
    expect(instancesOf(await discoverFleet('m', spec)).map((instance) => instance.name)).toEqual(['m/127.0.0.2:9000', 'm/127.0.0.3:9000']);
    await server.setHosts({ 'web1.test': ['127.0.0.1'], 'web2.test': ['127.0.0.1'], 'moving.test': ['127.0.0.3', '127.0.0.5', '127.0.0.6'] });
    expect(instancesOf(await discoverFleet('m', spec)).map((instance) => instance.name)).toEqual(['m/127.0.0.3:9000', 'm/127.0.0.5:9000', 'm/127.0.0.6:9000']);
  });

  it('calls a name with no records not found: inconclusive, naming the name and the server', async () => {
    const result = await discoverFleet('web', srvSpec(server, '_http._tcp.absent.test'));
    expect(result).toEqual({
      problem: {
        code: 'CEIL_DISCOVERY_NOT_FOUND',
        message: expect.stringContaining(`SRV name _http._tcp.absent.test has no records at DNS server ${server.address}`),
      },
    });
    const plain = await discoverFleet('api', dnsSpec(server, 'absent.test', 80));
    expect('problem' in plain && plain.problem.code).toBe('CEIL_DISCOVERY_NOT_FOUND');
  });

  it('does not count an SRV record whose host has no address as absent: it is not found, not a short fleet', async () => {
    const result = await discoverFleet('lost', srvSpec(server, '_http._tcp.lost.test'));
    expect(result).toEqual({ problem: { code: 'CEIL_DISCOVERY_NOT_FOUND', message: expect.stringContaining('nowhere.test:18084') } });
  });
});

describe('the dnsmasq test server', () => {
  it('fails, naming the package to install, when dnsmasq is missing', async () => {
    await expect(startDnsServer({}, '/nonexistent/dnsmasq')).rejects.toThrow(
      /dnsmasq is not installed at \/nonexistent\/dnsmasq: .*apt-get install -y dnsmasq-base/,
    );
  });
});

describe('discoverFleet when the DNS server does not answer', () => {
  let silent: Socket | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
    silent = undefined;
  });

  it('gives up at its timeout when the server takes the query and never replies', async () => {
    silent = createSocket('udp4');
    let queries = 0;
    silent.on('message', () => (queries += 1));
    await new Promise<void>((resolve) => silent!.bind(0, '127.0.0.1', resolve));
    const resolver = { host: '127.0.0.1', port: silent.address().port };
    const result = await discoverFleet('web', {
      source: { kind: 'srv', name: '_http._tcp.web.test', scheme: 'http' },
      resolver,
      timeoutMs: 300,
      everyMs: 30_000,
    });
    expect(result).toEqual({
      problem: {
        code: 'CEIL_DISCOVERY_DNS_TIMEOUT',
        message: expect.stringMatching(/^web: no answer from DNS server 127\.0\.0\.1:\d+ for SRV _http\._tcp\.web\.test within 300 ms/),
      },
    });
    expect(queries).toBeGreaterThan(0);
  });

  it('says the same when nothing serves the port', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await discoverFleet('api', {
      source: { kind: 'dns', name: 'pool.test', port: 80, scheme: 'http' },
      resolver: { host: '127.0.0.1', port },
      timeoutMs: 1_000,
      everyMs: 30_000,
    });
    expect('problem' in result && result.problem.code).toBe('CEIL_DISCOVERY_DNS_TIMEOUT');
  });
});
