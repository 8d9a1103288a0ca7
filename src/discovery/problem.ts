/**
 * Why a discovery found no fleet to judge. Every one of these is
 * inconclusive: the gate cannot tell a broken deploy from a broken lookup, so
 * it must not roll back on one. README's "Discovered targets" lists each code.
 */
export const DISCOVERY_PROBLEM_CODES = [
  /** The name does not exist, or has no records of the kind asked for. */
  'CEIL_DISCOVERY_NOT_FOUND',
  /** The lookup or command succeeded and listed no instance. */
  'CEIL_DISCOVERY_EMPTY',
  /** The DNS server did not answer within the timeout. */
  'CEIL_DISCOVERY_DNS_TIMEOUT',
  /** The DNS server answered with an error (SERVFAIL, REFUSED, a malformed reply). */
  'CEIL_DISCOVERY_DNS_ERROR',
  /** The command could not start, or exited non-zero or by a signal. */
  'CEIL_DISCOVERY_COMMAND_FAILED',
  /** The command ran past its timeout and was killed. */
  'CEIL_DISCOVERY_COMMAND_TIMEOUT',
  /** The command's stdout is not the documented JSON list. */
  'CEIL_DISCOVERY_COMMAND_OUTPUT',
] as const;
export type DiscoveryProblemCode = (typeof DISCOVERY_PROBLEM_CODES)[number];

export interface DiscoveryProblem {
  code: DiscoveryProblemCode;
  /** Names the group and says what to check; secrets already redacted. */
  message: string;
}

/** A fleet found but of the wrong size: a failure of the deploy, not of the lookup. */
export const FLEET_SIZE_CODES = ['CEIL_DISCOVERY_FLEET_SHORT', 'CEIL_DISCOVERY_FLEET_EXCESS'] as const;
export type FleetSizeCode = (typeof FLEET_SIZE_CODES)[number];
