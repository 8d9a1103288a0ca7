import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../version.js';
import { EXIT } from '../core/exit-codes.js';
import type { DrillFlags } from './drill-command.js';
import type { GateFlags } from './gate-command.js';
import type { RunFlags } from './run-flags.js';
import type { ServeFlags } from './serve-flags.js';
import type { ShowReportFlags } from './show-report-command.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function positiveInt(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    return parsed;
  };
}

function port(value: string): number {
  const parsed = positiveInt('--port')(value);
  if (parsed > 65_535) throw new InvalidArgumentError(`--port must be at most 65535, got "${value}"`);
  return parsed;
}

/** The options gate and drill share: the project config, its targets, and how journeys run against them. */
function withFleetOptions(command: Command): Command {
  return command
    .option('--config <file>', 'the project config with targets, notifications and gate policy', 'ceiling.yaml')
    .option('--target <name>', 'only this target (repeatable); default: every target in the config', collect, [])
    .option('--tag <tag>', 'only journeys with this tag (repeatable, any matches)', collect, [])
    .option('--grep <pattern>', 'only journeys whose name matches this regular expression')
    .option('--concurrency <n>', 'journeys in flight at once, across targets', positiveInt('--concurrency'))
    .option('--retries <n>', 'retries per journey, overriding the files', positiveInt('--retries'))
    .option('--timeout <duration>', "each journey attempt's deadline (a retry gets its own), overriding the files (e.g. 30s)")
    .option('--var <name=value>', "set a variable (repeatable); a target's vars win over it", collect, [])
    .option('--env-file <file>', 'read environment variables from a KEY=value file')
    .option('--secrets-file <file>', 'read secrets from a KEY=value file; their values never appear in output')
    .option('--out <dir>', 'folder for failure evidence, per target', 'ceiling-out')
    .option('--browser-path <file>', 'the Chromium or Chrome to use for browser steps (or set CEILING_BROWSER_PATH)')
    .addOption(new Option('--trace <mode>', 'browser traces of failed journeys').choices(['retain-on-failure', 'off']).default('retain-on-failure'));
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('ceiling')
    .description('Synthetic user journeys: check that the feature works, not just that the service answers.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run ceiling --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('run')
    .description('run journeys and report a verdict (exit 0 pass, 1 fail, 2 invalid input, 3 nothing tested)')
    .argument('[paths...]', "journey files or folders (default: ceiling.yaml's journeys, else ./journeys)", [])
    .option('--config <file>', 'the project config to read journeys, defaults, reporters and targets from (default: ./ceiling.yaml when present)')
    .option('--target <name>', "run the journeys with this target's vars from the config")
    .option('--tag <tag>', 'only journeys with this tag (repeatable, any matches)', collect, [])
    .option('--grep <pattern>', 'only journeys whose name matches this regular expression')
    .option('--shard <k/n>', 'run only shard k of n (the same split as serve --shard)')
    .option('--list', 'print the selected journeys and run nothing', false)
    .option('--watch', 'after the run, run again the journeys whose files change, and all on Enter; Ctrl-C ends (exit 130)', false)
    .option('--quiet', 'print only journeys that did not pass, and the summary', false)
    .option('--concurrency <n>', 'journeys in flight at once (default 4)', positiveInt('--concurrency'))
    .option('--retries <n>', 'retries per journey, overriding the files', positiveInt('--retries'))
    .option('--timeout <duration>', "each journey attempt's deadline (a retry gets its own), overriding the files (e.g. 30s)")
    .option('--var <name=value>', 'set a variable (repeatable); wins over the file', collect, [])
    .option('--env-file <file>', 'read environment variables from a KEY=value file')
    .option('--secrets-file <file>', 'read secrets from a KEY=value file; their values never appear in output')
    .option('--reporter <spec>', 'console, json[=path], junit[=path], github or html[=path] (repeatable)', collect, [])
    .option('--out <dir>', 'folder for report files and artifacts', 'ceiling-out')
    .option('--fail-on-flaky', 'treat a pass after a retry as a failure', false)
    .option('--browser-path <file>', 'the Chromium or Chrome to use for browser steps (or set CEILING_BROWSER_PATH)')
    .addOption(
      new Option('--trace <mode>', 'browser traces: recorded and kept for failed journeys, or off to save time')
        .choices(['retain-on-failure', 'off'])
        .default('retain-on-failure'),
    )
    .option('--otlp-endpoint <url>', 'export a trace per journey attempt to this OpenTelemetry collector (OTLP/HTTP; or OTEL_EXPORTER_OTLP_ENDPOINT)')
    .action(async (paths: string[], flags: RunFlags) => {
      if (flags.watch) {
        const { watchCommand } = await import('./watch-command.js');
        setCode(await watchCommand(paths, flags));
        return;
      }
      const { runCommand } = await import('./run-command.js');
      setCode(await runCommand(paths, flags));
    });

  program
    .command('serve')
    .description('run journeys as probes on their schedules, with /metrics, an API, a status page, history and alerts (SIGTERM stops it cleanly)')
    .argument('[paths...]', "journey files or folders (re-read when they change); default: the --config file's journeys, else ./journeys", [])
    .option('--listen <host:port>', 'address for /metrics, /api/v1 and the status page (port 0 picks one)', '127.0.0.1:9464')
    .option('--every <duration>', 'schedule for journeys that set none', '1m')
    .option('--concurrency <n>', 'journeys in flight at once, across all schedules', positiveInt('--concurrency'), 8)
    .option('--db <file>', 'the history database (SQLite)', '.ceiling/history.db')
    .option('--retention <duration>', 'keep runs for this long', '168h')
    .option('--retention-runs <n>', 'keep at most this many runs per journey', positiveInt('--retention-runs'), 10_000)
    .option('--retention-size <size>', 'keep the history database under this size, e.g. 256MiB', '256MiB')
    .option('--location <name>', 'where this probe runs; a label on every metric, run and alert', 'local')
    .option('--config <file>', 'probe each journey against every target of this project config, discovered fleets included')
    .option(
      '--target <name>',
      'without --config: the deployment the journeys check (e.g. prod-eu), a label on every metric (default "default"); with --config: only this target (repeatable)',
      collect,
      [],
    )
    .option('--shard <k/n>', 'run only shard k of n (replicas with the same journeys split them with no gaps or overlap)')
    .option('--alert-after <n>', 'failed runs in a row before a failing alert', positiveInt('--alert-after'), 2)
    .option('--webhook <url>', 'send state-change alerts as JSON to this URL (repeatable)', collect, [])
    .option('--slack-webhook <url>', 'send state-change alerts to this Slack incoming webhook (repeatable)', collect, [])
    .option('--alertmanager <url>', "send alerts to this Alertmanager's /api/v2/alerts, re-posted while failing (repeatable)", collect, [])
    .option('--pagerduty-routing-key-env <name>', 'trigger and resolve PagerDuty incidents (Events API v2) with the routing key in this environment variable')
    .option('--pagerduty-url <url>', 'the PagerDuty Events API v2 endpoint', 'https://events.pagerduty.com/v2/enqueue')
    .option(
      '--webhook-header <header>',
      "send this header with every alert, 'Name: value'; the value may use {{ env.X }} and {{ secrets.X }} (repeatable)",
      collect,
      [],
    )
    .option('--webhook-secret-env <name>', 'sign every alert with HMAC-SHA256 under the key in this environment variable (X-Ceiling-Signature)')
    .option('--token-env <name>', 'environment variable holding the bearer token for POST /api/v1/run', 'CEILING_API_TOKEN')
    .option('--public-url <url>', 'the status page as people reach it (behind a proxy or ingress); alerts link to it')
    .option('--grace <duration>', 'on SIGTERM, how long runs in flight may finish before they are aborted', '10s')
    .option('--reload-interval <duration>', 'how often to look for edited journey files (0s to turn off; SIGHUP reloads at once)', '2s')
    .option('--tag <tag>', 'only journeys with this tag (repeatable, any matches)', collect, [])
    .option('--grep <pattern>', 'only journeys whose name matches this regular expression')
    .option('--retries <n>', 'retries per journey, overriding the files', positiveInt('--retries'))
    .option('--timeout <duration>', "each journey attempt's deadline (a retry gets its own), overriding the files (e.g. 30s)")
    .option('--var <name=value>', 'set a variable (repeatable); wins over the file', collect, [])
    .option('--env-file <file>', 'read environment variables from a KEY=value file')
    .option('--secrets-file <file>', 'read secrets from a KEY=value file; their values never appear in output')
    .option('--out <dir>', 'folder for failure evidence (screenshots, traces), overwritten by each run', '.ceiling')
    .option('--browser-path <file>', 'the Chromium or Chrome to use for browser steps (or set CEILING_BROWSER_PATH)')
    .addOption(
      new Option('--trace <mode>', 'browser traces for failed runs; off by default, since probes run often')
        .choices(['retain-on-failure', 'off'])
        .default('off'),
    )
    .option('--otlp-endpoint <url>', 'export a trace per journey attempt to this OpenTelemetry collector (OTLP/HTTP; or OTEL_EXPORTER_OTLP_ENDPOINT)')
    .action(async (paths: string[], flags: ServeFlags) => {
      const { serveCommand } = await import('./serve-command.js');
      setCode(await serveCommand(paths, flags));
    });

  withFleetOptions(
    program
      .command('gate')
      .description(
        'after a deploy: run the journeys against every target until the verdict is certain; roll back on fail (exit 0 pass, 1 fail, 2 invalid input, 3 inconclusive or nothing tested)',
      )
      .argument('[paths...]', 'journey files or folders (default: journeys in the config)', []),
  )
    .option('--expect-version <version>', "fail a target that reports another version (read with the config's version probe)")
    .option('--bake <duration>', 'keep running rounds for this long after the deploy (0s: one round)')
    .option('--every <duration>', 'time between bake rounds')
    .option('--clean-rounds <n>', 'clean rounds in a row on every target needed to pass', positiveInt('--clean-rounds'))
    .option('--confidence <p>', 'confidence of the latency test, e.g. 0.95')
    .option('--min-effect <fraction>', 'smallest slowdown that counts as a regression, e.g. 20% or 0.2')
    .option('--fail-on-flaky', 'treat a pass after a retry as a failure')
    .option('--baseline <file>', 'step latencies to compare against (written by --baseline-out)')
    .option('--baseline-db <file>', 'take the baseline from a ceiling serve history database')
    .option('--baseline-window <duration>', 'how far back --baseline-db looks', '24h')
    .option('--baseline-out <file>', 'write the step latencies of this gate as a baseline for the next one')
    .option('--on-fail <command>', 'rollback command, run without a shell when the verdict is fail (overrides gate.onFail)', collect, [])
    .option('--rollback-timeout <duration>', 'kill the rollback command after this long', '5m')
    .option('--recover-within <duration>', 'after a rollback, how long to wait for green')
    .option('--verdict-out <file>', 'the JSON verdict file', 'ceiling-out/verdict.json')
    .option('--junit <file>', 'write the verdict as JUnit XML, a suite per target')
    .option('--pushgateway <url>', 'push the verdict to this Prometheus Pushgateway (or pushgateway.url in the config)')
    .option('--pushgateway-job <name>', 'the job the verdict is pushed under (default ceiling_gate, or pushgateway.job)')
    .option('--pushgateway-label <name=value>', 'a grouping label, e.g. environment=production (repeatable; adds to pushgateway.labels)', collect, [])
    .option('--webhook <url>', 'notify this URL with JSON when the gate does not pass (repeatable)', collect, [])
    .option('--slack-webhook <url>', 'notify this Slack incoming webhook when the gate does not pass (repeatable)', collect, [])
    .option(
      '--webhook-header <header>',
      "send this header with every notification, 'Name: value'; the value may use {{ env.X }} and {{ secrets.X }} (repeatable)",
      collect,
      [],
    )
    .option('--webhook-secret-env <name>', 'sign every notification with HMAC-SHA256 under the key in this environment variable (X-Ceiling-Signature)')
    .option('--no-notify', 'do not send notifications')
    .option('--otlp-endpoint <url>', 'export a trace per journey attempt to this OpenTelemetry collector (OTLP/HTTP; or OTEL_EXPORTER_OTLP_ENDPOINT)')
    .action(async (paths: string[], flags: GateFlags) => {
      const { gateCommand } = await import('./gate-command.js');
      setCode(await gateCommand(paths, flags));
    });

  withFleetOptions(
    program
      .command('drill')
      .description('rehearse a rollback: verify, deploy and verify, roll back and verify until green; fails if the rollback does not restore green')
      .argument('[paths...]', 'journey files or folders (default: journeys in the config)', []),
  )
    .requiredOption('--deploy <command>', 'the deploy command, run without a shell')
    .requiredOption('--rollback <command>', 'the rollback command, run without a shell')
    .option('--recover-within <duration>', 'how long the rollback may take to bring back green', '2m')
    .option('--every <duration>', 'time between checks while waiting for green', '2s')
    .option('--command-timeout <duration>', 'kill a deploy or rollback command after this long', '10m')
    .option('--fail-on-flaky', 'treat a pass after a retry as a failure', false)
    .option('--report-out <file>', 'write the drill report as JSON')
    .action(async (paths: string[], flags: DrillFlags) => {
      const { drillCommand } = await import('./drill-command.js');
      setCode(await drillCommand(paths, flags));
    });

  program
    .command('validate')
    .description('check journey files and print every problem as file:line:col › field: reason')
    .argument('[paths...]', 'journey files or folders', ['journeys'])
    .option('--var <name=value>', 'a variable that will be passed to run (repeatable)', collect, [])
    .action(async (paths: string[], flags: { var: string[] }) => {
      const { validateCommand } = await import('./validate-command.js');
      setCode(await validateCommand(paths, flags));
    });

  program
    .command('init')
    .description('start a project: ceiling.yaml, an example journey, the journey schema and a GitHub workflow (never overwrites; exit 2 if any exists)')
    .argument('[dir]', 'the folder to write into', '.')
    .option('--url <url>', "the service to check: fills the config's target; without it the journey reads BASE_URL")
    .action(async (dir: string, flags: { url?: string }) => {
      const { initCommand } = await import('./init-command.js');
      setCode(await initCommand(dir, flags));
    });

  program
    .command('schema')
    .description('print a JSON Schema for editor autocompletion: of journey files (default) or of ceiling.yaml (config)')
    .argument('[which]', 'journey or config', 'journey')
    .action(async (which: string) => {
      const { schemaCommand } = await import('./schema-command.js');
      setCode(await schemaCommand(which));
    });

  program
    .command('show-report')
    .description('print the path of the HTML report a run wrote (--reporter html), or serve it on 127.0.0.1 with --serve until Ctrl-C')
    .argument('[path]', 'the report, or the folder holding report.html (default: ceiling-out/report.html)')
    .option('--serve', 'serve the report and the files beside it on 127.0.0.1', false)
    .option('--port <n>', 'the port for --serve (0 picks a free one)', port, 0)
    .action(async (file: string | undefined, flags: ShowReportFlags) => {
      const { showReportCommand } = await import('./show-report-command.js');
      setCode(await showReportCommand(file, flags));
    });

  program.addOption(new Option('--no-color', 'disable colours').hideHelp());
  return program;
}

/** Every command's long flags, read from the parser itself, so docs tests check examples against what the CLI accepts. */
export function commandFlags(): Map<string, string[]> {
  const program = buildProgram(() => undefined);
  return new Map(
    program.commands.map((command) => [command.name(), command.options.map((option) => option.long).filter((flag): flag is string => flag !== undefined)]),
  );
}

/** Parses argv and runs one command; returns the exit code instead of exiting. */
export async function runCli(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((value) => {
    code = value;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return EXIT.invalid;
    }
    throw error;
  }
}
