import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectConfig, loadProjectConfigText, projectConfigJsonSchema, type ProjectConfigLoad } from '../../src/gate/config.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';

/** Every diagnostic as `ceiling` prints it, so a test pins position, field and wording at once. */
const printed = (load: ProjectConfigLoad): string[] => load.diagnostics.map(formatDiagnostic);
const problems = async (text: string): Promise<string[]> => {
  const load = await loadProjectConfigText('ceiling.yaml', text);
  expect(load.config).toBeUndefined();
  return printed(load);
};

const twoTargets = `targets:
  chat-1:
    vars: { chatHttp: "http://127.0.0.1:4101" }
  chat-2:
    vars: { chatHttp: "http://127.0.0.1:4102" }
`;

describe('loadProjectConfig: a valid file', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ceiling-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns every section into plain values, with paths resolved against the file and durations in ms', async () => {
    await mkdir(path.join(dir, 'ops'));
    const file = path.join(dir, 'ops', 'ceiling.yaml');
    await writeFile(
      file,
      `$schema: ./ceiling.config.schema.json
journeys: [../journeys, smoke/login.yaml]
targets:
  chat-1:
    vars: { chat: "ws://127.0.0.1:4101/", chatHttp: "http://127.0.0.1:4101" }
  chat-2:
    vars: { chat: "ws://127.0.0.1:4102/", chatHttp: "http://127.0.0.1:4102" }
    version: { url: "{{ vars.chatHttp }}/meta", header: x-app-version, timeout: 2s }
version:
  url: "{{ vars.chatHttp }}/version"
  json: build.version
defaults: { concurrency: 2, timeout: 45s, retries: 1 }
reporters: [console, "junit=out/gate.xml", "json=-", json]
notify:
  webhooks: ["https://hooks.example.com/ceiling"]
  slack: ["https://hooks.slack.com/services/T/B/X"]
gate:
  bake: 10m
  every: 30s
  cleanRounds: 3
  confidence: 0.95
  minEffect: 20%
  failOnFlaky: true
  onFail: ["./scripts/rollback.sh", "--to", "previous"]
  recoverWithin: 2m
`,
    );
    const { config, diagnostics } = await loadProjectConfig(file);
    expect(diagnostics).toEqual([]);
    const opsDir = path.join(dir, 'ops');
    expect(config).toEqual({
      file,
      baseDir: opsDir,
      journeys: [path.join(dir, 'journeys'), path.join(opsDir, 'smoke', 'login.yaml')],
      targets: [
        {
          name: 'chat-1',
          vars: { chat: 'ws://127.0.0.1:4101/', chatHttp: 'http://127.0.0.1:4101' },
          version: { url: '{{ vars.chatHttp }}/version', json: 'build.version', timeoutMs: 5000 },
        },
        {
          name: 'chat-2',
          vars: { chat: 'ws://127.0.0.1:4102/', chatHttp: 'http://127.0.0.1:4102' },
          version: { url: '{{ vars.chatHttp }}/meta', header: 'x-app-version', timeoutMs: 2000 },
        },
      ],
      defaults: { concurrency: 2, timeoutMs: 45_000, retries: 1 },
      reporters: ['console', `junit=${path.join(opsDir, 'out', 'gate.xml')}`, 'json=-', 'json'],
      notify: { webhooks: ['https://hooks.example.com/ceiling'], slack: ['https://hooks.slack.com/services/T/B/X'], alertmanager: [] },
      pushgateway: { labels: {} },
      gate: {
        bakeMs: 600_000,
        everyMs: 30_000,
        cleanRounds: 3,
        confidence: 0.95,
        minEffect: 0.2,
        failOnFlaky: true,
        onFail: [path.join(opsDir, 'scripts', 'rollback.sh'), '--to', 'previous'],
        recoverWithinMs: 120_000,
      },
    });
  });

  it('fills in what a minimal file leaves out: [journeys], no reporters, no notifications, no policy', async () => {
    const file = path.join(dir, 'ceiling.yaml');
    await writeFile(file, 'targets:\n  prod: {}\n');
    const { config, diagnostics } = await loadProjectConfig(file);
    expect(diagnostics).toEqual([]);
    expect(config).toEqual({
      file,
      baseDir: dir,
      journeys: [path.join(dir, 'journeys')],
      targets: [{ name: 'prod', vars: {} }],
      defaults: {},
      reporters: [],
      notify: { webhooks: [], slack: [], alertmanager: [] },
      pushgateway: { labels: {} },
      gate: {},
    });
  });

  it('says how to get a config when the file does not exist', async () => {
    const missing = path.join(dir, 'ceiling.yaml');
    const load = await loadProjectConfig(missing);
    expect(load.config).toBeUndefined();
    expect(load.diagnostics.map((d) => d.code)).toEqual(['CEIL_CONFIG_NOT_FOUND']);
    expect(printed(load)).toEqual([`${missing}:1:1: no project config here; create ceiling.yaml (see docs/ceiling.yaml) or pass --config`]);
  });

  it('asks for the file, not its folder', async () => {
    const load = await loadProjectConfig(dir);
    expect(load.diagnostics.map((d) => d.code)).toEqual(['CEIL_CONFIG_NOT_FOUND']);
    expect(load.diagnostics[0]?.message).toContain(`--config ${path.join(dir, 'ceiling.yaml')}`);
  });
});

describe('loadProjectConfigText: values', () => {
  const gateOf = async (gate: string) => {
    const load = await loadProjectConfigText('ceiling.yaml', `targets: { a: {} }\ngate: ${gate}\n`);
    expect(printed(load)).toEqual([]);
    return load.config?.gate;
  };

  it('reads minEffect as a percentage or a fraction', async () => {
    expect((await gateOf('{ minEffect: 0.2 }'))?.minEffect).toBe(0.2);
    expect((await gateOf('{ minEffect: "150%" }'))?.minEffect).toBe(1.5);
    expect((await gateOf('{ minEffect: 0% }'))?.minEffect).toBe(0);
  });

  it('accepts a zero bake, meaning a single round', async () => {
    expect((await gateOf('{ bake: 0s }'))?.bakeMs).toBe(0);
    expect((await gateOf('{ bake: 0ms }'))?.bakeMs).toBe(0);
  });

  it('leaves a command found on PATH alone', async () => {
    expect((await gateOf('{ onFail: [kubectl, rollout, undo, deploy/chat] }'))?.onFail).toEqual(['kubectl', 'rollout', 'undo', 'deploy/chat']);
  });

  it('reads the whole body when a probe names neither json nor header', async () => {
    const load = await loadProjectConfigText('ceiling.yaml', 'targets: { a: {} }\nversion: { url: "http://127.0.0.1:9/version" }\n');
    expect(printed(load)).toEqual([]);
    expect(load.config?.targets[0]?.version).toEqual({ url: 'http://127.0.0.1:9/version', timeoutMs: 5000 });
  });

  it('does not require a var that has a ?? fallback', async () => {
    const load = await loadProjectConfigText('ceiling.yaml', 'targets: { a: {} }\nversion: { url: "{{ vars.base ?? \'http://127.0.0.1:9\' }}/version" }\n');
    expect(printed(load)).toEqual([]);
  });
});

describe('loadProjectConfigText: problems, each at its line and column', () => {
  it('names an unknown key and the key that was meant', async () => {
    expect(await problems(`${twoTargets}gate:\n  cleanRound: 3\n`)).toEqual([
      'ceiling.yaml:7:3 › gate.cleanRound: unknown key "cleanRound"; did you mean "cleanRounds"? (allowed: bake, every, cleanRounds, confidence, minEffect, failOnFlaky, onFail, recoverWithin)',
    ]);
    expect(await problems(`${twoTargets}reporter: [console]\n`)).toEqual([
      expect.stringMatching(/^ceiling\.yaml:6:1 › reporter: unknown key "reporter"; did you mean "reporters"\? \(allowed: \$schema, journeys, targets, /),
    ]);
  });

  it('refuses a target name that cannot be a metric label, at the name', async () => {
    expect(await problems('targets:\n  chat-1: {}\n  "chat 2": {}\n')).toEqual([
      'ceiling.yaml:3:3 › targets.chat 2: target name "chat 2" is not allowed: a target name starts with a letter or digit and holds only letters, digits, "_", "." and "-" (it becomes a metric label)',
    ]);
  });

  it('refuses onFail as a shell string and shows it as a list', async () => {
    expect(await problems(`${twoTargets}gate:\n  onFail: ./scripts/rollback.sh --to previous\n`)).toEqual([
      'ceiling.yaml:7:11 › gate.onFail: write it as a list: [cmd, arg, …]; it runs without a shell, e.g. onFail: ["./scripts/rollback.sh", "--to", "previous"]',
    ]);
  });

  it('refuses a version probe that reads both json and header', async () => {
    expect(await problems(`${twoTargets}version:\n  url: "{{ vars.chatHttp }}/version"\n  json: version\n  header: x-app-version\n`)).toEqual([
      'ceiling.yaml:9:11 › version.header: a version probe reads either json or header, not both; remove one (with neither, the whole body is the version)',
    ]);
  });

  it('asks for targets when there are none', async () => {
    expect(await problems('journeys: [journeys]\n')).toEqual([
      'ceiling.yaml:1:1 › targets: no targets: declare at least one, e.g. targets: { prod: { vars: { baseUrl: "https://example.com" } } }',
    ]);
    expect(await problems('targets: {}\n')).toEqual([
      'ceiling.yaml:1:10 › targets: declare at least one target, e.g. targets: { prod: { vars: { baseUrl: "https://example.com" } } }',
    ]);
  });

  it('keeps confidence strictly between 0.5 and 1', async () => {
    const message = 'confidence is a probability above 0.5 and below 1, e.g. 0.95';
    expect(await problems(`${twoTargets}gate: { confidence: 1 }\n`)).toEqual([`ceiling.yaml:6:21 › gate.confidence: ${message}`]);
    expect(await problems(`${twoTargets}gate: { confidence: 0.5 }\n`)).toEqual([`ceiling.yaml:6:21 › gate.confidence: ${message}`]);
  });

  it('explains a duration without a unit or with a wrong one', async () => {
    expect(await problems(`${twoTargets}gate:\n  every: 30\n  bake: 10 mins\n  recoverWithin: 0s\n`)).toEqual([
      'ceiling.yaml:7:10 › gate.every: duration 30 has no unit; write it as "30ms" or "30s"',
      'ceiling.yaml:8:9 › gate.bake: "10 mins" is not a duration; use a number with a unit: ms, s, m or h (e.g. "500ms", "2s")',
      'ceiling.yaml:9:18 › gate.recoverWithin: duration "0s" is zero; it must be greater than zero',
    ]);
    expect(await problems(`${twoTargets}gate: { bake: 0 }\n`)).toEqual([
      'ceiling.yaml:6:15 › gate.bake: write zero with a unit: "0s" (a single round, no bake window)',
    ]);
  });

  it('refuses a bare minEffect above 1, which would almost always mean a percentage', async () => {
    expect(await problems(`${twoTargets}gate: { minEffect: 20 }\n`)).toEqual([
      'ceiling.yaml:6:20 › gate.minEffect: a bare number is a fraction (0.2 = 20 % slower); for 20 % write "20%" or 0.2, and write more than 100 % as a percentage such as "150%"',
    ]);
    expect(await problems(`${twoTargets}gate: { minEffect: yes }\n`)).toEqual([
      'ceiling.yaml:6:20 › gate.minEffect: expected a percentage such as "20%" or a fraction such as 0.2',
    ]);
  });

  it('points at the target that lacks a var the default version URL uses', async () => {
    const text = `targets:
  chat-1:
    vars: { chatHttp: "http://127.0.0.1:4101" }
  chat-2:
    vars: { chat: "ws://127.0.0.1:4102/" }
  chat-3: {}
version: { url: "{{ vars.chatHttp }}/version" }
`;
    expect(await problems(text)).toEqual([
      'ceiling.yaml:5:11 › targets.chat-2.vars: target chat-2 does not set vars.chatHttp, used by version.url; add chatHttp to its vars, or give it its own version probe',
      'ceiling.yaml:6:3 › targets.chat-3: target chat-3 does not set vars.chatHttp, used by version.url; add chatHttp to its vars, or give it its own version probe',
    ]);
  });

  it('blames the URL once when no target sets the var it uses', async () => {
    expect(await problems(`${twoTargets}version: { url: "{{ vars.chatHtp }}/version" }\n`)).toEqual([
      'ceiling.yaml:6:17 › version.url: no target sets vars.chatHtp, used by version.url; did you mean vars.chatHttp?',
    ]);
  });

  it("checks a target's own probe against that target's vars only", async () => {
    const text = `targets:
  chat-1:
    vars: { chatHttp: "http://127.0.0.1:4101" }
    version: { url: "{{ vars.chatHtp }}/version" }
  chat-2:
    vars: { other: "x" }
    version: { url: "http://127.0.0.1:4102/version" }
version: { url: "{{ vars.chatHttp }}/version" }
`;
    expect(await problems(text)).toEqual([
      'ceiling.yaml:4:21 › targets.chat-1.version.url: target chat-1 does not set vars.chatHtp, used by its version.url; did you mean vars.chatHttp? Otherwise add chatHtp to targets.chat-1.vars',
    ]);
  });

  it('checks the template language and plain URLs in a version probe', async () => {
    expect(await problems(`${twoTargets}version: { url: "{{ vars.chatHttp }}/{{ build }}" }\n`)).toEqual([
      'ceiling.yaml:6:17 › version.url: unknown name "build" in a template; use vars.build, env.build or secrets.build',
    ]);
    expect(await problems(`${twoTargets}version: { url: "ftp://127.0.0.1/version" }\n`)).toEqual([
      'ceiling.yaml:6:17 › version.url: "ftp://127.0.0.1/version" is not an http or https URL; write e.g. "http://127.0.0.1:8080/version" or "{{ vars.baseUrl }}/version"',
    ]);
  });

  it('reports YAML tab indentation like journeys do', async () => {
    const load = await loadProjectConfigText('ceiling.yaml', 'targets:\n  a:\n\tvars: {}\n');
    expect(load.diagnostics.map((d) => d.code)).toEqual(['CEIL_CONFIG_YAML_TAB_AS_INDENT']);
    expect(printed(load)).toEqual(['ceiling.yaml:3:1: Tabs are not allowed as indentation; indent with spaces']);
  });

  it('reports a target declared twice', async () => {
    const load = await loadProjectConfigText('ceiling.yaml', 'targets:\n  chat-1: {}\n  chat-1: {}\n');
    expect(load.diagnostics.map((d) => d.code)).toEqual(['CEIL_CONFIG_YAML_DUPLICATE_KEY']);
    expect(printed(load)).toEqual([
      'ceiling.yaml:3:3 › targets.chat-1: duplicate key "chat-1": each key may appear once per mapping; give each target its own name',
    ]);
  });

  it('checks reporters with the same rules as --reporter', async () => {
    expect(await problems(`${twoTargets}reporters: [junt, "console=out.txt"]\n`)).toEqual([
      'ceiling.yaml:6:13 › reporters[0]: unknown reporter "junt" (valid reporters: console, json, junit, github, html); did you mean "junit"?',
      'ceiling.yaml:6:19 › reporters[1]: reporter "console" writes to the terminal and takes no path; write "console" alone',
    ]);
  });

  it('asks for quotes around a var that YAML read as a number', async () => {
    expect(await problems('targets:\n  a:\n    vars: { port: 4101, name: x }\n')).toEqual([
      'ceiling.yaml:3:19 › targets.a.vars.port: var values are strings; quote it: "4101"',
    ]);
  });

  it('refuses a notification address that is not an http URL', async () => {
    expect(await problems(`${twoTargets}notify:\n  slack: [hooks.slack.com/services/T/B/X]\n  webhooks: "https://hooks.example.com/x"\n`)).toEqual([
      'ceiling.yaml:7:11 › notify.slack[0]: expected an http or https URL for a Slack webhook, e.g. https://hooks.example.com/ceiling',
      'ceiling.yaml:8:13 › notify.webhooks: write it as a list: ["https://hooks.example.com/x"]',
    ]);
  });

  it('says what a config file is when it is not a mapping', async () => {
    expect(await problems('- targets\n')).toEqual([
      'ceiling.yaml:1:1: a project config is a mapping with at least targets; see docs/ceiling.yaml for a full example',
    ]);
  });

  it('reports every problem at once, in source order, all as CEIL_CONFIG_*', async () => {
    const load = await loadProjectConfigText(
      'ceiling.yaml',
      `targets:
  "bad name": {}
  ok: { verison: {} }
defaults: { concurrency: 0 }
gate: { cleanRounds: 0, onFail: "rollback now" }
`,
    );
    expect(load.config).toBeUndefined();
    expect(load.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.field}`)).toEqual([
      '2:3 CEIL_CONFIG_TARGET_NAME targets.bad name',
      '3:9 CEIL_CONFIG_UNKNOWN_KEY targets.ok.verison',
      '4:26 CEIL_CONFIG_INVALID defaults.concurrency',
      '5:22 CEIL_CONFIG_INVALID gate.cleanRounds',
      '5:33 CEIL_CONFIG_INVALID gate.onFail',
    ]);
  });
});

describe('docs/ceiling.yaml', () => {
  it('is a complete example that loads without a diagnostic', async () => {
    const { config, diagnostics } = await loadProjectConfig('docs/ceiling.yaml');
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(config?.targets.map((target) => target.name)).toEqual(['chat-1', 'chat-2']);
    expect(config?.targets[0]?.version?.json).toBe('version');
    expect(config?.targets[1]?.version?.header).toBe('x-app-version');
    expect(config?.gate.minEffect).toBe(0.2);
    expect(Object.keys(config?.gate ?? {})).toHaveLength(8);
  });

  it('points editors at docs/ceiling.config.schema.json, which is what projectConfigJsonSchema() gives today', async () => {
    expect(await readFile('docs/ceiling.yaml', 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/ceiling\.config\.schema\.json\n/);
    const committed = JSON.parse(await readFile('docs/ceiling.config.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(projectConfigJsonSchema());
  });
});
