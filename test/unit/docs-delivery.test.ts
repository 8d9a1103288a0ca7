/**
 * The delivery examples in docs/delivery are pasted into clusters and
 * pipelines, so they are checked like code: every file parses; each manifest
 * is the kind its tool expects; every URL they call is one `ceiling serve`
 * answers, with the method and parameters it accepts; the Spinnaker stage
 * reads the fields a check reports; and the commands use only flags the CLI
 * defines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { deliveryRoutes } from '../../src/serve/delivery-routes.js';
import { ProbeMetrics } from '../../src/serve/metrics.js';
import { parseTriggerBody } from '../../src/serve/trigger-request.js';
import { list, obj, str, type Obj } from './yaml-shape.js';
import { commandFlags } from '../../src/cli/program.js';
import { ACTION_REF } from '../../src/cli/init-files.js';

const DIR = 'docs/delivery';
const ANALYSIS_TEMPLATE = 'argo-analysis-template.yaml';
const CANARY = 'flagger-canary.yaml';
const SPINNAKER_STAGE = 'spinnaker-webhook-stage.json';
const WORKFLOW = 'github-actions-gate.yml';
const GITLAB = 'gitlab-ci-gate.yml';

/** What each tool calls on the daemon; a test below checks that serve still routes each one. */
const SERVED = {
  argoWebMetric: { method: 'GET', path: '/api/v1/verdict', query: ['tag', 'journey'] },
  flaggerWebhook: { method: 'POST', path: '/api/v1/flagger', query: [] },
  spinnakerStart: { method: 'POST', path: '/api/v1/checks', query: [] },
} as const;

/** What a check's status can be; Spinnaker's status lists may name only these. */
const CHECK_STATUSES = ['RUNNING', 'SUCCEEDED', 'TERMINAL'];
const FLAGGER_METADATA_KEYS = ['tag', 'journeys'];
/** Flagger hooks whose 2xx means "go on". A rollback hook's 2xx means "roll back"; confirm-rollout runs before the canary has pods. */
const FLAGGER_HOOK_TYPES = ['pre-rollout', 'rollout', 'confirm-promotion'];

const RUN_FLAGS = [
  '--tag',
  '--grep',
  '--concurrency',
  '--retries',
  '--timeout',
  '--var',
  '--env-file',
  '--secrets-file',
  '--reporter',
  '--out',
  '--fail-on-flaky',
  '--browser-path',
  '--trace',
];
/** Flags of `ceiling gate` the examples may use; a test below checks each is still defined in src/cli/program.ts. */
const GATE_FLAGS = [
  '--config',
  '--target',
  '--tag',
  '--expect-version',
  '--bake',
  '--every',
  '--clean-rounds',
  '--confidence',
  '--min-effect',
  '--fail-on-flaky',
  '--on-fail',
  '--baseline',
  '--baseline-out',
  '--pushgateway',
  '--verdict-out',
  '--junit',
];

function parseYaml(file: string): Obj[] {
  return parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((doc, i) => {
    const problems = [...doc.errors, ...doc.warnings].map((problem) => problem.message);
    if (problems.length > 0) throw new Error(`${file} document ${i + 1}: ${problems.join('; ')}`);
    return obj(doc.toJS(), `${file} document ${i + 1}`);
  });
}

/** A YAML file from the repository root, such as action.yml. */
function parseYamlFile(file: string): unknown {
  return parseAllDocuments(readFileSync(file, 'utf8'))[0]!.toJS();
}

function single(file: string): Obj {
  const docs = parseYaml(file);
  expect(docs, `${file} holds one document`).toHaveLength(1);
  return docs[0]!;
}

function parseJson(file: string): Obj {
  return obj(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')), file);
}

/** The route serve would answer a call to `url` with, or the reason it would not. */
function servedRoute(method: string, url: URL): (typeof SERVED)[keyof typeof SERVED] {
  const route = Object.values(SERVED).find((candidate) => candidate.method === method && candidate.path === url.pathname);
  if (route === undefined) throw new Error(`${method} ${url.pathname} is not an endpoint ceiling serve has for delivery tools`);
  for (const key of url.searchParams.keys()) expect(route.query as readonly string[], `${url.pathname} does not read ?${key}`).toContain(key);
  return route;
}

/** Command-line flags as written in argv (`--x=v` or `--x v`). */
function flagNames(argv: string[]): string[] {
  return argv.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]!);
}

/** The flags one subcommand defines in program.ts, read from its `.command('name')` block. */
function definedFlags(command: string): string[] {
  const flags = commandFlags().get(command);
  expect(flags, `the CLI defines the ${command} command`).toBeDefined();
  return flags ?? [];
}

async function exportedMetrics(): Promise<Set<string>> {
  const exposition = await new ProbeMetrics({ location: 'x', target: 'y' }).render();
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(match[1]!);
    if (match[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${match[1]!}${suffix}`);
  }
  return names;
}

const metricNames = (text: string): string[] => [...text.matchAll(/\b(ceiling_[a-z0-9_]+)\b/g)].map((match) => match[1]!);

// ---------------------------------------------------------------- Argo Rollouts

function analysisTemplate(): { doc: Obj; args: Map<string, string | undefined>; metrics: Obj[] } {
  const doc = single(ANALYSIS_TEMPLATE);
  const spec = obj(doc.spec, 'spec');
  const args = new Map(
    list(spec.args, 'spec.args').map((raw, i) => {
      const arg = obj(raw, `spec.args[${i}]`);
      return [str(arg.name, `spec.args[${i}].name`), arg.value === undefined ? undefined : str(arg.value, `spec.args[${i}].value`)] as const;
    }),
  );
  const metrics = list(spec.metrics, 'spec.metrics').map((metric, i) => obj(metric, `spec.metrics[${i}]`));
  return { doc, args, metrics };
}

/** Fills {{args.NAME}} with the argument's default value, as Argo would when the Rollout passes none. */
function withDefaults(text: string, args: Map<string, string | undefined>): string {
  return text.replace(/\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}/g, (_, name: string) => {
    const value = args.get(name);
    if (value === undefined) throw new Error(`{{args.${name}}} has no default value`);
    return value;
  });
}

function metricWith(provider: string, metrics: Obj[]): Obj {
  const found = metrics.filter((metric) => Object.keys(obj(metric.provider, `${String(metric.name)}: provider`)).includes(provider));
  expect(found, `one metric uses the ${provider} provider`).toHaveLength(1);
  return found[0]!;
}

describe('docs/delivery', () => {
  it('has the files the README describes, and the README names each', () => {
    const names = readdirSync(DIR).sort();
    expect(names).toEqual(['README.md', ANALYSIS_TEMPLATE, CANARY, SPINNAKER_STAGE, WORKFLOW, GITLAB].sort());
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const file of names.filter((name) => name !== 'README.md')) expect(readme, `README.md should mention ${file}`).toContain(file);
  });

  it('every YAML file parses without errors or warnings, and the JSON file is JSON', () => {
    for (const file of [ANALYSIS_TEMPLATE, CANARY, WORKFLOW, GITLAB]) expect(parseYaml(file).length, file).toBeGreaterThan(0);
    expect(() => parseJson(SPINNAKER_STAGE)).not.toThrow();
  });

  it('each endpoint the examples call is routed by ceiling serve, with that method', () => {
    const routes = deliveryRoutes({
      version: 'test',
      freshWithinMs: () => 60_000,
      journeys: () => [],
      trigger: () => ({ started: [], queued: [], busy: [], unknown: [] }),
      authorizeTrigger: () => undefined,
    });
    for (const endpoint of Object.values(SERVED)) {
      const route = routes.find((candidate) => candidate.match(endpoint.path) !== undefined);
      expect(route, `${endpoint.path} is routed`).toBeDefined();
      expect(Object.keys(route!.methods), endpoint.path).toContain(endpoint.method);
    }
  });

  describe(ANALYSIS_TEMPLATE, () => {
    it('is a namespace-less Argo Rollouts AnalysisTemplate whose {{args}} are all declared', () => {
      const { doc, args } = analysisTemplate();
      expect(doc.apiVersion).toBe('argoproj.io/v1alpha1');
      expect(doc.kind).toBe('AnalysisTemplate');
      expect(obj(doc.metadata, 'metadata').name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(obj(doc.metadata, 'metadata').namespace).toBeUndefined();
      const used = new Set([...JSON.stringify(doc).matchAll(/\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}/g)].map((match) => match[1]!));
      expect(used.size).toBeGreaterThan(2);
      for (const name of used) expect([...args.keys()], `{{args.${name}}} is declared`).toContain(name);
    });

    it('has uniquely named metrics, each with one provider: web, job and prometheus', () => {
      const { metrics } = analysisTemplate();
      const names = metrics.map((metric) => str(metric.name, 'metric name'));
      expect(new Set(names).size).toBe(names.length);
      const providers = metrics.map((metric) => {
        const keys = Object.keys(obj(metric.provider, `${String(metric.name)}: provider`));
        expect(keys, `${String(metric.name)} has one provider`).toHaveLength(1);
        return keys[0]!;
      });
      expect(providers.sort()).toEqual(['job', 'prometheus', 'web']);
    });

    it('the web metric GETs the verdict and passes only on a fresh pass, failing on a fail', () => {
      const { args, metrics } = analysisTemplate();
      const metric = metricWith('web', metrics);
      const web = obj(obj(metric.provider, 'provider').web, 'provider.web');
      expect(web.method ?? 'GET').toBe('GET');
      const url = new URL(withDefaults(str(web.url, 'web.url'), args));
      expect(servedRoute('GET', url)).toBe(SERVED.argoWebMetric);
      expect(url.searchParams.get('tag')).not.toBe('');
      // The whole body is the result, so the conditions can read both fields.
      expect(web.jsonPath).toBe('{$}');
      const success = str(metric.successCondition, 'successCondition');
      expect(success).toContain('result.verdict == "pass"');
      expect(success).toMatch(/&& result\.fresh\b/);
      expect(str(metric.failureCondition, 'failureCondition')).toBe('result.verdict == "fail"');
    });

    it('the job metric runs ceiling once, with flags the command defines, and never retries', () => {
      const { metrics } = analysisTemplate();
      const job = obj(obj(metricWith('job', metrics).provider, 'provider').job, 'provider.job');
      const spec = obj(job.spec, 'job.spec');
      expect(spec.backoffLimit, 'a retry would hide a failure behind a pass').toBe(0);
      const pod = obj(obj(spec.template, 'template').spec, 'template.spec');
      expect(pod.restartPolicy).toBe('Never');
      const [container, ...others] = list(pod.containers, 'containers').map((c, i) => obj(c, `containers[${i}]`));
      expect(others).toEqual([]);
      expect(container!.command, "the image's entrypoint is ceiling").toBeUndefined();
      const argv = list(container!.args, 'args').map((arg) => str(arg, 'arg'));
      expect(['run', 'gate']).toContain(argv[0]);
      const allowed = argv[0] === 'run' ? RUN_FLAGS : GATE_FLAGS;
      for (const flag of flagNames(argv)) expect(allowed, `ceiling ${argv[0]!} ${flag}`).toContain(flag);
      // The journeys folder it is given is mounted from a volume of the pod.
      const folder = argv.slice(1).find((arg) => !arg.startsWith('--'));
      const mounts = list(container!.volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount'));
      const mount = mounts.find((m) => m.mountPath === folder);
      expect(mount, `${String(folder)} is mounted`).toBeDefined();
      const volumes = list(pod.volumes, 'volumes').map((v) => str(obj(v, 'volume').name, 'volume name'));
      for (const m of mounts) expect(volumes).toContain(m.name);
    });

    it('the prometheus metric queries only metrics ceiling exports, and has no verdict on no data', async () => {
      const { metrics } = analysisTemplate();
      const metric = metricWith('prometheus', metrics);
      const query = str(obj(obj(metric.provider, 'provider').prometheus, 'provider.prometheus').query, 'query');
      const exported = await exportedMetrics();
      expect(metricNames(query)).toContain('ceiling_journey_up');
      for (const name of metricNames(query)) expect(exported, `${name} is not a metric ceiling serve exports`).toContain(name);
      // An empty result (nothing scraped) must be neither a success nor a failure.
      expect(str(metric.successCondition, 'successCondition')).toMatch(/^len\(result\) == 1 && /);
      expect(str(metric.failureCondition, 'failureCondition')).toMatch(/^len\(result\) == 1 && /);
    });
  });

  describe(CANARY, () => {
    it('is a namespace-less Flagger Canary whose webhooks POST to the Flagger endpoint with a selection it reads', () => {
      const doc = single(CANARY);
      expect(doc.apiVersion).toBe('flagger.app/v1beta1');
      expect(doc.kind).toBe('Canary');
      expect(obj(doc.metadata, 'metadata').namespace).toBeUndefined();
      const analysis = obj(obj(doc.spec, 'spec').analysis, 'spec.analysis');
      const webhooks = list(analysis.webhooks, 'analysis.webhooks').map((hook, i) => obj(hook, `webhooks[${i}]`));
      expect(webhooks.map((hook) => hook.type)).toContain('pre-rollout');
      for (const hook of webhooks) {
        const where = `webhook ${String(hook.name)}`;
        expect(FLAGGER_HOOK_TYPES, `${where}: type`).toContain(hook.type);
        expect(servedRoute('POST', new URL(str(hook.url, `${where}: url`))), where).toBe(SERVED.flaggerWebhook);
        expect(str(hook.timeout, `${where}: timeout`)).toMatch(/^\d+(ms|s|m)$/);
        const metadata = obj(hook.metadata ?? {}, `${where}: metadata`);
        for (const [key, value] of Object.entries(metadata)) {
          expect(FLAGGER_METADATA_KEYS, `${where}: metadata.${key}`).toContain(key);
          expect(typeof value, `${where}: metadata values are strings`).toBe('string');
          expect(
            String(value)
              .split(',')
              .every((item) => item.trim() !== ''),
            `${where}: metadata.${key} has no empty item`,
          ).toBe(true);
        }
      }
    });
  });

  describe(SPINNAKER_STAGE, () => {
    it('is a webhook stage that POSTs a run request to the checks endpoint and waits for completion', () => {
      const stage = parseJson(SPINNAKER_STAGE);
      expect(stage.type).toBe('webhook');
      expect(stage.method).toBe('POST');
      expect(servedRoute('POST', new URL(str(stage.url, 'url')))).toBe(SERVED.spinnakerStart);
      // The body is the one POST /api/v1/run takes.
      expect(() => parseTriggerBody(JSON.stringify(stage.payload))).not.toThrow();
      expect(str(obj(stage.customHeaders, 'customHeaders').Authorization, 'Authorization')).toMatch(/^Bearer \S+$/);
      expect(stage.waitForCompletion).toBe(true);
    });

    it('finds the status URL and the status where a check reports them, and maps only statuses a check has', () => {
      const stage = parseJson(SPINNAKER_STAGE);
      expect(['locationHeader', 'webhookResponse']).toContain(stage.statusUrlResolution);
      if (stage.statusUrlResolution === 'webhookResponse') expect(stage.statusUrlJsonPath).toBe('$.statusUrl');
      expect(stage.statusJsonPath).toBe('$.status');
      if (stage.progressJsonPath !== undefined) expect(stage.progressJsonPath).toBe('$.progress');
      const statuses = (field: string): string[] =>
        stage[field] === undefined
          ? []
          : str(stage[field], field)
              .split(',')
              .map((status) => status.trim());
      expect(statuses('successStatuses')).toEqual(['SUCCEEDED']);
      expect(statuses('terminalStatuses')).toEqual(['TERMINAL']);
      for (const field of ['successStatuses', 'canceledStatuses', 'terminalStatuses']) {
        for (const status of statuses(field)) expect(CHECK_STATUSES, `${field}: ${status}`).toContain(status);
      }
    });
  });

  describe(WORKFLOW, () => {
    interface Step {
      run?: string;
      uses?: string;
      if?: string;
      with?: Record<string, unknown>;
    }

    function workflow(): { on: unknown; jobs: Map<string, Obj & { steps: Step[] }> } {
      const doc = single(WORKFLOW);
      const jobs = new Map(
        Object.entries(obj(doc.jobs, 'jobs')).map(([name, raw]) => {
          const job = obj(raw, `jobs.${name}`);
          return [name, { ...job, steps: list(job.steps, `jobs.${name}.steps`).map((step, i) => obj(step, `jobs.${name}.steps[${i}]`) as Step) }];
        }),
      );
      return { on: doc.on, jobs };
    }

    function gateStep(): { job: string; step: Step } {
      const found = [...workflow().jobs].flatMap(([job, { steps }]) =>
        steps.flatMap((step) => (step.uses?.startsWith(ACTION_REF.split('@')[0]!) ? [{ job, step }] : [])),
      );
      expect(found, 'one step uses the Ceiling action').toHaveLength(1);
      return found[0]!;
    }

    it('is a workflow with triggers, and jobs whose steps each run a command or use an action', () => {
      const { on, jobs } = workflow();
      expect(Object.keys(obj(on, 'on')).length).toBeGreaterThan(0);
      expect(jobs.size).toBeGreaterThanOrEqual(2);
      for (const [name, job] of jobs) {
        expect(typeof job['runs-on'], `${name}: runs-on`).toBe('string');
        expect(job.steps.length, name).toBeGreaterThan(0);
        for (const step of job.steps)
          expect(
            [step.run, step.uses].filter((x) => x !== undefined),
            `${name}: a step has exactly one of run and uses`,
          ).toHaveLength(1);
      }
    });

    it('gates after the deploy with the Ceiling action, pinned to the deployed commit, with a rollback', () => {
      const { jobs } = workflow();
      const { job, step } = gateStep();
      expect(step.uses).toBe(ACTION_REF);
      const needs = jobs.get(job)!.needs;
      expect([needs].flat().length, 'the gate job waits for the deploy').toBeGreaterThan(0);
      for (const need of [needs].flat()) expect(jobs.has(String(need))).toBe(true);
      const inputs = obj(step.with, 'with');
      const declared = Object.keys(obj(obj(parseYamlFile('action.yml'), 'action.yml').inputs, 'inputs'));
      for (const input of Object.keys(inputs)) expect(declared, `action input ${input}`).toContain(input);
      expect(inputs.command).toBe('gate');
      expect(inputs['expect-version']).toBe('${{ github.sha }}');
      expect(typeof inputs['on-fail']).toBe('string');
      // Expressions pasted into a script are a script-injection risk; only the commit SHA, which is hex, is.
      for (const { steps } of jobs.values()) {
        for (const step of steps) for (const match of (step.run ?? '').matchAll(/\$\{\{([^}]*)\}\}/g)) expect(match[1]!.trim()).toBe('github.sha');
      }
      const upload = jobs.get(job)!.steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'));
      expect(upload?.if, 'the verdict is kept when the gate fails too').toBe('always()');
    });
  });

  describe(GITLAB, () => {
    it('runs ceiling gate from the image after the deploy, with flags ceiling gate defines, pinned to the deployed commit', () => {
      const doc = single(GITLAB);
      const job = obj(doc['ceiling-gate'], 'ceiling-gate');
      expect(list(job.needs, 'needs')).toEqual(['deploy']);
      const image = obj(job.image, 'image');
      expect(list(image.entrypoint, 'entrypoint'), 'the image entrypoint is ceiling; GitLab needs a shell').toEqual(['']);
      const script = list(job.script, 'script').map((line) => str(line, 'script'));
      const gate = script.find((line) => /^ceiling gate\b/.test(line));
      expect(gate).toBeDefined();
      const argv = gate!.split(/\s+/);
      for (const flag of flagNames(argv)) expect(GATE_FLAGS, flag).toContain(flag);
      expect(gate).toContain('--expect-version "$CI_COMMIT_SHA"');
      expect(argv).toContain('--on-fail');
      expect(obj(job.artifacts, 'artifacts').when).toBe('always');
    });
  });

  it('the README names only metrics ceiling serve exports', async () => {
    const exported = await exportedMetrics();
    const used = metricNames(readFileSync(path.join(DIR, 'README.md'), 'utf8'));
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('the examples use only flags that ceiling run and ceiling gate define in src/cli/program.ts', () => {
    const run = definedFlags('run');
    for (const flag of RUN_FLAGS) expect(run, `ceiling run ${flag} was renamed or removed`).toContain(flag);
    const gate = definedFlags('gate');
    for (const flag of GATE_FLAGS) expect(gate, `ceiling gate ${flag} was renamed or removed`).toContain(flag);
  });
});
