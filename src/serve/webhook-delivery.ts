import type { Agent } from 'undici';
import type { Redactor } from '../secrets/redactor.js';
import type { WebhookAuth } from '../webhook/auth.js';
import { createWebhookAgent, postWebhook, type PostResult } from '../webhook/post.js';
import { registerWebhookUrlSecrets, webhookDisplayName } from '../webhook/url.js';
import { alertmanagerAlertsUrl, alertmanagerPayload, genericPayload, pagerdutyPayload, slackPayload, type AlertEvent } from './alert-payloads.js';
import { logSafe } from '../report/terminal-text.js';

/**
 * Delivers alerts to webhooks without ever holding up the probes: send() only
 * queues. Each target has its own lane that posts one delivery at a time, in
 * order, so a dead receiver delays nobody but itself, and its backlog is
 * bounded. Posting, the retry rules and which URL parts are secret live in
 * src/webhook/, shared with the gate's notifications.
 */

export type WebhookTarget =
  | {
      /** For `alertmanager`, Alertmanager's base URL: alerts go to its /api/v2/alerts. */
      url: string;
      format: 'json' | 'slack' | 'alertmanager';
    }
  | {
      /** The Events API v2 endpoint, e.g. https://events.pagerduty.com/v2/enqueue. */
      url: string;
      format: 'pagerduty';
      /** The integration's routing key: a secret, added to each body after redaction. */
      routingKey: string;
    };

export interface DeliveryOptions {
  targets: WebhookTarget[];
  /** Bodies pass through it; the webhook URLs are registered in it as secrets. */
  redactor: Redactor;
  /** Headers and signing key for every target (--webhook-header, --webhook-secret-env). */
  auth?: WebhookAuth;
  /** Tries per delivery, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt, from sending to the end of the response. */
  timeoutMs?: number;
  /** Deliveries waiting per target (the one in flight not counted); beyond it the oldest waiting one is dropped. */
  maxQueue?: number;
  /** Must resolve (or reject) promptly once the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter source, injectable so tests can see the backoff grow. */
  random?: () => number;
  /** For the times in Alertmanager bodies; injectable for tests. */
  now?: () => number;
  log?: (line: string) => void;
}

export interface DeliveryStats {
  delivered: number;
  failed: number;
  dropped: number;
  /** Waiting plus in flight. */
  pending: number;
}

/** How one receiver's delivery of one alert ended: `rejected` is a 4xx that retrying cannot fix. */
export type ReceiverOutcome = 'delivered' | 'rejected' | 'failed';

/** By receiver, in the order of `targets`; a receiver skipped by `send` is absent. */
export type SendOutcome = Map<number, ReceiverOutcome>;

export class WebhookTargetError extends Error {
  readonly code = 'CEIL_WEBHOOK_URL';
}

const DEFAULTS = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000, timeoutMs: 5_000, maxQueue: 1_000 };

interface Delivery {
  body: string;
  /** For log lines: which alert, never where it goes. */
  description: string;
  settle: (outcome: ReceiverOutcome) => void;
}

interface Lane {
  url: URL;
  format: WebhookTarget['format'];
  routingKey?: string;
  /** PagerDuty authenticates by its routing key; the webhook headers and signature are not for it. */
  auth?: WebhookAuth;
  /** Scheme and host: the only part of a webhook URL that may be logged. */
  displayName: string;
  waiting: Delivery[];
  inFlight?: Delivery;
  running?: Promise<void>;
}

function unrefSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const finish = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    timer.unref();
    signal.addEventListener('abort', finish, { once: true });
  });
}

/** The routing key goes in after redaction, which would blank it; the rest of the body is already redacted. */
function withRoutingKey(redactedBody: string, routingKey: string): string {
  return JSON.stringify({ routing_key: routingKey, ...(JSON.parse(redactedBody) as Record<string, unknown>) });
}

function parseTarget(target: WebhookTarget, index: number): URL {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    // The URL itself is not quoted: it may hold a token.
    throw new WebhookTargetError(`webhook target #${index + 1} is not an absolute URL; write it as https://host/path`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetError(`webhook target #${index + 1} uses ${url.protocol}; only http:// and https:// webhooks are supported`);
  }
  return url;
}

export class AlertDispatcher {
  private readonly lanes: Lane[];
  private readonly agent: Agent;
  private readonly redactor: Redactor;
  private readonly auth: WebhookAuth | undefined;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  /** Aborted when drain runs out of time or close is called: cuts requests and backoff sleeps. */
  private readonly shutdown = new AbortController();
  private accepting = true;
  private closed?: Promise<void>;
  private readonly counts = { delivered: 0, failed: 0, dropped: 0 };

  constructor(options: DeliveryOptions) {
    this.redactor = options.redactor;
    this.auth = options.auth;
    this.attempts = Math.max(1, options.attempts ?? DEFAULTS.attempts);
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? DEFAULTS.baseDelayMs);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? DEFAULTS.maxDelayMs);
    this.timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULTS.timeoutMs);
    this.maxQueue = Math.max(1, options.maxQueue ?? DEFAULTS.maxQueue);
    this.sleep = options.sleep ?? unrefSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    const log = options.log ?? ((line: string) => process.stderr.write(`${logSafe(line)}\n`));
    this.log = (line) => log(this.redactor.redact(line));

    this.lanes = options.targets.map((target, index) => {
      const url = parseTarget(target, index);
      registerWebhookUrlSecrets(this.redactor, url);
      const lane: Lane = {
        url: target.format === 'alertmanager' ? alertmanagerAlertsUrl(url) : url,
        format: target.format,
        displayName: webhookDisplayName(url),
        waiting: [],
      };
      if (target.format === 'pagerduty') {
        this.redactor.add(target.routingKey, 'pagerduty-routing-key');
        lane.routingKey = target.routingKey;
      } else if (this.auth !== undefined) lane.auth = this.auth;
      return lane;
    });
    // Each lane holds at most one connection, so this bounds the pool without making lanes wait for each other.
    this.agent = createWebhookAgent({ connections: this.lanes.length, timeoutMs: this.timeoutMs });
  }

  /**
   * Queues the event for every target (but those in `skip`, by index) and
   * returns at once. The promise says, once every receiver is done with it,
   * how each one's delivery ended, so the caller can record an alert as sent
   * only when it was. It never rejects: problems are logged and counted.
   */
  send(event: AlertEvent, options: { skip?: ReadonlySet<number> } = {}): Promise<SendOutcome> {
    const outcomes: SendOutcome = new Map();
    const settled: Promise<void>[] = [];
    const description = `${event.kind} alert for "${event.journey}"`;
    const lanes = this.lanes.map((lane, index) => ({ lane, index })).filter(({ index }) => !options.skip?.has(index));
    try {
      if (!this.accepting) {
        this.counts.dropped += lanes.length;
        this.log(`alerts: ${description} not sent: alert delivery is shutting down`);
        for (const { index } of lanes) outcomes.set(index, 'failed');
        return Promise.resolve(outcomes);
      }
      const bodies = new Map<WebhookTarget['format'], string>();
      for (const { lane, index } of lanes) {
        let body = bodies.get(lane.format);
        if (body === undefined) {
          body = this.serialize(this.payload(lane.format, event));
          bodies.set(lane.format, body);
        }
        const laneBody = lane.routingKey !== undefined ? withRoutingKey(body, lane.routingKey) : body;
        settled.push(
          new Promise<void>((resolve) => {
            this.enqueue(lane, { body: laneBody, description, settle: (outcome) => (outcomes.set(index, outcome), resolve()) });
          }),
        );
      }
    } catch (error) {
      this.log(`alerts: could not queue an alert: ${error instanceof Error ? error.message : String(error)}`);
      for (const { index } of lanes) if (!outcomes.has(index)) outcomes.set(index, 'failed');
      return Promise.resolve(outcomes);
    }
    return Promise.all(settled).then(() => outcomes);
  }

  /**
   * For shutdown: stops taking alerts, waits for the pending ones up to
   * timeoutMs, then abandons what is left (counted as failed).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    let timer: NodeJS.Timeout | undefined;
    // Left referenced on purpose: a drain must keep the process alive until it has finished, or shutdown work after it never runs.
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    try {
      const outcome = await Promise.race([this.idle().then(() => 'idle' as const), timedOut]);
      if (outcome === 'timeout') {
        this.shutdown.abort();
        await this.idle();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  stats(): DeliveryStats {
    const pending = this.lanes.reduce((sum, lane) => sum + lane.waiting.length + (lane.inFlight ? 1 : 0), 0);
    return { ...this.counts, pending };
  }

  /** Abandons anything still pending and closes the connection pool. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.accepting = false;
      this.shutdown.abort();
      await this.idle();
      await this.agent.destroy();
    })();
    return this.closed;
  }

  /** Receivers (by index) with nothing waiting or in flight: a refresh only goes where it would not queue behind older news. */
  idleReceivers(): Set<number> {
    const idle = new Set<number>();
    this.lanes.forEach((lane, index) => {
      if (!lane.inFlight && lane.waiting.length === 0) idle.add(index);
    });
    return idle;
  }

  private payload(format: WebhookTarget['format'], event: AlertEvent): unknown {
    switch (format) {
      case 'slack':
        return slackPayload(event);
      case 'alertmanager':
        return alertmanagerPayload(event, this.now());
      case 'pagerduty':
        return pagerdutyPayload(event);
      case 'json':
        return genericPayload(event);
    }
  }

  /** Strings are redacted before serializing so the JSON stays valid; the text is swept again as the last word. */
  private serialize(payload: unknown): string {
    return this.redactor.redact(JSON.stringify(this.redactor.redactDeep(payload)));
  }

  private enqueue(lane: Lane, delivery: Delivery): void {
    lane.waiting.push(delivery);
    if (lane.waiting.length > this.maxQueue) {
      const dropped = lane.waiting.shift();
      dropped?.settle('failed');
      this.counts.dropped++;
      this.log(`alerts: alert queue for ${lane.displayName} is full (${this.maxQueue}); dropped the oldest: ${dropped?.description ?? 'an alert'}`);
    }
    if (!lane.running) {
      lane.running = this.runLane(lane).finally(() => {
        lane.running = undefined;
      });
    }
  }

  private idle(): Promise<void> {
    return Promise.all(this.lanes.map((lane) => lane.running)).then(() => undefined);
  }

  private async runLane(lane: Lane): Promise<void> {
    for (let delivery = lane.waiting.shift(); delivery; delivery = lane.waiting.shift()) {
      if (this.shutdown.signal.aborted) {
        const abandoned = 1 + lane.waiting.length;
        for (const left of [delivery, ...lane.waiting]) left.settle('failed');
        lane.waiting.length = 0;
        this.counts.failed += abandoned;
        this.log(`alerts: ${abandoned} alert(s) to ${lane.displayName} abandoned at shutdown`);
        return;
      }
      lane.inFlight = delivery;
      let outcome: ReceiverOutcome = 'failed';
      try {
        outcome = await this.deliver(lane, delivery);
        if (outcome === 'delivered') this.counts.delivered++;
        else this.counts.failed++;
      } catch (error) {
        // deliver() catches what the network throws; this guards the lane against a bug, so later alerts still go out.
        this.counts.failed++;
        this.log(`alerts: ${delivery.description} to ${lane.displayName} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        lane.inFlight = undefined;
        delivery.settle(outcome);
      }
    }
  }

  private async deliver(lane: Lane, delivery: Delivery): Promise<ReceiverOutcome> {
    const where = `${delivery.description} to ${lane.displayName}`;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(lane, delivery.body);
      if (result.outcome === 'delivered') return 'delivered';
      if (result.outcome === 'rejected') {
        this.log(`alerts: ${where} was rejected (${result.reason}); not retried: check the webhook URL and its token`);
        return 'rejected';
      }
      if (this.shutdown.signal.aborted) {
        this.log(`alerts: ${where} abandoned at shutdown after ${attempt} attempt(s) (last: ${result.reason})`);
        return 'failed';
      }
      if (attempt >= this.attempts) {
        this.log(`alerts: ${where} failed after ${attempt} attempt(s) (last: ${result.reason})`);
        return 'failed';
      }
      try {
        await this.sleep(this.retryDelay(attempt, result.retryAfterMs), this.shutdown.signal);
      } catch {
        // An injected sleep may reject on abort; the check below handles it.
      }
      if (this.shutdown.signal.aborted) {
        this.log(`alerts: ${where} abandoned at shutdown after ${attempt} attempt(s) (last: ${result.reason})`);
        return 'failed';
      }
    }
  }

  /** Exponential backoff with full jitter, so receivers coming back are not hit by every probe at once. */
  private retryDelay(attempt: number, retryAfter: number | undefined): number {
    if (retryAfter !== undefined) return Math.min(retryAfter, this.maxDelayMs);
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async attempt(lane: Lane, body: string): Promise<PostResult> {
    const result = await postWebhook({
      url: lane.url,
      body,
      timeoutMs: this.timeoutMs,
      signal: this.shutdown.signal,
      // Capped again by retryDelay; passing it here keeps a huge Retry-After from ever being taken at its word.
      maxRetryAfterMs: this.maxDelayMs,
      dispatcher: this.agent,
      ...(lane.auth !== undefined ? { auth: lane.auth } : {}),
    });
    return result.outcome === 'retry' && result.cause === 'aborted' ? { ...result, reason: 'shut down while sending' } : result;
  }
}
