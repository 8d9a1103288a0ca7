import type { DiscoveredInstance, DiscoveryResult, DiscoverySpec, FleetExpectation } from '../discovery/index.js';
import type { Clock } from './model.js';

/**
 * The targets a daemon started with --config probes, and how the discovered
 * ones follow their fleet: each group is discovered again every `every`. A
 * discovery that fails keeps the last good fleet (a DNS blip must not make
 * every instance vanish from the dashboards) and is reported until the next
 * success. A group whose first discovery fails starts empty and is retried
 * on the same schedule.
 */

/** One target the daemon probes: a static one from ceiling.yaml, or one instance of a discovered group. */
export interface ProbeTarget {
  /** The `target` label: the static target's name, or the instance's (`web/127.0.0.1:8080`). */
  name: string;
  /** The key under `targets:`; a static target is its own group. */
  group: string;
  /** The target's vars, which win over --var. */
  vars: Record<string, string>;
}

export interface DiscoveredGroup {
  name: string;
  spec: DiscoverySpec;
  expect?: FleetExpectation;
  vars: Record<string, string>;
}

export interface FleetGroupStatus {
  group: string;
  instances: number;
  expected?: FleetExpectation;
  /** When the last discovery ended, successful or not. */
  lastDiscoveryAt?: number;
  /** The last discovery's fault (redacted), until one succeeds again. */
  error?: { code: string; message: string; at: number };
}

export interface FleetChange {
  group: string;
  added: ProbeTarget[];
  removed: ProbeTarget[];
}

export interface FleetWatchOptions {
  clock: Clock;
  groups: readonly DiscoveredGroup[];
  discover: (group: DiscoveredGroup, signal: AbortSignal) => Promise<DiscoveryResult>;
  onChange: (change: FleetChange) => void;
  onError: (group: string, problem: { code: string; message: string }) => void;
}

interface GroupState {
  group: DiscoveredGroup;
  instances: Map<string, ProbeTarget>;
  status: FleetGroupStatus;
  timer?: unknown;
}

export class FleetWatch {
  private readonly groups = new Map<string, GroupState>();
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: FleetWatchOptions) {
    for (const group of options.groups) {
      this.groups.set(group.name, {
        group,
        instances: new Map(),
        status: { group: group.name, instances: 0, ...(group.expect !== undefined ? { expected: group.expect } : {}) },
      });
    }
  }

  /** Discovers every group once, then keeps each on its own `every`. */
  async start(): Promise<void> {
    await Promise.all([...this.groups.values()].map((state) => this.discover(state)));
  }

  targets(group: string): ProbeTarget[] {
    return [...(this.groups.get(group)?.instances.values() ?? [])];
  }

  status(): FleetGroupStatus[] {
    return [...this.groups.values()].map((state) => ({ ...state.status }));
  }

  /** Ends the timers and aborts a discovery command still running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const state of this.groups.values()) this.options.clock.clearTimeout(state.timer);
    await Promise.all(this.running);
  }

  private discover(state: GroupState): Promise<void> {
    const run = this.discoverOnce(state).finally(() => {
      this.running.delete(run);
      if (this.stopped) return;
      state.timer = this.options.clock.setTimeout(() => void this.discover(state), state.group.spec.everyMs);
    });
    this.running.add(run);
    return run;
  }

  private async discoverOnce(state: GroupState): Promise<void> {
    let result: DiscoveryResult;
    try {
      result = await this.options.discover(state.group, this.abort.signal);
    } catch (error) {
      result = { problem: { code: 'CEIL_DISCOVERY_COMMAND_FAILED', message: `${state.group.name}: discovery failed: ${(error as Error).message}` } };
    }
    if (this.stopped) return;
    const now = this.options.clock.now();
    state.status.lastDiscoveryAt = now;
    if ('problem' in result) {
      state.status.error = { ...result.problem, at: now };
      this.options.onError(state.group.name, result.problem);
      return;
    }
    delete state.status.error;
    this.apply(state, result.instances);
  }

  private apply(state: GroupState, instances: readonly DiscoveredInstance[]): void {
    const found = new Map(instances.map((instance) => [instance.name, toTarget(instance)]));
    const removed = [...state.instances.values()].filter((target) => !found.has(target.name));
    const added = [...found.values()].filter((target) => !state.instances.has(target.name));
    // An instance that stays keeps its entry; one whose vars changed (a command's extra keys) takes the new ones.
    const changed = [...found.values()].filter((target) => {
      const before = state.instances.get(target.name);
      return before !== undefined && JSON.stringify(before.vars) !== JSON.stringify(target.vars);
    });
    state.instances = found;
    state.status.instances = found.size;
    if (added.length + removed.length + changed.length === 0) return;
    this.options.onChange({ group: state.group.name, added: [...added, ...changed], removed: [...removed, ...changed] });
  }
}

function toTarget(instance: DiscoveredInstance): ProbeTarget {
  return { name: instance.name, group: instance.group, vars: instance.vars };
}
