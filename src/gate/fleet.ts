import { raceAbort } from '../core/deadline.js';
import { checkFleetSize, describeSource, discoverFleet, type DiscoveryProblem, type FleetExpectation } from '../discovery/index.js';
import type { Redactor } from '../secrets/redactor.js';
import type { TargetConfig } from './config.js';
import type { FleetOutcome, GateFinding } from './model.js';
import type { VersionReading } from './version-probe.js';

/**
 * Turns the config's targets into the targets a gate, a drill or `run
 * --target` checks: a static target stays as written, a discovered group
 * becomes one target per instance it finds now (`web/10.0.3.7:8080`, with
 * the instance's vars and the group's version probe). Every group is asked
 * once, before the first round: a fleet that changes under a running gate
 * would make its rounds incomparable.
 */

/** One discovered group as found: what was asked, what it should hold and the instances' target names. */
export interface FoundFleet {
  group: string;
  /** `SRV _http._tcp.web.test at 127.0.0.1:5353`, for messages. */
  source: string;
  expected?: FleetExpectation;
  instances: string[];
}

export type FleetExpansion =
  | {
      targets: TargetConfig[];
      fleets: FoundFleet[];
      /** A group of the wrong size: the deploy's failure, decided before any journey runs. */
      sizeFindings: GateFinding[];
    }
  /** Discovery that found nothing to judge (no records, a DNS timeout, a failing command) or was interrupted: inconclusive. */
  | { problems: (DiscoveryProblem & { group: string })[]; interrupted: boolean };

export interface ExpandOptions {
  redactor: Redactor;
  signal: AbortSignal;
}

const INTERRUPTED_PROBLEM = (group: string): DiscoveryProblem & { group: string } => ({
  group,
  code: 'CEIL_DISCOVERY_EMPTY',
  message: `${group}: discovery was interrupted`,
});

export async function expandTargets(targets: readonly TargetConfig[], options: ExpandOptions): Promise<FleetExpansion> {
  const groups = targets.filter((target) => target.discover !== undefined);
  // Every group at once: each is bounded by its own timeout, and a slow one should not hold the others back.
  const answers = await Promise.all(
    groups.map(async (group) => {
      const found = discoverFleet(group.name, group.discover!, { vars: group.vars, redactor: options.redactor, signal: options.signal });
      try {
        // A command stops on the signal itself and is waited for, so no child outlives the gate; a DNS lookup is left to its own timeout.
        return await (group.discover!.source.kind === 'command' ? found : raceAbort(found, options.signal));
      } catch {
        return { problem: INTERRUPTED_PROBLEM(group.name) };
      }
    }),
  );
  if (options.signal.aborted) return { problems: groups.map((group) => INTERRUPTED_PROBLEM(group.name)), interrupted: true };
  const problems = answers.flatMap((answer, index) => ('problem' in answer ? [{ ...answer.problem, group: groups[index]!.name }] : []));
  if (problems.length > 0) return { problems, interrupted: false };

  const expanded: TargetConfig[] = [];
  const fleets: FoundFleet[] = [];
  const sizeFindings: GateFinding[] = [];
  for (const target of targets) {
    const index = groups.indexOf(target);
    const answer = answers[index];
    if (answer === undefined || !('instances' in answer)) {
      expanded.push(target);
      continue;
    }
    for (const instance of answer.instances) {
      expanded.push({ name: instance.name, vars: instance.vars, ...(target.version ? { version: target.version } : {}) });
    }
    fleets.push({
      group: target.name,
      source: describeSource(target.discover!),
      ...(target.expect ? { expected: target.expect } : {}),
      instances: answer.instances.map((instance) => instance.name),
    });
    const size = checkFleetSize(target.name, answer.instances, target.expect);
    if (size.verdict === 'fail') {
      sizeFindings.push({ kind: 'fleet', target: target.name, code: size.code, message: size.message, critical: true, round: 0 });
    }
  }
  return { targets: expanded, fleets, sizeFindings };
}

/** The reason a gate gives when discovery left nothing to judge: every group's problem, in one line. */
export function describeProblems(problems: readonly DiscoveryProblem[]): string {
  return `${problems.map((problem) => problem.message).join('; ')}: discovery found no fleet to judge, which says nothing about the deploy (nothing was rolled back)`;
}

/**
 * What each found fleet runs, most common version first, with the instances
 * of every other version named: the one server left behind is the news.
 */
export function fleetOutcomes(fleets: readonly FoundFleet[], versions: ReadonlyMap<string, VersionReading>): FleetOutcome[] {
  return fleets.map((fleet) => {
    const byVersion = new Map<string, string[]>();
    for (const instance of fleet.instances) {
      const reading = versions.get(instance);
      if (reading === undefined) continue;
      const version = reading.ok ? reading.version : UNKNOWN_VERSION;
      byVersion.set(version, [...(byVersion.get(version) ?? []), instance]);
    }
    const tally = [...byVersion]
      .map(([version, instances]) => ({ version, count: instances.length, instances }))
      .sort((a, b) => b.count - a.count || a.version.localeCompare(b.version, 'en', { numeric: true }));
    return {
      group: fleet.group,
      source: fleet.source,
      ...(fleet.expected ? { expected: fleet.expected } : {}),
      found: fleet.instances.length,
      instances: [...fleet.instances],
      versions: tally,
    };
  });
}

/** An instance whose version probe failed is still counted, under this name. */
export const UNKNOWN_VERSION = 'unknown';
