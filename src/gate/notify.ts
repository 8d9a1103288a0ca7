/**
 * Tells people about the gate's verdict through the configured webhooks: a
 * stable JSON body for anything that takes JSON, and a Slack incoming-webhook
 * body. A failed gate is urgent: a release is broken, or was just rolled back.
 *
 * Unlike `ceiling serve`, whose alert lanes run in the background, the gate
 * exits right after notifying, so delivery is awaited here and bounded: each
 * endpoint gets a fixed number of attempts, each with its own timeout, and
 * all endpoints are tried at once. Posting, the retry rules and which URL
 * parts are secret live in src/webhook/, shared with serve's alerts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Agent } from 'undici';
import { formatMs } from '../journey/duration.js';
import type { Redactor } from '../secrets/redactor.js';
import type { WebhookAuth } from '../webhook/auth.js';
import { createWebhookAgent, postWebhook } from '../webhook/post.js';
import { escapeSlack } from '../webhook/slack-text.js';
import { registerWebhookUrlSecrets, webhookDisplayName } from '../webhook/url.js';
import type { GateResult, Verdict } from './model.js';
import {
  commandLine,
  describeLatency,
  describeRecovery,
  describeRollback,
  describeRounds,
  describeVersion,
  findingPlace,
  groupFindings,
  plural,
  rollbackEnding,
  tailLines,
} from './render-common.js';

export type NotificationFormat = 'json' | 'slack';

/** A receiver wants the first findings, not a fleet's worth: the verdict file has them all. */
const MAX_FINDINGS = 20;
const MAX_TARGETS = 50;
/** Slack rejects a section text above 3000 characters. */
const SLACK_SECTION_LIMIT = 2_900;
const SLACK_FINDINGS = 10;
const SLACK_OUTPUT_LINES = 15;

const DEFAULTS = { attempts: 3, timeoutMs: 5_000, retryDelayMs: 500 };
/** A Retry-After beyond this is not waited for in full: the gate has a deploy to report back to. */
const MAX_RETRY_WAIT_MS = 5_000;

/** Only a failed gate pages: a pass is news, an inconclusive run is a question for whoever runs the gate. */
export const isUrgent = (result: GateResult): boolean => result.verdict === 'fail';

/** A stable, documented shape for any receiver that takes JSON. Bump schemaVersion on any breaking change. */
function jsonPayload(result: GateResult): Record<string, unknown> {
  const findings = result.findings.slice(0, MAX_FINDINGS);
  return {
    schemaVersion: 1,
    source: 'ceiling',
    event: 'gate',
    command: result.command,
    verdict: result.verdict,
    urgent: isUrgent(result),
    reason: result.reason,
    exitCode: result.exitCode,
    ...(result.expectedVersion !== undefined ? { expectedVersion: result.expectedVersion } : {}),
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    targets: result.targets.slice(0, MAX_TARGETS).map((target) => ({
      name: target.name,
      ...(target.version !== undefined ? { version: target.version } : {}),
      status: target.status,
      cleanRounds: target.cleanRounds,
    })),
    findings,
    findingsOmitted: result.findings.length - findings.length,
    latencyRegressions: result.latency.filter((comparison) => comparison.regressed).slice(0, MAX_FINDINGS),
    ...(result.timeToDetectMs !== undefined ? { timeToDetectMs: result.timeToDetectMs } : {}),
    ...(result.rollback !== undefined ? { rollback: result.rollback } : {}),
    ...(result.recovery !== undefined ? { recovery: result.recovery } : {}),
  };
}

/** Inline code whose text cannot close it early; Slack has no escape for a backtick inside code. */
const slackCode = (text: string): string => `\`${escapeSlack(text.replace(/`/g, "'").replace(/\s*\n\s*/g, ' '))}\``;

function cut(text: string, limit = SLACK_SECTION_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

const slackHeadlines: Record<Verdict, string> = {
  // Paging the channel mirrors serve's urgent alerts: a failed deploy gate needs someone now.
  fail: ':rotating_light: URGENT <!channel> deploy gate FAILED',
  pass: ':white_check_mark: deploy gate passed',
  inconclusive: ':warning: deploy gate inconclusive',
};

const section = (text: string): Record<string, unknown> => ({ type: 'section', text: { type: 'mrkdwn', text: cut(text) } });

function slackPayload(result: GateResult): Record<string, unknown> {
  const drill = result.command === 'drill' ? ' (drill)' : '';
  const headline = `${slackHeadlines[result.verdict]}${drill}`;
  const reason = escapeSlack(result.reason.replace(/\s*\n\s*/g, ' '));
  const blocks: Record<string, unknown>[] = [section(`${headline}\n${reason}`)];

  const targets = result.targets
    .slice(0, MAX_TARGETS)
    .map(
      (target) =>
        `• *${escapeSlack(target.name)}* ${slackCode(describeVersion(target, result.expectedVersion))} ${target.status} (${plural(target.cleanRounds, 'clean round')})`,
    );
  if (targets.length > 0) blocks.push(section(`*Targets*\n${targets.join('\n')}`));

  const groups = groupFindings(result.findings);
  if (groups.length > 0) {
    const lines = groups.slice(0, SLACK_FINDINGS).map(({ finding, rounds }) => {
      const seen = describeRounds(rounds);
      return `• *${escapeSlack(finding.target)}* › ${escapeSlack(findingPlace(finding))}: ${slackCode(finding.code)} ${escapeSlack(finding.message.replace(/\s*\n\s*/g, ' '))}${seen ? ` (${seen})` : ''}`;
    });
    if (groups.length > SLACK_FINDINGS) lines.push(`…and ${groups.length - SLACK_FINDINGS} more in the verdict file`);
    blocks.push(section(`*Findings*\n${lines.join('\n')}`));
  }

  const regressions = result.latency.filter((comparison) => comparison.regressed).slice(0, SLACK_FINDINGS);
  if (regressions.length > 0) {
    const lines = regressions.map(
      (comparison) => `• *${escapeSlack(comparison.target)}* › ${escapeSlack(`${comparison.journey} › ${comparison.step}`)}: ${describeLatency(comparison)}`,
    );
    blocks.push(section(`*Slower than the baseline*\n${lines.join('\n')}`));
  }

  const { rollback } = result;
  if (rollback && !rollback.ok) {
    const output = rollback.output.trim() === '' ? '(no output)' : tailLines(rollback.output, SLACK_OUTPUT_LINES);
    blocks.push(
      section(
        `:x: *ROLLBACK FAILED (${escapeSlack(rollbackEnding(rollback))})*: ${slackCode(commandLine(rollback.command))}\nThe failed release may still be serving: roll it back by hand.\n\`\`\`${escapeSlack(output.replace(/```/g, "'''"))}\`\`\``,
      ),
    );
  }

  const facts: string[] = [];
  if (result.timeToDetectMs !== undefined) facts.push(`detected in ${formatMs(result.timeToDetectMs)}`);
  if (rollback?.ok) facts.push(escapeSlack(describeRollback(rollback)));
  if (result.recovery) facts.push(escapeSlack(describeRecovery(result.recovery, result.policy)));
  facts.push(`${plural(result.rounds, 'round')}`, `exit code ${result.exitCode}`, `finished ${escapeSlack(result.finishedAt)}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(facts.join(' · ')) }] });

  // `text` drives the notification itself and old clients; `blocks` is what people read.
  return { text: cut(`${headline}: ${reason}`), blocks };
}

export function gateNotification(result: GateResult, format: NotificationFormat): Record<string, unknown> {
  return format === 'slack' ? slackPayload(result) : jsonPayload(result);
}

export interface GateNotifyOptions {
  /** Receivers of the JSON body. */
  webhooks: string[];
  /** Slack incoming webhooks. */
  slack: string[];
  result: GateResult;
  /** Bodies and log lines pass through it. */
  redactor: Redactor;
  /** Headers and signing key for every endpoint (--webhook-header, --webhook-secret-env). */
  auth?: WebhookAuth;
  /** Per attempt, from connecting to the end of the response. */
  timeoutMs?: number;
  /** Tries per endpoint, the first included. */
  attempts?: number;
  /** The first retry's wait; it doubles after each further attempt. */
  retryDelayMs?: number;
  /** Stops retries and cuts requests short, e.g. on Ctrl-C. */
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface NotifyStats {
  delivered: number;
  failed: number;
}

interface Endpoint {
  url: URL;
  /** Scheme and host: the only part of a webhook URL that may be logged. */
  displayName: string;
  body: string;
}

function parseEndpoint(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

class GateNotifier {
  private readonly agent: Agent;
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly options: GateNotifyOptions,
    connections: number,
  ) {
    this.attempts = Math.max(1, options.attempts ?? DEFAULTS.attempts);
    this.timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULTS.timeoutMs);
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? DEFAULTS.retryDelayMs);
    this.agent = createWebhookAgent({ connections, timeoutMs: this.timeoutMs });
  }

  log(line: string): void {
    this.options.log(this.options.redactor.redact(line));
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }

  async deliver(endpoint: Endpoint): Promise<boolean> {
    const where = `gate notification to ${endpoint.displayName}`;
    for (let attempt = 1; ; attempt++) {
      const result = await postWebhook({
        url: endpoint.url,
        body: endpoint.body,
        timeoutMs: this.timeoutMs,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        maxRetryAfterMs: MAX_RETRY_WAIT_MS,
        dispatcher: this.agent,
        ...(this.options.auth !== undefined ? { auth: this.options.auth } : {}),
      });
      if (result.outcome === 'delivered') return true;
      if (result.outcome === 'rejected') {
        this.log(`notify: ${where} was rejected (${result.reason}); not retried: check the webhook URL and its token`);
        return false;
      }
      if (attempt >= this.attempts || this.options.signal?.aborted) {
        this.log(`notify: ${where} failed after ${plural(attempt, 'attempt')} (last: ${result.reason})`);
        return false;
      }
      const wait = Math.min(result.retryAfterMs ?? this.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS);
      try {
        // Referenced on purpose: this wait may be all that keeps the process alive until the notification is out.
        await delay(wait, undefined, this.options.signal ? { signal: this.options.signal } : {});
      } catch {
        this.log(`notify: ${where} abandoned after ${plural(attempt, 'attempt')}: interrupted (last: ${result.reason})`);
        return false;
      }
    }
  }
}

/**
 * Posts the verdict to every endpoint at once and resolves when each has
 * answered or run out of attempts: at most attempts × timeoutMs plus the
 * waits between them (each capped at 5 s). Never throws for a delivery
 * problem; it logs it and counts it as failed.
 */
export async function sendGateNotifications(options: GateNotifyOptions): Promise<NotifyStats> {
  const { redactor, result } = options;
  const requested = [...options.webhooks.map((url) => ({ url, format: 'json' as const })), ...options.slack.map((url) => ({ url, format: 'slack' as const }))];
  const notifier = new GateNotifier(options, requested.length);
  let invalid = 0;
  const parsed: { url: URL; format: NotificationFormat }[] = [];
  requested.forEach((entry, index) => {
    const url = parseEndpoint(entry.url);
    if (!url) {
      invalid++;
      // The URL itself is not quoted: it may hold a token.
      notifier.log(`notify: webhook #${index + 1} is not an absolute http:// or https:// URL; skipped`);
      return;
    }
    // Before any body is built, so a webhook URL quoted in the result is redacted too. The caller may have registered it already: the rule is shared with serve, so registering again changes nothing.
    registerWebhookUrlSecrets(redactor, url);
    parsed.push({ url, format: entry.format });
  });

  // Strings are redacted before serializing so the JSON stays valid; the text is swept again as the last word.
  const bodyFor = (format: NotificationFormat): string => redactor.redact(JSON.stringify(redactor.redactDeep(gateNotification(result, format))));
  const bodies = { json: options.webhooks.length > 0 ? bodyFor('json') : '', slack: options.slack.length > 0 ? bodyFor('slack') : '' };
  const endpoints: Endpoint[] = parsed.map(({ url, format }) => ({ url, displayName: webhookDisplayName(url), body: bodies[format] }));

  try {
    const outcomes = await Promise.all(
      endpoints.map((endpoint) =>
        notifier.deliver(endpoint).catch((error: unknown) => {
          notifier.log(`notify: gate notification to ${endpoint.displayName} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
          return false;
        }),
      ),
    );
    const delivered = outcomes.filter(Boolean).length;
    return { delivered, failed: outcomes.length - delivered + invalid };
  } finally {
    await notifier.close();
  }
}
