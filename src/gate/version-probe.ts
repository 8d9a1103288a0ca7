import { Agent, request } from 'undici';
import type { FailureCode } from '../core/failure-codes.js';
import type { FailureClass } from '../core/failure.js';
import { render, type TemplateScope } from '../journey/template.js';
import { readValuePath } from '../journey/value-path.js';
import { classifyNetworkError } from '../core/network-errors.js';
import { readCappedBody } from '../steps/http/response.js';
import type { VersionProbe } from './config.js';

/**
 * Asks a target which version it runs: one GET, then a JSON path, a header or
 * the trimmed body. A version page is small; anything bigger than 64 KiB is
 * not one.
 */

const VERSION_BODY_LIMIT = 64 * 1024;

export type VersionReading = { ok: true; version: string } | { ok: false; code: FailureCode; message: string; failureClass?: FailureClass };

export async function readTargetVersion(probe: VersionProbe, scope: TemplateScope, agent: Agent): Promise<VersionReading> {
  let url: string;
  try {
    url = render(probe.url, scope);
    new URL(url);
  } catch (error) {
    return { ok: false, code: 'CEIL_GATE_VERSION_URL', message: `the version URL cannot be built: ${(error as Error).message}` };
  }
  const signal = AbortSignal.timeout(probe.timeoutMs);
  try {
    const response = await request(url, { method: 'GET', dispatcher: agent, signal, headers: { accept: 'application/json, text/plain' } });
    const body = await readCappedBody(response.body, VERSION_BODY_LIMIT, url);
    if (response.statusCode < 200 || response.statusCode > 299) {
      return { ok: false, code: 'CEIL_GATE_VERSION_STATUS', message: `${url} answered ${response.statusCode}, not a version` };
    }
    if (probe.header !== undefined) {
      const value = response.headers[probe.header.toLowerCase()];
      const text = Array.isArray(value) ? value[0] : value;
      if (text === undefined || text.trim() === '') return { ok: false, code: 'CEIL_GATE_VERSION_MISSING', message: `${url} sent no ${probe.header} header` };
      return { ok: true, version: text.trim() };
    }
    if (probe.json !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { ok: false, code: 'CEIL_GATE_VERSION_NOT_JSON', message: `${url} did not answer JSON, so ${probe.json} cannot be read` };
      }
      const found = readValuePath(parsed, probe.json);
      if (!found.found || (typeof found.value !== 'string' && typeof found.value !== 'number')) {
        return { ok: false, code: 'CEIL_GATE_VERSION_MISSING', message: `${url} has no string at ${probe.json}` };
      }
      return { ok: true, version: String(found.value).trim() };
    }
    const text = body.trim();
    if (text === '' || text.length > 200) return { ok: false, code: 'CEIL_GATE_VERSION_MISSING', message: `${url} did not answer a version string` };
    return { ok: true, version: text };
  } catch (error) {
    if (signal.aborted)
      return { ok: false, code: 'CEIL_GATE_VERSION_TIMEOUT', message: `${url} did not answer within ${probe.timeoutMs} ms`, failureClass: 'timeout' };
    const failure = classifyNetworkError(error, signal, url);
    return { ok: false, code: failure.code, message: failure.message, failureClass: failure.failureClass };
  }
}
