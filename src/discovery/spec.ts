import { isIP } from 'node:net';

/**
 * What a discovered target group asks for, as plain values: the config loader
 * builds these from `targets.NAME.discover`, and the discovery functions read
 * nothing else. Kept free of zod so that serve, gate and drill can hand a spec
 * around without the config schema.
 */

export const DISCOVERY_SCHEMES = ['http', 'https', 'ws', 'wss'] as const;
export type DiscoveryScheme = (typeof DISCOVERY_SCHEMES)[number];

/** A DNS server given as `HOST:PORT` (`[::1]:53` for IPv6); HOST is an IP address. */
export interface DnsServer {
  host: string;
  port: number;
}

export type DiscoverySource =
  /** SRV records: each carries a target host and a port; the host is resolved to its A/AAAA addresses. */
  | { kind: 'srv'; name: string; scheme: DiscoveryScheme }
  /** A/AAAA records of one name: every address, with the given port. */
  | { kind: 'dns'; name: string; port: number; scheme: DiscoveryScheme }
  /** An argv run without a shell, in cwd (the config file's folder), that prints a JSON list of {name?, url, ...vars}. */
  | { kind: 'command'; argv: string[]; cwd?: string };

export interface DiscoverySpec {
  source: DiscoverySource;
  /** A DNS server to ask instead of the system's (srv and dns only). */
  resolver?: DnsServer;
  /** The whole discovery's budget: every DNS query, or the command from start to exit. */
  timeoutMs: number;
  /** How often a long-running caller (serve) discovers again. */
  everyMs: number;
}

/** `count`: exactly this many instances; `min`: at least this many. */
export type FleetExpectation = { count: number } | { min: number };

export const DEFAULT_DNS_TIMEOUT_MS = 5_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
export const DEFAULT_DISCOVERY_EVERY_MS = 30_000;

/** `127.0.0.1:5353`, `[::1]:53`, or a bare address for port 53; undefined when it is not that. */
export function parseDnsServer(text: string): DnsServer | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) return undefined;
  const host = match[1]!;
  const port = match[2] === undefined ? 53 : Number(match[2]);
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}
