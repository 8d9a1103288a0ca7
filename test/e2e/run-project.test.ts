/**
 * `ceiling run` in a project folder: it reads ceiling.yaml (journeys,
 * defaults, reporters, a target's vars), never takes the config or a schema
 * for a journey, speaks GitHub Actions, and has the CI-runner habits: --list,
 * --shard, --quiet, FORCE_COLOR. Also `ceiling init`, and the gate's
 * Pushgateway grouping.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunResult } from '../../src/core/result.js';
import { root, runCli } from './cli.js';
import { Cleanup, show, startFlakyServer, startServer } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const ANSI = /\u001b\[/;
const SECRET_JOURNEY = readFile(path.join(root, 'journeys/secret-roundtrip.yaml'), 'utf8');

/** A scratch project; names may hold folders. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await cleanup.dir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

/** A journey that only checks one URL; `{{ vars.base }}` comes from --var, a target, or the fallback. */
const pingJourney = (name: string, tags: string[] = [], extra = '') => `name: ${name}
tags: [${tags.join(', ')}]
vars:
  base: "{{ env.PING_BASE ?? 'http://127.0.0.1:9' }}"
${extra}steps:
  - name: health
    http: { url: "{{ vars.base }}/health" }
    expect: { status: 200 }
`;

describe('ceiling run reads ceiling.yaml', () => {
  it("with no paths, runs the config's journeys, with its defaults and reporters", async () => {
    const drop = cleanup.add(await startDeadDrop());
    const dir = await project({
      'ceiling.yaml': 'journeys: [checks]\ndefaults: { retries: 2 }\nreporters: [console, json=reports/run.json]\n',
      'checks/ping.yaml': pingJourney('ping'),
      'journeys/not-this.yaml': pingJourney('not in the config'),
    });
    const result = await runCli(['run', '--out', path.join(dir, 'out')], { cwd: dir, env: { PING_BASE: drop.url } });
    expect(result.code, show(result)).toBe(0);
    const json = JSON.parse(await readFile(path.join(dir, 'reports/run.json'), 'utf8')) as RunResult;
    expect(json.journeys.map((journey) => journey.name)).toEqual(['ping']);
    expect(result.stdout).toContain('PASS  ping');
  });

  it('defaults.retries applies: a journey that fails once is flaky, not failed', async () => {
    const flaky = cleanup.add(await startFlakyServer(1));
    const dir = await project({ 'ceiling.yaml': 'defaults: { retries: 1 }\n', 'journeys/ping.yaml': pingJourney('ping') });
    const result = await runCli(['run', '--reporter', 'json=r.json'], { cwd: dir, env: { PING_BASE: flaky.url } });
    expect(result.code, show(result)).toBe(0);
    const json = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as RunResult;
    expect(json.journeys[0]!.status).toBe('flaky');
  });

  it("--target NAME runs the journeys with that target's vars, which win over --var", async () => {
    const drop = cleanup.add(await startDeadDrop());
    const dir = await project({
      'ceiling.yaml': `targets:\n  staging: { vars: { base: "${drop.url}" } }\n  production: { vars: { base: "http://127.0.0.1:9" } }\n`,
      'journeys/ping.yaml': pingJourney('ping'),
    });
    const staging = await runCli(['run', '--target', 'staging', '--var', 'base=http://127.0.0.1:9'], { cwd: dir });
    expect(staging.code, show(staging)).toBe(0);
    const production = await runCli(['run', '--target', 'production'], { cwd: dir });
    expect(production.code).toBe(1);
  });

  it('a discovered target group whose discovery fails: run --target, gate and drill are inconclusive (exit 3), naming the group', async () => {
    const dir = await project({
      'ceiling.yaml': [
        'journeys: [checks]',
        'targets:',
        '  staging: { vars: { base: "http://127.0.0.1:9" } }',
        '  web:',
        `    discover: { command: ["${process.execPath}", "-e", "process.stderr.write('inventory down'); process.exit(4)"] }`,
        '    vars: { base: "{{ target.url }}" }',
        '',
      ].join('\n'),
      'checks/ping.yaml': pingJourney('ping'),
    });
    const runs = [
      await runCli(['run', '--target', 'web'], { cwd: dir }),
      await runCli(['gate', '--config', 'ceiling.yaml', '--target', 'web'], { cwd: dir }),
      await runCli(['drill', '--config', 'ceiling.yaml', '--deploy', 'true', '--rollback', 'true'], { cwd: dir }),
    ];
    for (const result of runs) {
      expect(result.code, show(result)).toBe(3);
      expect(`${result.stdout}${result.stderr}`).toMatch(/web: discovery command .* inventory down/);
    }
  });

  it('--target naming no target: exit 2, the known targets and the nearest name; without a config, exit 2 saying so', async () => {
    const dir = await project({ 'ceiling.yaml': 'targets:\n  staging: {}\n  production: {}\n', 'journeys/ping.yaml': pingJourney('ping') });
    const result = await runCli(['run', '--target', 'prodution'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--target: prodution is not in ceiling.yaml (targets: staging, production); did you mean "production"?');
    const bare = await project({ 'journeys/ping.yaml': pingJourney('ping') });
    const none = await runCli(['run', '--target', 'production'], { cwd: bare });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('there is no ceiling.yaml here');
  });

  it('--config FILE is read from anywhere, and a bad config is exit 2 with file:line:col before anything runs', async () => {
    const dir = await project({ 'ops/ceiling.yaml': 'journeys: [../journeys]\ndefaults: { retries: many }\n', 'journeys/ping.yaml': pingJourney('ping') });
    const result = await runCli(['run', '--config', path.join(dir, 'ops/ceiling.yaml')], { cwd: root });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ops\/ceiling\.yaml:2:\d+ › defaults\.retries: /);
    expect(result.stdout).toBe('');
  });

  it('a folder scan never reads ceiling.yaml or a *.schema.json as a journey (run, gate and validate)', async () => {
    const drop = cleanup.add(await startDeadDrop());
    const dir = await project({
      'ceiling.yaml': `journeys: [.]\ntargets:\n  local: { vars: { drop: "${drop.url}" } }\n`,
      'ceiling.schema.json': '{}',
      'secret.yaml': await SECRET_JOURNEY,
    });
    for (const args of [
      ['validate', '.'],
      ['run', '.'],
      ['gate', '.', '--verdict-out', path.join(dir, 'out/v.json')],
    ]) {
      const result = await runCli(args, { cwd: dir, env: { DROP_URL: drop.url } });
      expect(result.code, `${args[0]}: ${show(result)}`).toBe(0);
      expect(result.stderr).not.toContain('ceiling.yaml:1:1');
    }
  });
});

describe('ceiling run: CI-runner habits', () => {
  const journeys = Object.fromEntries(
    Array.from({ length: 8 }, (_, index) => [`journeys/j${index}.yaml`, pingJourney(`journey ${index}`, index % 2 === 0 ? ['even'] : [])]),
  );

  it('--list prints the selected journeys and runs nothing; --shard k/n splits them with no gap or overlap', async () => {
    const dir = await project(journeys);
    const all = await runCli(['run', '--list', '--tag', 'even'], { cwd: dir });
    expect(all.code, show(all)).toBe(0);
    const listed = (text: string) =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/\s{2,}/)[1]);
    expect(listed(all.stdout).sort()).toEqual(['journey 0', 'journey 2', 'journey 4', 'journey 6']);
    expect(all.stdout).toMatch(/^journeys\/j0\.yaml:1 {2}journey 0 {2}\[even\]$/m);
    expect(all.stderr).toContain('4 journeys selected; nothing was run (--list)');
    expect(await readdir(dir)).not.toContain('ceiling-out');

    const shards = await Promise.all([1, 2, 3].map((k) => runCli(['run', '--list', '--shard', `${k}/3`], { cwd: dir })));
    const names = shards.flatMap((shard) => (shard.code === 0 ? listed(shard.stdout) : []));
    expect(names.sort()).toEqual(Array.from({ length: 8 }, (_, index) => `journey ${index}`));
  });

  it('--shard with a bad value is exit 2', async () => {
    const dir = await project(journeys);
    const result = await runCli(['run', '--shard', '4/3'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--shard must look like 2/3');
  });

  it('--quiet prints only what did not pass, and the summary', async () => {
    const drop = cleanup.add(await startDeadDrop());
    const dir = await project({
      'journeys/ok.yaml': pingJourney('fine'),
      'journeys/bad.yaml': pingJourney('broken', [], `  base: "http://127.0.0.1:9"\n`).replace(/vars:\n {2}base: [^\n]*\n/, 'vars:\n'),
    });
    const result = await runCli(['run', '--quiet'], { cwd: dir, env: { PING_BASE: drop.url } });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('fine');
    expect(result.stdout).not.toContain('running 2 journeys');
    expect(result.stdout).toContain('broken');
    expect(result.stdout).toContain('1 passed, 0 failed, 1 errored');
  });

  it('FORCE_COLOR=1 colours the log even off a terminal; FORCE_COLOR=0 keeps it plain', async () => {
    const dir = await project({ 'journeys/ping.yaml': pingJourney('ping') });
    const coloured = await runCli(['run'], { cwd: dir, env: { FORCE_COLOR: '1' } });
    expect(coloured.stdout).toMatch(ANSI);
    const plain = await runCli(['run'], { cwd: dir, env: { FORCE_COLOR: '0', NO_COLOR: '' } });
    expect(plain.stdout).not.toMatch(ANSI);
  });
});

describe('ceiling run under GitHub Actions', () => {
  it('appends a step summary and writes ::error for a failed step and ::warning for a flaky journey, paths relative to the workspace', async () => {
    const flaky = cleanup.add(await startFlakyServer(1));
    const dir = await project({
      'summary.md': '# an earlier step\n',
      'journeys/flaky.yaml': pingJourney('comes back', [], 'retries: 1\n'),
      'journeys/down.yaml': pingJourney('stays down').replace("env.PING_BASE ?? 'http://127.0.0.1:9'", "'http://127.0.0.1:9'"),
    });
    const result = await runCli(['run'], {
      cwd: dir,
      env: { PING_BASE: flaky.url, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'), GITHUB_WORKSPACE: dir },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::error file=journeys\/down\.yaml,line=6,col=5,title=stays down › health::CEIL_CONNECT_REFUSED: /m);
    expect(result.stdout).toMatch(
      /^::warning file=journeys\/flaky\.yaml,line=7,col=5,title=flaky%3A comes back › health::CEIL_HTTP_STATUS: .*\(passed on attempt 2\)/m,
    );
    const summary = await readFile(path.join(dir, 'summary.md'), 'utf8');
    expect(summary.startsWith('# an earlier step\n\n## ❌ ceiling run: FAILED')).toBe(true);
    expect(summary).toMatch(/\| 💥 error \| stays down \| 1\. health \(journeys\/down\.yaml:6\) \| `CEIL_CONNECT_REFUSED` /);
    expect(summary).toMatch(/\| ⚠️ flaky \| comes back \|/);
  });

  it('--reporter github works outside Actions too: annotations on stdout, no summary file needed', async () => {
    const dir = await project({ 'journeys/down.yaml': pingJourney('stays down') });
    const result = await runCli(['run', '--reporter', 'github'], { cwd: dir, env: { GITHUB_WORKSPACE: dir } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::error file=journeys\/down\.yaml,/m);
    expect(result.stdout).not.toContain('FAIL');
  });
});

describe('ceiling init', () => {
  it('writes a project that validates, and prints the next three commands', async () => {
    const dir = await project({});
    const result = await runCli(['init', '--url', 'https://shop.example/'], { cwd: dir });
    expect(result.code, show(result)).toBe(0);
    for (const file of ['ceiling.yaml', 'journeys/home-page.yaml', 'journeys/ceiling.schema.json', '.github/workflows/ceiling.yml'])
      expect(result.stdout).toContain(`wrote ${file}`);
    expect(result.stdout).toMatch(/next:\n {2}npx ceiling validate .*\n {2}npx ceiling run --target production .*\n {2}git add /);
    expect(await readFile(path.join(dir, 'ceiling.yaml'), 'utf8')).toContain('baseUrl: "https://shop.example"');
    expect(await readFile(path.join(dir, 'journeys/home-page.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/ceiling\.schema\.json\n/);
    const schema = JSON.parse(await readFile(path.join(dir, 'journeys/ceiling.schema.json'), 'utf8')) as unknown;
    expect(schema).toEqual(JSON.parse(await readFile(path.join(root, 'journeys/ceiling.schema.json'), 'utf8')));
    const validated = await runCli(['validate'], { cwd: dir });
    expect(validated.code, show(validated)).toBe(0);
    const listed = await runCli(['run', '--list', '--target', 'production'], { cwd: dir });
    expect(listed.code, show(listed)).toBe(0);
    expect(listed.stdout).toContain('the home page answers');
  });

  it('without --url the journey reads BASE_URL, and a run against a live service passes', async () => {
    const drop = cleanup.add(await startServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>')));
    const dir = await project({});
    expect((await runCli(['init'], { cwd: dir })).code).toBe(0);
    const run = await runCli(['run'], { cwd: dir, env: { BASE_URL: drop.url } });
    expect(run.code, show(run)).toBe(0);
    expect(run.stdout).toContain('PASS  the home page answers');
  });

  it('over existing files: exit 2, lists them, writes nothing', async () => {
    const dir = await project({ 'ceiling.yaml': '# mine\n' });
    const result = await runCli(['init'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nothing was written; these already exist:\n  ceiling.yaml\n');
    expect(await readFile(path.join(dir, 'ceiling.yaml'), 'utf8')).toBe('# mine\n');
    expect((await readdir(dir)).sort()).toEqual(['ceiling.yaml']);
  });

  it('a --url that is not http(s) is exit 2', async () => {
    const dir = await project({});
    const result = await runCli(['init', '--url', 'shop.example'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not an absolute URL');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('ceiling gate: Pushgateway grouping', () => {
  it('pushes under the job and labels from ceiling.yaml and the flags, so two environments keep their own series', async () => {
    const drop = cleanup.add(await startDeadDrop());
    const pushed: string[] = [];
    const gateway = cleanup.add(
      await startServer((req, res) => {
        pushed.push(`${req.method} ${req.url}`);
        req.resume().on('end', () => res.writeHead(200).end());
      }),
    );
    const dir = await project({
      'ceiling.yaml': `targets:\n  local: { vars: { drop: "${drop.url}" } }\npushgateway:\n  url: ${gateway.url}\n  job: deploys\n  labels: { team: payments }\n`,
      'journeys/secret.yaml': await SECRET_JOURNEY,
    });
    const staging = await runCli(['gate', '--pushgateway-label', 'environment=staging', '--verdict-out', 'out/v.json'], { cwd: dir });
    expect(staging.code, show(staging)).toBe(0);
    const production = await runCli(['gate', '--pushgateway-job', 'release', '--pushgateway-label', 'environment=production', '--verdict-out', 'out/v.json'], {
      cwd: dir,
    });
    expect(production.code, show(production)).toBe(0);
    expect(pushed).toEqual(['PUT /metrics/job/deploys/team/payments/environment/staging', 'PUT /metrics/job/release/team/payments/environment/production']);
  });

  it('a bad label or a grouping without a Pushgateway is exit 2', async () => {
    const dir = await project({ 'ceiling.yaml': 'targets:\n  local: {}\n', 'journeys/ping.yaml': pingJourney('ping') });
    const badLabel = await runCli(['gate', '--pushgateway', 'http://127.0.0.1:9', '--pushgateway-label', 'env-name=x'], { cwd: dir });
    expect(badLabel.code).toBe(2);
    expect(badLabel.stderr).toContain('--pushgateway-label: "env-name=x" must be name=value');
    const noGateway = await runCli(['gate', '--pushgateway-job', 'x'], { cwd: dir });
    expect(noGateway.code).toBe(2);
    expect(noGateway.stderr).toContain('need a Pushgateway');
  });
});

describe('ceiling validate under GitHub Actions', () => {
  it('pins each problem to its file and line as an ::error', async () => {
    const dir = await project({ 'journeys/bad.yaml': 'name: bad\nsteps:\n  - htp: { url: "http://127.0.0.1:9" }\n' });
    const result = await runCli(['validate'], { cwd: dir, env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: dir } });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(
      /^::error file=journeys\/bad\.yaml,line=3,col=\d+,title=ceiling validate%3A CEIL_[A-Z_]+::steps\[0\]\.htp: unknown step "htp"; did you mean "http"\?/m,
    );
  });
});
