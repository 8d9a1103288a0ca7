/**
 * The Kubernetes examples in docs/kubernetes are copied into real clusters, so
 * they are checked like code: every file parses, every manifest is a
 * namespace-less Kubernetes object, the probes pass only flags `ceiling serve`
 * accepts, each location is named once, the shard arithmetic covers every
 * replica (run through a real shell), the journeys in the ConfigMap load, and
 * the alerting rules name metrics the daemon exports.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadJourneys } from '../../src/journey/load.js';
import { ProbeMetrics } from '../../src/serve/metrics.js';
import { isObj, list, obj, str, type Obj } from './yaml-shape.js';
import { commandFlags } from '../../src/cli/program.js';

const DIR = 'docs/kubernetes';

/** Flags of `ceiling serve` the examples may use; a test below checks each is still defined in src/cli/program.ts. */
const SERVE_FLAGS = [
  '--listen',
  '--every',
  '--concurrency',
  '--db',
  '--retention',
  '--retention-runs',
  '--retention-size',
  '--location',
  '--target',
  '--shard',
  '--alert-after',
  '--webhook',
  '--slack-webhook',
  '--token-env',
  '--grace',
  '--reload-interval',
  '--tag',
  '--grep',
  '--retries',
  '--timeout',
  '--var',
  '--env-file',
  '--secrets-file',
  '--out',
  '--browser-path',
  '--trace',
];

/** Not Kubernetes objects: each is checked for its own shape. */
const PROMETHEUS_CONFIG = 'prometheus.yml';
const RULES_FILE = 'alert-rules.yml';

interface Doc {
  file: string;
  index: number;
  value: Obj;
}

function yamlFiles(): string[] {
  return readdirSync(DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
}

function parseFile(file: string): Obj[] {
  return parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((doc, i) => {
    const problems = [...doc.errors, ...doc.warnings].map((problem) => problem.message);
    if (problems.length > 0) throw new Error(`${file} document ${i + 1}: ${problems.join('; ')}`);
    return obj(doc.toJS(), `${file} document ${i + 1}`);
  });
}

function manifests(): Doc[] {
  return yamlFiles()
    .filter((file) => file !== PROMETHEUS_CONFIG && file !== RULES_FILE)
    .flatMap((file) => parseFile(file).map((value, index) => ({ file, index, value })));
}

const kindOf = (doc: Doc): string => str(doc.value.kind, `${doc.file}: kind`);
const nameOf = (doc: Doc): string => str(obj(doc.value.metadata, `${doc.file}: metadata`).name, `${doc.file}: metadata.name`);
const labelsOf = (doc: Doc): Obj => {
  const labels = obj(doc.value.metadata, `${doc.file}: metadata`).labels;
  return isObj(labels) ? labels : {};
};
const matches = (labels: Obj, selector: Obj): boolean => Object.entries(selector).every(([key, value]) => labels[key] === value);

// ---------------------------------------------------------------- workloads

interface Flag {
  name: string;
  /** As written: may still hold shell syntax or quotes in the shell form. */
  value: string | undefined;
}

interface Probe {
  doc: Doc;
  name: string;
  kind: 'Deployment' | 'StatefulSet';
  replicas: number;
  podSpec: Obj;
  podLabels: Obj;
  podAnnotations: Obj;
  container: Obj;
  /** The arguments after `serve`, or the shell script that runs it. */
  flags: Flag[];
  positionals: string[];
  /** Present when the container runs `sh -c SCRIPT`. */
  script?: string;
}

function flagsOfArgs(args: string[]): { flags: Flag[]; positionals: string[] } {
  const flags: Flag[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq >= 0) flags.push({ name: arg.slice(0, eq), value: arg.slice(eq + 1) });
    else {
      // Every serve flag takes a value; the next item is it.
      flags.push({ name: arg, value: args[i + 1] });
      i++;
    }
  }
  return { flags, positionals };
}

function flagsOfScript(script: string): { flags: Flag[]; positionals: string[] } {
  const serve = /\bserve\b(.*)$/s.exec(script);
  if (serve === null) throw new Error(`the container's script never runs serve: ${script}`);
  const flags: Flag[] = [];
  for (const match of serve[1]!.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)(?:[=\s]("[^"]*"|'[^']*'|[^\s-]\S*))?/g)) {
    flags.push({ name: match[1]!, value: match[2] });
  }
  const positionals = serve[1]!
    .trim()
    .split(/\s+/)
    .filter((token) => token !== '' && !token.startsWith('--'))
    .slice(0, 1);
  return { flags, positionals };
}

function probes(): Probe[] {
  return manifests()
    .filter((doc) => ['Deployment', 'StatefulSet'].includes(kindOf(doc)))
    .map((doc) => {
      const where = `${doc.file} ${kindOf(doc)}/${nameOf(doc)}`;
      const spec = obj(doc.value.spec, `${where}: spec`);
      const template = obj(spec.template, `${where}: spec.template`);
      const meta = obj(template.metadata, `${where}: template.metadata`);
      const podSpec = obj(template.spec, `${where}: template.spec`);
      const containers = list(podSpec.containers, `${where}: containers`).map((c, i) => obj(c, `${where}: containers[${i}]`));
      const container = containers.find((c) => c.name === 'ceiling');
      if (container === undefined) throw new Error(`${where}: no container named ceiling`);
      const command = (container.command === undefined ? [] : list(container.command, `${where}: command`)).map((c) => str(c, `${where}: command`));
      const args = (container.args === undefined ? [] : list(container.args, `${where}: args`)).map((a) => str(a, `${where}: args`));
      const shell = command.findIndex((part) => /(^|\/)(ba)?sh$/.test(part));
      let parsed: { flags: Flag[]; positionals: string[] };
      let script: string | undefined;
      if (shell >= 0) {
        expect(command[shell + 1], `${where}: a shell command must be "sh -c SCRIPT"`).toBe('-c');
        script = [...command.slice(shell + 2), ...args].join(' ');
        parsed = flagsOfScript(script);
      } else {
        // No command: the image's entrypoint is ceiling, and args start with the subcommand.
        expect(command, `${where}: override command only to wrap ceiling in a shell`).toEqual([]);
        expect(args[0], `${where}: args must start with the serve subcommand`).toBe('serve');
        parsed = flagsOfArgs(args.slice(1));
      }
      const kind = kindOf(doc) as Probe['kind'];
      const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
      return {
        doc,
        name: nameOf(doc),
        kind,
        replicas,
        podSpec,
        podLabels: obj(meta.labels, `${where}: template labels`),
        podAnnotations: isObj(meta.annotations) ? meta.annotations : {},
        container,
        ...parsed,
        ...(script !== undefined ? { script } : {}),
      };
    });
}

const flagValues = (probe: Probe, name: string): string[] => probe.flags.filter((flag) => flag.name === name).map((flag) => flag.value ?? '');

/** A flag's value with one level of shell quoting removed (for the plain-args form it is already bare). */
const unquote = (value: string): string => value.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');

function durationSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`"${text}" is not a duration`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

// ---------------------------------------------------------------- tests

describe('docs/kubernetes', () => {
  it('has the files the README promises', () => {
    const names = readdirSync(DIR);
    for (const file of ['README.md', 'journeys.yaml', 'secret.example.yaml', PROMETHEUS_CONFIG, RULES_FILE]) expect(names).toContain(file);
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const file of names.filter((name) => name !== 'README.md')) expect(readme, `README.md should mention ${file}`).toContain(file);
  });

  it('every YAML file parses, every document, without errors or warnings', () => {
    const files = yamlFiles();
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) expect(parseFile(file).length, file).toBeGreaterThan(0);
  });

  it('every manifest is a Kubernetes object without a namespace (applied with kubectl apply -n ceiling)', () => {
    const docs = manifests();
    expect(docs.length).toBeGreaterThan(5);
    for (const doc of docs) {
      const where = `${doc.file} document ${doc.index + 1}`;
      expect(typeof doc.value.apiVersion, `${where}: apiVersion`).toBe('string');
      expect(typeof doc.value.kind, `${where}: kind`).toBe('string');
      const metadata = obj(doc.value.metadata, `${where}: metadata`);
      expect(metadata.name, `${where}: metadata.name`).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      expect(metadata.namespace, `${where}: leave the namespace to kubectl -n`).toBeUndefined();
    }
  });

  it('prometheus.yml is a scrape config that finds the probe pods and loads the rules file', () => {
    const [config, ...rest] = parseFile(PROMETHEUS_CONFIG);
    expect(rest).toEqual([]);
    const jobs = list(config!.scrape_configs, 'scrape_configs').map((job, i) => obj(job, `scrape_configs[${i}]`));
    const ceiling = jobs.find((job) => job.job_name === 'ceiling');
    expect(ceiling, 'a job named ceiling (the rules match job="ceiling")').toBeDefined();
    const sd = list(ceiling!.kubernetes_sd_configs, 'kubernetes_sd_configs').map((c, i) => obj(c, `kubernetes_sd_configs[${i}]`));
    expect(sd.map((c) => c.role)).toContain('pod');
    expect(list(config!.rule_files, 'rule_files')).toEqual([RULES_FILE]);
    // The annotations the scrape job keeps on must be on every probe pod.
    for (const probe of probes()) {
      expect(probe.podAnnotations['prometheus.io/scrape'], probe.name).toBe('true');
      expect(probe.podAnnotations['prometheus.io/path'], probe.name).toBe('/metrics');
    }
  });

  it('alert-rules.yml is a rules file: groups of rules, each with an alert name and an expression', () => {
    const [rules] = parseFile(RULES_FILE);
    const groups = list(rules!.groups, 'groups').map((g, i) => obj(g, `groups[${i}]`));
    expect(groups.length).toBeGreaterThan(0);
    const alerts: string[] = [];
    for (const group of groups) {
      expect(typeof group.name).toBe('string');
      for (const [i, raw] of list(group.rules, `${String(group.name)}.rules`).entries()) {
        const rule = obj(raw, `${String(group.name)}.rules[${i}]`);
        expect(typeof rule.alert, `rules[${i}].alert`).toBe('string');
        expect(typeof rule.expr, `rules[${i}].expr`).toBe('string');
        expect(String(rule.expr).trim()).not.toBe('');
        if (rule.for !== undefined) expect(() => durationSeconds(String(rule.for))).not.toThrow();
        alerts.push(String(rule.alert));
      }
    }
    expect(new Set(alerts).size, 'alert names are unique').toBe(alerts.length);
    // The two the fleet needs: one location down, and the same journey down in several.
    const exprs = groups.flatMap((g) => list(g.rules, 'rules').map((r) => String(obj(r, 'rule').expr)));
    expect(exprs.some((e) => /by \(journey, location\b/.test(e) && /ceiling_journey_up\)?\s*==\s*0/.test(e))).toBe(true);
    expect(exprs.some((e) => /count by \(journey\b/.test(e) && />=\s*2/.test(e))).toBe(true);
  });

  it('the PrometheusRule carries exactly the groups of alert-rules.yml', () => {
    const [rules] = parseFile(RULES_FILE);
    const operator = manifests().find((doc) => kindOf(doc) === 'PrometheusRule');
    expect(operator).toBeDefined();
    expect(obj(operator!.value.spec, 'PrometheusRule spec').groups).toEqual(rules!.groups);
  });

  it('the rules, the scrape config and the README name only metrics the daemon exports', async () => {
    const exposition = await new ProbeMetrics({ location: 'x', target: 'y' }).render();
    const exported = new Set(['up']);
    for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(match[1]!);
      if (match[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${match[1]!}${suffix}`);
    }
    const texts = [RULES_FILE, 'prometheus-operator.yaml', 'README.md'].map((file) => readFileSync(path.join(DIR, file), 'utf8'));
    const used = new Set(texts.flatMap((text) => [...text.matchAll(/\b(ceiling_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(2);
    for (const name of used) expect(exported, `${name} is not a metric ceiling serve exports`).toContain(name);
  });

  it('every flag in SERVE_FLAGS is defined for ceiling serve', () => {
    const defined = commandFlags().get('serve') ?? [];
    expect(defined.length).toBeGreaterThan(10);
    for (const flag of SERVE_FLAGS) expect(defined, `${flag} was renamed or removed`).toContain(flag);
  });

  it('the probes pass only flags that ceiling serve accepts, and a journeys folder', () => {
    const all = probes();
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const probe of all) {
      expect(probe.flags.length, probe.name).toBeGreaterThan(3);
      for (const flag of probe.flags) expect(SERVE_FLAGS, `${probe.name}: ${flag.name}`).toContain(flag.name);
      expect(probe.positionals, `${probe.name}: the journeys folder`).toEqual(['/etc/ceiling/journeys']);
    }
  });

  it('every location is named once, and matches the workload label', () => {
    const locations = probes().map((probe) => {
      const values = flagValues(probe, '--location').map(unquote);
      expect(values, `${probe.name}: exactly one --location`).toHaveLength(1);
      expect(probe.podLabels['ceiling.dev/location'], probe.name).toBe(values[0]);
      return values[0]!;
    });
    expect(new Set(locations).size, `locations ${locations.join(', ')}`).toBe(locations.length);
  });

  it('shards: only a StatefulSet shards, its n is its replica count, and a real shell gives each pod a different shard', () => {
    let sharded = 0;
    for (const probe of probes()) {
      const shard = flagValues(probe, '--shard');
      if (shard.length === 0) {
        // Unsharded replicas would all run every journey.
        expect(probe.replicas, `${probe.name}: more than one replica needs --shard`).toBe(1);
        continue;
      }
      sharded++;
      expect(probe.kind, `${probe.name}: a shard index needs a stable pod name`).toBe('StatefulSet');
      expect(shard).toHaveLength(1);
      expect(probe.script, `${probe.name}: the ordinal is computed in a shell`).toBeDefined();
      const n = /\/(\d+)"?$/.exec(shard[0]!)?.[1];
      expect(Number(n), `${probe.name}: n in k/n equals replicas`).toBe(probe.replicas);
      const seen = Array.from({ length: probe.replicas }, (_, ordinal) =>
        execFileSync('/bin/sh', ['-c', `printf '%s' ${shard[0]!}`], { env: { HOSTNAME: `${probe.name}-${ordinal}` }, encoding: 'utf8' }),
      );
      expect(seen).toEqual(Array.from({ length: probe.replicas }, (_, i) => `${i + 1}/${probe.replicas}`));
    }
    expect(sharded, 'at least one location shows sharding').toBeGreaterThan(0);
  });

  it('probes listen on the scraped port, answer /healthz, stop within the grace period, and run locked down', () => {
    for (const probe of probes()) {
      const where = probe.name;
      const listen = flagValues(probe, '--listen').map(unquote);
      expect(listen, `${where}: --listen`).toHaveLength(1);
      const [host, port] = [listen[0]!.slice(0, listen[0]!.lastIndexOf(':')), listen[0]!.slice(listen[0]!.lastIndexOf(':') + 1)];
      expect(['0.0.0.0', '[::]'], `${where}: listen beyond loopback, or nothing can scrape it`).toContain(host);
      const ports = list(probe.container.ports, `${where}: ports`).map((p) => obj(p, 'port'));
      expect(ports.map((p) => String(p.containerPort))).toContain(port);
      expect(probe.podAnnotations['prometheus.io/port'], where).toBe(port);
      for (const kind of ['readinessProbe', 'livenessProbe']) {
        const httpGet = obj(obj(probe.container[kind], `${where}: ${kind}`).httpGet, `${where}: ${kind}.httpGet`);
        expect(httpGet.path, `${where}: ${kind}`).toBe('/healthz');
      }
      const grace = flagValues(probe, '--grace').map(unquote);
      const graceS = grace.length === 0 ? 10 : durationSeconds(grace[0]!);
      expect(Number(probe.podSpec.terminationGracePeriodSeconds ?? 30), `${where}: room for --grace before SIGKILL`).toBeGreaterThan(graceS);
      const pod = obj(probe.podSpec.securityContext, `${where}: pod securityContext`);
      expect(pod.runAsNonRoot, where).toBe(true);
      const container = obj(probe.container.securityContext, `${where}: container securityContext`);
      expect(container.readOnlyRootFilesystem, where).toBe(true);
      expect(container.allowPrivilegeEscalation, where).toBe(false);
      const resources = obj(probe.container.resources, `${where}: resources`);
      expect(obj(resources.requests, 'requests').memory, where).toBeDefined();
      expect(obj(resources.limits, 'limits').memory, where).toBeDefined();
    }
  });

  it('every mount has a volume, the state and /tmp are writable, and the journeys come from the ConfigMap', () => {
    const configMaps = manifests()
      .filter((doc) => kindOf(doc) === 'ConfigMap')
      .map(nameOf);
    for (const probe of probes()) {
      const spec = obj(probe.doc.value.spec, 'spec');
      const claims = (spec.volumeClaimTemplates === undefined ? [] : list(spec.volumeClaimTemplates, 'volumeClaimTemplates')).map((c) =>
        str(obj(obj(c, 'claim').metadata, 'claim metadata').name, 'claim name'),
      );
      const volumes = new Map(list(probe.podSpec.volumes, `${probe.name}: volumes`).map((v) => [str(obj(v, 'volume').name, 'volume name'), obj(v, 'volume')]));
      const mounts = list(probe.container.volumeMounts, `${probe.name}: volumeMounts`).map((m) => obj(m, 'mount'));
      for (const mount of mounts) {
        const name = str(mount.name, 'mount name');
        expect(volumes.has(name) || claims.includes(name), `${probe.name}: mount ${name} has no volume`).toBe(true);
      }
      const at = (mountPath: string): Obj | undefined => mounts.find((m) => m.mountPath === mountPath);
      const workingDir = str(probe.container.workingDir, `${probe.name}: workingDir`);
      expect(at(`${workingDir}/.ceiling`), `${probe.name}: .ceiling/ (history, evidence) is a volume`).toBeDefined();
      expect(at('/tmp'), `${probe.name}: /tmp is a volume`).toBeDefined();
      const journeys = at('/etc/ceiling/journeys');
      expect(journeys, `${probe.name}: journeys mount`).toBeDefined();
      const source = volumes.get(str(journeys!.name, 'mount name'));
      expect(configMaps).toContain(obj(source?.configMap, `${probe.name}: journeys volume is a ConfigMap`).name);
    }
  });

  it('every variable the journeys and args use is set, and every secret key exists in the example Secret', () => {
    const configMap = manifests().find((doc) => kindOf(doc) === 'ConfigMap' && nameOf(doc) === 'ceiling-journeys');
    const data = obj(configMap?.value.data, 'ceiling-journeys data');
    const journeyEnv = new Set(Object.values(data).flatMap((text) => [...String(text).matchAll(/\benv\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)));
    expect(journeyEnv.size).toBeGreaterThan(0);
    const secret = manifests().find((doc) => kindOf(doc) === 'Secret');
    const secretKeys = new Set(Object.keys(obj(secret?.value.stringData, 'Secret stringData')));
    const secretName = secret === undefined ? undefined : nameOf(secret);
    for (const probe of probes()) {
      const env = list(probe.container.env, `${probe.name}: env`).map((e) => obj(e, 'env'));
      const names = new Set(env.map((e) => str(e.name, 'env name')));
      for (const name of journeyEnv) expect(names, `${probe.name}: the journeys read env.${name}`).toContain(name);
      const argText = probe.script ?? list(probe.container.args, 'args').join(' ');
      // $(VAR) is expanded by Kubernetes and $VAR by the shell; an unset one would reach ceiling literally or empty.
      for (const match of argText.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{?([A-Z_][A-Z0-9_]*)\}?/g)) {
        const variable = match[1] ?? match[2]!;
        if (variable === 'HOSTNAME') continue;
        expect(names, `${probe.name}: args use $${variable}`).toContain(variable);
      }
      for (const entry of env) {
        const ref = isObj(entry.valueFrom) && isObj(entry.valueFrom.secretKeyRef) ? entry.valueFrom.secretKeyRef : undefined;
        if (ref === undefined) continue;
        expect(ref.name, `${probe.name}: ${String(entry.name)}`).toBe(secretName);
        expect(secretKeys, `${probe.name}: ${String(entry.name)}`).toContain(ref.key);
      }
      const tokenEnv = flagValues(probe, '--token-env')[0] ?? 'CEILING_API_TOKEN';
      expect(names, `${probe.name}: the API token variable`).toContain(tokenEnv);
    }
  });

  it("services select their location's pods, and the StatefulSet's governing service exists", () => {
    const services = manifests().filter((doc) => kindOf(doc) === 'Service');
    for (const probe of probes()) {
      const selecting = services.filter((service) => matches(probe.podLabels, obj(obj(service.value.spec, 'service spec').selector, 'selector')));
      expect(selecting.map(nameOf), `${probe.name}: one Service per location`).toEqual([probe.name]);
      if (probe.kind === 'StatefulSet') expect(obj(probe.doc.value.spec, 'spec').serviceName).toBe(probe.name);
      const portNames = list(probe.container.ports, 'ports').map((p) => obj(p, 'port').name);
      for (const service of selecting) {
        for (const port of list(obj(service.value.spec, 'spec').ports, 'ports').map((p) => obj(p, 'port'))) expect(portNames).toContain(port.targetPort);
      }
    }
    const monitor = manifests().find((doc) => kindOf(doc) === 'ServiceMonitor');
    if (monitor !== undefined) {
      const spec = obj(monitor.value.spec, 'ServiceMonitor spec');
      const wanted = obj(obj(spec.selector, 'selector').matchLabels, 'matchLabels');
      const matched = services.filter((service) => matches(labelsOf(service), wanted));
      expect(matched.length, 'the ServiceMonitor finds every location').toBe(probes().length);
      for (const endpoint of list(spec.endpoints, 'endpoints').map((e) => obj(e, 'endpoint'))) {
        for (const service of matched) {
          expect(list(obj(service.value.spec, 'spec').ports, 'ports').map((p) => obj(p, 'port').name)).toContain(endpoint.port);
        }
      }
    }
  });

  it('the journeys in the ConfigMap load as ceiling serve would read the mounted folder, each with a schedule', async () => {
    const configMap = manifests().find((doc) => kindOf(doc) === 'ConfigMap' && nameOf(doc) === 'ceiling-journeys');
    const data = obj(configMap?.value.data, 'ceiling-journeys data');
    // The kubelet's layout: the files live in a hidden timestamped folder, reached through ..data and one symlink per key.
    const dir = mkdtempSync(path.join(tmpdir(), 'ceiling-configmap-'));
    try {
      const stamped = path.join(dir, '..2026_01_01_00_00_00.000000000');
      mkdirSync(stamped);
      for (const [key, text] of Object.entries(data)) writeFileSync(path.join(stamped, key), str(text, key));
      symlinkSync(path.basename(stamped), path.join(dir, '..data'));
      for (const key of Object.keys(data)) symlinkSync(path.join('..data', key), path.join(dir, key));
      const loaded = await loadJourneys([dir]);
      expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(loaded.journeys).toHaveLength(Object.keys(data).length);
      for (const journey of loaded.journeys) expect(journey.schedule, journey.name).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the workloads run the CLI the root Dockerfile puts on the PATH, under its init', () => {
    const dockerfile = readFileSync(path.join(DIR, '../../Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBeDefined();
    const argv = JSON.parse(entrypoint!) as string[];
    expect(argv.at(-1)).toBe('ceiling');
    expect(readFileSync(path.join(DIR, 'README.md'), 'utf8')).toContain('docker build -t registry.example.com/ceiling:0.1.0 .');
    for (const probe of probes()) {
      if (probe.script === undefined) continue;
      expect(probe.script, probe.name).toContain('exec ceiling serve');
      expect(list(probe.container.command, 'command')[0], `${probe.name}: keeps the image's init`).toBe(argv[0]);
    }
  });
});
