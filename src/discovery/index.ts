/** Finding a target group's instances in DNS or from a command, and judging the fleet's size. */
export { discoverFleet, describeSource, type DiscoverOptions, type DiscoveryResult } from './discover.js';
export { checkFleetSize, type FleetSizeCheck } from './fleet-size.js';
export { fillTargetValues, hostPort, INSTANCE_NAME_PATTERN, TARGET_TEMPLATE_KEYS, targetReferences, type DiscoveredInstance } from './instance.js';
export { DISCOVERY_PROBLEM_CODES, FLEET_SIZE_CODES, type DiscoveryProblem, type DiscoveryProblemCode, type FleetSizeCode } from './problem.js';
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_DISCOVERY_EVERY_MS,
  DEFAULT_DNS_TIMEOUT_MS,
  DISCOVERY_SCHEMES,
  parseDnsServer,
  type DiscoveryScheme,
  type DiscoverySource,
  type DiscoverySpec,
  type DnsServer,
  type FleetExpectation,
} from './spec.js';
