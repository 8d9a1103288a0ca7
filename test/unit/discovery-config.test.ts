import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadProjectConfigText, type ProjectConfigLoad } from '../../src/gate/config.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';

/** `discover` in ceiling.yaml: what a valid group becomes, and every bad input at its line and column. */

const printed = (load: ProjectConfigLoad): string[] => load.diagnostics.map(formatDiagnostic);
const problems = async (text: string): Promise<string[]> => {
  const load = await loadProjectConfigText('ceiling.yaml', text);
  expect(load.config).toBeUndefined();
  return printed(load);
};

describe('discovered targets in ceiling.yaml', () => {
  it('builds discovery specs beside static targets, with defaults and the command resolved against the file', async () => {
    const { config, diagnostics } = await loadProjectConfigText(
      '/srv/ops/ceiling.yaml',
      `targets:
  canary:
    vars: { base_url: "http://127.0.0.1:4101" }
  web:
    discover: { srv: _http._tcp.web.prod.svc.cluster.local, scheme: https, every: 15s }
    expect: { count: 8 }
    vars: { base_url: "{{ target.url }}", who: "{{ target.name }}" }
  api:
    discover: { dns: api.internal, port: 8080, resolver: "127.0.0.1:5353", timeout: 2s }
    expect: { min: 2 }
    vars: { base_url: "{{ target.url }}" }
  batch:
    discover: { command: ["./list-instances.sh", "--env", "prod"] }
    vars: { base_url: "{{ target.url }}/v1", region: "{{ target.region }}" }
version: { url: "{{ vars.base_url }}/version" }
`,
    );
    expect(diagnostics).toEqual([]);
    expect(config?.targets).toEqual([
      { name: 'canary', vars: { base_url: 'http://127.0.0.1:4101' }, version: { url: '{{ vars.base_url }}/version', timeoutMs: 5000 } },
      {
        name: 'web',
        vars: { base_url: '{{ target.url }}', who: '{{ target.name }}' },
        version: { url: '{{ vars.base_url }}/version', timeoutMs: 5000 },
        discover: { source: { kind: 'srv', name: '_http._tcp.web.prod.svc.cluster.local', scheme: 'https' }, timeoutMs: 5000, everyMs: 15_000 },
        expect: { count: 8 },
      },
      expect.objectContaining({
        name: 'api',
        discover: {
          source: { kind: 'dns', name: 'api.internal', port: 8080, scheme: 'http' },
          resolver: { host: '127.0.0.1', port: 5353 },
          timeoutMs: 2000,
          everyMs: 30_000,
        },
        expect: { min: 2 },
      }),
      expect.objectContaining({
        name: 'batch',
        discover: {
          source: { kind: 'command', argv: [path.resolve('/srv/ops/list-instances.sh'), '--env', 'prod'], cwd: path.resolve('/srv/ops') },
          timeoutMs: 10_000,
          everyMs: 30_000,
        },
      }),
    ]);
  });

  it('gives each problem a config code', async () => {
    const load = await loadProjectConfigText(
      'ceiling.yaml',
      `targets:\n  web:\n    discover: { srv: _http._tcp.web.test, every: 30 }\n    vars: { a: "{{ target.hst }}" }\n`,
    );
    expect(load.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['CEIL_CONFIG_INVALID', 'CEIL_CONFIG_TEMPLATE']);
  });

  it('refuses two sources in one discover, at the second', async () => {
    expect(
      await problems(`targets:
  web:
    discover: { srv: _http._tcp.web.test, dns: web.test, port: 80 }
`),
    ).toEqual([
      'ceiling.yaml:3:48 › targets.web.discover.dns: a discover has one source, and this one has srv and dns; keep one, or declare a second target group for the other',
    ]);
  });

  it('refuses an unknown key with a did-you-mean', async () => {
    const [problem, ...rest] = await problems(`targets:
  web:
    discover:
      srv: _http._tcp.web.test
      evry: 30s
`);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^ceiling\.yaml:5:7 › targets\.web\.discover\.evry: .*every/);
  });

  it('refuses a bad port, a quoted port, and a dns source without one', async () => {
    expect(await problems(`targets:\n  a:\n    discover: { dns: a.test, port: 70000 }\n`)).toEqual([
      'ceiling.yaml:3:36 › targets.a.discover.port: port is a number from 1 to 65535, e.g. 8080',
    ]);
    expect(await problems(`targets:\n  a:\n    discover: { dns: a.test, port: "8080" }\n`)).toEqual([
      'ceiling.yaml:3:36 › targets.a.discover.port: port is a number; write 8080 without quotes',
    ]);
    expect(await problems(`targets:\n  a:\n    discover: { dns: a.test }\n`)).toEqual([
      'ceiling.yaml:3:22 › targets.a.discover.dns: a dns source needs port: the port every address serves, e.g. port: 8080',
    ]);
  });

  it('refuses count below 1, count with min, and expect on a static target', async () => {
    expect(await problems(`targets:\n  web:\n    discover: { srv: _http._tcp.web.test }\n    expect: { count: 0 }\n`)).toEqual([
      'ceiling.yaml:4:22 › targets.web.expect.count: count needs at least 1: a fleet of none is a lookup that failed, which the gate already calls inconclusive',
    ]);
    expect(await problems(`targets:\n  web:\n    discover: { srv: _http._tcp.web.test }\n    expect: { count: 3, min: 2 }\n`)).toEqual([
      'ceiling.yaml:4:30 › targets.web.expect.min: expect either count (exactly) or min (at least), not both',
    ]);
    expect(await problems(`targets:\n  web:\n    vars: { base_url: "http://127.0.0.1:1" }\n    expect: { count: 3 }\n`)).toEqual([
      'ceiling.yaml:4:13 › targets.web.expect: expect is for discovered targets (with discover); a static target is one instance',
    ]);
  });

  it('refuses every without a unit', async () => {
    expect(await problems(`targets:\n  web:\n    discover: { srv: _http._tcp.web.test, every: 30 }\n`)).toEqual([
      'ceiling.yaml:3:50 › targets.web.discover.every: duration 30 has no unit; write it as "30ms" or "30s"',
    ]);
  });

  it('refuses a resolver that is not an address and port, and keys a command does not take', async () => {
    const [resolver] = await problems(`targets:\n  web:\n    discover: { srv: _http._tcp.web.test, resolver: dns.example.com }\n`);
    expect(resolver).toMatch(/^ceiling\.yaml:3:53 › targets\.web\.discover\.resolver: expected a DNS server as an IP address and port/);
    expect(await problems(`targets:\n  web:\n    discover: { command: ["./ls.sh"], port: 80 }\n`)).toEqual([
      "ceiling.yaml:3:45 › targets.web.discover.port: a command prints each instance's URL, which carries its port; remove port",
    ]);
    expect(await problems(`targets:\n  web:\n    discover: { command: "./ls.sh --all" }\n`)).toEqual([
      'ceiling.yaml:3:26 › targets.web.discover.command: write it as a list: ["./ls.sh --all"]; it runs without a shell',
    ]);
  });

  it('refuses target values a source does not give, or outside a plain reference', async () => {
    expect(
      await problems(`targets:
  web:
    discover: { srv: _http._tcp.web.test }
    vars: { a: "{{ target.adress }}", b: "{{ upper(target.url) }}" }
  static:
    vars: { c: "{{ target.url }}" }
`),
    ).toEqual([
      'ceiling.yaml:4:16 › targets.web.vars.a: target.adress is not known; an srv or dns source gives target.url, target.host, target.port and target.name',
      'ceiling.yaml:4:42 › targets.web.vars.b: use target values as plain references such as {{ target.url }}, not inside a function, a fallback or a deeper path',
      'ceiling.yaml:6:16 › targets.static.vars.c: target.* is only known for discovered targets; target static has no discover, so write its value here',
    ]);
  });
});

describe('docs/kubernetes/fleet-gate.yaml', () => {
  it('holds a ceiling.yaml that loads, discovering the headless Service by its SRV name', async () => {
    const manifest = parse(await readFile('docs/kubernetes/fleet-gate.yaml', 'utf8')) as { data: Record<string, string> };
    const { config, diagnostics } = await loadProjectConfigText('fleet-gate.yaml#ceiling.yaml', manifest.data['ceiling.yaml']!);
    expect(diagnostics).toEqual([]);
    const web = config?.targets.find((target) => target.name === 'web');
    // _PORTNAME._PROTO.SERVICE.NAMESPACE.svc.cluster.local, as the file's comment and README say.
    expect(web?.discover?.source).toEqual({ kind: 'srv', name: '_http._tcp.web.shop.svc.cluster.local', scheme: 'http' });
    expect(web?.expect).toEqual({ count: 8 });
  });
});
