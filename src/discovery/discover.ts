import type { Redactor } from '../secrets/redactor.js';
import { runDiscoveryCommand } from './command-source.js';
import { endpointUrl, lookupAddresses, lookupSrv, type EndpointsResult } from './dns-source.js';
import { byName, makeInstance, type DiscoveredInstance, type InstanceFacts } from './instance.js';
import type { DiscoveryProblem } from './problem.js';
import type { DiscoverySpec } from './spec.js';

/**
 * One discovery of one target group: ask the source, turn each answer into
 * an instance with its own target name and vars. It never throws for a fault
 * of the source; it says what went wrong, and every such outcome is
 * inconclusive for the caller.
 */

export interface DiscoverOptions {
  /** The group's vars, templated with `{{ target.* }}`; each instance gets its own rendering. */
  vars?: Readonly<Record<string, string>>;
  /** Redacts the command's stderr and every message. */
  redactor?: Redactor;
  /** Stops a running command (DNS lookups are bounded by the spec's timeout). */
  signal?: AbortSignal;
}

export type DiscoveryResult = { instances: DiscoveredInstance[] } | { problem: DiscoveryProblem };

export async function discoverFleet(group: string, spec: DiscoverySpec, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const facts = await findFacts(group, spec, options);
  if ('problem' in facts) return facts;
  const instances = new Map<string, DiscoveredInstance>();
  for (const fact of facts.facts) {
    const instance = makeInstance(fact, options.vars ?? {});
    const same = instances.get(instance.name);
    if (same && spec.source.kind === 'command' && same.url !== instance.url) {
      // Two instances under one name would share metric series and verdict lines.
      return {
        problem: {
          code: 'CEIL_DISCOVERY_COMMAND_OUTPUT',
          message: redact(
            options.redactor,
            `${group}: discovery command printed two instances named ${instance.name} (${same.url} and ${instance.url}); give each its own name`,
          ),
        },
      };
    }
    // DNS may list one address under two records: it is still one instance.
    instances.set(instance.name, instance);
  }
  if (instances.size === 0) {
    return {
      problem: {
        code: 'CEIL_DISCOVERY_EMPTY',
        message: `${group}: discovery (${describeSource(spec)}) found no instance; check that the fleet is published, or that the command lists it`,
      },
    };
  }
  return { instances: [...instances.values()].sort(byName) };
}

const redact = (redactor: Redactor | undefined, text: string): string => (redactor ? redactor.redact(text) : text);

async function findFacts(group: string, spec: DiscoverySpec, options: DiscoverOptions): Promise<{ facts: InstanceFacts[] } | { problem: DiscoveryProblem }> {
  const source = spec.source;
  if (source.kind === 'command') {
    const result = await runDiscoveryCommand({
      group,
      argv: source.argv,
      timeoutMs: spec.timeoutMs,
      ...(source.cwd !== undefined ? { cwd: source.cwd } : {}),
      ...(options.redactor ? { redactor: options.redactor } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if ('problem' in result) return result;
    return {
      facts: result.instances.map((instance) => ({
        group,
        host: instance.host,
        port: instance.port,
        url: instance.url,
        extra: instance.extra,
        ...(instance.name !== undefined ? { ownName: instance.name } : {}),
      })),
    };
  }
  const found: EndpointsResult =
    source.kind === 'srv'
      ? await lookupSrv(group, source.name, spec.resolver, spec.timeoutMs)
      : await lookupAddresses(group, source.name, source.port, spec.resolver, spec.timeoutMs);
  if ('problem' in found) return found;
  return { facts: found.endpoints.map((endpoint) => ({ group, host: endpoint.host, port: endpoint.port, url: endpointUrl(source.scheme, endpoint) })) };
}

/** `SRV _http._tcp.web.test`, for messages. */
export function describeSource(spec: DiscoverySpec): string {
  const source = spec.source;
  const at = spec.resolver ? ` at ${spec.resolver.host.includes(':') ? `[${spec.resolver.host}]` : spec.resolver.host}:${spec.resolver.port}` : '';
  if (source.kind === 'srv') return `SRV ${source.name}${at}`;
  if (source.kind === 'dns') return `A/AAAA ${source.name} port ${source.port}${at}`;
  return `command ${source.argv.join(' ')}`;
}
