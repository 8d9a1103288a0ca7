import path from 'node:path';
import { Agent } from 'undici';
import type { Journey } from '../journey/journey.js';
import { runJourney, type JourneyRunOptions } from '../engine/journey-runner.js';
import type { JourneyResult } from '../core/result.js';
import { SharedResources } from '../engine/shared-resources.js';
import { runPool } from '../engine/run.js';
import type { RunResources } from '../steps/executor.js';
import type { TargetConfig } from './config.js';
import { readTargetVersion, type VersionReading } from './version-probe.js';

/**
 * One round of the gate: every selected journey against every target, plus
 * each target's version. A target's vars win over the journey's own, which is
 * how one journey file checks eight servers.
 */

export interface TargetRound {
  target: string;
  /** Absent when no version probe is configured for the target. */
  version?: VersionReading;
  journeys: JourneyResult[];
}

export interface RoundResult {
  round: number;
  startedAt: number;
  durationMs: number;
  targets: TargetRound[];
}

/**
 * How every journey of the gate and the drill runs, declared once: the CLI
 * reads it from flags and config (FleetInputs.run), runGate and runDrill pass
 * it through, and each round adds the target's vars and its evidence folder.
 */
export interface RoundSettings extends Pick<
  JourneyRunOptions,
  'vars' | 'env' | 'secret' | 'redactor' | 'outDir' | 'browserPath' | 'trace' | 'retries' | 'timeoutMs' | 'tracing'
> {
  concurrency: number;
}

export interface RoundOptions extends RoundSettings {
  journeys: readonly Journey[];
  targets: readonly TargetConfig[];
  signal: AbortSignal;
  /** Skip version probes (the recovery rounds after a rollback expect the old version). */
  skipVersions?: boolean;
  /** The gate's long-lived resources (one browser for every round). */
  resources?: RunResources;
}

/** The failure of a journey's last attempt, when the runner's own stall may explain it. */
export function runnerStallOf(result: JourneyResult): number | undefined {
  return result.status === 'failed' || result.status === 'error' ? result.attempts.at(-1)?.failure?.runnerStallMs : undefined;
}

/** Evidence is kept per target so two targets failing the same journey do not overwrite each other. */
function targetOutDir(outDir: string, target: string): string {
  return path.join(outDir, 'targets', target);
}

export async function runRound(round: number, options: RoundOptions): Promise<RoundResult> {
  const startedAt = Date.now();
  const started = performance.now();
  const resources = new SharedResources(options.resources);
  const versionAgent = new Agent({ keepAliveTimeout: 1_000 });
  const pairs = options.targets.flatMap((target) => options.journeys.map((journey) => ({ target, journey })));
  const results = new Map<string, JourneyResult[]>(options.targets.map((target) => [target.name, []]));
  const versions = new Map<string, VersionReading>();
  try {
    const versionReads = options.skipVersions
      ? []
      : options.targets
          .filter((target) => target.version !== undefined)
          .map(async (target) => {
            const scope = {
              vars: { ...options.vars, ...target.vars },
              env: options.env,
              secret: options.secret,
              onSecretDerived: (value: string, secretName: string) => options.redactor.add(value, secretName),
            };
            versions.set(target.name, await readTargetVersion(target.version!, scope, versionAgent));
          });
    const { journeys: _journeys, targets: _targets, skipVersions: _skipVersions, resources: _shared, concurrency: _concurrency, ...settings } = options;
    const runPair = async ({ target, journey }: (typeof pairs)[number]): Promise<void> => {
      const runOptions: JourneyRunOptions = {
        ...settings,
        vars: { ...options.vars, ...target.vars },
        resources,
        outDir: targetOutDir(options.outDir, target.name),
        ...(settings.tracing ? { tracing: { ...settings.tracing, target: target.name } } : {}),
      };
      // runJourney itself runs a journey once more when the runner's own stall explains its failure.
      results.get(target.name)!.push(await runJourney(journey, runOptions));
    };
    await Promise.all([...versionReads, runPool(pairs, options.concurrency, options.signal, runPair)]);
  } finally {
    await Promise.allSettled([resources.closeAll(), versionAgent.close()]);
  }
  const order = new Map(options.journeys.map((journey, index) => [journey.name, index]));
  return {
    round,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    targets: options.targets.map((target) => {
      const journeys = results.get(target.name)!.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
      const version = versions.get(target.name);
      return { target: target.name, journeys, ...(version ? { version } : {}) };
    }),
  };
}
