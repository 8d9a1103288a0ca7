import { durationMs, formatMs } from '../../journey/duration.js';
import { StepFailure, assertionFailed } from '../../core/failure.js';
import { matchJson } from '../../journey/matchers.js';
import type { CaptureMap, HttpExpect } from '../../journey/schema.js';
import { readValuePath } from '../../journey/value-path.js';
import { keepText, parseJsonBody, type HttpResponse, type Redact } from './response.js';

type StatusRule = number | string;

function statusMatches(rule: StatusRule, status: number): boolean {
  if (typeof rule === 'number') return rule === status;
  return rule[0] === String(status)[0];
}

/** Redacted before it is cut, so a secret straddling the cut cannot leak its first half. */
function excerpt(body: string, redact: Redact): string {
  const flat = redact(body).replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 160)}…` : flat;
}

/**
 * Checks the expectations in a fixed order (status first) and stops at the
 * first failing group: a wrong status makes body mismatches noise.
 * Returns how many checks were made.
 */
export function checkHttpExpect(expect: HttpExpect, response: HttpResponse, redact: Redact = keepText): number {
  const made = { checks: 0 };
  try {
    return runHttpChecks(expect, response, redact, made);
  } catch (error) {
    // The status may have passed before the body failed: the report counts both.
    if (error instanceof StepFailure && error.details.assertions === undefined) error.details.assertions = made.checks;
    throw error;
  }
}

function runHttpChecks(expect: HttpExpect, response: HttpResponse, redact: Redact, made: { checks: number }): number {
  if (expect.status !== undefined) {
    made.checks++;
    const rules: StatusRule[] = Array.isArray(expect.status) ? expect.status : [expect.status];
    if (!rules.some((rule) => statusMatches(rule, response.status))) {
      const wanted = rules.map(String).join(' or ');
      throw assertionFailed(
        'CEIL_HTTP_STATUS',
        `expected status ${wanted}, got ${response.status}${response.body ? ` (body: ${excerpt(response.body, redact)})` : ''}`,
        {
          path: 'status',
          expected: Array.isArray(expect.status) ? expect.status : expect.status,
          actual: response.status,
        },
      );
    }
  }
  if (expect.headers !== undefined) {
    made.checks++;
    for (const [name, wanted] of Object.entries(expect.headers)) {
      const key = name.toLowerCase();
      const actual = Object.hasOwn(response.headers, key) ? response.headers[key] : undefined;
      const mismatches =
        actual === undefined && (wanted === null || typeof wanted !== 'object')
          ? [{ path: `headers.${key}`, expected: wanted, actual: undefined, message: `header ${key} is missing` }]
          : matchJson(wanted, actual, `headers.${key}`, redact);
      const first = mismatches[0];
      if (first) throw assertionFailed('CEIL_HTTP_HEADER', first.message, { path: first.path, expected: first.expected, actual: first.actual });
    }
  }
  if (expect.json !== undefined) {
    made.checks++;
    const body = parseJsonBody(response, redact);
    const mismatches = matchJson(expect.json, body, 'json', redact);
    const first = mismatches[0];
    if (first) {
      const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} more mismatch${mismatches.length > 2 ? 'es' : ''})` : '';
      throw assertionFailed('CEIL_HTTP_JSON', `${first.message}${more}`, { path: first.path, expected: first.expected, actual: first.actual });
    }
  }
  if (expect.body !== undefined) {
    made.checks++;
    const rule = typeof expect.body === 'string' ? { contains: expect.body } : expect.body;
    if (rule.contains !== undefined && !response.body.includes(rule.contains)) {
      throw assertionFailed('CEIL_HTTP_BODY', `body does not contain ${JSON.stringify(rule.contains)}`, {
        path: 'body',
        expected: { contains: rule.contains },
        actual: excerpt(response.body, redact),
      });
    }
    if (rule.equals !== undefined && response.body !== rule.equals) {
      throw assertionFailed('CEIL_HTTP_BODY', `body is not exactly ${JSON.stringify(rule.equals)}`, {
        path: 'body',
        expected: rule.equals,
        actual: excerpt(response.body, redact),
      });
    }
    if (rule.regex !== undefined && !new RegExp(rule.regex).test(response.body)) {
      throw assertionFailed('CEIL_HTTP_BODY', `body does not match /${rule.regex}/`, {
        path: 'body',
        expected: { regex: rule.regex },
        actual: excerpt(response.body, redact),
      });
    }
  }
  if (expect.latency !== undefined) {
    made.checks++;
    const limit = durationMs(expect.latency);
    if (response.latencyMs > limit) {
      throw assertionFailed('CEIL_HTTP_LATENCY', `response took ${formatMs(response.latencyMs)}, above the ${expect.latency} limit`, {
        path: 'latency',
        expected: `< ${expect.latency}`,
        actual: formatMs(response.latencyMs),
      });
    }
  }
  return made.checks;
}

function captureOne(name: string, source: CaptureMap[string], response: HttpResponse, redact: Redact): unknown {
  if (typeof source === 'object') {
    const text = source.from && source.from !== 'body' ? (response.headers[source.from.replace(/^headers?\./, '').toLowerCase()] ?? '') : response.body;
    const match = new RegExp(source.regex).exec(text);
    if (!match) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: /${source.regex}/ found nothing`, { path: `capture.${name}` });
    const group = source.group ?? (match.length > 1 ? 1 : 0);
    const value = typeof group === 'number' ? match[group] : match.groups?.[group];
    if (value === undefined)
      throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: group ${group} of /${source.regex}/ is empty`, { path: `capture.${name}` });
    return value;
  }
  if (source === 'status') return response.status;
  if (source === 'body') return response.body;
  if (source === 'json') return parseJsonBody(response, redact);
  // json.items[0].id, and json[0].id for a body that is a list (as ws.expect reads it too).
  const jsonPath = /^json(?:\.(.+)|(\[.+))$/.exec(source);
  if (jsonPath) {
    const found = readValuePath(parseJsonBody(response, redact), jsonPath[1] ?? jsonPath[2]!);
    if (!found.found) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: the response has no ${source}`, { path: source });
    return found.value;
  }
  const header = /^headers?\.(.+)$/.exec(source);
  if (header) {
    const value = response.headers[header[1]!.toLowerCase()];
    if (value === undefined) throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: the response has no header ${header[1]}`, { path: source });
    return value;
  }
  throw new StepFailure('config', 'CEIL_CAPTURE_SOURCE', `capture ${name}: unknown source "${source}"`, {
    hint: 'use status, body, json, json.<path>, json[0].<path>, header.<name> or { regex, group }',
  });
}

export function captureFromResponse(capture: CaptureMap, response: HttpResponse, redact: Redact = keepText): Record<string, unknown> {
  const captured: Record<string, unknown> = {};
  for (const [name, source] of Object.entries(capture)) captured[name] = captureOne(name, source, response, redact);
  return captured;
}
