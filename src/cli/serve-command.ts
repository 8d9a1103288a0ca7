import { formatDiagnostic } from '../journey/diagnostics.js';
import { parseByteSize } from '../journey/byte-size.js';
import type { Journey } from '../journey/journey.js';
import { MIN_INTERVAL_MS } from '../journey/schedule.js';
import { EXIT } from '../core/exit-codes.js';
import type { Redactor } from '../secrets/redactor.js';
import { logSafe } from '../report/terminal-text.js';
import { DaemonConfigError, NothingToServeError, ProbeDaemon, type DaemonOptions } from '../serve/daemon.js';
import { isLoopbackHostname } from '../serve/http-api.js';
import { HistoryError } from '../history/store.js';
import { inShard, parseShard } from '../serve/shard.js';
import type { WebhookTarget } from '../serve/webhook-delivery.js';
import { registerWebhookUrlSecrets } from '../webhook/url.js';
import { VERSION } from '../version.js';
import { durationFlag, InputError } from './flag-values.js';
import { readRunSources, selectJourneys } from './journey-inputs.js';
import type { ServeFlags } from './serve-flags.js';
import { parseVarFlags } from './var-flags.js';
import { TRACING_SHUTDOWN_LIMIT_MS, tracerFromFlags } from './tracing-setup.js';

/** host:port, with [::1]:port for IPv6; port 0 picks a free one. */
function parseListen(text: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) throw new InputError(`--listen: "${text}" is not host:port; write e.g. 127.0.0.1:9464 or 0.0.0.0:9464`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function webhookTargets(flags: ServeFlags, redactor: Redactor): WebhookTarget[] {
  const targets: WebhookTarget[] = [
    ...flags.webhook.map((url) => ({ url, format: 'json' as const })),
    ...flags.slackWebhook.map((url) => ({ url, format: 'slack' as const })),
  ];
  for (const target of targets) {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new InputError(
        `--${target.format === 'slack' ? 'slack-webhook' : 'webhook'}: "${target.url}" is not a URL; write e.g. https://hooks.example.com/ceiling`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`webhook ${url.protocol} URLs are not supported; use http or https`);
    // Registered here, before anything runs, as well as by the dispatcher: a webhook URL is a credential everywhere.
    registerWebhookUrlSecrets(redactor, url);
  }
  return targets;
}

async function buildOptions(paths: string[], flags: ServeFlags, log: (line: string) => void): Promise<DaemonOptions> {
  const vars = parseVarFlags(flags.var);
  if (!vars.ok) throw new InputError(vars.error);
  if (flags.concurrency < 1) throw new InputError('--concurrency must be at least 1');
  if (flags.alertAfter < 1) throw new InputError('--alert-after must be at least 1');
  if (flags.retentionRuns < 1) throw new InputError('--retention-runs must be at least 1');
  const everyMs = durationFlag('--every', flags.every);
  if (everyMs < MIN_INTERVAL_MS) throw new InputError('--every: the shortest interval is 1s');
  const maxBytes = parseByteSize(flags.retentionSize);
  if (maxBytes === undefined || maxBytes < 1024 * 1024)
    throw new InputError(`--retention-size: "${flags.retentionSize}" is not a size of at least 1MiB; write e.g. 256MiB`);
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  if (shard && 'error' in shard) throw new InputError(shard.error);
  const timeoutMs = flags.timeout !== undefined ? durationFlag('--timeout', flags.timeout) : undefined;
  const listen = parseListen(flags.listen);
  if (flags.publicUrl !== undefined && !URL.canParse(flags.publicUrl))
    throw new InputError(`--public-url: "${flags.publicUrl}" is not a URL; write e.g. https://probes.example.com/`);

  const { env, secret, redactor } = await readRunSources(flags.envFile, flags.secretsFile);

  const token = env(flags.tokenEnv) || undefined;
  if (token !== undefined && !redactor.add(token, flags.tokenEnv))
    throw new InputError(`${flags.tokenEnv}: the API token is too short; use at least 16 random characters`);
  if (token !== undefined && token.length < 16) log(`warning: ${flags.tokenEnv} is shorter than 16 characters; use a long random token`);
  if (token === undefined && !isLoopbackHostname(listen.host)) {
    log(`note: no ${flags.tokenEnv} is set, so POST /api/v1/run is refused on ${listen.host}; the read-only endpoints stay open`);
  }

  // Validate the selection once now; the same rules apply on every reload.
  const selectionProblem = selectJourneys([], flags.tag, flags.grep);
  if (typeof selectionProblem === 'string') throw new InputError(selectionProblem);
  const select = (journeys: Journey[]): Journey[] => {
    const chosen = selectJourneys(journeys, flags.tag, flags.grep) as Journey[];
    return shard && !('error' in shard) ? chosen.filter((journey) => inShard(journey.name, shard)) : chosen;
  };

  const browserPath = flags.browserPath ?? (process.env.CEILING_BROWSER_PATH || undefined);
  const tracer = await tracerFromFlags(flags.otlpEndpoint, redactor, log);
  return {
    paths,
    load: { extraVars: Object.keys(vars.vars) },
    select,
    listen,
    defaultSchedule: { kind: 'every', everyMs, jitterMs: 0 },
    concurrency: flags.concurrency,
    history: {
      file: flags.db,
      maxAgeMs: durationFlag('--retention', flags.retention),
      maxRunsPerJourney: flags.retentionRuns,
      maxBytes,
    },
    location: flags.location,
    target: flags.target,
    alertPolicy: { failAfter: flags.alertAfter },
    webhooks: webhookTargets(flags, redactor),
    ...(token !== undefined ? { token } : {}),
    ...(flags.publicUrl !== undefined ? { publicUrl: flags.publicUrl } : {}),
    graceMs: durationFlag('--grace', flags.grace),
    reloadIntervalMs: durationFlag('--reload-interval', flags.reloadInterval, true),
    run: {
      vars: vars.vars,
      env,
      secret,
      outDir: flags.out,
      trace: flags.trace,
      ...(tracer ? { tracing: { tracer, location: flags.location, target: flags.target } } : {}),
      ...(browserPath ? { browserPath } : {}),
      ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    },
    redactor,
    version: VERSION,
    log,
  };
}

/** Says where serve looked and what it filtered by, so the operator can see which of them left nothing. */
function nothingToServe(paths: string[], flags: ServeFlags, loaded: number): string {
  const filters = [
    ...flags.tag.map((tag) => `--tag ${tag}`),
    ...(flags.grep !== undefined ? [`--grep ${flags.grep}`] : []),
    ...(flags.shard !== undefined ? [`--shard ${flags.shard}`] : []),
  ];
  const where = paths.join(', ');
  const why = loaded === 0 ? `no journey in ${where}` : `none of the ${loaded} journeys in ${where} is selected by ${filters.join(' ')}`;
  return `ceiling serve did not start: ${why}; a daemon with nothing to probe would look healthy while checking nothing. Add journey files, or widen the selection`;
}

/** Resolves with the signal that asked the daemon to stop; SIGHUP reloads instead. */
function waitForStop(daemon: ProbeDaemon): { stopped: Promise<NodeJS.Signals>; dispose: () => void } {
  let onStop: (signal: NodeJS.Signals) => void = () => undefined;
  let received = 0;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onStop = (signal) => {
      received++;
      // A second signal means the operator will not wait for the grace period.
      if (received > 1) process.exit(EXIT.interrupted);
      resolve(signal);
    };
  });
  const onHangup = () => void daemon.reload(true);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHangup);
  return {
    stopped,
    dispose: () => {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.off('SIGHUP', onHangup);
    },
  };
}

export async function serveCommand(paths: string[], flags: ServeFlags): Promise<number> {
  let redactor: Redactor | undefined;
  // Log lines carry target text (failure messages, journey names): one line each, never raw control bytes.
  const log = (line: string) => process.stderr.write(`ceiling serve: ${logSafe(redactor ? redactor.redact(line) : line)}\n`);
  let daemon: ProbeDaemon;
  let options: DaemonOptions | undefined;
  try {
    options = await buildOptions(paths, flags, log);
    redactor = options.redactor;
    daemon = await ProbeDaemon.start(options);
  } catch (error) {
    await options?.run.tracing?.tracer.shutdown(TRACING_SHUTDOWN_LIMIT_MS);
    if (error instanceof InputError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.invalid;
    }
    if (error instanceof DaemonConfigError) {
      for (const diagnostic of error.diagnostics)
        process.stderr.write(`${logSafe(redactor?.redact(formatDiagnostic(diagnostic)) ?? formatDiagnostic(diagnostic))}\n`);
      process.stderr.write('\nceiling serve did not start: fix the errors above (ceiling validate shows them too)\n');
      return EXIT.invalid;
    }
    if (error instanceof NothingToServeError) {
      process.stderr.write(`${nothingToServe(paths, flags, error.loadedJourneys)}\n`);
      return EXIT.nothingTested;
    }
    if (error instanceof HistoryError) {
      process.stderr.write(`--db: ${error.message}\n`);
      return EXIT.invalid;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      process.stderr.write(
        `--listen ${flags.listen}: ${code === 'EADDRINUSE' ? 'the address is in use; pick another port or stop the other process' : (error as Error).message}\n`,
      );
      return EXIT.invalid;
    }
    throw error;
  }
  process.stdout.write(`ceiling serve: listening on ${daemon.url} (${daemon.journeyCount} journeys, location ${flags.location})\n`);
  const signals = waitForStop(daemon);
  const signal = await signals.stopped;
  log(`${signal} received`);
  try {
    await daemon.stop();
  } finally {
    signals.dispose();
    await options.run.tracing?.tracer.shutdown(TRACING_SHUTDOWN_LIMIT_MS);
  }
  return EXIT.passed;
}
