import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { CheckRegistry } from './check-registry.js';
import { VerdictCache, verdictFromViews, type JourneySelection, type ProbeVerdict } from './delivery-verdict.js';
import { exactly, HttpProblem, readBody, sendJson, type Exchange, type Route } from './http-exchange.js';
import type { JourneyView } from './model.js';
import { RevisionTracker } from './revision-tracker.js';
import { parseTriggerBody, type TriggerRequest, type TriggerResult } from './trigger-request.js';

/**
 * The endpoints progressive-delivery tools call, mounted by createApiHandler
 * next to the rest of the API (same JSON errors, body limit and token):
 *
 * - GET  /api/v1/verdict       Argo Rollouts' web metric: always 200, the verdict is in the body.
 * - POST /api/v1/flagger       Flagger's webhooks: 200 on pass, 412 with the reason otherwise.
 * - POST /api/v1/checks        Spinnaker's webhook stage: starts journeys, 202 with the status URL.
 * - GET  /api/v1/checks/ID     Its polling: RUNNING, then SUCCEEDED or TERMINAL.
 *
 * The first two only read the probes' latest results, so like every read they
 * need no token (Flagger cannot send headers anyway). Starting a check runs
 * journeys, so it is authorized exactly like POST /api/v1/run.
 */

export interface DeliveryOptions {
  /** Reported as `version` in every verdict. */
  version: string;
  /**
   * How long after a run started its result still counts (the daemon uses twice
   * the journey's interval plus its timeout). It also bounds how long a check
   * waits for a journey's next run.
   */
  freshWithinMs(view: JourneyView): number;
  /** Where callers reach the daemon (--public-url); status URLs are built on it, else on the request's Host. */
  publicUrl?: string;
  /** Defaults to Date.now. */
  now?: () => number;
}

export interface DeliveryDependencies extends DeliveryOptions {
  journeys(): JourneyView[];
  trigger(request: TriggerRequest): TriggerResult;
  /** Throws the HttpProblem that POST /api/v1/run would answer when this request may not start runs. */
  authorizeTrigger(request: IncomingMessage): void;
}

export const DELIVERY_PATHS = {
  verdict: '/api/v1/verdict',
  flagger: '/api/v1/flagger',
  checks: '/api/v1/checks',
} as const;

const CHECK_PATH = /^\/api\/v1\/checks\/([^/]+)$/;

const SELECTION_HINT =
  'select journeys with ?tag=critical (repeatable or comma-separated; any matches) or ?journey=NAME (repeatable), not both; with neither, every journey counts';
const FLAGGER_HINT =
  'Flagger sends {"name", "namespace", "phase", "checksum", "metadata"}; in metadata, set tag: "critical" (comma-separated for several) or journeys: "name one, name two"';

/**
 * Flagger's payload. Not strict: Flagger has added fields over time (phase,
 * checksum) and may add more; an unknown top-level field must not fail a
 * rollout. Metadata keys are checked below, since a misspelt one would
 * silently widen the selection.
 */
const flaggerPayload = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  phase: z.string().optional(),
  checksum: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

const FLAGGER_METADATA_KEYS = new Set(['tag', 'journeys']);
const VERDICT_QUERY_KEYS = new Set(['tag', 'journey']);

export function deliveryRoutes(deps: DeliveryDependencies): Route[] {
  const now = deps.now ?? Date.now;
  const verdicts = new VerdictCache();
  const revisions = new RevisionTracker();
  const checks = new CheckRegistry({
    now,
    journeys: () => deps.journeys(),
    trigger: (request) => deps.trigger(request),
    waitWithinMs: (view) => deps.freshWithinMs(view),
  });

  function verdictFor(select: JourneySelection, notBefore?: number): ProbeVerdict {
    const at = now();
    const key = JSON.stringify([select.journeys ?? null, select.tags ?? null, notBefore ?? null]);
    return verdicts.get(key, at, () =>
      verdictFromViews(deps.journeys(), {
        now: at,
        freshWithinMs: deps.freshWithinMs,
        version: deps.version,
        select,
        ...(notBefore !== undefined ? { notBefore } : {}),
      }),
    );
  }

  function argoVerdict(exchange: Exchange): void {
    // Always 200: Argo Rollouts counts any other status as a measurement error, not as a failed check.
    sendJson(exchange, 200, verdictFor(selectionFromQuery(exchange.query)));
  }

  async function flaggerVerdict(exchange: Exchange): Promise<void> {
    const payload = parseFlaggerPayload(await readBody(exchange.request));
    const select = selectionFromMetadata(payload.metadata ?? {});
    // Older Flagger versions send no checksum: no revision to track, though the freshness window still applies.
    const notBefore =
      payload.checksum === undefined || payload.checksum === '' ? undefined : revisions.since(`${payload.namespace}/${payload.name}`, payload.checksum, now());
    const { reason, ...verdict } = verdictFor(select, notBefore);
    const ok = verdict.verdict === 'pass';
    // Flagger reads only the status; it copies the body into its log and the canary's events, so the reason comes first.
    sendJson(exchange, ok ? 200 : 412, { ok, reason, ...verdict });
  }

  async function startCheck(exchange: Exchange): Promise<void> {
    deps.authorizeTrigger(exchange.request);
    const request = parseTriggerBody(await readBody(exchange.request));
    const outcome = checks.start(request);
    if (!outcome.started) throw nothingToCheck(request, outcome.result);
    const { id, ...report } = outcome.report;
    const statusUrl = checkUrl(exchange.request, id);
    sendJson(exchange, 202, { id, statusUrl, ...report }, { location: statusUrl });
  }

  function checkStatus(exchange: Exchange, id: string): void {
    const report = checks.status(id);
    if (report === undefined) {
      throw new HttpProblem(
        404,
        `no check has the id ${JSON.stringify(id)}`,
        'checks are kept for an hour after they start, and the newest 1000 at most; start another with POST /api/v1/checks',
      );
    }
    sendJson(exchange, 200, report);
  }

  /** Spinnaker calls the status URL as given, so it must be absolute. */
  function checkUrl(request: IncomingMessage, id: string): string {
    const path = `${DELIVERY_PATHS.checks}/${encodeURIComponent(id)}`;
    const base = deps.publicUrl ?? baseFromHost(request.headers.host);
    if (base === undefined) return path;
    return new URL(path.slice(1), base.endsWith('/') ? base : `${base}/`).href;
  }

  return [
    { match: exactly(DELIVERY_PATHS.verdict), methods: { GET: argoVerdict } },
    { match: exactly(DELIVERY_PATHS.flagger), methods: { POST: flaggerVerdict } },
    { match: exactly(DELIVERY_PATHS.checks), methods: { POST: startCheck } },
    { match: (path) => CHECK_PATH.exec(path)?.slice(1), methods: { GET: (exchange, [id = '']) => checkStatus(exchange, id) } },
  ];
}

function selectionFromQuery(query: URLSearchParams): JourneySelection {
  for (const key of query.keys()) {
    if (!VERDICT_QUERY_KEYS.has(key)) throw new HttpProblem(400, `${JSON.stringify(key)} is not a parameter of ${DELIVERY_PATHS.verdict}`, SELECTION_HINT);
  }
  const tags = query.getAll('tag').flatMap((value) => listItems(value, 'tag', SELECTION_HINT));
  const journeys = query.getAll('journey').map((value) => {
    if (value === '') throw new HttpProblem(400, 'journey= names no journey', SELECTION_HINT);
    return value;
  });
  return selectionOf(tags, journeys, SELECTION_HINT);
}

function selectionFromMetadata(metadata: Record<string, string>): JourneySelection {
  for (const key of Object.keys(metadata)) {
    if (!FLAGGER_METADATA_KEYS.has(key)) throw new HttpProblem(400, `metadata.${key} is not something ceiling reads`, FLAGGER_HINT);
  }
  const tags = metadata.tag === undefined ? [] : listItems(metadata.tag, 'metadata.tag', FLAGGER_HINT);
  const journeys = metadata.journeys === undefined ? [] : listItems(metadata.journeys, 'metadata.journeys', FLAGGER_HINT);
  return selectionOf(tags, journeys, FLAGGER_HINT);
}

/** Comma-separated, spaces around items ignored; an empty item is a mistake, not "everything". */
function listItems(text: string, field: string, hint: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new HttpProblem(400, `${field} has an empty item: ${JSON.stringify(text)}`, hint);
  return items;
}

function selectionOf(tags: string[], journeys: string[], hint: string): JourneySelection {
  if (tags.length > 0 && journeys.length > 0) throw new HttpProblem(400, 'select journeys by tag or by name, not both', hint);
  if (journeys.length > 0) return { journeys };
  if (tags.length > 0) return { tags };
  return {};
}

function parseFlaggerPayload(text: string): z.infer<typeof flaggerPayload> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpProblem(400, `the request body is not valid JSON: ${(error as Error).message}`, FLAGGER_HINT);
  }
  const parsed = flaggerPayload.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`);
    throw new HttpProblem(400, `the request body is not a Flagger webhook payload: ${problems.join('; ')}`, FLAGGER_HINT);
  }
  return parsed.data;
}

function nothingToCheck(request: TriggerRequest, result: TriggerResult): HttpProblem {
  if (result.unknown.length > 0) {
    return new HttpProblem(
      404,
      `no loaded journey is named ${result.unknown.map((name) => JSON.stringify(name)).join(', ')}`,
      'names match exactly, case included; GET /api/v1/journeys lists them',
    );
  }
  if (request.tag !== undefined)
    return new HttpProblem(404, `no loaded journey matches tag ${JSON.stringify(request.tag)}`, 'GET /api/v1/journeys lists each journey with its tags');
  return new HttpProblem(404, 'no journeys are loaded, so there is nothing to check');
}

/** The scheme is a guess (TLS may end at a proxy); set --public-url when it is wrong. */
function baseFromHost(host: string | undefined): string | undefined {
  // Only host[:port]: credentials or a path in a Host header are not worth echoing.
  if (host === undefined || !/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).origin;
  } catch {
    return undefined;
  }
}
