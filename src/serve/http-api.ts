import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliveryRoutes, type DeliveryOptions } from './delivery-routes.js';
import { exactly, HttpProblem, readBody, send, sendJson, type Exchange, type Method, type Route } from './http-exchange.js';
import type { JourneyView, RunRecord } from './model.js';
import { parseTriggerBody, type TriggerRequest, type TriggerResult } from './trigger-request.js';
import { logSafe } from '../report/terminal-text.js';

/**
 * The daemon's HTTP surface: the status page, /metrics, /healthz and a small
 * JSON API. Reading never needs a token: Prometheus and people read it.
 *
 * Only POST /api/v1/run changes anything, and all it can do is start
 * journeys that are already loaded, now. A caller names journeys or a tag and
 * nothing else: no URLs, variables or files, so the token cannot be used to
 * make the daemon send arbitrary requests.
 */

export interface ApiDependencies {
  journeys(): JourneyView[];
  /** Newest runs of one journey (against one target with `target`); undefined when no journey has exactly that name. */
  runs(journey: string, options: { limit?: number; before?: number; target?: string }): RunRecord[] | undefined;
  trigger(request: TriggerRequest): TriggerResult;
  metrics(): Promise<{ contentType: string; body: string }>;
  health(): { ok: boolean; detail: Record<string, unknown> };
  statusPage(): string;
  /** Bearer token for POST /api/v1/run when configured. */
  token?: string;
  /** True only when no token is configured and the daemon listens on loopback. */
  allowAnonymousTrigger: boolean;
  /** Where a failing dependency is reported, once per failed request; defaults to stderr. */
  log?: (message: string) => void;
  /** The endpoints of progressive-delivery tools (Argo Rollouts, Flagger, Spinnaker); not served when absent. */
  delivery?: DeliveryOptions;
}

export const DEFAULT_RUNS_LIMIT = 100;
export const MAX_RUNS_LIMIT = 1000;

/** The page has no scripts and no external assets; this keeps it that way even if a journey name slipped through unescaped. */
const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const RUNS_PATH = /^\/api\/v1\/journeys\/([^/]+)\/runs$/;

export function createApiHandler(deps: ApiDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  const log = deps.log ?? ((message: string) => process.stderr.write(`${logSafe(message)}\n`));
  const tokenDigest = deps.token !== undefined ? digest(deps.token) : undefined;

  const routes: Route[] = [
    { match: exactly('/'), methods: { GET: (exchange) => sendHtml(exchange, deps.statusPage()) } },
    {
      match: exactly('/metrics'),
      methods: {
        GET: async (exchange) => {
          const { contentType, body } = await deps.metrics();
          send(exchange, 200, { 'content-type': contentType }, body);
        },
      },
    },
    {
      match: exactly('/healthz'),
      methods: {
        GET: (exchange) => {
          const { ok, detail } = deps.health();
          // The daemon may say more than ok or not (degraded, stopping); without a word of its own the code speaks.
          sendJson(exchange, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', ...detail });
        },
      },
    },
    { match: exactly('/api/v1/journeys'), methods: { GET: (exchange) => sendJson(exchange, 200, { journeys: deps.journeys() }) } },
    { match: (path) => RUNS_PATH.exec(path)?.slice(1), methods: { GET: (exchange, [encoded = '']) => listRuns(exchange, encoded) } },
    { match: exactly('/api/v1/run'), methods: { POST: (exchange) => triggerRuns(exchange) } },
  ];
  if (deps.delivery !== undefined) {
    routes.push(...deliveryRoutes({ ...deps.delivery, journeys: () => deps.journeys(), trigger: (request) => deps.trigger(request), authorizeTrigger }));
  }

  function listRuns(exchange: Exchange, encodedName: string): void {
    const name = decodeName(encodedName);
    const limit = integerParameter(exchange.query, 'limit', { min: 1, max: MAX_RUNS_LIMIT }) ?? DEFAULT_RUNS_LIMIT;
    const before = integerParameter(exchange.query, 'before', { min: 0, max: Number.MAX_SAFE_INTEGER });
    const target = exchange.query.get('target') ?? undefined;
    const runs = deps.runs(name, { limit, ...(before !== undefined ? { before } : {}), ...(target ? { target } : {}) });
    if (runs === undefined)
      throw new HttpProblem(404, `no journey is named ${JSON.stringify(name)}`, 'names match exactly, case included; GET /api/v1/journeys lists them');
    sendJson(exchange, 200, { journey: name, runs });
  }

  async function triggerRuns(exchange: Exchange): Promise<void> {
    authorizeTrigger(exchange.request);
    const request = parseTriggerBody(await readBody(exchange.request));
    const result = deps.trigger(request);
    const nothingMatched = result.started.length + result.queued.length + result.busy.length === 0;
    if (nothingMatched && result.unknown.length > 0) {
      throw new HttpProblem(
        404,
        `no loaded journey is named ${result.unknown.map((name) => JSON.stringify(name)).join(', ')}`,
        'names match exactly, case included; GET /api/v1/journeys lists them',
      );
    }
    if (nothingMatched && request.tag !== undefined) {
      throw new HttpProblem(404, `no loaded journey matches tag ${JSON.stringify(request.tag)}`, 'GET /api/v1/journeys lists each journey with its tags');
    }
    sendJson(exchange, 202, result);
  }

  function authorizeTrigger(request: IncomingMessage): void {
    if (tokenDigest !== undefined) {
      const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
      if (presented === undefined) {
        throw new HttpProblem(401, 'this endpoint needs "Authorization: Bearer <token>"', 'send the token the daemon was started with (--token-env)', {
          'www-authenticate': 'Bearer realm="ceiling"',
        });
      }
      // Digests have one length, so comparing them takes the same time whatever the token's length or content.
      if (!timingSafeEqual(digest(presented), tokenDigest)) {
        throw new HttpProblem(401, 'the bearer token is not the one the daemon was started with', undefined, {
          'www-authenticate': 'Bearer realm="ceiling", error="invalid_token"',
        });
      }
      return;
    }
    if (!deps.allowAnonymousTrigger) {
      throw new HttpProblem(
        403,
        'triggering runs is turned off: the daemon has no token and listens beyond loopback',
        'set a token (--token-env) to trigger runs on a non-loopback address',
      );
    }
    // Without a token, any web page the operator visits could otherwise POST here (cross-site, or through DNS rebinding).
    if (!isLoopbackHost(request.headers.host) || !isSameOrigin(request.headers.origin, request.headers.host)) {
      throw new HttpProblem(
        403,
        'without a token, runs can only be triggered from this machine, not from another site',
        'call it from the command line (curl -X POST http://127.0.0.1:PORT/api/v1/run), or set a token (--token-env)',
      );
    }
  }

  return (request, response) => {
    const method = request.method ?? 'GET';
    // The raw path, not a WHATWG-normalized one: `%2F` and `%2e%2e` inside a journey name must not change the route.
    const target = request.url ?? '/';
    const queryStart = target.indexOf('?');
    const rawPath = queryStart < 0 ? target : target.slice(0, queryStart);
    const exchange: Exchange = { request, response, method, query: new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1)) };

    const handled = (async () => {
      for (const route of routes) {
        const params = route.match(rawPath);
        if (params === undefined) continue;
        const routeMethod = method === 'HEAD' ? 'GET' : method;
        const handler = Object.hasOwn(route.methods, routeMethod) ? route.methods[routeMethod as Method] : undefined;
        if (handler === undefined) {
          const allowed = Object.keys(route.methods).flatMap((name) => (name === 'GET' ? ['GET', 'HEAD'] : [name]));
          throw new HttpProblem(405, `${method} is not allowed on ${rawPath}`, `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
        }
        await handler(exchange, params);
        return;
      }
      throw new HttpProblem(
        404,
        `nothing at ${rawPath}`,
        `try /, /metrics, /healthz, /api/v1/journeys, /api/v1/journeys/<name>/runs or POST /api/v1/run${deps.delivery !== undefined ? ', /api/v1/verdict, POST /api/v1/flagger or POST /api/v1/checks' : ''}`,
      );
    })();

    handled.catch((error: unknown) => {
      if (error instanceof HttpProblem) {
        sendJson(exchange, error.status, { error: error.message, ...(error.hint !== undefined ? { hint: error.hint } : {}) }, error.headers);
        return;
      }
      log(`ceiling serve: ${method} ${rawPath} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      sendJson(exchange, 500, { error: 'the daemon failed to answer this request', hint: 'the daemon log has the details' });
    });
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Decoded from the raw path, so an encoded slash or dot stays part of the name instead of changing the route. */
function decodeName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new HttpProblem(
      400,
      `the journey name in the path is not valid percent-encoding: ${encoded}`,
      'encode the name with encodeURIComponent (a space is %20, a slash %2F, a percent sign %25)',
    );
  }
}

function integerParameter(query: URLSearchParams, name: string, range: { min: number; max: number }): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    const expected = name === 'before' ? 'a time in epoch milliseconds' : `a whole number from ${range.min} to ${range.max}`;
    throw new HttpProblem(400, `${name} must be ${expected}, not ${JSON.stringify(text)}`);
  }
  return value;
}

function hostnameOf(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/** localhost, ::1 (bracketed or not) or 127.0.0.0/8: a name only this machine can reach. */
export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function isLoopbackHost(host: string | undefined): boolean {
  const hostname = host === undefined ? undefined : hostnameOf(host);
  return hostname !== undefined && isLoopbackHostname(hostname);
}

/** Browsers send Origin on cross-site POSTs; command-line clients send none. */
function isSameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function sendHtml(exchange: Exchange, html: string): void {
  send(exchange, 200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': STATUS_PAGE_CSP }, html);
}
