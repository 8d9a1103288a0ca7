import type { Socket } from 'node:net';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { StepFailure, assertionFailed } from '../../core/failure.js';
import { formatMs } from '../../journey/duration.js';
import { scopedSignal } from '../../core/deadline.js';
import type { HttpPhases } from '../../core/result.js';
import { VERSION } from '../../version.js';
import type { StepSpec } from '../../journey/schema.js';
import type { StepContext } from '../executor.js';
import { classifyNetworkError } from '../../core/network-errors.js';
import { byteLimit, readBody, type HttpResponse } from './response.js';
import { HopTimer, sumPhases, timed, watchSocket } from './timing.js';
import { takeUrlCredentials } from '../url-credentials.js';

type HttpSpec = StepSpec<'http'>;

const DEFAULT_MAX_REDIRECTS = 10;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** Credentials must not follow a redirect to another origin. */
const crossOriginDropped = ['authorization', 'cookie', 'proxy-authorization'];

interface Pool {
  agent: Agent;
  /** Sockets whose connect (TCP, TLS handshake) has not finished yet. */
  connecting: Set<Socket>;
}

/**
 * undici cannot cancel a connect in progress: a step aborted during a TLS
 * handshake that never completes leaves its socket open until undici's 10 s
 * connect timeout, and Agent.destroy() does not touch it, so the process hung
 * on after the run had reported. Sockets still connecting are tracked here so
 * closing the pool can cut them.
 */
function createPool(insecure: boolean): Pool {
  const connecting = new Set<Socket>();
  const base = buildConnector({ rejectUnauthorized: !insecure });
  const connect: buildConnector.connector = (options, callback) => {
    // Declared before the call: the callback can run synchronously, before the assignment below.
    let socket: Socket | undefined;
    // undici's connector returns the socket it opens, although its type says void.
    // eslint-disable-next-line prefer-const
    socket = (base as unknown as (o: typeof options, cb: typeof callback) => Socket | undefined)(options, (...args) => {
      if (socket) connecting.delete(socket);
      callback(...args);
    });
    if (socket && !socket.destroyed) {
      watchSocket(socket);
      connecting.add(socket);
      socket.once('close', () => connecting.delete(socket!));
    }
  };
  return { agent: new Agent({ connect, keepAliveTimeout: 4_000 }), connecting };
}

/** One connection pool per run and per TLS mode, closed when the run ends. */
function dispatcherFor(context: StepContext, insecure: boolean): Dispatcher {
  return context.resources.shared(
    insecure ? 'http:agent:insecure' : 'http:agent',
    () => createPool(insecure),
    async (pool) => {
      for (const socket of pool.connecting) socket.destroy();
      pool.connecting.clear();
      await pool.agent.destroy();
    },
  ).agent;
}

function buildUrl(spec: HttpSpec): URL {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new StepFailure('config', 'CEIL_HTTP_BAD_URL', `"${spec.url}" is not an absolute URL`, { hint: 'URLs start with http:// or https://' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StepFailure('config', 'CEIL_HTTP_BAD_URL', `unsupported protocol ${url.protocol} in ${spec.url}`, {
      hint: 'the http step takes http:// or https:// URLs',
    });
  }
  for (const [key, value] of Object.entries(spec.query ?? {})) url.searchParams.append(key, String(value));
  return url;
}

/** What every browser and most clients send; a journey's own headers win. */
const DEFAULT_HEADERS = { 'user-agent': `ceiling/${VERSION}`, 'accept-encoding': 'gzip, deflate, br' };

function buildHeadersAndBody(spec: HttpSpec, context: StepContext): { headers: Record<string, string>; body?: string } {
  const built = buildOwnHeadersAndBody(spec, context);
  // The journey's own headers go first, in its order; the defaults fill in what it left out.
  for (const [name, value] of Object.entries(DEFAULT_HEADERS)) built.headers[name] ??= value;
  // A journey that sends its own traceparent (to test the backend's handling of one) keeps it.
  if (context.traceparent !== undefined) built.headers.traceparent ??= context.traceparent;
  return built;
}

function buildOwnHeadersAndBody(spec: HttpSpec, context: StepContext): { headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (spec.auth?.basic) {
    const value = `Basic ${Buffer.from(`${spec.auth.basic.user}:${spec.auth.basic.password}`).toString('base64')}`;
    context.redactor.add(value, 'authorization');
    headers.authorization = value;
  }
  if (spec.auth?.bearer) {
    context.redactor.add(spec.auth.bearer, 'authorization');
    headers.authorization = `Bearer ${spec.auth.bearer}`;
  }
  if (spec.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    return { headers, body: JSON.stringify(spec.json) };
  }
  if (spec.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.form)) form.append(key, String(value));
    return { headers, body: form.toString() };
  }
  if (spec.body !== undefined) return { headers, body: spec.body };
  return { headers };
}

function maxRedirects(spec: HttpSpec): number {
  if (spec.followRedirects === false) return 0;
  if (typeof spec.followRedirects === 'number') return spec.followRedirects;
  return DEFAULT_MAX_REDIRECTS;
}

export interface SendOptions {
  /** expect.latency: the request is abandoned at this bound and fails as an assertion. */
  latencyLimit?: { ms: number; text: string };
}

/** Sends the request, following redirects by hand so credentials can be dropped across origins. */
export async function sendHttp(spec: HttpSpec, context: StepContext, options: SendOptions = {}): Promise<HttpResponse> {
  const hops: HttpPhases[] = [];
  const started = performance.now();
  const { latencyLimit } = options;
  const bound = latencyLimit
    ? scopedSignal(context.signal, latencyLimit.ms, () =>
        assertionFailed(
          'CEIL_HTTP_LATENCY',
          `no complete response within the ${latencyLimit.text} latency limit (waited ${formatMs(performance.now() - started)})`,
          {
            path: 'latency',
            expected: `< ${latencyLimit.text}`,
            actual: `> ${formatMs(performance.now() - started)}`,
          },
        ),
      )
    : undefined;
  try {
    return await sendHops(spec, context, bound?.signal ?? context.signal, hops, started);
  } finally {
    bound?.dispose();
    if (hops.length > 0) context.recordPhases?.(sumPhases(hops));
  }
}

async function sendHops(spec: HttpSpec, context: StepContext, signal: AbortSignal, hops: HttpPhases[], started: number): Promise<HttpResponse> {
  let url = buildUrl(spec);
  let method = spec.method ?? 'GET';
  let { headers, body } = buildHeadersAndBody(spec, context);
  takeUrlCredentials(url, headers, context.redactor);
  const limit = byteLimit(spec.maxBody);
  const hopLimit = maxRedirects(spec);
  const dispatcher = dispatcherFor(context, spec.insecure === true);
  for (let redirects = 0; ; redirects++) {
    const target = `${url.origin}${url.pathname}`;
    const hop = new HopTimer();
    let response: Dispatcher.ResponseData;
    try {
      try {
        const requestUrl = url;
        response = await timed(hop, () => request(requestUrl, { method, headers, body, dispatcher, signal }));
      } catch (error) {
        throw classifyNetworkError(error, signal, target);
      }
      hop.headersAt = performance.now();
      const location = response.headers.location;
      if (redirectStatuses.has(response.statusCode) && typeof location === 'string' && hopLimit > 0) {
        await response.body.dump().catch(() => undefined);
        hop.endedAt = performance.now();
        if (redirects >= hopLimit) {
          throw new StepFailure('protocol', 'CEIL_HTTP_TOO_MANY_REDIRECTS', `more than ${hopLimit} redirects starting from ${spec.url} (last: ${target})`, {
            hint: 'a redirect loop, or raise followRedirects on this step',
          });
        }
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !crossOriginDropped.includes(name)));
        }
        if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-type'));
        }
        url = next;
        continue;
      }
      const encoding = response.headers['content-encoding'];
      let text: string;
      try {
        text = await readBody(response.body, Array.isArray(encoding) ? encoding.join(', ') : encoding, limit, target);
      } catch (error) {
        response.body.on('error', () => undefined);
        response.body.destroy();
        throw classifyNetworkError(error, signal, target);
      }
      hop.endedAt = performance.now();
      const flatHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) flatHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      return {
        status: response.statusCode,
        headers: flatHeaders,
        body: text,
        contentType: flatHeaders['content-type'] ?? '',
        latencyMs: performance.now() - started,
        url: url.toString(),
        redirects,
      };
    } finally {
      hops.push(hop.phases());
    }
  }
}
