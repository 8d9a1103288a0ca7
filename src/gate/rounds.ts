import path from 'node:path';
import { Agent } from 'undici';
import type { Journey } from '../journey/journey.js';
import { runJourney, type JourneyRunOptions } from '../engine/journey-runner.js';
import type { JourneyResult } from '../core/result.js';
import { SharedResources } from '../engine/shared-resources.js';
import type { RunResources } from '../steps/executor.js';
import type { Redactor } from '../secrets/redactor.js';
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

export interface RoundOptions {
  journeys: readonly Journey[];
  targets: readonly TargetConfig[];
  concurrency: number;
  /** --var values; a target's vars win over them for that target. */
  vars: Record<string, string>;
  env: (name: string) => string | undefined;
  secret: (name: string) => string | undefined;
  redactor: Redactor;
  signal: AbortSignal;
  outDir: string;
  browserPath?: string;
  trace?: JourneyRunOptions['trace'];
  retries?: number;
  timeoutMs?: number;
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
            const scope = { vars: { ...options.vars, ...target.vars }, env: options.env, secret: options.secret, onSecretDerived: (value: string) => options.redactor.add(value) };
            versions.set(target.name, await readTargetVersion(target.version!, scope, versionAgent));
          });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pairs.length && !options.signal.aborted) {
        const { target, journey } = pairs[next++]!;
        const runOptions: JourneyRunOptions = {
          vars: { ...options.vars, ...target.vars },
          env: options.env,
          secret: options.secret,
          redactor: options.redactor,
          resources,
          signal: options.signal,
          outDir: targetOutDir(options.outDir, target.name),
          ...(options.browserPath !== undefined ? { browserPath: options.browserPath } : {}),
          ...(options.trace !== undefined ? { trace: options.trace } : {}),
          ...(options.retries !== undefined ? { retries: options.retries } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        };
        let result = await runJourney(journey, runOptions);
        // A failure the runner's own stall may explain is run once more before anyone judges it.
        if (runnerStallOf(result) !== undefined && !options.signal.aborted) result = await runJourney(journey, runOptions);
        results.get(target.name)!.push(result);
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency, pairs.length));
    await Promise.all([...versionReads, ...Array.from({ length: workers }, () => worker())]);
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
