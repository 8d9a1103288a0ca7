import { z } from 'zod';
import { DISCOVERY_SCHEMES, parseDnsServer } from '../discovery/index.js';
import { durationMs, parseDuration } from '../journey/duration.js';
import { duration } from '../journey/schema.js';

/**
 * The project config `ceiling.yaml` as zod 4 strict schemas. Every object is
 * strict, so a typo is an error with a position and a did-you-mean, never a
 * key that is silently ignored while the gate runs with its default.
 * config.ts turns what this accepts into a ProjectConfig.
 */

/** Target names end up as metric labels, file names and CI annotations: keep them to a safe alphabet. */
export const TARGET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const TARGET_NAME_RULE = 'a target name starts with a letter or digit and holds only letters, digits, "_", "." and "-" (it becomes a metric label)';

/** The same rule as journey vars: templates reach them as `vars.NAME`. */
const VAR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Dots and brackets, as readValuePath reads them: `version`, `build.version`, `items[0].v`, `data["odd key"]`. */
const NAME_SEGMENT = String.raw`[^.[\]"']+`;
const INDEX_SEGMENT = String.raw`\[\d+\]|\["[^"]*"\]|\['[^']*'\]`;
export const VALUE_PATH_PATTERN = new RegExp(`^(?:${NAME_SEGMENT}|${INDEX_SEGMENT})(?:\\.${NAME_SEGMENT}|${INDEX_SEGMENT})*$`);

/** RFC 9110 token characters: what a header name may hold. */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const ZERO_DURATION = /^0+(?:\.0+)?(?:ms|s|m|h)$/;

/**
 * A duration that may also be zero: `bake: 0s` means a single round and no
 * bake window. Zero still needs a unit, for the same reason every duration does.
 */
export const durationOrZero = z
  .string({
    error: (issue) =>
      issue.input === 0
        ? 'write zero with a unit: "0s" (a single round, no bake window)'
        : typeof issue.input === 'number'
          ? `duration ${issue.input} has no unit; write it as "${issue.input}s" or "${issue.input}m"`
          : 'expected a duration such as "0s", "30s" or "10m"',
  })
  .superRefine((text, ctx) => {
    if (ZERO_DURATION.test(text.trim())) return;
    const parsed = parseDuration(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  })
  .meta({ description: 'A duration with a unit: ms, s, m or h (e.g. "30s", "10m"); "0s" is allowed.', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' });

/** Milliseconds for a value durationOrZero accepted. */
export const durationOrZeroMs = (text: string): number => (ZERO_DURATION.test(text.trim()) ? 0 : durationMs(text));

const PERCENT_PATTERN = /^(\d+(?:\.\d+)?)\s*%$/;

/**
 * The smallest slowdown that counts as a regression. A bare number above 1 is
 * refused: `minEffect: 20` almost always means 20 %, and read as a fraction
 * it would be 2000 %, a gate that never sees a regression.
 */
export const minEffect = z
  .union(
    [
      z
        .number()
        .min(0, 'minEffect cannot be negative; write a slowdown such as "20%" or 0.2')
        .max(1, 'a bare number is a fraction (0.2 = 20 % slower); for 20 % write "20%" or 0.2, and write more than 100 % as a percentage such as "150%"'),
      z.string().regex(PERCENT_PATTERN, 'expected a percentage such as "20%" or a fraction such as 0.2'),
    ],
    { error: 'expected a percentage such as "20%" or a fraction such as 0.2' },
  )
  .meta({ description: 'The smallest slowdown of a step\'s median latency that counts as a regression: "20%" or 0.2.' });

/** "20%" → 0.2; 0.2 → 0.2. Only for values minEffect accepted. */
export function minEffectFraction(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = PERCENT_PATTERN.exec(value);
  if (!match) throw new Error(`minEffect "${value}" was not validated`);
  return Number(match[1]) / 100;
}

export const DEFAULT_VERSION_TIMEOUT_MS = 5_000;

export const versionProbeSchema = z
  .strictObject({
    url: z
      .string({ error: 'expected the URL to ask for the version, e.g. "{{ vars.baseUrl }}/version"' })
      .min(1, 'the version URL is empty; write e.g. "{{ vars.baseUrl }}/version"')
      .meta({ description: 'The URL that answers the version; templated with the target\'s vars, e.g. "{{ vars.baseUrl }}/version".' }),
    json: z
      .string()
      .regex(VALUE_PATH_PATTERN, 'expected a path into the JSON body such as version, build.version or items[0].v')
      .optional()
      .meta({ description: 'Read the version from this path in the JSON body: version, build.version, items[0].v.' }),
    header: z
      .string()
      .regex(HEADER_NAME_PATTERN, 'expected a header name such as x-app-version')
      .optional()
      .meta({ description: 'Read the version from this response header.' }),
    timeout: duration.optional().meta({ description: 'How long to wait for the answer; 5s when absent.' }),
  })
  .superRefine((probe, ctx) => {
    if (probe.json !== undefined && probe.header !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: 'a version probe reads either json or header, not both; remove one (with neither, the whole body is the version)',
      });
    }
  })
  .meta({ description: "How to read a target's version: GET url, then the json path, the header, or (with neither) the whole body trimmed." });

/** A DNS name as a resolver takes it: labels of letters, digits, "_" and "-" (SRV names start with _service._proto). */
const DNS_NAME_PATTERN = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const dnsName = (example: string) =>
  z
    .string({ error: `expected a DNS name such as ${example}` })
    .regex(DNS_NAME_PATTERN, `expected a DNS name such as ${example}: dot-separated labels of letters, digits, "_" and "-"`);

const DISCOVERY_SOURCES = ['srv', 'dns', 'command'] as const;

/** One source per group: two would make "expected 8, found 7" ambiguous about where the 7 came from. */
export const discoverSchema = z
  .strictObject({
    srv: dnsName('_http._tcp.web.prod.svc.cluster.local')
      .optional()
      .meta({ description: 'Find instances in SRV records (host and port each); the hosts are resolved to their A/AAAA addresses.' }),
    dns: dnsName('web.internal').optional().meta({ description: 'Find instances as every A/AAAA address of this name; needs port.' }),
    command: z
      .array(z.string().min(1, 'an argument may not be empty'), {
        error: (issue) =>
          typeof issue.input === 'string' ? `write it as a list: ["${issue.input}"]; it runs without a shell` : 'expected a command as a list: [cmd, arg, …]',
      })
      .min(1, 'command needs a program, e.g. ["./list-instances.sh"]')
      .optional()
      .meta({
        description:
          "An argv run without a shell that prints a JSON list of {name?, url, ...vars}; a relative program (./x) is resolved against this file's folder.",
      }),
    port: z
      .number({
        error: (issue) =>
          typeof issue.input === 'string' && /^\d+$/.test(issue.input)
            ? `port is a number; write ${issue.input} without quotes`
            : 'port is a number from 1 to 65535, e.g. 8080',
      })
      .int('port is a whole number from 1 to 65535')
      .min(1, 'port is a number from 1 to 65535, e.g. 8080')
      .max(65_535, 'port is a number from 1 to 65535, e.g. 8080')
      .optional()
      .meta({ description: 'The port of every address a dns source finds.' }),
    scheme: z
      .enum(DISCOVERY_SCHEMES, { error: `scheme is one of ${DISCOVERY_SCHEMES.join(', ')}` })
      .optional()
      .meta({ description: 'The scheme of target.url for srv and dns sources; http when absent.' }),
    resolver: z
      .string({ error: 'expected a DNS server as HOST:PORT, e.g. "10.96.0.10:53"' })
      .refine(
        (text) => parseDnsServer(text) !== undefined,
        'expected a DNS server as an IP address and port: "10.96.0.10:53", "[fd00::10]:53", or an address alone for port 53',
      )
      .optional()
      .meta({ description: "The DNS server to ask, as HOST:PORT; the system's DNS servers when absent." }),
    timeout: duration.optional().meta({
      description: 'How long one discovery may take: every DNS query, or the command from start to exit; 5s for DNS and 10s for a command when absent.',
    }),
    every: duration.optional().meta({ description: 'How often serve discovers again; 30s when absent.' }),
  })
  .superRefine((discover, ctx) => {
    const sources = DISCOVERY_SOURCES.filter((source) => discover[source] !== undefined);
    if (sources.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'discover needs one source: srv, dns or command, e.g. { srv: _http._tcp.web.prod.svc.cluster.local }',
      });
      return;
    }
    if (sources.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [sources[1]!],
        message: `a discover has one source, and this one has ${sources.join(' and ')}; keep one, or declare a second target group for the other`,
      });
      return;
    }
    const source = sources[0]!;
    if (source === 'dns' && discover.port === undefined)
      ctx.addIssue({ code: 'custom', path: ['dns'], message: 'a dns source needs port: the port every address serves, e.g. port: 8080' });
    if (source === 'srv' && discover.port !== undefined)
      ctx.addIssue({ code: 'custom', path: ['port'], message: "SRV records carry each instance's port; remove port" });
    if (source === 'command') {
      for (const key of ['port', 'scheme', 'resolver'] as const) {
        if (discover[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `a command prints each instance's URL, which carries its ${key === 'resolver' ? 'address' : key}; remove ${key}`,
          });
      }
    }
  })
  .meta({
    description:
      "Find this group's instances instead of listing them: exactly one of srv, dns or command. Each instance becomes a target named GROUP/ADDRESS:PORT (or GROUP/NAME from a command).",
  });

const fleetCount = (key: 'count' | 'min') =>
  z
    .number({ error: `${key} is a whole number of instances, e.g. ${key}: 8` })
    .int(`${key} is a whole number of instances`)
    .min(1, `${key} needs at least 1: a fleet of none is a lookup that failed, which the gate already calls inconclusive`);

export const fleetExpectationSchema = z
  .strictObject({
    count: fleetCount('count').optional().meta({ description: 'Exactly this many instances: fewer or more fails the gate.' }),
    min: fleetCount('min').optional().meta({ description: 'At least this many instances: fewer fails the gate.' }),
  })
  .superRefine((expect, ctx) => {
    if (expect.count !== undefined && expect.min !== undefined)
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'expect either count (exactly) or min (at least), not both' });
    else if (expect.count === undefined && expect.min === undefined)
      ctx.addIssue({ code: 'custom', path: [], message: 'expect needs count or min, e.g. expect: { count: 8 }' });
  })
  .meta({ description: 'The fleet size a discovery must find: { count: N } or { min: N }.' });

const targetSchema = z
  .strictObject({
    vars: z
      .record(
        z.string().regex(VAR_NAME_PATTERN, 'var names are identifiers such as baseUrl or chat_http'),
        z.string({
          error: (issue) =>
            typeof issue.input === 'number' || typeof issue.input === 'boolean'
              ? `var values are strings; quote it: "${String(issue.input)}"`
              : 'var values are strings',
        }),
      )
      .optional()
      .meta({ description: "Vars this target sets for every journey; they win over the journey's own vars." }),
    version: versionProbeSchema.optional().meta({ description: "This target's own version probe, instead of the top-level one." }),
    discover: discoverSchema.optional(),
    expect: fleetExpectationSchema.optional(),
  })
  .superRefine((target, ctx) => {
    if (target.expect !== undefined && target.discover === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expect'], message: 'expect is for discovered targets (with discover); a static target is one instance' });
    }
  })
  .meta({
    description:
      'A named instance the gate runs every journey against, or with discover a group of instances found in DNS or by a command; vars may then use {{ target.url }}, target.host, target.port and target.name.',
  });

const urlList = (what: string) =>
  z.array(
    z.string().refine((text) => {
      try {
        const url = new URL(text);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    }, `expected an http or https URL for ${what}, e.g. https://hooks.example.com/ceiling`),
    { error: (issue) => (typeof issue.input === 'string' ? `write it as a list: ["${issue.input}"]` : 'expected a list of URLs') },
  );

/** Why onFail must be a list: the argv runs as-is, with no shell to split words, expand globs or interpret quotes. */
const onFailSchema = z
  .array(z.string().min(1, 'an argument may not be empty'), {
    error: (issue) => {
      if (typeof issue.input !== 'string') return 'expected a command as a list: [cmd, arg, …]';
      const words = issue.input
        .trim()
        .split(/\s+/)
        .filter((word) => word !== '');
      return `write it as a list: [cmd, arg, …]; it runs without a shell, e.g. onFail: [${words.map((word) => JSON.stringify(word)).join(', ')}]`;
    },
  })
  .min(1, 'onFail needs a command, e.g. ["./scripts/rollback.sh", "--to", "previous"]')
  .meta({ description: 'The rollback command as an argv list, run without a shell when the gate fails, e.g. ["./scripts/rollback.sh", "--to", "previous"].' });

export const gatePolicySchema = z
  .strictObject({
    bake: durationOrZero.optional().meta({ description: 'How long to keep running rounds after the first; "0s" is a single round.' }),
    every: duration.optional().meta({ description: 'The time between the starts of two rounds, e.g. "30s".' }),
    cleanRounds: z
      .number()
      .int('cleanRounds is a whole number of rounds')
      .min(1, 'cleanRounds needs at least 1: the number of clean rounds in a row that pass the gate')
      .optional()
      .meta({ description: 'K: clean rounds in a row that the gate needs to pass.' }),
    confidence: z
      .number()
      .gt(0.5, 'confidence is a probability above 0.5 and below 1, e.g. 0.95')
      .lt(1, 'confidence is a probability above 0.5 and below 1, e.g. 0.95')
      .optional()
      .meta({ description: 'How sure the Mann–Whitney U test must be that a step got slower, e.g. 0.95.' }),
    minEffect: minEffect.optional(),
    failOnFlaky: z.boolean().optional().meta({ description: 'Count a journey that passed only on retry as a failure.' }),
    onFail: onFailSchema.optional(),
    recoverWithin: duration.optional().meta({ description: 'After a rollback, how long to wait for every target to be green again.' }),
  })
  .meta({ description: 'The gate policy; command-line flags override each field.' });

/** Prometheus label names; the Pushgateway reads grouping labels from the URL path, so values may not hold "/". */
export const PROMETHEUS_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const pushgatewaySchema = z
  .strictObject({
    url: urlList('the Pushgateway').element.optional().meta({ description: 'The Pushgateway, e.g. http://pushgateway:9091; --pushgateway overrides it.' }),
    job: z
      .string()
      .regex(/^[^/]+$/, 'a job name is non-empty and holds no "/"')
      .optional()
      .meta({ description: 'The job the verdict is pushed under; ceiling_gate when absent.' }),
    labels: z
      .record(
        z.string().regex(PROMETHEUS_LABEL_NAME, 'grouping label names are Prometheus label names: letters, digits and _'),
        z.string().regex(/^[^/]+$/, 'a grouping label value is non-empty and holds no "/"'),
      )
      .optional()
      .meta({ description: "Grouping labels, e.g. { environment: production }: gates with different labels do not overwrite each other's metrics." }),
  })
  .meta({ description: 'Where and under which grouping the gate pushes its verdict.' });

export const projectConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    journeys: z
      .array(z.string().min(1, 'a journey path may not be empty'), {
        error: (issue) => (typeof issue.input === 'string' ? `write it as a list: ["${issue.input}"]` : 'expected a list of journey files or folders'),
      })
      .min(1, 'list at least one journey file or folder, or leave journeys out for [journeys]')
      .optional()
      .meta({ description: "Journey files and folders, relative to this file's folder; [journeys] when absent." }),
    targets: z
      .record(z.string().regex(TARGET_NAME_PATTERN, TARGET_NAME_RULE), targetSchema)
      .refine((targets) => Object.keys(targets).length > 0, 'declare at least one target, e.g. targets: { prod: { vars: { baseUrl: "https://example.com" } } }')
      .optional()
      .meta({
        description:
          'The instances to gate, by name; every selected journey runs against each one. gate and drill need at least one; run uses one with --target.',
        minProperties: 1,
      }),
    version: versionProbeSchema.optional(),
    defaults: z
      .strictObject({
        concurrency: z.number().int('concurrency is a whole number').min(1, 'concurrency needs at least 1').optional(),
        timeout: duration.optional().meta({ description: "Each journey attempt's deadline (a retry gets its own), overriding the files." }),
        retries: z.number().int('retries is a whole number').min(0, 'retries cannot be negative').max(10, 'at most 10 retries').optional(),
      })
      .optional()
      .meta({ description: 'Run settings; command-line flags override them.' }),
    reporters: z.array(z.string()).optional().meta({
      description:
        "Reporters as for --reporter: console, json, json=PATH, junit, junit=PATH, html, html=PATH (run only); paths are relative to this file's folder.",
    }),
    notify: z
      .strictObject({
        webhooks: urlList('a webhook').optional().meta({ description: 'URLs that receive the verdict as JSON.' }),
        slack: urlList('a Slack webhook').optional().meta({ description: 'Slack incoming-webhook URLs.' }),
        alertmanager: urlList('an Alertmanager')
          .optional()
          .meta({ description: 'Alertmanager base URLs that `ceiling serve --config` posts journey alerts to (as --alertmanager).' }),
      })
      .optional(),
    gate: gatePolicySchema.optional(),
    pushgateway: pushgatewaySchema.optional(),
  })
  .meta({ description: 'The Ceiling project config (ceiling.yaml): targets, defaults, reporters, notifications and the gate policy.' });

export type ProjectConfigInput = z.infer<typeof projectConfigSchema>;

/** The config language as JSON Schema, for editors (`# yaml-language-server: $schema=…`). */
export function projectConfigJsonSchema(): unknown {
  return { title: 'Ceiling project config', ...(z.toJSONSchema(projectConfigSchema, { unrepresentable: 'any', io: 'input' }) as object) };
}
