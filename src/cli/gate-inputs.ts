import { setMaxListeners } from 'node:events';
import { formatDiagnostic, hasErrors } from '../journey/diagnostics.js';
import type { Journey } from '../journey/journey.js';
import { loadJourneys } from '../journey/load.js';
import { EXIT } from '../core/exit-codes.js';
import { loadProjectConfig, type ProjectConfig, type TargetConfig } from '../gate/config.js';
import type { RoundSettings } from '../gate/rounds.js';
import type { Redactor } from '../secrets/redactor.js';
import { durationFlag, InputError } from './flag-values.js';
import { readRunSources, selectJourneys } from './journey-inputs.js';
import { pickTargets } from './project-config.js';
import { parseVarFlags } from './var-flags.js';
import type { JourneyRunFlags } from './run-flags.js';

/**
 * What `gate` and `drill` share: the project config, its targets, the journeys
 * checked against them, secrets and the run settings. Any problem is an input
 * error (exit 2) reported with its file and line, before anything runs.
 */

export interface FleetFlags extends JourneyRunFlags {
  config: string;
  target: string[];
  tag: string[];
  grep?: string;
  concurrency?: number;
}

export interface FleetInputs {
  config: ProjectConfig;
  targets: TargetConfig[];
  journeys: Journey[];
  redactor: Redactor;
  run: RoundSettings;
}

export async function loadFleet(paths: string[], flags: FleetFlags, write: (line: string) => void): Promise<FleetInputs> {
  const vars = parseVarFlags(flags.var);
  if (!vars.ok) throw new InputError(vars.error);
  const loadedConfig = await loadProjectConfig(flags.config);
  for (const diagnostic of loadedConfig.diagnostics) write(formatDiagnostic(diagnostic));
  if (!loadedConfig.config || hasErrors(loadedConfig.diagnostics))
    throw new InputError(`\nnothing was run: fix ${flags.config} first (the errors above say where)`);
  const config = loadedConfig.config;

  // Discovered groups stay groups here: the gate and the drill find their instances once the run starts, under its signal.
  const targets = flags.target.length > 0 ? pickTargets(flags.target, config) : config.targets;

  const { env, secret, redactor } = await readRunSources(flags.envFile, flags.secretsFile);

  // Journeys may use any var every target sets, as if it were passed with --var.
  const targetVars = new Set(targets.flatMap((target) => Object.keys(target.vars)));
  const journeyPaths = paths.length > 0 ? paths : config.journeys;
  const loaded = await loadJourneys(journeyPaths, { extraVars: [...Object.keys(vars.vars), ...targetVars] });
  for (const diagnostic of loaded.diagnostics) write(redactor.redact(formatDiagnostic(diagnostic)));
  if (hasErrors(loaded.diagnostics)) throw new InputError('\nnothing was run: fix the journey errors above (ceiling validate shows them too)');
  const selected = selectJourneys(loaded.journeys, flags.tag, flags.grep);
  if (typeof selected === 'string') throw new InputError(selected);
  if (selected.length === 0) {
    const why = loaded.journeys.length === 0 ? `no journey files in ${journeyPaths.join(', ')}` : 'no journey matched --tag/--grep';
    throw new InputError(`ceiling: nothing tested: ${why}`, EXIT.nothingTested);
  }

  const timeoutText = flags.timeout;
  const timeoutMs = timeoutText !== undefined ? durationFlag('--timeout', timeoutText) : config.defaults.timeoutMs;
  const retries = flags.retries ?? config.defaults.retries;
  const concurrency = flags.concurrency ?? config.defaults.concurrency ?? 4;
  if (concurrency < 1) throw new InputError('--concurrency must be at least 1');
  const browserPath = flags.browserPath ?? (process.env.CEILING_BROWSER_PATH || undefined);
  return {
    config,
    targets,
    journeys: selected,
    redactor,
    run: {
      concurrency,
      vars: vars.vars,
      env,
      secret,
      redactor,
      outDir: flags.out,
      trace: flags.trace,
      ...(browserPath ? { browserPath } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    },
  };
}

/** One AbortController for the whole command: SIGINT/SIGTERM stop the rounds; a second signal exits at once. */
export function abortOnSignals(write: (line: string) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received > 1) process.exit(EXIT.interrupted);
    write(`\nceiling: ${signal} received, stopping (again to force)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
