import path from 'node:path';
import { EXIT } from '../core/exit-codes.js';
import { baselineFromHistory, baselineFromResults, baselineSamples, BaselineError, readBaseline, sampleCount, writeBaseline } from '../gate/baseline.js';
import { minEffect, minEffectFraction, PROMETHEUS_LABEL_NAME } from '../gate/config-schema.js';
import { runGate, type GateBaseline } from '../gate/gate.js';
import type { GatePolicy, GateResult, RollbackOutcome } from '../gate/model.js';
import {
  consoleOutput,
  githubOutput,
  junitOutput,
  notificationsOutput,
  pushgatewayOutput,
  verdictFileOutput,
  writeGateOutputs,
  type GateOutput,
} from '../gate/outputs.js';
import { registerWebhookUrlSecrets } from '../webhook/url.js';
import type { WebhookAuth } from '../webhook/auth.js';
import { webhookAuthOf } from './webhook-auth-flags.js';
import { runRollback } from '../gate/rollback.js';
import type { Redactor } from '../secrets/redactor.js';
import type { JourneyTracer } from '../engine/tracing/journey-tracer.js';
import { TRACING_SHUTDOWN_LIMIT_MS, tracerFromFlags } from './tracing-setup.js';
import { terminalSafe } from '../report/terminal-text.js';
import { VERSION } from '../version.js';
import { splitCommand } from './command-line.js';
import { wantsColor } from './terminal.js';
import { durationFlag, InputError } from './flag-values.js';
import { abortOnSignals, loadFleet, type FleetFlags, type FleetInputs } from './gate-inputs.js';

export interface GateFlags extends FleetFlags {
  otlpEndpoint?: string;
  expectVersion?: string;
  bake?: string;
  every?: string;
  cleanRounds?: number;
  confidence?: string;
  minEffect?: string;
  failOnFlaky?: boolean;
  baseline?: string;
  baselineDb?: string;
  baselineWindow: string;
  baselineOut?: string;
  onFail: string[];
  rollbackTimeout: string;
  recoverWithin?: string;
  verdictOut: string;
  junit?: string;
  pushgateway?: string;
  pushgatewayJob?: string;
  pushgatewayLabel: string[];
  webhook: string[];
  slackWebhook: string[];
  webhookHeader: string[];
  webhookSecretEnv?: string;
  notify: boolean;
}

/** A baseline run keeps baking for this many rounds (or until --bake ends), so the next gate has samples to compare with. */
const BASELINE_ROUNDS = 10;

function parseFraction(flag: string, text: string, range: { min: number; max: number }): number {
  const trimmed = text.trim();
  const value = trimmed.endsWith('%') ? Number(trimmed.slice(0, -1)) / 100 : Number(trimmed);
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new InputError(`${flag}: "${text}" must be a number between ${range.min} and ${range.max} (or a percentage such as 20%)`);
  }
  return value;
}

/** --min-effect reads as minEffect does in ceiling.yaml: "20%" or a fraction such as 0.2. */
function minEffectFlag(text: string): number {
  const value = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text.trim();
  const parsed = minEffect.safeParse(value);
  if (!parsed.success)
    throw new InputError(`--min-effect: "${text}": ${parsed.error.issues[0]?.message ?? 'expected a percentage such as "20%" or a fraction such as 0.2'}`);
  return minEffectFraction(parsed.data);
}

function policyOf(flags: GateFlags, fleet: FleetInputs): GatePolicy {
  const gate = fleet.config.gate;
  const bakeMs = flags.bake !== undefined ? durationFlag('--bake', flags.bake, true) : (gate.bakeMs ?? 0);
  const everyMs = flags.every !== undefined ? durationFlag('--every', flags.every) : (gate.everyMs ?? 30_000);
  const cleanRounds = flags.cleanRounds ?? gate.cleanRounds ?? 3;
  if (cleanRounds < 1) throw new InputError('--clean-rounds must be at least 1');
  const confidence = flags.confidence !== undefined ? parseFraction('--confidence', flags.confidence, { min: 0.5, max: 0.9999 }) : (gate.confidence ?? 0.95);
  const minEffect = flags.minEffect !== undefined ? minEffectFlag(flags.minEffect) : (gate.minEffect ?? 0.2);
  if (bakeMs > 0 && everyMs > bakeMs)
    throw new InputError(`--every (${flags.every ?? `${everyMs} ms`}) is longer than --bake; the bake would hold a single round`);
  return { bakeMs, everyMs, cleanRounds, confidence, minEffect, failOnFlaky: flags.failOnFlaky ?? gate.failOnFlaky ?? false };
}

async function loadBaseline(flags: GateFlags, fleet: FleetInputs): Promise<GateBaseline> {
  if (flags.baseline !== undefined && flags.baselineDb !== undefined) throw new InputError('pass either --baseline FILE or --baseline-db FILE, not both');
  try {
    if (flags.baseline !== undefined) {
      const file = await readBaseline(flags.baseline);
      return { source: 'file', path: flags.baseline, samples: baselineSamples(file), count: sampleCount(file) };
    }
    if (flags.baselineDb !== undefined) {
      const sinceMs = durationFlag('--baseline-window', flags.baselineWindow);
      const file = baselineFromHistory(
        flags.baselineDb,
        fleet.journeys.map((journey) => journey.name),
        { sinceMs },
      );
      return { source: 'history', path: flags.baselineDb, samples: baselineSamples(file), count: sampleCount(file) };
    }
  } catch (error) {
    if (error instanceof BaselineError) throw new InputError(error.message);
    throw new InputError(`baseline: ${(error as Error).message}`);
  }
  return { source: 'none', samples: new Map(), count: 0 };
}

function rollbackCommand(flags: GateFlags, fleet: FleetInputs): string[] | undefined {
  if (flags.onFail.length === 1) {
    const split = splitCommand('--on-fail', flags.onFail[0]!);
    if (!Array.isArray(split)) throw new InputError(split.error);
    return split;
  }
  if (flags.onFail.length > 1) throw new InputError('--on-fail takes one command string, e.g. --on-fail "./rollback.sh --to previous"');
  return fleet.config.gate.onFail;
}

/** The config's reporters, as the gate reads them: json=PATH gets the verdict, junit=PATH a suite per target. */
function configuredOutputs(reporters: readonly string[]): { json: string[]; junit: string[] } {
  const pick = (kind: string) => reporters.filter((spec) => spec.startsWith(`${kind}=`) && spec !== `${kind}=-`).map((spec) => spec.slice(kind.length + 1));
  return { json: pick('json'), junit: pick('junit') };
}

interface PushTarget {
  url: string;
  job?: string;
  grouping: Record<string, string>;
}

/** Flags win over ceiling.yaml's pushgateway section; labels from both are merged, a flag's value winning. */
function pushTargetOf(flags: GateFlags, fleet: FleetInputs): PushTarget | undefined {
  const configured = fleet.config.pushgateway;
  const url = flags.pushgateway ?? configured.url;
  const grouping: Record<string, string> = { ...configured.labels };
  for (const pair of flags.pushgatewayLabel) {
    const separator = pair.indexOf('=');
    const name = separator === -1 ? '' : pair.slice(0, separator).trim();
    const value = separator === -1 ? '' : pair.slice(separator + 1).trim();
    if (!PROMETHEUS_LABEL_NAME.test(name) || value === '' || value.includes('/')) {
      throw new InputError(
        `--pushgateway-label: "${pair}" must be name=value, a Prometheus label name (letters, digits, _) and a non-empty value without "/", e.g. environment=production`,
      );
    }
    grouping[name] = value;
  }
  const job = flags.pushgatewayJob ?? configured.job;
  if (job !== undefined && (job === '' || job.includes('/'))) throw new InputError(`--pushgateway-job: "${job}" must be non-empty and hold no "/"`);
  if (url === undefined) {
    if (flags.pushgatewayJob !== undefined || flags.pushgatewayLabel.length > 0)
      throw new InputError('--pushgateway-job and --pushgateway-label need a Pushgateway: pass --pushgateway URL or set pushgateway.url in the config');
    return undefined;
  }
  if (!URL.canParse(url)) throw new InputError(`--pushgateway: "${url}" is not a URL`);
  return { url, ...(job !== undefined ? { job } : {}), grouping };
}

/** The environment of the rollback command: values from the config and ceiling only, never response text. */
function rollbackEnv(result: GateResult, verdictFile: string): Record<string, string> {
  return {
    CEILING_VERDICT: result.verdict,
    CEILING_VERDICT_FILE: path.resolve(verdictFile),
    // A fleet of the wrong size fails as a group: the rollback is told the group's name.
    CEILING_FAILING_TARGETS: [
      ...result.findings.filter((finding) => finding.kind === 'fleet').map((finding) => finding.target),
      ...result.targets.filter((target) => target.status === 'failed').map((target) => target.name),
    ].join(','),
    CEILING_EXPECTED_VERSION: result.expectedVersion ?? '',
    CEILING_TIME_TO_DETECT_MS: String(result.timeToDetectMs ?? ''),
  };
}

/** Every output the flags and config ask for, in the order they run; the verdict file comes first, since tools poll for it. */
function gateOutputs(
  flags: GateFlags,
  fleet: FleetInputs,
  context: {
    verdictFile: GateOutput;
    push?: PushTarget;
    webhooks: string[];
    slack: string[];
    webhookAuth: WebhookAuth;
    redactor: Redactor;
    signal: AbortSignal;
    log: (line: string) => void;
  },
): GateOutput[] {
  const { redactor, log } = context;
  const configured = configuredOutputs(fleet.config.reporters);
  const outputs: GateOutput[] = [context.verdictFile];
  for (const file of configured.json) if (file !== flags.verdictOut) outputs.push(verdictFileOutput(file));
  for (const file of flags.junit !== undefined ? [flags.junit] : configured.junit) outputs.push(junitOutput(file));
  outputs.push(consoleOutput({ stream: process.stdout, color: wantsColor(process.stdout), redactor }));
  if (process.env.GITHUB_STEP_SUMMARY) {
    outputs.push(
      githubOutput({
        summaryFile: process.env.GITHUB_STEP_SUMMARY,
        workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
        stream: process.stdout,
        redactor,
      }),
    );
  }
  if (context.push !== undefined) outputs.push(pushgatewayOutput({ ...context.push, redactor, log }));
  if (flags.notify && context.webhooks.length + context.slack.length > 0) {
    outputs.push(notificationsOutput({ webhooks: context.webhooks, slack: context.slack, auth: context.webhookAuth, redactor, signal: context.signal, log }));
  }
  return outputs;
}

/** "2 target(s)", or "1 target(s) and 1 discovered group(s)" when some are found at run time. */
function describeTargetCount(targets: FleetInputs['targets']): string {
  const groups = targets.filter((target) => target.discover !== undefined).length;
  const fixed = targets.length - groups;
  if (groups === 0) return `${fixed} target(s)`;
  return fixed === 0 ? `${groups} discovered group(s)` : `${fixed} target(s) and ${groups} discovered group(s)`;
}

export async function gateCommand(paths: string[], flags: GateFlags): Promise<number> {
  const write = (line: string) => process.stderr.write(`${terminalSafe(line)}\n`);
  let fleet: FleetInputs;
  let policy: GatePolicy;
  let baseline: GateBaseline;
  let onFail: string[] | undefined;
  let recoverWithinMs: number;
  let rollbackTimeoutMs: number;
  let push: PushTarget | undefined;
  let webhookAuth: WebhookAuth;
  let tracer: JourneyTracer | undefined;
  try {
    fleet = await loadFleet(paths, flags, write);
    policy = policyOf(flags, fleet);
    baseline = await loadBaseline(flags, fleet);
    onFail = rollbackCommand(flags, fleet);
    push = pushTargetOf(flags, fleet);
    for (const url of [...flags.webhook, ...flags.slackWebhook]) if (!URL.canParse(url)) throw new InputError(`--webhook: "${url}" is not a URL`);
    webhookAuth = webhookAuthOf(flags, fleet.run, fleet.redactor);
    recoverWithinMs =
      flags.recoverWithin !== undefined ? durationFlag('--recover-within', flags.recoverWithin) : (fleet.config.gate.recoverWithinMs ?? 120_000);
    rollbackTimeoutMs = durationFlag('--rollback-timeout', flags.rollbackTimeout);
    tracer = await tracerFromFlags(flags.otlpEndpoint, fleet.redactor, write);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    write(error.message);
    return error.exitCode;
  }
  const { redactor } = fleet;
  const webhooks = [...fleet.config.notify.webhooks, ...flags.webhook];
  const slack = [...fleet.config.notify.slack, ...flags.slackWebhook];
  for (const url of [...webhooks, ...slack]) registerWebhookUrlSecrets(redactor, new URL(url));
  if (push) {
    const parsed = new URL(push.url);
    if (parsed.pathname.length > 16) redactor.add(parsed.pathname + parsed.search, 'webhook');
    if (parsed.password) redactor.add(parsed.password, 'password');
  }

  write(
    `ceiling gate: ${fleet.journeys.length} journey(s) × ${describeTargetCount(fleet.targets)}` +
      (policy.bakeMs > 0
        ? `, bake ${flags.bake ?? `${policy.bakeMs / 1000}s`} every ${flags.every ?? `${policy.everyMs / 1000}s`}, ${policy.cleanRounds} clean rounds to pass`
        : ', one round') +
      (flags.expectVersion ? `, expecting version ${flags.expectVersion}` : '') +
      (baseline.source !== 'none' ? `, baseline from ${baseline.source} (${baseline.count} samples)` : ''),
  );
  const { signal, dispose } = abortOnSignals(write);
  const log = (line: string) => write(redactor.redact(line));
  const writeOutputs = (result: GateResult, outputs: readonly GateOutput[]) => writeGateOutputs(outputs, result, { redactor, warn: write });
  try {
    const verdictFile = verdictFileOutput(flags.verdictOut);
    const outputs = gateOutputs(flags, fleet, { verdictFile, ...(push ? { push } : {}), webhooks, slack, webhookAuth, redactor, signal, log });
    const { result, results } = await runGate({
      command: 'gate',
      journeys: fleet.journeys,
      targets: fleet.targets,
      policy,
      ...(flags.expectVersion !== undefined ? { expectVersion: flags.expectVersion } : {}),
      baseline,
      run: tracer ? { ...fleet.run, tracing: { tracer } } : fleet.run,
      redactor,
      signal,
      version: VERSION,
      log,
      recoverWithinMs,
      ...(flags.baselineOut !== undefined ? { minRounds: BASELINE_ROUNDS } : {}),
      ...(onFail
        ? {
            onVerdict: async (verdict: GateResult): Promise<RollbackOutcome> => {
              // The rollback reads CEILING_VERDICT_FILE; the final write after it adds the rollback and the recovery.
              await writeOutputs(verdict, [verdictFile]);
              write(`ceiling gate: FAIL, rolling back: ${onFail!.join(' ')}`);
              return runRollback({ command: onFail!, env: rollbackEnv(verdict, flags.verdictOut), timeoutMs: rollbackTimeoutMs, redactor, signal });
            },
          }
        : {}),
    });
    await writeOutputs(result, outputs);
    if (flags.baselineOut !== undefined) {
      await writeBaseline(flags.baselineOut, baselineFromResults(results, new Date(), { redact: (text) => redactor.redact(text) }));
      write(`ceiling gate: baseline written to ${flags.baselineOut}`);
    }
    if (result.rollback && !result.rollback.ok) return EXIT.failed;
    return result.exitCode;
  } finally {
    dispose();
    await tracer?.shutdown(TRACING_SHUTDOWN_LIMIT_MS);
  }
}
