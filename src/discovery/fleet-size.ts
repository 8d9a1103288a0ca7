import type { DiscoveredInstance } from './instance.js';
import type { FleetSizeCode } from './problem.js';
import type { FleetExpectation } from './spec.js';

/**
 * The fleet's size is part of the verdict. Fewer instances than expected is
 * the server nobody deployed to; more than `count` is the one that should
 * not exist. Both fail. None at all is not a small fleet but a lookup that
 * found nothing, which the gate cannot judge: inconclusive.
 */

export type FleetSizeCheck =
  { verdict: 'ok' } | { verdict: 'fail'; code: FleetSizeCode; message: string } | { verdict: 'inconclusive'; code: 'CEIL_DISCOVERY_EMPTY'; message: string };

const plural = (count: number): string => `${count} instance${count === 1 ? '' : 's'}`;

export function checkFleetSize(group: string, found: readonly Pick<DiscoveredInstance, 'name'>[], expect: FleetExpectation | undefined): FleetSizeCheck {
  if (found.length === 0) return { verdict: 'inconclusive', code: 'CEIL_DISCOVERY_EMPTY', message: `${group}: discovery found no instance; nothing to judge` };
  if (expect === undefined) return { verdict: 'ok' };
  const list = `: ${found.map((instance) => instance.name).join(', ')}`;
  if ('count' in expect) {
    if (found.length === expect.count) return { verdict: 'ok' };
    const code: FleetSizeCode = found.length < expect.count ? 'CEIL_DISCOVERY_FLEET_SHORT' : 'CEIL_DISCOVERY_FLEET_EXCESS';
    return { verdict: 'fail', code, message: `${group}: expected ${plural(expect.count)}, found ${found.length}${list}` };
  }
  if (found.length >= expect.min) return { verdict: 'ok' };
  return { verdict: 'fail', code: 'CEIL_DISCOVERY_FLEET_SHORT', message: `${group}: expected at least ${plural(expect.min)}, found ${found.length}${list}` };
}
