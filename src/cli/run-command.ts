import { setMaxListeners } from 'node:events';
import { formatDiagnostic, hasErrors } from '../journey/diagnostics.js';
import { parseDuration } from '../journey/duration.js';
import { loadJourneys } from '../journey/load.js';
import { EXIT } from '../engine/exit-codes.js';
import { runJourneys } from '../engine/run.js';
import { createReporter, parseReporterSpec, ReporterMultiplexer, ReporterSpecError } from '../report/index.js';
import { Redactor } from '../secrets/redactor.js';
import { logSafe } from '../report/terminal-text.js';
import { secretLookup } from '../secrets/sources.js';
import { readFileFlag, selectJourneys } from './journey-inputs.js';
import { VERSION } from '../version.js';
import type { RunFlags } from './program.js';
import { parseVarFlags } from './var-flags.js';

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return EXIT.invalid;
}

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

export async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const vars = parseVarFlags(flags.var);
  if (!vars.ok) return fail(vars.error);
  let timeoutMs: number | undefined;
  if (flags.timeout !== undefined) {
    const parsed = parseDuration(flags.timeout);
    if (!parsed.ok) return fail(`--timeout: ${parsed.reason}`);
    timeoutMs = parsed.ms;
  }
  if (flags.concurrency < 1) return fail('--concurrency must be at least 1');
  const envFile = await readFileFlag('--env-file', flags.envFile);
  if (typeof envFile === 'string') return fail(envFile);
  const secretsFile = await readFileFlag('--secrets-file', flags.secretsFile);
  if (typeof secretsFile === 'string') return fail(secretsFile);

  const browserPath = flags.browserPath ?? (process.env.CEILING_BROWSER_PATH || undefined);
  const redactor = new Redactor();
  const env = (name: string): string | undefined => (Object.hasOwn(envFile, name) ? envFile[name] : process.env[name]);
  const secret = secretLookup(secretsFile, env, redactor);

  let reporters;
  try {
    const options = {
      outDir: flags.out,
      stdout: process.stdout,
      stderr: process.stderr,
      isTTY: process.stdout.isTTY === true && !process.env.CI,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR && !process.env.CI,
    };
    const specs = (flags.reporter.length > 0 ? flags.reporter : ['console']).map(parseReporterSpec);
    reporters = await Promise.all(specs.map((spec) => createReporter(spec, options)));
  } catch (error) {
    if (error instanceof ReporterSpecError) return fail(`--reporter: ${error.message}`);
    throw error;
  }
  const reporter = new ReporterMultiplexer({ reporters, redactor });

  const loaded = await loadJourneys(paths, { extraVars: Object.keys(vars.vars) });
  for (const diagnostic of loaded.diagnostics) process.stderr.write(`${logSafe(redactor.redact(formatDiagnostic(diagnostic)))}\n`);
  if (hasErrors(loaded.diagnostics)) {
    process.stderr.write('\nno journey was run: fix the errors above (ceiling validate shows them too)\n');
    return EXIT.invalid;
  }
  const selected = selectJourneys(loaded.journeys, flags.tag, flags.grep);
  if (typeof selected === 'string') return fail(selected);
  if (selected.length === 0) {
    const why = loaded.journeys.length === 0 ? `no journey files in ${paths.join(', ')}` : 'no journey matched --tag/--grep';
    process.stderr.write(`ceiling: nothing tested: ${why}\n`);
  }

  const controller = new AbortController();
  // Every journey attempt in flight listens to this one signal; many at once is expected, not a leak.
  setMaxListeners(0, controller.signal);
  const stopListening = interruptOnSignals(controller);
  try {
    const result = await runJourneys(selected, {
      concurrency: flags.concurrency,
      failOnFlaky: flags.failOnFlaky,
      reporter,
      version: VERSION,
      vars: vars.vars,
      env,
      secret,
      redactor,
      signal: controller.signal,
      outDir: flags.out,
      ...(browserPath ? { browserPath } : {}),
      trace: flags.trace,
      ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return result.exitCode;
  } finally {
    stopListening();
  }
}
