import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { formatDiagnostic, hasErrors } from '../journey/diagnostics.js';
import type { Journey } from '../journey/journey.js';
import { loadJourneys } from '../journey/load.js';
import { EXIT } from '../core/exit-codes.js';
import { runJourneys } from '../engine/run.js';
import type { ProjectConfig } from '../gate/config.js';
import type { RunResources } from '../steps/executor.js';
import type { Redactor } from '../secrets/redactor.js';
import { createReporter, parseReporterSpec, ReporterMultiplexer, ReporterSpecError, type ReporterFactoryOptions, type ReporterSpec } from '../report/index.js';
import { inShard, parseShard } from '../serve/shard.js';
import { durationFlag, InputError } from './flag-values.js';
import { readRunSources, selectJourneys } from './journey-inputs.js';
import { loadOptionalProjectConfig, pickTargets } from './project-config.js';
import { expandTargets } from '../gate/fleet.js';
import { logSafe } from '../report/terminal-text.js';
import { VERSION } from '../version.js';
import type { RunFlags } from './run-flags.js';
import { isLiveTerminal, wantsColor } from './terminal.js';
import { parseVarFlags } from './var-flags.js';
import { otlpSettingsFromFlags, TRACING_SHUTDOWN_LIMIT_MS, tracerFromFlags } from './tracing-setup.js';

const DEFAULT_JOURNEY_PATHS = ['journeys'];
const DEFAULT_CONCURRENCY = 4;

/**
 * SIGINT/SIGTERM abort the run; the journeys stop at their next await, the
 * teardown runs and the reports are still written. A second signal exits at once.
 */
function interruptOnSignals(controller: AbortController): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\nceiling: ${signal} received, stopping journeys and writing reports (again to force)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * --reporter wins over the config's reporters; with neither, the console.
 * Under GitHub Actions the github reporter joins in unless it was named.
 */
function reporterSpecs(flags: RunFlags, config: ProjectConfig | undefined): ReporterSpec[] {
  let specs: ReporterSpec[];
  try {
    specs = flags.reporter.map(parseReporterSpec);
  } catch (error) {
    if (error instanceof ReporterSpecError) throw new InputError(`--reporter: ${error.message}`);
    throw error;
  }
  if (specs.length === 0) specs = (config?.reporters ?? []).map(parseReporterSpec);
  if (specs.length === 0) specs = [{ name: 'console' }];
  if (process.env.GITHUB_ACTIONS && !specs.some((spec) => spec.name === 'github')) specs.push({ name: 'github' });
  return specs;
}

/** `--list`: what would run, one journey a line, so a CI job can check its selection or split. */
function listJourneys(journeys: readonly Journey[]): string {
  const shown = (file: string): string => {
    const relative = path.relative(process.cwd(), file);
    return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  };
  return journeys
    .map((journey) => `${shown(journey.file)}:${journey.location.line}  ${journey.name}${journey.tags.length > 0 ? `  [${journey.tags.join(', ')}]` : ''}`)
    .join('\n');
}

/** Each journey once per instance, named `journey @ web/10.0.3.7:8080` so reports tell the runs apart, each with its instance's vars. */
function perInstance(
  journeys: readonly Journey[],
  instances: readonly { name: string; vars: Record<string, string> }[],
): { journeys: Journey[]; varsOf: (journey: Journey) => Readonly<Record<string, string>> | undefined } {
  const vars = new Map<Journey, Record<string, string>>();
  const copies = instances.flatMap((instance) =>
    journeys.map((journey) => {
      const copy: Journey = { ...journey, name: `${journey.name} @ ${instance.name}` };
      vars.set(copy, instance.vars);
      return copy;
    }),
  );
  return { journeys: copies, varsOf: (journey) => vars.get(journey) };
}

export async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  try {
    return await runWithInputs(paths, flags, write);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    write(error.message);
    return error.exitCode;
  }
}

/**
 * Everything a run needs from its flags, config and files, read once: `run`
 * uses it for one run, `run --watch` for each run it starts.
 */
export interface RunPlan {
  journeyPaths: string[];
  /** The project config read, to watch beside the journeys. */
  configFile?: string;
  extraVars: string[];
  redactor: Redactor;
  /** --tag, --grep and --shard applied; a string is a usage error. */
  select(journeys: Journey[]): Journey[] | string;
  /**
   * Runs the journeys with fresh reporters (against each instance of a discovered --target);
   * `longLived` keeps the browser open across runs. Resolves with the exit code.
   */
  execute(journeys: readonly Journey[], signal: AbortSignal, longLived?: RunResources): Promise<number>;
  /** Flushes and ends what outlives one run (the trace exporter). */
  close(): Promise<void>;
}

export async function planRun(paths: string[], flags: RunFlags, write: (line: string) => void): Promise<RunPlan> {
  const vars = parseVarFlags(flags.var);
  if (!vars.ok) throw new InputError(vars.error);
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  if (shard && 'error' in shard) throw new InputError(shard.error);
  const config = await loadOptionalProjectConfig(flags.config, write);
  const [target] = pickTargets(flags.target !== undefined ? [flags.target] : [], config);
  // As in the gate: a target's vars win over --var, and journeys may use them as if passed with --var.
  // A discovered group's vars hold {{ target.* }} until each instance fills them in, so they are given per journey below.
  const runVars = { ...vars.vars, ...(target && !target.discover ? target.vars : {}) };
  const extraVars = Object.keys({ ...runVars, ...(target?.vars ?? {}) });

  const timeoutMs = flags.timeout !== undefined ? durationFlag('--timeout', flags.timeout) : config?.defaults.timeoutMs;
  const retries = flags.retries ?? config?.defaults.retries;
  const concurrency = flags.concurrency ?? config?.defaults.concurrency ?? DEFAULT_CONCURRENCY;
  if (concurrency < 1) throw new InputError('--concurrency must be at least 1');
  otlpSettingsFromFlags(flags.otlpEndpoint);
  const { env, secret, redactor } = await readRunSources(flags.envFile, flags.secretsFile);
  const browserPath = flags.browserPath ?? (process.env.CEILING_BROWSER_PATH || undefined);

  const options: ReporterFactoryOptions = {
    outDir: flags.out,
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: isLiveTerminal(process.stdout) && !flags.quiet,
    color: wantsColor(process.stdout),
    quiet: flags.quiet,
    github: {
      ...(process.env.GITHUB_STEP_SUMMARY ? { summaryFile: process.env.GITHUB_STEP_SUMMARY } : {}),
      workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    },
  };
  const specs = reporterSpecs(flags, config);
  // One exporter for every run of a watch loop, started on the first (undefined when tracing is off, also asked once).
  let tracerStart: ReturnType<typeof tracerFromFlags> | undefined;
  const tracerOnce = () => (tracerStart ??= tracerFromFlags(flags.otlpEndpoint, redactor, write));

  const journeyPaths = paths.length > 0 ? paths : (config?.journeys ?? DEFAULT_JOURNEY_PATHS);
  return {
    journeyPaths,
    ...(config ? { configFile: config.file } : {}),
    extraVars,
    redactor,
    select: (journeys) => {
      const chosen = selectJourneys(journeys, flags.tag, flags.grep);
      if (typeof chosen === 'string' || !shard) return chosen;
      return chosen.filter((journey) => inShard(journey.name, shard));
    },
    execute: async (selected, signal, longLived) => {
      let journeys: readonly Journey[] = selected;
      let varsOf: ((journey: Journey) => Readonly<Record<string, string>> | undefined) | undefined;
      let fleetFailed = false;
      if (target?.discover) {
        const expansion = await expandTargets([target], { redactor, signal });
        if ('problems' in expansion) {
          for (const problem of expansion.problems) write(logSafe(redactor.redact(`ceiling: ${problem.code}: ${problem.message}`)));
          write(`ceiling: nothing tested: discovery of ${target.name} found no instance to run against`);
          return expansion.interrupted ? EXIT.interrupted : EXIT.nothingTested;
        }
        const instances = expansion.targets;
        write(logSafe(redactor.redact(`ceiling: ${target.name}: ${instances.length} instance(s): ${instances.map((instance) => instance.name).join(', ')}`)));
        for (const finding of expansion.sizeFindings) write(logSafe(redactor.redact(`ceiling: ${finding.code}: ${finding.message}`)));
        fleetFailed = expansion.sizeFindings.length > 0;
        ({ journeys, varsOf } = perInstance(selected, instances));
      }
      const reporters = await Promise.all(specs.map((spec) => createReporter(spec, options)));
      const reporter = new ReporterMultiplexer({ reporters, redactor });
      const tracing = await tracerOnce();
      const result = await runJourneys(journeys, {
        ...(varsOf ? { varsOf } : {}),
        concurrency,
        failOnFlaky: flags.failOnFlaky,
        reporter,
        version: VERSION,
        vars: runVars,
        env,
        secret,
        redactor,
        signal,
        outDir: flags.out,
        ...(longLived ? { longLived } : {}),
        ...(browserPath ? { browserPath } : {}),
        trace: flags.trace,
        ...(tracing ? { tracing: { tracer: tracing, ...(target ? { target: target.name } : {}) } } : {}),
        ...(retries !== undefined ? { retries } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      // A fleet of the wrong size fails the run even when every instance found passed.
      return fleetFailed && (result.exitCode === EXIT.passed || result.exitCode === EXIT.nothingTested) ? EXIT.failed : result.exitCode;
    },
    close: async () => {
      await (await tracerStart)?.shutdown(TRACING_SHUTDOWN_LIMIT_MS);
    },
  };
}

async function runWithInputs(paths: string[], flags: RunFlags, write: (line: string) => void): Promise<number> {
  const plan = await planRun(paths, flags, write);
  const { journeyPaths, redactor } = plan;
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  const shardLabel = shard && !('error' in shard) ? ` in shard ${shard.index}/${shard.total}` : '';
  const loaded = await loadJourneys(journeyPaths, { extraVars: plan.extraVars });
  for (const diagnostic of loaded.diagnostics) write(logSafe(redactor.redact(formatDiagnostic(diagnostic))));
  if (hasErrors(loaded.diagnostics)) throw new InputError('\nno journey was run: fix the errors above (ceiling validate shows them too)');
  const selected = plan.select(loaded.journeys);
  if (typeof selected === 'string') throw new InputError(selected);

  if (flags.list) {
    if (selected.length > 0) process.stdout.write(`${redactor.redact(listJourneys(selected))}\n`);
    write(`${selected.length} journey${selected.length === 1 ? '' : 's'} selected${shardLabel}; nothing was run (--list)`);
    return selected.length > 0 ? EXIT.passed : EXIT.nothingTested;
  }
  if (selected.length === 0) {
    const chosen = selectJourneys(loaded.journeys, flags.tag, flags.grep) as Journey[];
    const why =
      loaded.journeys.length === 0
        ? `no journey files in ${journeyPaths.join(', ')}`
        : chosen.length === 0
          ? 'no journey matched --tag/--grep'
          : `shard ${flags.shard} holds none of the ${chosen.length} selected journeys`;
    write(`ceiling: nothing tested: ${why}`);
  }

  const controller = new AbortController();
  // Every journey attempt in flight listens to this one signal; many at once is expected, not a leak.
  setMaxListeners(0, controller.signal);
  const stopListening = interruptOnSignals(controller);
  try {
    return await plan.execute(selected, controller.signal);
  } finally {
    stopListening();
    await plan.close();
  }
}
