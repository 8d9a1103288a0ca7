import { readFile, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverFleet, type DiscoveryResult, type DiscoverySpec } from '../../src/discovery/index.js';
import { Redactor } from '../../src/secrets/redactor.js';

/** The command source with real processes: a shell script stands in for a site's "list my instances" tool. */

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ceiling-discovery-command-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(body: string): Promise<string> {
  const file = path.join(dir, 'list-instances.sh');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

const spec = (argv: string[], timeoutMs = 10_000, cwd?: string): DiscoverySpec => ({
  source: { kind: 'command', argv, ...(cwd ? { cwd } : {}) },
  timeoutMs,
  everyMs: 30_000,
});
const problemOf = (result: DiscoveryResult) => {
  if (!('problem' in result)) throw new Error(`expected a problem, found ${result.instances.length} instances`);
  return result.problem;
};

/**
 * SIGKILL reaches a process group at once, but a process still takes a moment
 * to exit after it: poll until it is gone, and give up (running) only after
 * far longer than any exit takes.
 */
async function isRunning(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (!(await runsNow(pid))) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Gone, or a zombie waiting for a parent that is not us: either way not running. */
async function runsNow(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return !/^State:\s+Z/m.test(status);
}

describe('discoverFleet with a command', () => {
  it('reads the JSON list: names, URLs, hosts, ports and extra keys as target values', async () => {
    const file = await script(`cat <<'JSON'
[{"name": "eu-1", "url": "http://127.0.0.1:4101", "region": "eu", "weight": 3},
 {"url": "https://[::1]/app"}]
JSON`);
    const result = await discoverFleet('web', spec([file]), {
      vars: { base_url: '{{ target.url }}', region: '{{ target.region ?? "none" }}', where: '{{ target.region }}' },
    });
    if ('problem' in result) throw new Error(result.problem.message);
    expect(result.instances.map((instance) => [instance.name, instance.host, instance.port, instance.url])).toEqual([
      ['web/[::1]:443', '::1', 443, 'https://[::1]/app'],
      ['web/eu-1', '127.0.0.1', 4101, 'http://127.0.0.1:4101'],
    ]);
    expect(result.instances[1]?.values).toEqual({ url: 'http://127.0.0.1:4101', host: '127.0.0.1', port: '4101', name: 'web/eu-1', region: 'eu', weight: '3' });
    expect(result.instances[1]?.vars).toEqual({ base_url: 'http://127.0.0.1:4101', region: '{{ target.region ?? "none" }}', where: 'eu' });
  });

  it('runs in the given folder, without a shell', async () => {
    await writeFile(path.join(dir, 'fleet.json'), '[{"url": "http://127.0.0.1:9"}]');
    const result = await discoverFleet('web', spec(['cat', 'fleet.json', '$HOME'], 10_000, dir));
    // "$HOME" reached cat as a literal file name: no shell expanded it.
    expect(problemOf(result)).toEqual({ code: 'CEIL_DISCOVERY_COMMAND_FAILED', message: expect.stringContaining("cat: '$HOME': No such file or directory") });
    const ok = await discoverFleet('web', spec(['cat', 'fleet.json'], 10_000, dir));
    expect('instances' in ok && ok.instances.map((instance) => instance.name)).toEqual(['web/127.0.0.1:9']);
  });

  it('refuses output that is not JSON, showing its start', async () => {
    const file = await script('echo "web-1 10.0.3.7:8080"');
    expect(problemOf(await discoverFleet('web', spec([file])))).toEqual({
      code: 'CEIL_DISCOVERY_COMMAND_OUTPUT',
      message: expect.stringMatching(/^web: discovery command .* did not print JSON; it printed "web-1 10\.0\.3\.7:8080"; it should print a list such as/),
    });
  });

  it('refuses JSON that is not a list of instances, saying where', async () => {
    const cases: [string, string][] = [
      ['{"url": "http://127.0.0.1:1"}', 'expected a JSON list'],
      ['[{"url": "http://127.0.0.1:1"}, {"name": "b"}]', 'at [1].url: needs "url"'],
      ['[{"url": "ftp://127.0.0.1/"}]', 'at [0].url: url must be an http, https, ws or wss URL'],
      ['[{"url": "http://127.0.0.1:1", "port": 2}]', 'at [0].port: "port" comes from url'],
      ['[{"url": "http://127.0.0.1:1", "name": "a/b"}]', 'at [0].name: name starts with a letter or digit'],
      ['[{"url": "http://127.0.0.1:1", "tags": ["x"]}]', 'at [0].tags: extra values are strings, numbers or booleans'],
    ];
    for (const [json, expected] of cases) {
      const file = await script(`echo '${json}'`);
      const problem = problemOf(await discoverFleet('web', spec([file])));
      expect(problem.code).toBe('CEIL_DISCOVERY_COMMAND_OUTPUT');
      expect(problem.message).toContain(expected);
    }
  });

  it('refuses two instances under one name', async () => {
    const file = await script(`echo '[{"name": "a", "url": "http://127.0.0.1:1"}, {"name": "a", "url": "http://127.0.0.1:2"}]'`);
    expect(problemOf(await discoverFleet('web', spec([file]))).message).toContain('two instances named web/a');
  });

  it('calls an empty list empty: inconclusive, not a fleet of zero', async () => {
    const file = await script("echo '[]'");
    expect(problemOf(await discoverFleet('web', spec([file]))).code).toBe('CEIL_DISCOVERY_EMPTY');
  });

  it('reports a non-zero exit with its stderr, and a command that cannot start', async () => {
    const file = await script('echo "inventory API down" >&2; exit 4');
    expect(problemOf(await discoverFleet('web', spec([file])))).toEqual({
      code: 'CEIL_DISCOVERY_COMMAND_FAILED',
      message: `web: discovery command ${file} exited with status 4; stderr: inventory API down`,
    });
    const missing = problemOf(await discoverFleet('web', spec([path.join(dir, 'nope.sh')])));
    expect(missing).toEqual({ code: 'CEIL_DISCOVERY_COMMAND_FAILED', message: expect.stringContaining('could not start (ENOENT)') });
  });

  it('redacts secrets in stderr and in the message', async () => {
    const secret = 'tok-4f9a2c1e77';
    const redactor = new Redactor();
    redactor.add(secret, 'inventory_token');
    const file = await script(`echo "401 for token ${secret} (base64 $(printf %s ${secret} | base64))" >&2; exit 1`);
    const problem = problemOf(await discoverFleet('web', spec([file, `--token=${secret}`]), { redactor }));
    expect(problem.message).not.toContain(secret);
    expect(problem.message).not.toContain(Buffer.from(secret).toString('base64'));
    expect(problem.message).toContain('401 for token [REDACTED:inventory_token]');
    expect(problem.message).toContain('--token=[REDACTED:inventory_token]');
  });

  it('kills a hanging command at its timeout, with everything it started', async () => {
    const pids = path.join(dir, 'pids');
    const file = await script(`sleep 600 & echo $! > ${pids}.tmp; echo $$ >> ${pids}.tmp; mv ${pids}.tmp ${pids}; echo "still listing" >&2; wait`);
    const problem = problemOf(await discoverFleet('web', spec([file], 1_000)));
    expect(problem).toEqual({
      code: 'CEIL_DISCOVERY_COMMAND_TIMEOUT',
      message: expect.stringMatching(/did not finish within 1000 ms and was killed; .*stderr: still listing$/),
    });
    const started = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    expect(started).toHaveLength(2);
    for (const pid of started) expect(await isRunning(pid)).toBe(false);
  });

  it('leaves nothing behind when the command exits but its child lives on', async () => {
    const pidFile = path.join(dir, 'child');
    // The child keeps stdout open: the list is still read once the command itself exits, long before its timeout.
    const file = await script(`sleep 600 & echo $! > ${pidFile}; echo '[{"url": "http://127.0.0.1:1"}]'`);
    const result = await discoverFleet('web', spec([file], 60_000));
    expect('instances' in result).toBe(true);
    expect(await isRunning(Number((await readFile(pidFile, 'utf8')).trim()))).toBe(false);
  });
});
