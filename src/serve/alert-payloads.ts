import { createHash } from 'node:crypto';
import type { AlertKind } from './alert-policy.js';
import type { LastFailure, PersistedState } from './model.js';
import { escapeSlack } from '../webhook/slack-text.js';

/**
 * What an alert says, built once and rendered per receiver. Renderers are
 * pure; redaction happens where the body leaves the process (webhook-delivery).
 */

export interface AlertEvent {
  kind: AlertKind;
  journey: string;
  file: string;
  tags: string[];
  /** The journey is tagged critical, whatever this alert says about it. */
  critical: boolean;
  /** A critical journey is failing: receivers should page, not just post. A recovery is never urgent. */
  urgent: boolean;
  location: string;
  target: string;
  /** Epoch milliseconds of the run that changed the state. */
  at: number;
  /** Zero on a recovery: the run that recovered reset the count. */
  consecutiveFailures: number;
  /** On a recovery, the failure the journey recovered from. */
  failure?: LastFailure;
  lastPassAt?: number;
  statusUrl?: string;
}

/** Where the probe ran and where people can look; the same for every alert a daemon sends. */
export interface AlertOrigin {
  location: string;
  target: string;
  statusUrl?: string;
}

const CRITICAL_TAG = 'critical';
/** Slack rejects a section text above 3000 characters; a failure message is cut well below that. */
const SLACK_MESSAGE_LIMIT = 1000;

/** Builds the event from the state applyRun returned together with `kind`. */
export function alertEvent(kind: AlertKind, state: PersistedState, journey: { file: string; tags: readonly string[] }, origin: AlertOrigin): AlertEvent {
  const at = state.lastRunAt;
  if (at === undefined) throw new Error(`alertEvent: journey "${state.journey}" has no run yet; build the event from the state applyRun returned`);
  const critical = journey.tags.some((tag) => tag.toLowerCase() === CRITICAL_TAG);
  return {
    kind,
    journey: state.journey,
    file: journey.file,
    tags: [...journey.tags],
    critical,
    urgent: critical && kind === 'failing',
    location: origin.location,
    target: origin.target,
    at,
    consecutiveFailures: state.consecutiveFailures,
    ...(state.lastFailure !== undefined ? { failure: { ...state.lastFailure } } : {}),
    ...(state.lastPassAt !== undefined ? { lastPassAt: state.lastPassAt } : {}),
    ...(origin.statusUrl !== undefined ? { statusUrl: origin.statusUrl } : {}),
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** A stable, documented shape for any receiver that takes JSON. Bump schemaVersion on any breaking change. */
export function genericPayload(event: AlertEvent): Record<string, unknown> {
  return {
    schemaVersion: 1,
    source: 'ceiling',
    event: event.kind,
    urgent: event.urgent,
    journey: event.journey,
    file: event.file,
    tags: [...event.tags],
    location: event.location,
    target: event.target,
    at: iso(event.at),
    consecutiveFailures: event.consecutiveFailures,
    ...(event.failure !== undefined
      ? {
          failure: {
            ...(event.failure.step !== undefined ? { step: event.failure.step } : {}),
            code: event.failure.code,
            message: event.failure.message,
            at: iso(event.failure.at),
            ...(event.failure.traceId !== undefined ? { traceId: event.failure.traceId } : {}),
          },
        }
      : {}),
    ...(event.lastPassAt !== undefined ? { lastPassAt: iso(event.lastPassAt) } : {}),
    ...(event.statusUrl !== undefined ? { statusUrl: event.statusUrl } : {}),
  };
}

function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** A link whose URL cannot close the <url|label> markup early. */
function slackLink(url: string, label: string): string {
  return `<${escapeSlack(url).replace(/\|/g, '%7C')}|${escapeSlack(label)}>`;
}

function headline(event: AlertEvent): string {
  const journey = `*${escapeSlack(event.journey)}*`;
  const where = `from ${escapeSlack(event.location)} against ${escapeSlack(event.target)}`;
  if (event.kind === 'recovered') return `:white_check_mark: ${journey} recovered ${where}`;
  const runs = `${event.consecutiveFailures} failed run${event.consecutiveFailures === 1 ? '' : 's'} in a row`;
  // Only a failing critical journey pages the whole channel; its recovery is good news that can wait.
  const prefix = event.urgent ? ':rotating_light: URGENT <!channel>' : ':red_circle:';
  return `${prefix} ${journey} is failing ${where} (${runs})`;
}

function failureLines(failure: LastFailure, kind: AlertKind): string {
  const label = kind === 'recovered' ? 'Last failure' : 'Failure';
  const step = failure.step !== undefined ? ` at step "${escapeSlack(failure.step)}"` : '';
  return `*${label}*${step}: \`${escapeSlack(failure.code)}\` ${escapeSlack(cut(failure.message, SLACK_MESSAGE_LIMIT))}`;
}

function contextLine(event: AlertEvent): string {
  const parts = [`file ${escapeSlack(event.file)}`, `at ${iso(event.at)}`];
  if (event.lastPassAt !== undefined && event.kind === 'failing') parts.push(`last passed ${iso(event.lastPassAt)}`);
  if (event.tags.length > 0) parts.push(`tags ${event.tags.map(escapeSlack).join(', ')}`);
  if (event.statusUrl !== undefined) parts.push(slackLink(event.statusUrl, 'status page'));
  return parts.join(' · ');
}

/** Slack incoming-webhook body: `text` drives notifications and old clients, `blocks` is what people read. */
export function slackPayload(event: AlertEvent): Record<string, unknown> {
  const title = headline(event);
  const detail = event.failure !== undefined ? failureLines(event.failure, event.kind) : undefined;
  const text = detail !== undefined && event.kind === 'failing' ? `${title}: ${detail}` : title;
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: detail !== undefined ? `${title}\n${detail}` : title } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: contextLine(event) }] },
  ];
  return { text, blocks };
}

/** The alert name Alertmanager routes on; Prometheus rules for Ceiling use other names, so the two never merge. */
export const ALERTMANAGER_ALERT_NAME = 'CeilingJourneyFailing';
/**
 * A firing alert's endsAt is set this far ahead, as Prometheus does, and the
 * daemon re-posts it well before (ALERTMANAGER_REFRESH_MS), so Alertmanager
 * keeps it active whatever its resolve_timeout, and resolves it by itself
 * this long after a probe that stopped posting.
 */
export const ALERTMANAGER_FIRING_TTL_MS = 5 * 60_000;
/** A fifth of the firing TTL: four re-posts may be lost before the alert lapses. */
export const ALERTMANAGER_REFRESH_MS = 60_000;
/** Annotations are for people; the full message is on the status page. */
const ALERTMANAGER_MESSAGE_LIMIT = 1000;

/** The labels that identify the alert: the same on every re-post and on the resolution, so Alertmanager sees one alert. */
function alertmanagerLabels(event: AlertEvent): Record<string, string> {
  return {
    alertname: ALERTMANAGER_ALERT_NAME,
    journey: event.journey,
    location: event.location,
    target: event.target,
    severity: event.critical ? 'critical' : 'warning',
  };
}

/**
 * The body of POST /api/v2/alerts: a list holding one alert. A failing alert
 * ends ALERTMANAGER_FIRING_TTL_MS after `nowMs` unless re-posted; a recovered
 * one ends at the run that passed, which resolves it.
 */
export function alertmanagerPayload(event: AlertEvent, nowMs: number): Record<string, unknown>[] {
  const failure = event.failure;
  const where = `from ${event.location} against ${event.target}`;
  const annotations: Record<string, string> = {
    summary: event.kind === 'failing' ? `Journey "${event.journey}" is failing ${where}` : `Journey "${event.journey}" recovered ${where}`,
    ...(failure?.step !== undefined ? { step: failure.step } : {}),
    ...(failure !== undefined ? { code: failure.code, message: cut(failure.message, ALERTMANAGER_MESSAGE_LIMIT) } : {}),
    consecutive_failures: String(event.consecutiveFailures),
    file: event.file,
    ...(event.statusUrl !== undefined ? { status_url: event.statusUrl } : {}),
  };
  const startsAt = event.kind === 'failing' ? (failure?.at ?? event.at) : Math.min(failure?.at ?? event.at, event.at);
  const endsAt = event.kind === 'failing' ? Math.max(nowMs, event.at) + ALERTMANAGER_FIRING_TTL_MS : event.at;
  return [
    {
      labels: alertmanagerLabels(event),
      annotations,
      startsAt: iso(startsAt),
      endsAt: iso(endsAt),
      ...(event.statusUrl !== undefined ? { generatorURL: event.statusUrl } : {}),
    },
  ];
}

/** Where an --alertmanager URL posts: its /api/v2/alerts, unless the URL already names it. */
export function alertmanagerAlertsUrl(base: URL): URL {
  if (/\/api\/v2\/alerts\/?$/.test(base.pathname)) return base;
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return url;
}

/** PagerDuty cuts a summary at 1024 characters; cutting it here keeps the end readable. */
const PAGERDUTY_SUMMARY_LIMIT = 1000;

/**
 * One incident per journey, probe location and target: the same key on every
 * trigger and on the resolve. Hashed, so any name fits PagerDuty's 255
 * characters and no name has to be escaped.
 */
export function pagerdutyDedupKey(event: Pick<AlertEvent, 'journey' | 'location' | 'target'>): string {
  return `ceiling-${createHash('sha256').update(`${event.journey}\0${event.location}\0${event.target}`).digest('hex')}`;
}

/**
 * A PagerDuty Events API v2 event without its routing_key, which the
 * dispatcher adds after redaction (it is a secret, and would be redacted).
 */
export function pagerdutyPayload(event: AlertEvent): Record<string, unknown> {
  const dedupKey = pagerdutyDedupKey(event);
  if (event.kind === 'recovered') return { event_action: 'resolve', dedup_key: dedupKey };
  const failure = event.failure;
  const step = failure?.step !== undefined ? ` at step "${failure.step}"` : '';
  const summary = `Journey "${event.journey}" is failing from ${event.location} against ${event.target}${step}${failure !== undefined ? `: ${failure.code} ${failure.message}` : ''}`;
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: cut(summary, PAGERDUTY_SUMMARY_LIMIT),
      source: event.target,
      severity: event.critical ? 'critical' : 'warning',
      timestamp: iso(event.at),
      component: event.journey,
      group: event.location,
      ...(failure !== undefined ? { class: failure.code } : {}),
      custom_details: {
        journey: event.journey,
        file: event.file,
        location: event.location,
        target: event.target,
        consecutive_failures: event.consecutiveFailures,
        ...(failure?.step !== undefined ? { step: failure.step } : {}),
        ...(failure !== undefined ? { code: failure.code, message: failure.message } : {}),
        ...(event.lastPassAt !== undefined ? { last_pass_at: iso(event.lastPassAt) } : {}),
      },
    },
    client: 'Ceiling',
    ...(event.statusUrl !== undefined ? { client_url: event.statusUrl, links: [{ href: event.statusUrl, text: 'Ceiling status page' }] } : {}),
  };
}
