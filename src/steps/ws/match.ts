import { assertionFailed, configError } from '../../core/failure.js';
import { matchJson, type Mismatch } from '../../journey/matchers.js';
import type { CaptureMap, StepSpec } from '../../journey/schema.js';
import { readValuePath } from '../../journey/value-path.js';
import type { InboxMessage } from './inbox.js';

/** Which message a step means: every criterion given must hold. */
export interface MessageCriteria {
  json?: unknown;
  text?: string;
  regex?: string;
}

export interface MessagePattern {
  /** Human wording for reports, e.g. `json {"type":"joined"}`. */
  readonly description: string;
  /** What was asked for, as written in the journey, for expected-against-actual in reports. */
  readonly criteria: MessageCriteria;
  /** The regex groups when it matches (empty without a regex), undefined when it does not. */
  match(message: InboxMessage): string[] | undefined;
}

function compileRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw configError('CEIL_REGEX', `invalid regular expression /${source}/ in ${where}: ${(error as Error).message}`);
  }
}

export type Redact = (text: string) => string;
const keepText: Redact = (text) => text;

/** Redacted before the cut, so a secret in a templated criterion cannot leak half of itself. */
function brief(value: unknown, redact: Redact): string {
  const text = redact(JSON.stringify(value) ?? String(value));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export function describeCriteria(criteria: MessageCriteria, redact: Redact = keepText): string {
  const parts: string[] = [];
  if (criteria.json !== undefined) parts.push(`json ${brief(criteria.json, redact)}`);
  if (criteria.text !== undefined) parts.push(`text ${JSON.stringify(criteria.text)}`);
  if (criteria.regex !== undefined) parts.push(`regex /${criteria.regex}/`);
  return parts.join(' and ');
}

export function messagePattern(criteria: MessageCriteria, where: string, redact: Redact = keepText): MessagePattern {
  const { json, text } = criteria;
  const regex = criteria.regex === undefined ? undefined : compileRegex(criteria.regex, where);
  if (json === undefined && text === undefined && regex === undefined) {
    // With nothing to match on, every frame would match; for an auto-reply against an echo server that is an endless loop.
    throw configError('CEIL_WS_NO_MATCH', `${where} needs one of json, text or regex to say which message`);
  }
  return {
    description: describeCriteria(criteria, redact),
    criteria,
    match(message) {
      if (text !== undefined && message.text !== text) return undefined;
      if (json !== undefined) {
        const parsed = message.json;
        if (!parsed || matchJson(json, parsed.value).length > 0) return undefined;
      }
      if (!regex) return [];
      const found = regex.exec(message.text);
      return found ? found.slice(1).map((group) => group ?? '') : undefined;
    },
  };
}

/** The message that came nearest to a json expectation, and how it differs. */
export interface ClosestMessage {
  message: InboxMessage;
  /** Its place among the messages looked through, from 1. */
  position: number;
  mismatches: Mismatch[];
}

/**
 * The JSON message with the fewest mismatching paths against `expected`; the
 * later one on a tie, as the latest is usually the one the journey waited for.
 * Undefined when no message is JSON. Values in the mismatches are redacted.
 */
export function closestJsonMessage(expected: unknown, messages: readonly InboxMessage[], redact: Redact = keepText): ClosestMessage | undefined {
  let closest: ClosestMessage | undefined;
  for (const [index, message] of messages.entries()) {
    const parsed = message.json;
    if (!parsed) continue;
    const mismatches = matchJson(expected, parsed.value, 'json', redact);
    if (!closest || mismatches.length <= closest.mismatches.length) closest = { message, position: index + 1, mismatches };
  }
  return closest;
}

const MISSING = Symbol('missing');

type CaptureSource = CaptureMap[string];

const unsupportedSource = (name: string, source: string) =>
  configError('CEIL_CAPTURE_SOURCE', `capture ${name}: ws.expect cannot capture "${source}"; use text, json, json.<path> or { regex, group }`);

/** The value a source names in this message, MISSING when the message lacks it. */
function readSource(message: InboxMessage, name: string, source: string): unknown {
  if (source === 'text' || source === 'body') return message.text;
  const path = /^json(?:\.(.+)|(\[.+))?$/.exec(source);
  if (!path) throw unsupportedSource(name, source);
  const parsed = message.json;
  if (!parsed) return MISSING;
  const inner = path[1] ?? path[2];
  if (inner === undefined) return parsed.value;
  const found = readValuePath(parsed.value, inner);
  return found.found ? found.value : MISSING;
}

function captureOne(message: InboxMessage, name: string, source: CaptureSource, redact: Redact): unknown {
  const missing = (what: string) =>
    assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: the matched message has no ${what}`, { path: name, actual: message.preview(redact) });
  if (typeof source === 'string') {
    const value = readSource(message, name, source);
    if (value === MISSING) throw missing(source);
    return value;
  }
  const from = source.from ?? 'text';
  const input = readSource(message, name, from);
  if (input === MISSING) throw missing(from);
  const haystack = typeof input === 'string' ? input : JSON.stringify(input);
  const found = compileRegex(source.regex, `capture ${name}`).exec(haystack);
  if (!found) throw missing(`match for /${source.regex}/ in ${from}`);
  // Without an explicit group, the first group is what a pattern like "id=(\d+)" is written for; a pattern without groups gives its whole match.
  const group = source.group ?? (found.length > 1 ? 1 : 0);
  const value = typeof group === 'number' ? found[group] : found.groups?.[group];
  if (value === undefined) throw missing(`group ${String(group)} in the match for /${source.regex}/`);
  return value;
}

export function captureFrom(message: InboxMessage, captures: CaptureMap, redact: Redact = keepText): Record<string, unknown> {
  const captured: Record<string, unknown> = {};
  for (const [name, source] of Object.entries(captures)) captured[name] = captureOne(message, name, source, redact);
  return captured;
}

type AutoReplySpec = NonNullable<StepSpec<'ws.connect'>['autoReply']>[number];

export interface AutoReplyRule {
  readonly when: MessagePattern;
  /** The frame to send back, given the groups of the `when` regex. */
  reply(groups: readonly string[]): string;
}

export function compileAutoReplies(specs: readonly AutoReplySpec[]): AutoReplyRule[] {
  return specs.map((spec, index) => {
    const where = `autoReply[${index}]`;
    const when = messagePattern(spec.when, `${where}.when`);
    const { text, json } = spec.send;
    if ((text === undefined) === (json === undefined)) {
      throw configError('CEIL_WS_AUTOREPLY_SEND', `${where}.send needs exactly one of text or json`);
    }
    if (text === undefined) {
      const frame = JSON.stringify(json);
      return { when, reply: () => frame };
    }
    return { when, reply: (groups) => text.replace(/\$([1-9])/g, (_, digit: string) => groups[Number(digit) - 1] ?? '') };
  });
}
