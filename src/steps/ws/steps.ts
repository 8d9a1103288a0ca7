import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import { renderedDurationMs, formatMs } from '../../journey/duration.js';
import type { Executor, StepContext } from '../executor.js';
import { registerUrlCredentials } from '../url-credentials.js';
import { WsActor } from './actor.js';
import type { CloseRecord, InboxMessage } from './inbox.js';
import { captureFrom, closestJsonMessage, compileAutoReplies, messagePattern, type MessageCriteria, type MessagePattern } from './match.js';
import { EXPIRED, waitUntil, windowEnd } from './wait.js';

/** The kind under which WebSocket actors are registered in Actors, so another kind of actor never answers to a ws step. */
export const WS_ACTOR_KIND = 'ws';

/** How many unread messages a failed expectation lists: enough to see what came instead, few enough to read. */
export const SHOWN_UNREAD_MESSAGES = 20;
/** A message longer than this is shown as a cut preview rather than parsed JSON, so one big frame cannot swamp the report. */
const SHOWN_JSON_CHARS = 500;
/** Mismatching paths listed for the closest message; the rest are counted. */
const SHOWN_MISMATCHES = 10;

const NORMAL_CLOSURE = 1000;

function actorFor(context: StepContext, name: string): WsActor {
  const actor = context.actors.get<WsActor>(name, WS_ACTOR_KIND);
  if (!actor) {
    throw configError('CEIL_ACTOR_UNKNOWN', `there is no WebSocket actor "${name}"`, { hint: `connect it first with a ws.connect step with as: ${name}` });
  }
  return actor;
}

/** For text a step cuts short: secrets go before the cut, or half of one would slip past the output redaction. */
const redactorOf = (context: StepContext) => (text: string) => context.redactor.redact(text);

function patternFor(context: StepContext, criteria: MessageCriteria, where: string): MessagePattern {
  const rendered = context.render({ json: criteria.json, text: criteria.text, regex: criteria.regex });
  return messagePattern(rendered, where, redactorOf(context));
}

function closeWording(close: CloseRecord): string {
  return `code ${close.code}${close.reason ? `, reason "${close.reason}"` : ''}${close.wasClean ? '' : ', not clean'}`;
}

/**
 * The unread messages, the latest SHOWN_UNREAD_MESSAGES of them, each parsed
 * when it is short JSON (so a report compares like with like against the
 * expected json) and otherwise a redacted, cut preview; a first entry counts
 * the earlier ones left out.
 */
function unreadListing(unread: readonly InboxMessage[], context: StepContext): unknown[] {
  const redact = redactorOf(context);
  const shown = unread
    .slice(-SHOWN_UNREAD_MESSAGES)
    .map((message) => (message.text.length <= SHOWN_JSON_CHARS ? message.json?.value : undefined) ?? message.preview(redact));
  const left = unread.length - shown.length;
  return left > 0 ? [`… ${left} earlier message${left === 1 ? '' : 's'} not shown`, ...shown] : shown;
}

function unreadSummary(actor: WsActor, unread: readonly InboxMessage[]): string {
  const claimed = actor.inbox.messages.length - unread.length;
  const earlier = claimed > 0 ? `; ${claimed} earlier one${claimed === 1 ? ' was' : 's were'} claimed by previous ws.expect steps` : '';
  if (unread.length === 0) return `nothing else arrived${earlier}`;
  const listed = unread.length <= SHOWN_UNREAD_MESSAGES ? 'all in actual' : `the latest ${SHOWN_UNREAD_MESSAGES} in actual`;
  return `${unread.length} other message${unread.length === 1 ? '' : 's'} arrived (${listed})${earlier}`;
}

/** For a json expectation: the unread message that came closest, path by path, so a near miss reads as a diff. */
function closestDiff(pattern: MessagePattern, unread: readonly InboxMessage[], context: StepContext): string {
  if (pattern.criteria.json === undefined) return '';
  const closest = closestJsonMessage(pattern.criteria.json, unread, redactorOf(context));
  if (!closest) return '';
  const lines = closest.mismatches.slice(0, SHOWN_MISMATCHES).map((mismatch) => `  ${mismatch.message}`);
  const more = closest.mismatches.length - lines.length;
  if (more > 0) lines.push(`  … and ${more} more`);
  // No mismatch on the json means another criterion (text, regex) is what failed it.
  const what = closest.mismatches.length === 0 ? ' matches the json, not the text or regex' : ' differs:';
  return `\nclosest: message ${closest.position} of ${unread.length} unread${what}${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`;
}

function floodFailure(actor: WsActor): StepFailure {
  return new StepFailure('protocol', 'CEIL_WS_FLOOD', `${actor.name} hung up: ${actor.inbox.flood ?? 'too many messages'}`, {
    hint: 'a server that floods a client is a bug; if this volume is expected, split the journey',
  });
}

function ghostHint(actor: WsActor): { hint: string } | Record<string, never> {
  return actor.ghosted ? { hint: `${actor.name} was ghosted by ws.ghost and no longer reads anything it is sent` } : {};
}

/** query: values are encoded as a form would (`&`, `+`, spaces), so a rendered value cannot split into two parameters. */
function withQuery(url: string, query: Record<string, unknown> | undefined): string {
  if (query === undefined || Object.keys(query).length === 0 || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(query)) parsed.searchParams.append(key, String(value));
  return parsed.toString();
}

/** The upgrade request carries the step's traceparent, unless the journey set one of its own (in any case). */
function withTraceparent(headers: Record<string, string>, traceparent: string | undefined): Record<string, string> {
  if (traceparent === undefined || Object.keys(headers).some((name) => name.toLowerCase() === 'traceparent')) return headers;
  return { ...headers, traceparent };
}

export const wsConnect: Executor<'ws.connect'> = async (step, context) => {
  const spec = context.render(step.spec);
  const name = spec.as;
  const previous = context.actors.get<WsActor>(name, WS_ACTOR_KIND);
  // Reusing the name of a closed actor is how a journey tests reconnecting; reusing a live one would orphan its socket.
  if (context.actors.has(name) && !previous?.isClosed) {
    throw configError('CEIL_ACTOR_CONNECTED', `actor "${name}" is already connected`, {
      hint: `close or drop ${name} before connecting it again, or give the new connection another name`,
    });
  }
  const url = withQuery(spec.url, spec.query);
  // ws sends user:password@ in the URL as Basic auth; the URL itself shows up in messages, so its credentials are secrets.
  if (URL.canParse(url)) registerUrlCredentials(new URL(url), context.redactor);
  const actor = await WsActor.connect(
    {
      name,
      url,
      headers: withTraceparent(Object.fromEntries(Object.entries(spec.headers ?? {}).map(([header, value]) => [header, String(value)])), context.traceparent),
      protocols: spec.protocols === undefined ? [] : Array.isArray(spec.protocols) ? spec.protocols : [spec.protocols],
      insecure: spec.insecure ?? false,
      autoReplies: compileAutoReplies(spec.autoReply ?? []),
      ...(spec.handshakeTimeout !== undefined ? { handshakeTimeoutMs: renderedDurationMs('handshakeTimeout', spec.handshakeTimeout) } : {}),
    },
    context.signal,
    context.deadline,
  );
  context.actors.set(name, WS_ACTOR_KIND, actor);
  context.teardown.defer(`ws ${name}`, async () => {
    await actor.shutdown();
    if (context.actors.get<WsActor>(name, WS_ACTOR_KIND) === actor) context.actors.delete(name);
  });
  return { assertions: 0 };
};

export const wsSend: Executor<'ws.send'> = async (step, context) => {
  const actor = actorFor(context, step.spec.as);
  const { json, text } = context.render({ json: step.spec.json, text: step.spec.text });
  if ((json === undefined) === (text === undefined)) {
    throw configError('CEIL_WS_NO_PAYLOAD', 'ws.send needs exactly one of json or text');
  }
  await actor.send(text ?? JSON.stringify(json), context.signal);
  return { assertions: 0 };
};

export const wsExpect: Executor<'ws.expect'> = async (step, context) => {
  const actor = actorFor(context, step.spec.as);
  const pattern = patternFor(context, step.spec, 'ws.expect');
  const started = Date.now();
  const until = windowEnd(step.spec.within === undefined ? undefined : renderedDurationMs('within', step.spec.within, context.render), context.deadline);
  const outcome = await waitUntil<{ message: InboxMessage } | { closed: CloseRecord }>(
    actor.inbox.subscribe,
    () => {
      const message = actor.inbox.firstUnconsumed((candidate) => pattern.match(candidate) !== undefined);
      if (!message && actor.inbox.flood) throw floodFailure(actor);
      if (message) {
        // Claimed at once, so no later step can match the same frame twice.
        message.consumed = true;
        return { message };
      }
      return actor.inbox.closed ? { closed: actor.inbox.closed } : undefined;
    },
    until,
    context.signal,
  );
  if (outcome === EXPIRED) {
    const unread = actor.inbox.unconsumed();
    throw assertionFailed(
      'CEIL_WS_EXPECT_TIMEOUT',
      `${actor.name} got no message matching ${pattern.description} within ${formatMs(until - started)}; ${unreadSummary(actor, unread)}${closestDiff(pattern, unread, context)}`,
      {
        expected: pattern.criteria,
        actual: unreadListing(unread, context),
        ...ghostHint(actor),
      },
    );
  }
  if ('closed' in outcome) {
    const unread = actor.inbox.unconsumed();
    throw assertionFailed(
      'CEIL_WS_CLOSED_WHILE_EXPECTING',
      `the connection of ${actor.name} closed (${closeWording(outcome.closed)}) before a message matching ${pattern.description} arrived; ${unreadSummary(actor, unread)}${closestDiff(pattern, unread, context)}`,
      {
        expected: pattern.criteria,
        actual: unreadListing(unread, context),
      },
    );
  }
  const captured = step.spec.capture ? captureFrom(outcome.message, step.spec.capture, redactorOf(context)) : undefined;
  return { assertions: 1, ...(captured ? { captured } : {}) };
};

export const wsExpectNone: Executor<'ws.expectNone'> = async (step, context) => {
  const actor = actorFor(context, step.spec.as);
  const pattern = patternFor(context, step.spec, 'ws.expectNone');
  const quietFor = step.spec.for;
  const matching = () => actor.inbox.firstUnconsumed((candidate) => pattern.match(candidate) !== undefined);
  // The whole window must pass to prove absence, so it is not cut at the step deadline: running out of step time fails the step.
  const until = Date.now() + renderedDurationMs('for', quietFor, context.render);
  const outcome = await waitUntil<{ message: InboxMessage } | { closed: true }>(
    actor.inbox.subscribe,
    () => {
      const message = matching();
      if (message) return { message };
      // A closed connection can receive nothing more, so the absence is already proven.
      return actor.inbox.closed ? { closed: true } : undefined;
    },
    until,
    context.signal,
  );
  if (outcome !== EXPIRED && 'message' in outcome) {
    throw assertionFailed(
      'CEIL_WS_UNEXPECTED_MESSAGE',
      `${actor.name} received a message matching ${pattern.description}, which must not arrive within ${quietFor}`,
      {
        expected: `no message matching ${pattern.description}`,
        actual: outcome.message.preview(redactorOf(context)),
      },
    );
  }
  return { assertions: 1 };
};

export const wsClose: Executor<'ws.close'> = async (step, context) => {
  const actor = actorFor(context, step.spec.as);
  const reason = step.spec.reason === undefined ? '' : context.render(step.spec.reason);
  await actor.close(step.spec.code ?? NORMAL_CLOSURE, reason, context.signal);
  return { assertions: 0 };
};

export const wsDrop: Executor<'ws.drop'> = async (step, context) => {
  await actorFor(context, step.spec.as).drop(context.signal);
  return { assertions: 0 };
};

export const wsGhost: Executor<'ws.ghost'> = async (step, context) => {
  actorFor(context, step.spec.as).ghost();
  return { assertions: 0 };
};

export const wsExpectClosed: Executor<'ws.expectClosed'> = async (step, context) => {
  const actor = actorFor(context, step.spec.as);
  const started = Date.now();
  const until = windowEnd(step.spec.within === undefined ? undefined : renderedDurationMs('within', step.spec.within, context.render), context.deadline);
  const closed = await waitUntil(actor.inbox.subscribe, () => actor.inbox.closed, until, context.signal);
  if (closed === EXPIRED) {
    throw assertionFailed('CEIL_WS_NOT_CLOSED', `the connection of ${actor.name} is still open after ${formatMs(until - started)}`, {
      expected: step.spec.code === undefined ? 'closed' : `closed with code ${step.spec.code}`,
      actual: 'open',
      ...ghostHint(actor),
    });
  }
  if (step.spec.code !== undefined && closed.code !== step.spec.code) {
    throw assertionFailed('CEIL_WS_CLOSE_CODE', `the connection of ${actor.name} closed with ${closeWording(closed)}; expected code ${step.spec.code}`, {
      expected: step.spec.code,
      actual: closed.code,
      ...(closed.code === 1006 ? { hint: '1006 means no close frame: the connection was cut, not closed' } : {}),
    });
  }
  return { assertions: 1 };
};
