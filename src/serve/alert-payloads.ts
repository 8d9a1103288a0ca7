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
  /** The journey is tagged critical: receivers should page, not just post. */
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

const URGENT_TAG = 'critical';
/** Slack rejects a section text above 3000 characters; a failure message is cut well below that. */
const SLACK_MESSAGE_LIMIT = 1000;

/** Builds the event from the state applyRun returned together with `kind`. */
export function alertEvent(kind: AlertKind, state: PersistedState, journey: { file: string; tags: readonly string[] }, origin: AlertOrigin): AlertEvent {
  const at = state.lastRunAt;
  if (at === undefined) throw new Error(`alertEvent: journey "${state.journey}" has no run yet; build the event from the state applyRun returned`);
  return {
    kind,
    journey: state.journey,
    file: journey.file,
    tags: [...journey.tags],
    urgent: journey.tags.some((tag) => tag.toLowerCase() === URGENT_TAG),
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
