import { z } from 'zod';
import { browserStepSpecs } from './browser-schema.js';
import { parseDuration } from './duration.js';

/**
 * The journey language, as zod 4 strict schemas. Every object is strict, so a
 * typo is an error with a position, never a silently ignored key.
 */

/** parseDuration's reason for a bare number (which also covers 0 and negatives). */
function unitlessDuration(input: number): string {
  const parsed = parseDuration(input);
  return parsed.ok ? 'expected a duration such as "500ms", "2s" or "1m"' : parsed.reason;
}

export const duration = z
  .string({
    error: (issue) => (typeof issue.input === 'number' ? unitlessDuration(issue.input) : 'expected a duration such as "500ms", "2s" or "1m"'),
  })
  .superRefine((text, ctx) => {
    if (text.includes('{{')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}": this duration is fixed when the file loads, before any var exists, so it cannot be a template; write one such as "30s"`,
      });
      return;
    }
    const parsed = parseDuration(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  })
  .meta({ description: 'A duration with a unit: ms, s, m or h (e.g. "500ms", "2s", "1m").', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' });

/**
 * A duration that may be a template (`"{{ vars.t }}"`), rendered when the
 * step runs and checked then (CEIL_TEMPLATE_DURATION). Only for step fields:
 * a journey's own timeout bounds the rendering of its vars, so it stays literal.
 */
export const templatedDuration = z
  .string({
    error: (issue) => (typeof issue.input === 'number' ? unitlessDuration(issue.input) : 'expected a duration such as "500ms", "2s" or "1m"'),
  })
  .superRefine((text, ctx) => {
    if (text.includes('{{')) return;
    const parsed = parseDuration(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  })
  .meta({ description: 'A duration with a unit (e.g. "500ms", "2s"), or a template that renders to one (e.g. "{{ vars.wait }}").' });

const byteSize = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|KB|MB|GB)$/, 'expected a size such as "512KiB" or "4MiB"')])
  .meta({ description: 'A byte count, or a size with a unit such as "4MiB".' });

/** A templated string, or any JSON value inside which strings are templated. */
const templated = z.string();
const json = z.unknown().meta({ description: 'Any JSON value; strings may hold {{ templates }}; objects match as subsets.' });
const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

const statusExpectation = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$/, 'expected a status class such as "2xx"'),
  z.array(z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]xx$/)])).min(1),
]);

const textExpectation = z.union([z.string(), z.strictObject({ contains: z.string().optional(), regex: z.string().optional(), equals: z.string().optional() })]);

export const httpExpect = z.strictObject({
  status: statusExpectation.optional(),
  headers: z.record(z.string(), json).optional(),
  json: json.optional(),
  body: textExpectation.optional(),
  latency: templatedDuration.optional(),
});

const captureSource = z.union([
  z.string().meta({ description: 'json, json.<path>, header.<name>, status, body or text' }),
  z.strictObject({ regex: z.string(), group: z.union([z.number().int().min(0), z.string()]).optional(), from: z.string().optional() }),
]);
export const captureMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'capture names are identifiers'), captureSource);

const httpRequest = z
  .strictObject({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional(),
    url: templated,
    headers: stringMap.optional(),
    query: stringMap.optional(),
    json: json.optional(),
    body: z.string().optional(),
    form: stringMap.optional(),
    auth: z.strictObject({ basic: z.strictObject({ user: z.string(), password: z.string() }).optional(), bearer: z.string().optional() }).optional(),
    followRedirects: z.union([z.boolean(), z.number().int().min(0).max(20)]).optional(),
    insecure: z.boolean().optional(),
    maxBody: byteSize.optional(),
  })
  .superRefine((request, ctx) => {
    const bodies = (['json', 'body', 'form'] as const).filter((key) => request[key] !== undefined);
    if (bodies.length > 1) {
      ctx.addIssue({ code: 'custom', path: [bodies[1]!], message: `use only one of json, body or form (found ${bodies.join(' and ')})` });
    }
  });

const wsMessageMatch = {
  json: json.optional(),
  text: z.string().optional(),
  regex: z.string().optional(),
};

const autoReply = z.strictObject({
  when: z.strictObject({ text: z.string().optional(), regex: z.string().optional(), json: json.optional() }),
  send: z.strictObject({ text: z.string().optional(), json: json.optional() }),
});

const actorName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'actor names are identifiers such as alice');

const wsConnect = z.strictObject({
  as: actorName,
  url: templated,
  headers: stringMap.optional(),
  query: stringMap.optional(),
  protocols: z.union([z.string(), z.array(z.string())]).optional(),
  handshakeTimeout: templatedDuration.optional(),
  insecure: z.boolean().optional(),
  autoReply: z.array(autoReply).optional(),
});
const wsSend = z.strictObject({ as: actorName, json: json.optional(), text: z.string().optional() });
const wsExpect = z.strictObject({ as: actorName, ...wsMessageMatch, within: templatedDuration.optional(), capture: captureMap.optional() });
const wsExpectNone = z.strictObject({ as: actorName, ...wsMessageMatch, for: templatedDuration });
const wsClose = z.strictObject({ as: actorName, code: z.number().int().min(1000).max(4999).optional(), reason: z.string().optional() });
const wsActorOnly = z.strictObject({ as: actorName });
const wsExpectClosed = z.strictObject({ as: actorName, code: z.number().int().optional(), within: templatedDuration.optional() });

const assertSpec = z.union([
  z.strictObject({ value: json, equals: json.optional(), matches: json.optional() }),
  z.array(z.strictObject({ value: json, equals: json.optional(), matches: json.optional() })).min(1),
]);

const browserSpecs = browserStepSpecs(templatedDuration);

/**
 * The closed list of step kinds: the key is the action key in YAML. `expect`
 * and `capture` say which envelope keys the step may carry besides name and
 * timeout. The executors registry is checked against this list by the compiler.
 */
export const stepSpecs = {
  http: { spec: httpRequest, expect: httpExpect, capture: true, asserts: 'expect' },
  'ws.connect': { spec: wsConnect, expect: null, capture: false, asserts: 'never' },
  'ws.send': { spec: wsSend, expect: null, capture: false, asserts: 'never' },
  'ws.expect': { spec: wsExpect, expect: null, capture: false, asserts: 'always' },
  'ws.expectNone': { spec: wsExpectNone, expect: null, capture: false, asserts: 'always' },
  'ws.close': { spec: wsClose, expect: null, capture: false, asserts: 'never' },
  'ws.drop': { spec: wsActorOnly, expect: null, capture: false, asserts: 'never' },
  'ws.ghost': { spec: wsActorOnly, expect: null, capture: false, asserts: 'never' },
  'ws.expectClosed': { spec: wsExpectClosed, expect: null, capture: false, asserts: 'always' },
  wait: { spec: templatedDuration, expect: null, capture: false, asserts: 'never' },
  assert: { spec: assertSpec, expect: null, capture: false, asserts: 'always' },
  set: { spec: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), json), expect: null, capture: false, asserts: 'never' },
  'browser.open': { spec: browserSpecs['browser.open'], expect: null, capture: false, asserts: 'never' },
  'browser.goto': { spec: browserSpecs['browser.goto'], expect: null, capture: false, asserts: 'never' },
  'browser.reload': { spec: browserSpecs['browser.reload'], expect: null, capture: false, asserts: 'never' },
  'browser.click': { spec: browserSpecs['browser.click'], expect: null, capture: false, asserts: 'never' },
  'browser.fill': { spec: browserSpecs['browser.fill'], expect: null, capture: false, asserts: 'never' },
  'browser.select': { spec: browserSpecs['browser.select'], expect: null, capture: false, asserts: 'never' },
  'browser.check': { spec: browserSpecs['browser.check'], expect: null, capture: false, asserts: 'never' },
  'browser.press': { spec: browserSpecs['browser.press'], expect: null, capture: false, asserts: 'never' },
  'browser.waitFor': { spec: browserSpecs['browser.waitFor'], expect: null, capture: true, asserts: 'never' },
  'browser.screenshot': { spec: browserSpecs['browser.screenshot'], expect: null, capture: false, asserts: 'never' },
  'browser.expectText': { spec: browserSpecs['browser.expectText'], expect: null, capture: true, asserts: 'always' },
  'browser.expectVisible': { spec: browserSpecs['browser.expectVisible'], expect: null, capture: true, asserts: 'always' },
  'browser.expectHidden': { spec: browserSpecs['browser.expectHidden'], expect: null, capture: false, asserts: 'always' },
  'browser.expectUrl': { spec: browserSpecs['browser.expectUrl'], expect: null, capture: false, asserts: 'always' },
  'browser.expectTitle': { spec: browserSpecs['browser.expectTitle'], expect: null, capture: false, asserts: 'always' },
} as const;

export type StepKind = keyof typeof stepSpecs;
export const stepKinds = Object.keys(stepSpecs) as StepKind[];
export type StepSpec<K extends StepKind> = z.infer<(typeof stepSpecs)[K]['spec']>;
export type HttpExpect = z.infer<typeof httpExpect>;
export type CaptureMap = z.infer<typeof captureMap>;

/** Keys every step may carry next to its single action key. */
export const envelopeKeys = ['name', 'timeout', 'expect', 'capture', 'until'] as const;

/** The steps that may poll with until: repeating them can change the outcome. */
export const untilKinds: ReadonlySet<StepKind> = new Set<StepKind>(['http', 'assert']);

export const untilSpec = z
  .strictObject({
    every: duration.meta({ description: 'The pause between attempts, e.g. "500ms".' }),
    attempts: z
      .number({ error: 'attempts is a whole number of tries, at least 1' })
      .int('attempts is a whole number of tries, at least 1')
      .min(1, 'attempts is at least 1 (the first try counts)')
      .optional(),
  })
  .meta({
    description:
      "Repeat the step until its expectation holds: every is the pause between tries, attempts an optional cap; the step's timeout and the journey's deadline bound it too.",
  });
export type UntilSpec = z.infer<typeof untilSpec>;

function buildStepEnvelopeSchema(kind: StepKind) {
  const entry = stepSpecs[kind];
  return z.strictObject({
    name: z.string().min(1).optional(),
    timeout: templatedDuration.optional(),
    [kind]: entry.spec,
    ...(entry.expect ? { expect: entry.expect.optional() } : {}),
    ...(entry.capture ? { capture: captureMap.optional() } : {}),
    ...(untilKinds.has(kind) ? { until: untilSpec.optional() } : {}),
  });
}

const envelopeSchemas = new Map<StepKind, ReturnType<typeof buildStepEnvelopeSchema>>();

/** Built once per kind: constructing zod schemas costs far more than using them. */
export function stepEnvelopeSchema(kind: StepKind) {
  let schema = envelopeSchemas.get(kind);
  if (!schema) {
    schema = buildStepEnvelopeSchema(kind);
    envelopeSchemas.set(kind, schema);
  }
  return schema;
}

const ianaZone = z.string().min(1).meta({ description: 'An IANA time zone such as "Europe/Berlin"; the cron fields are read in it.' });

/** When `ceiling serve` runs the journey: a fixed interval or a cron expression, with optional jitter. */
export const scheduleSpec = z
  .strictObject({
    every: duration.optional().meta({ description: 'Run at this interval, e.g. "1m".' }),
    cron: z.string().min(1).optional().meta({ description: 'A cron expression such as "*/5 * * * *" (five or six fields).' }),
    timezone: ianaZone.optional(),
    jitter: duration.optional().meta({ description: 'Delay each start by a random amount up to this, to spread load.' }),
  })
  .superRefine((spec, ctx) => {
    if (spec.every !== undefined && spec.cron !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'a schedule takes either every or cron, not both; remove one' });
    } else if (spec.every === undefined && spec.cron === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a schedule needs every (e.g. every: 1m) or cron (e.g. cron: "*/5 * * * *")' });
    } else if (spec.timezone !== undefined && spec.cron === undefined) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone applies to cron schedules only; an interval runs the same in every zone' });
    }
  })
  .meta({
    description:
      'When ceiling serve runs this journey: { every: 1m } or { cron: "*/5 * * * *", timezone: Europe/Berlin }; jitter delays each start by up to that much.',
  });

export type ScheduleSpec = z.infer<typeof scheduleSpec>;

/** How the journey takes part in OpenTelemetry tracing (--otlp-endpoint); inert while tracing is off. */
export const traceSpec = z
  .strictObject({
    propagate: z.boolean().optional().meta({
      description: "Send a W3C traceparent header with the journey's requests, WebSocket upgrades and page loads (default true); false keeps them as they are.",
    }),
  })
  .meta({ description: 'OpenTelemetry tracing of this journey; { propagate: false } sends no traceparent header to the target.' });

export const journeyHeader = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1, 'a journey needs a name'),
  description: z.string().optional(),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'tags are words such as critical or chat')).optional(),
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'var names are identifiers'), json).optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(0).max(10).optional(),
  schedule: scheduleSpec.optional(),
  trace: traceSpec.optional(),
  steps: z.array(z.unknown()).min(1, 'a journey needs at least one step'),
  finally: z
    .array(z.unknown())
    .min(1, 'finally needs at least one step; remove it if there is nothing to clean up')
    .optional()
    .meta({ description: 'Cleanup steps that run after the steps whatever happened (pass, failure, timeout, interrupt).' }),
  finallyTimeout: duration.optional().meta({ description: "The finally steps' own budget, apart from the journey's timeout (default 10s)." }),
});

export type JourneyHeader = z.infer<typeof journeyHeader>;

/** The whole language as one schema, for `ceiling schema` and editors. */
export function journeyJsonSchema(): unknown {
  const steps = stepKinds.map((kind) => stepEnvelopeSchema(kind));
  const step = z.union(steps as unknown as [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]);
  const full = journeyHeader.extend({
    steps: z.array(step).min(1),
    finally: z
      .array(step)
      .min(1)
      .optional()
      .meta({ description: 'Cleanup steps that run after the steps whatever happened (pass, failure, timeout, interrupt).' }),
  });
  return z.toJSONSchema(full, { unrepresentable: 'any', io: 'input' });
}
