import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChat } from '../../fixtures/chat.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';
import type { GateResult } from '../../src/gate/model.js';
import { root, runCli, type CliResult } from './cli.js';
import { Cleanup, show, startServer, UNRESOLVABLE_HOST } from './helpers.js';
import { eventually, getJson, startServe } from './serve-process.js';
import { TEST_KEEPALIVE_MS } from './services.js';

/**
 * `ceiling gate` and `ceiling drill` through the real CLI against the demo
 * services: a fleet of chat instances and a dead-drop, each target a set of
 * vars in a ceiling.yaml written by the test.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const CHAT_JOURNEYS = [path.join(root, 'journeys/chat-ghost.yaml'), path.join(root, 'journeys/chat-leave.yaml')];
const DROP_JOURNEY = path.join(root, 'journeys/secret-roundtrip.yaml');

async function chat(options: { version?: string; bugs?: string[] } = {}): Promise<RunningService> {
  return cleanup.add(await startChat({ keepaliveMs: TEST_KEEPALIVE_MS, bugs: options.bugs ?? [], ...(options.version ? { version: options.version } : {}) }));
}

function chatTarget(name: string, service: RunningService): string {
  return `  ${name}:\n    vars: { chat: "${service.wsUrl}", chatHttp: "${service.url}" }`;
}

function configText(targets: string[], extra = ''): string {
  return ['targets:', ...targets, 'version:', '  url: "{{ vars.chatHttp }}/version"', '  json: version', extra, ''].join('\n');
}

interface GateRun extends CliResult {
  verdict: GateResult;
  dir: string;
}

async function gate(config: string, journeys: string[], args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<GateRun> {
  const dir = await cleanup.dir({ 'ceiling.yaml': config });
  const verdictFile = path.join(dir, 'verdict.json');
  const result = await runCli(
    ['gate', ...journeys, '--config', path.join(dir, 'ceiling.yaml'), '--verdict-out', verdictFile, '--out', path.join(dir, 'out'), ...args],
    {
      env,
      killAfterMs: 60_000,
    },
  );
  let verdict: GateResult;
  try {
    verdict = JSON.parse(await readFile(verdictFile, 'utf8')) as GateResult;
  } catch {
    throw new Error(`no verdict file was written\n${show(result)}`);
  }
  return { ...result, verdict, dir };
}

describe('ceiling gate over a fleet', () => {
  it('passes a healthy fleet and records the version each target runs', async () => {
    const [one, two] = [await chat(), await chat()];
    const run = await gate(configText([chatTarget('chat-1', one), chatTarget('chat-2', two)]), CHAT_JOURNEYS, ['--expect-version', '1.0.0']);
    expect(run.code, show(run)).toBe(0);
    expect(run.verdict).toMatchObject({ verdict: 'pass', exitCode: 0, expectedVersion: '1.0.0' });
    expect(run.verdict.targets.map((target) => [target.name, target.version, target.status])).toEqual([
      ['chat-1', '1.0.0', 'passed'],
      ['chat-2', '1.0.0', 'passed'],
    ]);
  }, 60_000);

  it('catches the one stale instance, names the target and the step', async () => {
    const [good, stale] = [await chat(), await chat({ bugs: ['ghost-leave'] })];
    const run = await gate(configText([chatTarget('chat-1', good), chatTarget('chat-2', stale)]), CHAT_JOURNEYS);
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.reason).toContain('target chat-2');
    expect(run.verdict.reason).toContain('the room is told the ghost left');
    expect(run.verdict.targets.find((target) => target.name === 'chat-1')?.status).toBe('passed');
    expect(run.verdict.targets.find((target) => target.name === 'chat-2')?.status).toBe('failed');
    expect(run.verdict.timeToDetectMs).toBeGreaterThan(0);
    expect(run.stdout).toContain('chat-2');
  }, 60_000);

  it('fails a target that runs another version even when its journeys pass', async () => {
    const [current, old] = [await chat({ version: '1.5.0' }), await chat({ version: '1.4.1' })];
    const run = await gate(configText([chatTarget('web-7', current), chatTarget('web-8', old)]), CHAT_JOURNEYS, ['--expect-version', '1.5.0']);
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.reason).toBe('target web-8 runs 1.4.1, expected 1.5.0');
    expect(run.verdict.findings.filter((finding) => finding.kind === 'journey')).toEqual([]);
  }, 60_000);

  it('is inconclusive (exit 3) when every target fails at DNS', async () => {
    const config = [
      'targets:',
      `  a: { vars: { chat: "ws://${UNRESOLVABLE_HOST}/", chatHttp: "http://${UNRESOLVABLE_HOST}" } }`,
      `  b: { vars: { chat: "ws://${UNRESOLVABLE_HOST}:81/", chatHttp: "http://${UNRESOLVABLE_HOST}:81" } }`,
      '',
    ].join('\n');
    const run = await gate(config, [CHAT_JOURNEYS[1]!]);
    expect(run.code, show(run)).toBe(3);
    expect(run.verdict.verdict).toBe('inconclusive');
    expect(run.verdict.reason).toMatch(/DNS/);
  }, 60_000);

  it('never rolls back because the runner lacks a secret: exit 2, inconclusive', async () => {
    const server = cleanup.add(await startServer((_req, res) => res.writeHead(200).end('{}')));
    const dir = await cleanup.dir({
      'ceiling.yaml': ['targets:', `  t1: { vars: { base: "${server.url}" } }`, ''].join('\n'),
      'needs-secret.yaml': [
        'name: needs a token',
        'tags: [critical]',
        'steps:',
        '  - http: { url: "{{ vars.base }}/", headers: { authorization: "Bearer {{ secrets.GATE_TOKEN_NOT_SET }}" } }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    });
    const marker = path.join(dir, 'rolled-back');
    const rollback = `${process.execPath} -e "require('fs').writeFileSync('${marker}', 'yes')"`;
    const run = await gate(await readFile(path.join(dir, 'ceiling.yaml'), 'utf8'), [path.join(dir, 'needs-secret.yaml')], ['--on-fail', rollback]);
    expect(run.code, show(run)).toBe(2);
    expect(run.verdict).toMatchObject({ verdict: 'inconclusive', exitCode: 2 });
    expect(run.verdict.reason).toContain('GATE_TOKEN_NOT_SET');
    expect(run.verdict.rollback).toBeUndefined();
    await expect(readFile(marker, 'utf8')).rejects.toThrow();
  }, 60_000);

  it('exits 3 when no journey is selected', async () => {
    const one = await chat();
    const dir = await cleanup.dir({ 'ceiling.yaml': configText([chatTarget('chat-1', one)]) });
    const result = await runCli(['gate', ...CHAT_JOURNEYS, '--config', path.join(dir, 'ceiling.yaml'), '--tag', 'no-such-tag']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('nothing tested');
  });

  it('exits 2 with file:line for a bad config', async () => {
    const dir = await cleanup.dir({ 'ceiling.yaml': 'targets:\n  chat-1: { vars: { chat: "ws://127.0.0.1:1/" } }\ngate:\n  cleanRouns: 3\n' });
    const result = await runCli(['gate', ...CHAT_JOURNEYS, '--config', path.join(dir, 'ceiling.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ceiling\.yaml:4:3 › gate\.cleanRouns: .*did you mean "cleanRounds"/);
  });
});

describe('ceiling gate and drill input errors', () => {
  it.each([
    [['gate', '--bake', '10'], /--bake: duration "10" has no unit/],
    [['gate', '--rollback-timeout', 'soon'], /--rollback-timeout: "soon" is not a duration/],
    [['gate', '--confidence', '2'], /--confidence: "2" must be a number between 0\.5 and 0\.9999/],
    [['gate', '--min-effect', 'lots'], /--min-effect: "lots"/],
    [['gate', '--min-effect', '20'], /--min-effect: "20": a bare number is a fraction/],
    [['gate', '--pushgateway', 'nope'], /--pushgateway: "nope" is not a URL/],
    [['gate', '--baseline', '/nonexistent/base.json'], /\/nonexistent\/base\.json: no such file; create it with ceiling gate --baseline-out/],
    [['gate', '--target', 'web-9'], /--target: web-9 is not in .*ceiling\.yaml \(targets: chat-1\)/],
    [['drill', '--deploy', './deploy.sh', '--rollback', './rollback.sh', '--every', '5'], /--every: duration "5" has no unit/],
    [['drill', '--deploy', 'a | b', '--rollback', './rollback.sh'], /--deploy: "\|" needs a shell/],
  ])('%j exits 2 and says what to fix', async (args, message) => {
    const dir = await cleanup.dir({ 'ceiling.yaml': 'targets:\n  chat-1: { vars: { chat: "ws://127.0.0.1:1/" } }\n' });
    const [command, ...rest] = args;
    const result = await runCli([command!, CHAT_JOURNEYS[1]!, '--config', path.join(dir, 'ceiling.yaml'), ...rest]);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

/** The slow build's added delay per request: probes and gate rounds on a loaded 2-core runner vary by tens of ms. */
const SLOWDOWN_MS = 150;
/**
 * The slow build's bake: long enough for the five rounds a step needs before it may be flagged, at three slowed
 * requests a round on a loaded runner. The gate fails as soon as it is sure, so a detection does not wait for all of it.
 * Each planned round is another look at the data and splits the allowed error further (Bonferroni over time): 16 looks
 * leave a small sample room to be significant, where 80 would not.
 */
const SLOW_BAKE = ['--bake', '8s', '--every', '500ms'];

describe('ceiling gate latency against a baseline', () => {
  async function dropConfig(drop: RunningService): Promise<string> {
    return ['targets:', `  drop-1: { vars: { drop: "${drop.url}" } }`, ''].join('\n');
  }
  const bake = ['--bake', '3s', '--every', '100ms', '--clean-rounds', '3'];

  it('flags no regression on an unchanged build, and catches a slow one', async () => {
    const fast = cleanup.add(await startDeadDrop());
    const baselineDir = await cleanup.dir();
    const baselineFile = path.join(baselineDir, 'baseline.json');
    const before = await gate(await dropConfig(fast), [DROP_JOURNEY], [...bake, '--baseline-out', baselineFile]);
    expect(before.code, show(before)).toBe(0);

    for (let attempt = 0; attempt < 2; attempt++) {
      const unchanged = await gate(await dropConfig(fast), [DROP_JOURNEY], [...bake, '--baseline', baselineFile]);
      expect(unchanged.code, show(unchanged)).toBe(0);
      expect(unchanged.verdict.latency.length).toBeGreaterThan(0);
      expect(unchanged.verdict.latency.filter((comparison) => comparison.regressed)).toEqual([]);
    }

    // Far beyond what a busy shared runner adds to a loopback request, so the baseline's own noise cannot hide it.
    const slow = cleanup.add(await startDeadDrop({ slowMs: SLOWDOWN_MS }));
    const regressed = await gate(await dropConfig(slow), [DROP_JOURNEY], [...SLOW_BAKE, '--clean-rounds', '3', '--baseline', baselineFile]);
    expect(regressed.code, show(regressed)).toBe(1);
    expect(regressed.verdict.findings.some((finding) => finding.kind === 'latency' && finding.target === 'drop-1')).toBe(true);
    expect(regressed.verdict.reason).toMatch(/significantly slower than the baseline/);
  }, 120_000);
});

describe('ceiling gate with a baseline from ceiling serve history', () => {
  it("compares against the probes' recent runs", async () => {
    const fast = cleanup.add(await startDeadDrop());
    const dir = await cleanup.dir();
    const db = path.join(dir, 'history.db');
    const probe = cleanup.add(await startServe([DROP_JOURNEY, '--every', '1s', '--db', db], { env: { DROP_URL: fast.url } }));
    const name = encodeURIComponent('a dropped secret reads back once');
    await eventually(
      async () => {
        const runs = await getJson<{ runs: unknown[] }>(`${probe.url}/api/v1/journeys/${name}/runs`);
        // Twelve runs, so five slowed samples can be significant against them (a one-sided U test needs n large enough).
        return runs.body.runs.length >= 12 ? true : undefined;
      },
      'twelve probe runs in the history',
      40_000,
    );
    expect((await probe.stop('SIGTERM')).code).toBe(0);

    const config = ['targets:', `  drop-1: { vars: { drop: "${fast.url}" } }`, ''].join('\n');
    const bake = ['--bake', '3s', '--every', '100ms', '--baseline-db', db];
    const unchanged = await gate(config, [DROP_JOURNEY], bake);
    expect(unchanged.code, show(unchanged)).toBe(0);
    expect(unchanged.verdict.baseline).toMatchObject({ source: 'history', path: db });
    expect(unchanged.verdict.baseline.samples).toBeGreaterThanOrEqual(36);

    const slow = cleanup.add(await startDeadDrop({ slowMs: SLOWDOWN_MS }));
    const regressed = await gate(
      ['targets:', `  drop-1: { vars: { drop: "${slow.url}" } }`, ''].join('\n'),
      [DROP_JOURNEY],
      [...SLOW_BAKE, '--baseline-db', db],
    );
    expect(regressed.code, show(regressed)).toBe(1);
    expect(regressed.verdict.findings.some((finding) => finding.kind === 'latency')).toBe(true);
  }, 120_000);
});

describe('ceiling gate flaky results', () => {
  /** Fails every other request, so a journey with one retry passes on its second attempt: flaky. */
  async function flakyConfig(): Promise<{ config: string; journey: string }> {
    const server = cleanup.add(await startServer((_req, res, count) => res.writeHead(count % 2 === 1 ? 503 : 200).end('{}')));
    const dir = await cleanup.dir({
      'flaky.yaml': ['name: sometimes works', 'retries: 1', 'steps:', '  - http: { url: "{{ vars.base }}/" }', '    expect: { status: 200 }', ''].join('\n'),
    });
    return { config: ['targets:', `  t1: { vars: { base: "${server.url}" } }`, ''].join('\n'), journey: path.join(dir, 'flaky.yaml') };
  }

  it('reports flaky results and passes by default', async () => {
    const { config, journey } = await flakyConfig();
    const run = await gate(config, [journey]);
    expect(run.code, show(run)).toBe(0);
    expect(run.verdict.findings.map((finding) => finding.kind)).toContain('flaky');
  }, 60_000);

  it('fails on flaky results under --fail-on-flaky', async () => {
    const { config, journey } = await flakyConfig();
    const run = await gate(config, [journey], ['--fail-on-flaky']);
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.verdict).toBe('fail');
  }, 60_000);
});

describe('ceiling gate rollback', () => {
  it('runs the rollback, confirms recovery and reports the times', async () => {
    const good = await chat();
    let bad = await chat({ bugs: ['ghost-leave'] });
    const port = bad.port;
    // The "rollback": the test restarts the bad instance on its port without the bug when asked.
    const control = cleanup.add(
      await startServer((_req, res) => {
        void bad
          .close()
          .then(async () => {
            bad = await startChat({ keepaliveMs: TEST_KEEPALIVE_MS, port });
            cleanup.add(bad);
            res.writeHead(200).end('rolled back');
          })
          .catch(() => res.writeHead(500).end('restart failed'));
      }),
    );
    // It also prints what the gate handed it: the verdict in env vars and in the JSON file.
    const rollback = `${process.execPath} -e "const fs=require('fs');const v=JSON.parse(fs.readFileSync(process.env.CEILING_VERDICT_FILE,'utf8'));console.log('env',process.env.CEILING_VERDICT,process.env.CEILING_FAILING_TARGETS,'file',v.verdict);fetch('${control.url}/rollback',{method:'POST'}).then(r=>r.text().then(t=>{console.log(t);process.exit(r.ok?0:1)}))"`;
    const run = await gate(configText([chatTarget('chat-1', good), chatTarget('chat-2', bad)]), CHAT_JOURNEYS, [
      '--on-fail',
      rollback,
      '--recover-within',
      '30s',
    ]);
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.rollback).toMatchObject({ ok: true, exitCode: 0 });
    expect(run.verdict.rollback!.output).toContain('rolled back');
    expect(run.verdict.rollback!.output).toContain('env fail chat-2 file fail');
    expect(run.verdict.recovery).toMatchObject({ recovered: true });
    expect(run.verdict.recovery!.timeToRecoverMs).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/green again/i);
  }, 90_000);

  it('reports a failing rollback loudly, with its output, and exits 1', async () => {
    const [good, bad] = [await chat(), await chat({ bugs: ['ghost-leave'] })];
    const rollback = `${process.execPath} -e "console.error('kubectl: permission denied'); process.exit(3)"`;
    const run = await gate(configText([chatTarget('chat-1', good), chatTarget('chat-2', bad)]), CHAT_JOURNEYS, ['--on-fail', rollback]);
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict.rollback).toMatchObject({ ok: false, exitCode: 3 });
    expect(run.stdout).toContain('ROLLBACK FAILED');
    expect(run.stdout).toContain('kubectl: permission denied');
  }, 60_000);

  it('refuses a rollback command that needs a shell', async () => {
    const one = await chat();
    const dir = await cleanup.dir({ 'ceiling.yaml': configText([chatTarget('chat-1', one)]) });
    const result = await runCli(['gate', ...CHAT_JOURNEYS, '--config', path.join(dir, 'ceiling.yaml'), '--on-fail', './rollback.sh && rm -rf /tmp/x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"&&" needs a shell');
  });
});

describe('ceiling gate outputs', () => {
  it('writes the GitHub step summary and annotations, JUnit, and pushes to a Pushgateway', async () => {
    const [good, stale] = [await chat(), await chat({ bugs: ['ghost-leave'] })];
    const pushed: { method: string; url: string; body: string }[] = [];
    const pushgateway = cleanup.add(
      await startServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          pushed.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(200).end();
        });
      }),
    );
    const scratchDir = await cleanup.dir({ 'summary.md': '# earlier step\n' });
    const summary = path.join(scratchDir, 'summary.md');
    const junit = path.join(scratchDir, 'gate.xml');
    const run = await gate(
      configText([chatTarget('chat-1', good), chatTarget('chat-2', stale)]),
      CHAT_JOURNEYS,
      ['--junit', junit, '--pushgateway', pushgateway.url, '--webhook', `${pushgateway.url}/hook`],
      {
        GITHUB_STEP_SUMMARY: summary,
      },
    );
    expect(run.code, show(run)).toBe(1);
    const markdown = await readFile(summary, 'utf8');
    expect(markdown.startsWith('# earlier step\n')).toBe(true);
    expect(markdown).toContain('chat-2');
    expect(run.stdout).toMatch(/^::error .*chat-2/m);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('chat-2');
    const push = pushed.filter((request) => request.url.startsWith('/metrics/'));
    expect(push).toHaveLength(1);
    expect(push[0]!.url).toMatch(/^\/metrics\/job\/ceiling_gate/);
    expect(push[0]!.body).toMatch(/ceiling_gate_verdict\{[^}]*verdict="fail"[^}]*\} 1/);
    const notified = pushed.filter((request) => request.url === '/hook');
    expect(notified).toHaveLength(1);
    expect(JSON.parse(notified[0]!.body)).toMatchObject({ event: 'gate', verdict: 'fail', urgent: true });
  }, 60_000);
});

describe('ceiling gate output isolation', () => {
  /** A --junit path under a regular file: no one, root included, can create it. */
  async function unwritableJUnit(): Promise<{ summary: string; junit: string }> {
    const dir = await cleanup.dir({ 'summary.md': '# earlier step\n', 'a-file': 'not a folder\n' });
    return { summary: path.join(dir, 'summary.md'), junit: path.join(dir, 'a-file', 'gate.xml') };
  }

  it('passes with exit 0 when --junit cannot be written, warns naming it, and still writes every other output', async () => {
    const healthy = await chat();
    const pushed: string[] = [];
    const pushgateway = cleanup.add(
      await startServer((req, res) => {
        pushed.push(req.url ?? '');
        req.resume();
        req.on('end', () => res.writeHead(200).end());
      }),
    );
    const files = await unwritableJUnit();
    const run = await gate(configText([chatTarget('chat-1', healthy)]), CHAT_JOURNEYS, ['--junit', files.junit, '--pushgateway', pushgateway.url], {
      GITHUB_STEP_SUMMARY: files.summary,
    });
    expect(run.code, show(run)).toBe(0);
    expect(run.verdict).toMatchObject({ verdict: 'pass', exitCode: 0 });
    expect(run.stderr).toContain(`output "junit ${files.junit}" failed:`);
    expect(run.stdout).toContain('PASS');
    const markdown = await readFile(files.summary, 'utf8');
    expect(markdown.startsWith('# earlier step\n')).toBe(true);
    expect(markdown).toContain('chat-1');
    expect(pushed.filter((url) => url.startsWith('/metrics/job/ceiling_gate'))).toHaveLength(1);
  }, 60_000);

  it('keeps a failing gate at exit 1 when --junit cannot be written', async () => {
    const stale = await chat({ bugs: ['ghost-leave'] });
    const files = await unwritableJUnit();
    const run = await gate(configText([chatTarget('chat-2', stale)]), CHAT_JOURNEYS, ['--junit', files.junit], { GITHUB_STEP_SUMMARY: files.summary });
    expect(run.code, show(run)).toBe(1);
    expect(run.verdict).toMatchObject({ verdict: 'fail', exitCode: 1 });
    expect(run.stderr).toContain(`output "junit ${files.junit}" failed:`);
    expect(run.stdout).toContain('FAIL');
    expect(run.stdout).toMatch(/^::error .*chat-2/m);
    expect(await readFile(files.summary, 'utf8')).toContain('chat-2');
  }, 60_000);
});

describe('ceiling gate secrets', () => {
  it('never shows a planted secret in any output, even when the target echoes it back', async () => {
    const planted = 'planted-gate-secret-4c1d9e7a22';
    const received: string[] = [];
    const target = cleanup.add(
      await startServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          if (req.url?.startsWith('/metrics/') || req.url === '/hook') {
            received.push(Buffer.concat(chunks).toString('utf8'));
            res.writeHead(200).end();
            return;
          }
          // A broken target that reflects the request, credentials included.
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ saw: req.headers }));
        });
      }),
    );
    const dir = await cleanup.dir({
      'ceiling.yaml': ['targets:', `  t1: { vars: { base: "${target.url}" } }`, ''].join('\n'),
      'secret.yaml': [
        'name: uses a token',
        'tags: [critical]',
        'steps:',
        '  - name: call with the token',
        '    http: { url: "{{ vars.base }}/api", headers: { authorization: "Bearer {{ secrets.API_TOKEN }}" } }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
      'summary.md': '',
    });
    const files = {
      verdict: path.join(dir, 'verdict.json'),
      junit: path.join(dir, 'gate.xml'),
      summary: path.join(dir, 'summary.md'),
      baseline: path.join(dir, 'base.json'),
    };
    const result = await runCli(
      [
        'gate',
        path.join(dir, 'secret.yaml'),
        '--config',
        path.join(dir, 'ceiling.yaml'),
        '--verdict-out',
        files.verdict,
        '--junit',
        files.junit,
        '--baseline-out',
        files.baseline,
        '--pushgateway',
        target.url,
        '--webhook',
        `${target.url}/hook`,
        '--out',
        path.join(dir, 'out'),
      ],
      { env: { API_TOKEN: planted, GITHUB_STEP_SUMMARY: files.summary }, killAfterMs: 60_000 },
    );
    expect(result.code, show(result)).toBe(1);
    const artifacts = [result.stdout, result.stderr, ...received, ...(await Promise.all(Object.values(files).map((file) => readFile(file, 'utf8'))))];
    expect(received.length).toBe(2);
    expect(artifacts.join('\n')).toContain('REDACTED');
    for (const artifact of artifacts) expect(artifact).not.toContain(planted);
  }, 60_000);
});

describe('ceiling drill', () => {
  /** A target whose /feature breaks on /deploy and heals on /rollback, and commands that call those. */
  async function drillFleet(): Promise<{ dir: string; call: (what: string) => string; args: (deploy: string, rollback: string) => string[] }> {
    const state = { broken: false };
    const target = cleanup.add(
      await startServer((req, res) => {
        if (req.url === '/deploy') state.broken = true;
        if (req.url === '/rollback') state.broken = false;
        res.writeHead(state.broken && req.url === '/feature' ? 500 : 200).end('{}');
      }),
    );
    const dir = await cleanup.dir({
      'ceiling.yaml': ['targets:', `  t1: { vars: { base: "${target.url}" } }`, ''].join('\n'),
      'feature.yaml': ['name: the feature works', 'steps:', '  - http: { url: "{{ vars.base }}/feature" }', '    expect: { status: 200 }', ''].join('\n'),
    });
    const call = (what: string) => `${process.execPath} -e "fetch('${target.url}/${what}').then(r=>process.exit(r.ok?0:1))"`;
    const args = (deploy: string, rollback: string) => [
      'drill',
      path.join(dir, 'feature.yaml'),
      '--config',
      path.join(dir, 'ceiling.yaml'),
      '--deploy',
      deploy,
      '--rollback',
      rollback,
      '--every',
      '200ms',
    ];
    return { dir, call, args };
  }

  it('rehearses deploy and rollback and reports when the fleet was green again', async () => {
    const { dir, call, args } = await drillFleet();
    const result = await runCli([...args(call('deploy'), call('rollback')), '--report-out', path.join(dir, 'drill.json')], { killAfterMs: 60_000 });
    expect(result.code, show(result)).toBe(0);
    expect(result.stdout).toMatch(/DRILL PASSED: rollback took \S+, green again at \S+/);
    const report = JSON.parse(await readFile(path.join(dir, 'drill.json'), 'utf8')) as { phases: { name: string; green: boolean }[] };
    expect(report.phases.map((phase) => [phase.name, phase.green])).toEqual([
      ['verify', true],
      ['deploy', false],
      ['rollback', true],
    ]);
  }, 60_000);

  it('fails when the rollback does not restore green', async () => {
    const { call, args } = await drillFleet();
    // This "rollback" answers 200 but changes nothing: the rehearsal must say so.
    const result = await runCli([...args(call('deploy'), call('nothing')), '--recover-within', '1s'], { killAfterMs: 60_000 });
    expect(result.code, show(result)).toBe(1);
    expect(result.stdout).toMatch(/DRILL FAILED: the rollback did not restore green within 1\.00s/);
  }, 60_000);
});

describe('ceiling schema config', () => {
  it('prints the ceiling.yaml schema that docs/ceiling.config.schema.json holds, and refuses an unknown one', async () => {
    const printed = await runCli(['schema', 'config']);
    expect(printed.code).toBe(0);
    const committed = JSON.parse(await readFile(path.join(root, 'docs/ceiling.config.schema.json'), 'utf8')) as unknown;
    expect(JSON.parse(printed.stdout)).toEqual(committed);
    const unknown = await runCli(['schema', 'gate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown schema "gate"; use journey (the default) or config');
  });
});
