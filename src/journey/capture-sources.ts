import { nearestName } from './did-you-mean.js';

/**
 * What each step family can capture, checked when the file is loaded, so a
 * typo (`jsn.id`) fails `validate` and stops `run` before its first request,
 * instead of after the earlier steps have created data. The executors read
 * the same spellings: http (steps/http/expect.ts), ws.expect
 * (steps/ws/match.ts) and the browser steps (steps/browser/capture.ts).
 */
export type CaptureFamily = 'http' | 'ws' | 'browser';

const JSON_PATH = /^json(?:\.[^.].*|\[.+)$/;

/** heads: the words a source starts with, for "did you mean". */
const sources: Record<CaptureFamily, { heads: readonly string[]; hint: string; test: (source: string) => boolean }> = {
  http: {
    heads: ['json', 'status', 'body', 'header'],
    hint: 'use status, body, json, json.<path> (json.items[0].id, json[0].id), header.<name> or { regex, group, from }',
    test: (source) => ['json', 'status', 'body'].includes(source) || JSON_PATH.test(source) || /^headers?\.[^.\s]+$/.test(source),
  },
  ws: {
    heads: ['json', 'text', 'body'],
    hint: 'ws.expect captures text, json, json.<path> (json.user.id, json[0].id) or { regex, group, from }',
    test: (source) => ['json', 'text', 'body'].includes(source) || JSON_PATH.test(source),
  },
  browser: {
    heads: ['text', 'value', 'url', 'title', 'attribute'],
    hint: 'browser steps capture text, value, attribute.<name>, url, title, or { regex, group, from } over one of those',
    test: (source) => ['text', 'value', 'url', 'title'].includes(source) || /^attribute\.[^\s]+$/.test(source),
  },
};

export function captureFamily(kind: string): CaptureFamily | undefined {
  if (kind === 'http') return 'http';
  if (kind === 'ws.expect') return 'ws';
  if (kind.startsWith('browser.')) return 'browser';
  return undefined;
}

/** Why a source string is not one this family reads, with a suggestion; undefined when it is fine. */
export function captureSourceProblem(family: CaptureFamily, source: string): string | undefined {
  const rule = sources[family];
  if (rule.test(source)) return undefined;
  // "jsn.id" → "json.id": suggest on the part before the first dot or bracket, and keep the rest.
  const head = /^[^.[]*/.exec(source)?.[0] ?? source;
  const rest = source.slice(head.length);
  const best = head !== '' ? nearestName(head, rule.heads) : undefined;
  const suggestion = best !== undefined && best !== head ? ` (did you mean "${best}${rest}"?)` : '';
  return `unknown capture source "${source}"${suggestion}; ${rule.hint}`;
}

/** `from` of a { regex } capture: http reads the body or a header, the others a source of their own. */
export function captureFromProblem(family: CaptureFamily, from: string): string | undefined {
  if (family === 'http')
    return from === 'body' || /^(headers?\.)?[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(from) ? undefined : `capture from "${from}" is neither body nor a header name`;
  return captureSourceProblem(family, from);
}
