/**
 * A real DNS server publishing a fleet as SRV records, for the gate, drill
 * and run e2e tests: dnsmasq through fixtures/dns-server.ts, registered with
 * the test's Cleanup so it is killed after every test, pass or fail.
 */
import { startDnsServer, type DnsServer } from '../../fixtures/dns-server.js';
import type { Cleanup } from './helpers.js';

export interface DnsFleet {
  server: DnsServer;
  /** `resolver:` for ceiling.yaml. */
  resolver: string;
}

/**
 * Publishes each port under `srvName` (e.g. `_http._tcp.chat.test`), every
 * instance on its own host name that resolves to 127.0.0.1, as a headless
 * Service does with its pods. `extra` adds names that resolve to nothing.
 */
export async function startDnsFleet(cleanup: Cleanup, srvName: string, ports: readonly number[]): Promise<DnsFleet> {
  const hosts: Record<string, string[]> = {};
  const srv = ports.map((port, index) => {
    const host = `instance-${index + 1}.fleet.test`;
    hosts[host] = ['127.0.0.1'];
    return { name: srvName, target: host, port };
  });
  const server = await startDnsServer({ srv, hosts });
  cleanup.add({ close: () => server.stop() });
  return { server, resolver: server.address };
}
