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
import { webhookAuthOf } from './webhook-auth-flags.js';
import { VERSION } from '../version.js';
import { durationFlag, InputError } from './flag-values.js';
import { readRunSources, selectJourneys } from './journey-inputs.js';
import type { ServeFlags } from './serve-flags.js';
import { parseVarFlags } from './var-flags.js';
import { hasErrors } from '../journey/diagnostics.js';
import { loadProjectConfig, type ProjectConfig } from '../gate/config.js';
import { pickTargets } from './project-config.js';
import { TRACING_SHUTDOWN_LIMIT_MS, tracerFromFlags } from './tracing-setup.js';

/** host:port, with [::1]:port for IPv6; port 0 picks a free one. */
function parseListen(text: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) throw new InputError(`--listen: "${text}" is not host:port; write e.g. 127.0.0.1:9464 or 0.0.0.0:9464`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** PagerDuty's routing key from the variable --pagerduty-routing-key-env names; unset is bad input, named but never shown. */
function pagerdutyTarget(flags: ServeFlags, env: (name: string) => string | undefined): WebhookTarget[] {
  if (flags.pagerdutyRoutingKeyEnv === undefined) return [];
  const routingKey = env(flags.pagerdutyRoutingKeyEnv);
  if (routingKey === undefined || routingKey.trim() === '')
    throw new InputError(`--pagerduty-routing-key-env: ${flags.pagerdutyRoutingKeyEnv} is not set; export the integration's routing key in it`);
  return [{ url: flags.pagerdutyUrl, format: 'pagerduty', routingKey: routingKey.trim() }];
}

function webhookTargets(flags: ServeFlags, env: (name: string) => string | undefined, redactor: Redactor, config: ProjectConfig | undefined): WebhookTarget[] {
  // ceiling.yaml's Alertmanagers first, then the flag's; a URL given both ways is posted to once.
  const alertmanagers = [...new Set([...(config?.notify.alertmanager ?? []), ...flags.alertmanager])];
  const targets: WebhookTarget[] = [
    ...flags.webhook.map((url) => ({ url, format: 'json' as const })),
    ...flags.slackWebhook.map((url) => ({ url, format: 'slack' as const })),
    ...alertmanagers.map((url) => ({ url, format: 'alertmanager' as const })),
    ...pagerdutyTarget(flags, env),
  ];
  const flagOf = { json: 'webhook', slack: 'slack-webhook', alertmanager: 'alertmanager', pagerduty: 'pagerduty-url' } as const;
  for (const target of targets) {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      const example = target.format === 'alertmanager' ? 'http://alertmanager:9093' : 'https://hooks.example.com/ceiling';
      throw new InputError(`--${flagOf[target.format]}: "${target.url}" is not a URL; write e.g. ${example}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`webhook ${url.protocol} URLs are not supported; use http or https`);
    // Registered here, before anything runs, as well as by the dispatcher: a webhook URL is a credential everywhere.
    registerWebhookUrlSecrets(redactor, url);
    if (target.format === 'pagerduty') redactor.add(target.routingKey, 'pagerduty-routing-key');
  }
  return targets;
}

/** The config's targets serve probes: every one, or those --target names; discovered groups become fleets to watch. */
async function projectTargets(flags: ServeFlags): Promise<{ config: ProjectConfig; targets: NonNullable<DaemonOptions['targets']> }> {
  const loaded = await loadProjectConfig(flags.config!);
  if (!loaded.config || hasErrors(loaded.diagnostics)) throw new DaemonConfigError(`${flags.config} has errors`, loaded.diagnostics);
  const config = loaded.config;
  const chosen = flags.target.length > 0 ? pickTargets(flags.target, config) : config.targets;
  return {
    config,
    targets: {
      statics: chosen.filter((target) => target.discover === undefined).map((target) => ({ name: target.name, group: target.name, vars: target.vars })),
      discovered: chosen.flatMap((target) =>
        target.discover !== undefined
          ? [{ name: target.name, spec: target.discover, vars: target.vars, ...(target.expect !== undefined ? { expect: target.expect } : {}) }]
          : [],
      ),
    },
  };
}

async function buildOptions(givenPaths: string[], flags: ServeFlags, log: (line: string) => void): Promise<DaemonOptions> {
  if (flags.config === undefined && flags.target.length > 1)
    throw new InputError(
      `--target given ${flags.target.length} times: without --config it is the one label of the target the journeys check; pass --config ceiling.yaml to probe several targets`,
    );
  const project = flags.config !== undefined ? await projectTargets(flags) : undefined;
  const paths = givenPaths.length > 0 ? givenPaths : (project?.config.journeys ?? ['journeys']);
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
    // Journeys may use any var a target sets, as in gate.
    load: {
      extraVars: [
        ...Object.keys(vars.vars),
        ...(project ? [...project.targets.statics, ...project.targets.discovered].flatMap((target) => Object.keys(target.vars)) : []),
      ],
    },
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
    target: project ? 'all' : (flags.target[0] ?? 'default'),
    ...(project ? { targets: project.targets } : {}),
    alertPolicy: { failAfter: flags.alertAfter },
    webhooks: webhookTargets(flags, env, redactor, project?.config),
    webhookAuth: webhookAuthOf(flags, { env, secret }, redactor),
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
      // The daemon sets each run's own target (with --config, the instance it probes).
      ...(tracer ? { tracing: { tracer, location: flags.location, target: flags.target[0] ?? 'default' } } : {}),
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

export async function serveCommand(givenPaths: string[], flags: ServeFlags): Promise<number> {
  const paths = givenPaths.length > 0 ? givenPaths : ['journeys'];
  let redactor: Redactor | undefined;
  // Log lines carry target text (failure messages, journey names): one line each, never raw control bytes.
  const log = (line: string) => process.stderr.write(`ceiling serve: ${logSafe(redactor ? redactor.redact(line) : line)}\n`);
  let daemon: ProbeDaemon;
  let options: DaemonOptions | undefined;
  try {
    options = await buildOptions(givenPaths, flags, log);
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
      process.stderr.write(
        `\nceiling serve did not start: fix the errors above (${error.diagnostics.some((d) => d.file === flags.config) ? 'they say where' : 'ceiling validate shows them too'})\n`,
      );
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
