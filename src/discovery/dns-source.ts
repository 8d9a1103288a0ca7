import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DiscoveryProblem } from './problem.js';
import type { DiscoveryScheme, DnsServer } from './spec.js';

/**
 * SRV and A/AAAA lookups with node:dns's Resolver: the system's DNS servers
 * or the one the config names, never /etc/hosts (a fleet lives in DNS). Every
 * lookup shares one budget; when it runs out the resolver's queries are
 * cancelled, so a server that never answers costs the timeout and no more.
 */

export interface Endpoint {
  host: string;
  port: number;
}

export type EndpointsResult = { endpoints: Endpoint[] } | { problem: DiscoveryProblem };

interface LookupContext {
  group: string;
  resolver: Resolver;
  serverText: string;
  timeoutMs: number;
  timedOut: () => boolean;
}

/** c-ares retries with a growing wait; two tries at a third of the budget each stay inside it, and the cancel timer is the hard bound. */
const TRIES = 2;

async function withResolver<T extends EndpointsResult>(
  group: string,
  server: DnsServer | undefined,
  timeoutMs: number,
  run: (context: LookupContext) => Promise<T>,
): Promise<T> {
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 3)), tries: TRIES });
  if (server) resolver.setServers([isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`]);
  const serverText = server
    ? `DNS server ${isIP(server.host) === 6 ? `[${server.host}]` : server.host}:${server.port}`
    : `the system's DNS servers (${resolver.getServers().join(', ') || 'none configured'})`;
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    resolver.cancel();
  }, timeoutMs);
  timer.unref();
  try {
    return await run({ group, resolver, serverText, timeoutMs, timedOut: () => expired });
  } finally {
    clearTimeout(timer);
  }
}

/** The DNS error codes that mean "no such records": the name is wrong or the fleet is not published. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);
/** No answer at all: the server is down, unreachable, or the budget ran out. */
const NO_ANSWER = new Set(['ETIMEOUT', 'TIMEOUT', 'ECANCELLED', 'CANCELLED', 'ECONNREFUSED', 'CONNREFUSED']);

type QueryResult<T> = { records: T[] } | { problem: DiscoveryProblem } | { none: true };

async function query<T>(context: LookupContext, what: string, name: string, ask: () => Promise<T[]>): Promise<QueryResult<T>> {
  // A query started after the budget ran out would get c-ares' own, longer, timeout.
  if (context.timedOut()) return { problem: timeoutProblem(context, what, name) };
  try {
    return { records: await ask() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NO_RECORDS.has(code)) return { none: true };
    if (!context.timedOut() && /CONNREFUSED/.test(code)) {
      return {
        problem: {
          code: 'CEIL_DISCOVERY_DNS_TIMEOUT',
          message: `${context.group}: no answer from ${context.serverText} for ${what} ${name}: the port refused the query (is a DNS server listening there?); check the resolver address`,
        },
      };
    }
    if (context.timedOut() || NO_ANSWER.has(code)) return { problem: timeoutProblem(context, what, name) };
    return {
      problem: {
        code: 'CEIL_DISCOVERY_DNS_ERROR',
        message: `${context.group}: ${context.serverText} answered ${what} ${name} with ${code || (error as Error).message}; check the server's logs and zone`,
      },
    };
  }
}

const timeoutProblem = (context: LookupContext, what: string, name: string): DiscoveryProblem => ({
  code: 'CEIL_DISCOVERY_DNS_TIMEOUT',
  message: `${context.group}: no answer from ${context.serverText} for ${what} ${name} within ${context.timeoutMs} ms; check that the server runs and is reachable, or raise discover.timeout`,
});

/** Every IPv4 and IPv6 address of a name; an address literal is its own answer. */
async function addressesOf(context: LookupContext, name: string): Promise<{ addresses: string[] } | { problem: DiscoveryProblem } | { none: true }> {
  if (isIP(name) !== 0) return { addresses: [name] };
  const [v4, v6] = await Promise.all([
    query(context, 'A', name, () => context.resolver.resolve4(name)),
    query(context, 'AAAA', name, () => context.resolver.resolve6(name)),
  ]);
  // Half an answer is no answer: a fleet missing its IPv6 half would look short and be rolled back.
  if ('problem' in v4) return v4;
  if ('problem' in v6) return v6;
  const addresses = [...('records' in v4 ? v4.records : []), ...('records' in v6 ? v6.records : [])];
  return addresses.length > 0 ? { addresses } : { none: true };
}

const notFound = (group: string, what: string, name: string, serverText: string): { problem: DiscoveryProblem } => ({
  problem: {
    code: 'CEIL_DISCOVERY_NOT_FOUND',
    message: `${group}: ${what} ${name} has no records at ${serverText}; check the name (and that the service is published), or the resolver`,
  },
});

export function lookupAddresses(group: string, name: string, port: number, server: DnsServer | undefined, timeoutMs: number): Promise<EndpointsResult> {
  return withResolver(group, server, timeoutMs, async (context) => {
    const found = await addressesOf(context, name);
    if ('problem' in found) return found;
    if ('none' in found) return notFound(group, 'A/AAAA name', name, context.serverText);
    return { endpoints: found.addresses.map((host) => ({ host, port })) };
  });
}

export function lookupSrv(group: string, name: string, server: DnsServer | undefined, timeoutMs: number): Promise<EndpointsResult> {
  return withResolver(group, server, timeoutMs, async (context) => {
    const srv = await query(context, 'SRV', name, () => context.resolver.resolveSrv(name));
    if ('problem' in srv) return srv;
    if ('none' in srv || srv.records.length === 0) return notFound(group, 'SRV name', name, context.serverText);
    // Priority and weight choose among instances for clients; a gate checks them all.
    const hosts = await Promise.all(srv.records.map((record) => addressesOf(context, record.name)));
    const endpoints: Endpoint[] = [];
    for (const [index, record] of srv.records.entries()) {
      const found = hosts[index]!;
      if ('problem' in found) return found;
      // An SRV record whose host has no address is an instance nobody can reach: not something to count as absent.
      if ('none' in found) return notFound(group, `the host of SRV record ${name} ->`, `${record.name}:${record.port}`, context.serverText);
      for (const host of found.addresses) endpoints.push({ host, port: record.port });
    }
    return { endpoints };
  });
}

export function endpointUrl(scheme: DiscoveryScheme, endpoint: Endpoint): string {
  const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
  return `${scheme}://${host}:${endpoint.port}`;
}
