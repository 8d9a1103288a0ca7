/**
 * Pushes the verdict to a Prometheus Pushgateway, so dashboards and alert
 * rules see deploy gates the same way they see `ceiling serve` probes. The
 * gate lives too briefly to be scraped; a PUT replaces the whole group, so
 * the series always describe the last gate run and nothing older.
 *
 * prom-client's Pushgateway does the HTTP (it takes credentials in the URL
 * as Basic auth). It is wrapped for three things it lacks: a bound on the
 * whole request, an error that names status and host but never the URL's
 * credentials, and redaction of the body on its way out.
 */
import { Gauge, Pushgateway, Registry } from 'prom-client';
import type { Redactor } from '../secrets/redactor.js';
import { VERSION } from '../version.js';
import type { GateResult, Verdict } from './model.js';

export interface PushVerdictOptions {
  /** The Pushgateway's base URL, e.g. http://pushgateway:9091; `/metrics/job/…` is appended. */
  url: string;
  result: GateResult;
  /** Defaults to `ceiling_gate`. */
  job?: string;
  /** Extra grouping labels, e.g. { environment: 'production' }: gates with different groupings do not overwrite each other. */
  grouping?: Record<string, string>;
  /** The whole push, connect to last byte. */
  timeoutMs?: number;
  redactor: Redactor;
}

export class PushgatewayError extends Error {
  readonly code = 'CEIL_GATE_PUSHGATEWAY';

  constructor(message: string) {
    super(message);
    this.name = 'PushgatewayError';
  }
}

export const DEFAULT_JOB = 'ceiling_gate';
const DEFAULT_TIMEOUT_MS = 10_000;
const verdicts: readonly Verdict[] = ['pass', 'fail', 'inconclusive'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Enough of the gateway's reply to say why it refused ("inconsistent with existing metrics…"), not a page of HTML. */
const REPLY_EXCERPT_LENGTH = 300;

/** The Pushgateway class asks the registry for the body, so this is where redaction gets the last word on it. */
class RedactingRegistry extends Registry {
  constructor(private readonly redactor: Redactor) {
    super();
  }

  override async metrics(): Promise<string> {
    return this.redactor.redact(await super.metrics());
  }
}

/** The verdict as metrics in a registry of their own; exported so the metric set can be tested without a network. */
export function verdictRegistry(result: GateResult, redactor: Redactor): Registry {
  // Label values come from config and services; the body is swept again after rendering, but a clean label keeps the text valid.
  const label = (value: string): string => redactor.redact(value);
  const registry = new RedactingRegistry(redactor);
  const gauge = (name: string, help: string, labelNames: string[] = []): Gauge => new Gauge({ name, help, labelNames, registers: [registry] });

  const verdict = gauge('ceiling_gate_verdict', 'The verdict of the last gate run: 1 for the verdict it reached, 0 for the others.', ['verdict']);
  for (const candidate of verdicts) verdict.set({ verdict: candidate }, candidate === result.verdict ? 1 : 0);
  gauge('ceiling_gate_exit_code', 'The exit code of the last gate run: 0 pass, 1 fail, 2 input error, 3 inconclusive.').set(result.exitCode);

  const up = gauge('ceiling_gate_target_up', 'Whether the target passed the last gate run (1) or failed or stayed inconclusive (0), by the version it ran.', [
    'target',
    'version',
  ]);
  // An empty label is how Prometheus spells "not known": no version probe was configured.
  for (const target of result.targets) up.set({ target: label(target.name), version: label(target.version ?? '') }, target.status === 'passed' ? 1 : 0);

  // A gauge that was never set would still be exposed as 0, which reads as "detected instantly": absent facts stay absent.
  if (result.timeToDetectMs !== undefined)
    gauge('ceiling_gate_time_to_detect_seconds', 'From the start of the gate to its verdict.').set(result.timeToDetectMs / 1000);
  if (result.recovery?.timeToRecoverMs !== undefined) {
    gauge('ceiling_gate_time_to_recover_seconds', 'From the verdict to the first round that was green on every target again.').set(
      result.recovery.timeToRecoverMs / 1000,
    );
  }
  if (result.rollback) gauge('ceiling_gate_rollback_ok', 'Whether the rollback command succeeded (1) or failed (0).').set(result.rollback.ok ? 1 : 0);
  const finished = Date.parse(result.finishedAt);
  gauge('ceiling_gate_last_run_timestamp_seconds', 'When the last gate run finished, in Unix seconds.').set(
    Number.isNaN(finished) ? Date.now() / 1000 : finished / 1000,
  );
  return registry;
}

/** Scheme and host: the only part of the URL that may be shown, since the rest can hold credentials. */
function displayName(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PushgatewayError('the Pushgateway URL is not an absolute URL; write it as http://host:9091');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new PushgatewayError(`the Pushgateway URL uses ${url.protocol}; only http:// and https:// are supported`);
  return url;
}

/**
 * The Pushgateway reads grouping values from the path: a `/` would split a
 * value and an empty one needs base64 spelling, so both are refused here
 * with a message rather than mangled on the wire.
 */
function checkGrouping(job: string, grouping: Record<string, string>): void {
  if (job === '' || job.includes('/')) throw new PushgatewayError(`the Pushgateway job name "${job}" must be non-empty and contain no "/"`);
  for (const [name, value] of Object.entries(grouping)) {
    if (!LABEL_NAME.test(name)) throw new PushgatewayError(`grouping label "${name}" is not a Prometheus label name; use letters, digits and _`);
    if (value === '' || value.includes('/')) throw new PushgatewayError(`grouping label ${name} must have a non-empty value without "/"`);
  }
}

function describeFailure(error: unknown, where: string, timeoutMs: number, timedOut: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (timedOut) return `the Pushgateway at ${where} did not answer within ${timeoutMs} ms`;
  // prom-client rejects with "push failed with status <code>, <reply>".
  const refused = /status (\d{3}), ?([\s\S]*)$/.exec(message);
  if (refused) {
    const reply = refused[2]?.trim().replace(/\s+/g, ' ').slice(0, REPLY_EXCERPT_LENGTH);
    return `the Pushgateway at ${where} refused the push with HTTP ${refused[1]}${reply ? `: ${reply}` : ''}`;
  }
  const code = (error as { code?: unknown }).code;
  return `cannot reach the Pushgateway at ${where}${typeof code === 'string' ? ` (${code})` : ''}: ${message}`;
}

export async function pushVerdict(options: PushVerdictOptions): Promise<void> {
  const url = parseGatewayUrl(options.url);
  const where = displayName(url);
  const job = options.job ?? DEFAULT_JOB;
  const grouping = options.grouping ?? {};
  checkGrouping(job, grouping);
  const timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const { redactor } = options;

  const registry = verdictRegistry(options.result, redactor);

  // One signal bounds the whole exchange; node:http's `timeout` option would only bound idle gaps, and race this one.
  const deadline = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    deadline.abort();
  }, timeoutMs);
  timer.unref();
  const gateway = new Pushgateway(
    url.href,
    {
      signal: deadline.signal,
      headers: { 'Content-Type': registry.contentType, 'User-Agent': `ceiling/${VERSION}` },
    },
    registry,
  );
  try {
    await gateway.push({ jobName: job, groupings: grouping });
  } catch (error) {
    throw new PushgatewayError(redactor.redact(describeFailure(error, where, timeoutMs, timedOut)));
  } finally {
    clearTimeout(timer);
  }
}
