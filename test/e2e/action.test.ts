/**
 * The GitHub Action's run step (action/run.sh) as a runner would start it:
 * inputs as INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY as files
 * in a temp folder, the built CLI as the installed Ceiling, and the demo
 * dead-drop service as the thing under test. action.yml's own wiring (which
 * inputs reach the script, which outputs it declares) is checked statically.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';
import { cliPath, root } from './cli.js';

const exec = promisify(execFile);

interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

let work: string;
let healthy: RunningService;
let broken: RunningService;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'ceiling-action-'));
  [healthy, broken] = await Promise.all([startDeadDrop(), startDeadDrop({ bugs: ['stale-cache'] })]);
});

afterAll(async () => {
  await Promise.all([healthy?.close(), broken?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** A project with one journey and a ceiling.yaml whose target points at the given service. */
async function project(name: string, service: RunningService): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, 'journeys'), { recursive: true });
  await writeFile(path.join(dir, 'journeys/secret.yaml'), await readFile(path.join(root, 'journeys/secret-roundtrip.yaml'), 'utf8'));
  await writeFile(path.join(dir, 'ceiling.yaml'), `journeys: [journeys]\ntargets:\n  drop: { vars: { drop: "${service.url}" } }\n`);
  return dir;
}

async function runAction(cwd: string, inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<ActionRun> {
  const files = await mkdtemp(path.join(work, 'runner-'));
  const output = path.join(files, 'output');
  const summary = path.join(files, 'summary.md');
  await writeFile(output, '');
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase().replace(/-/g, '_')}`, value]));
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await exec('bash', [path.join(root, 'action/run.sh')], {
      cwd,
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: '1',
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: cwd,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        CEILING_BIN: cliPath,
        ...inputEnv,
        ...env,
      },
    });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    result = { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
  const outputs = Object.fromEntries(
    (await readFile(output, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const written = await readFile(summary, 'utf8').catch(() => '');
  return { ...result, outputs, summary: written };
}

describe('action/run.sh', () => {
  it('run, passing: exit 0, verdict pass, the reports as outputs and a step summary', async () => {
    const cwd = await project('run-pass', healthy);
    const result = await runAction(cwd, { command: 'run', reporter: 'junit', paths: '' }, { DROP_URL: healthy.url });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.outputs['exit-code']).toBe('0');
    expect(result.outputs.verdict).toBe('pass');
    expect(result.outputs['results-json']).toBe(path.join(cwd, 'ceiling-out/results.json'));
    expect(result.outputs.junit).toBe(path.join(cwd, 'ceiling-out/junit.xml'));
    const json = JSON.parse(await readFile(result.outputs['results-json']!, 'utf8')) as { status: string };
    expect(json.status).toBe('passed');
    expect(result.summary).toContain('ceiling run: PASSED');
    expect(result.stdout).not.toContain('::error');
  });

  it('run against a broken service: the exit code kept (1), verdict fail, an ::error on the failing step', async () => {
    const cwd = await project('run-fail', broken);
    const result = await runAction(cwd, { command: 'run' }, { DROP_URL: broken.url });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ 'exit-code': '1', verdict: 'fail' });
    expect(result.stdout).toMatch(
      /^::error file=journeys\/secret\.yaml,line=\d+,col=\d+,title=a dropped secret reads back once › read back::CEIL_HTTP_JSON: /m,
    );
    expect(result.summary).toContain('ceiling run: FAILED');
    expect(result.summary).toContain('read back');
  });

  it('gate with the config and expect-version-free defaults: verdict pass and the verdict file as an output', async () => {
    const cwd = await project('gate', healthy);
    const result = await runAction(cwd, { command: 'gate', config: 'ceiling.yaml' });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(result.outputs['verdict-json']).toBe(path.join(cwd, 'ceiling-out/verdict.json'));
    expect(JSON.parse(await readFile(result.outputs['verdict-json']!, 'utf8'))).toMatchObject({ verdict: 'pass' });
    expect(result.summary).toContain('ceiling gate: PASS');
  });

  it('validate: exit 0 for good journeys', async () => {
    const cwd = await project('validate', healthy);
    const result = await runAction(cwd, { command: 'validate', paths: 'journeys' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
  });

  it('an unknown command: a clear ::error in the job log, exit 2, verdict invalid, nothing run', async () => {
    const cwd = await project('unknown', healthy);
    const result = await runAction(cwd, { command: 'deploy' });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('::error title=ceiling action::unknown command "deploy": the command input is one of run, gate, validate, drill');
    expect(result.outputs).toMatchObject({ 'exit-code': '2', verdict: 'invalid' });
    expect(result.summary).toBe('');
  });

  it('drill: the deploy and rollback inputs become its commands; without them, exit 2', async () => {
    const cwd = await project('drill', healthy);
    const missing = await runAction(cwd, { command: 'drill', config: 'ceiling.yaml', deploy: 'true' });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('command: drill needs both the deploy and the rollback inputs');
    const result = await runAction(cwd, { command: 'drill', config: 'ceiling.yaml', deploy: 'true', rollback: 'true' });
    expect(result.stdout).toContain('ceiling drill --config ceiling.yaml --deploy true --rollback true');
    expect(result.outputs['exit-code']).toBe(String(result.code));
  });

  it('a gate-only input on another command is refused the same way', async () => {
    const cwd = await project('misplaced', healthy);
    const result = await runAction(cwd, { command: 'run', 'expect-version': '1.2.3' });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('expect-version is for command: gate, not run');
  });
});

describe('action.yml', () => {
  const action = async () =>
    parse(await readFile(path.join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>;
      outputs: Record<string, { value: string }>;
      runs: { using: string; steps: { id?: string; run?: string; env?: Record<string, string> }[] };
    };

  it('is a composite action with the inputs the issue names, each passed to the scripts as an environment variable', async () => {
    const { inputs, runs } = await action();
    expect(runs.using).toBe('composite');
    expect(Object.keys(inputs).sort()).toEqual([
      'browser',
      'command',
      'config',
      'deploy',
      'expect-version',
      'on-fail',
      'paths',
      'reporter',
      'rollback',
      'version',
      'working-directory',
    ]);
    const passed = runs.steps.flatMap((step) => Object.values(step.env ?? {})).join('\n');
    for (const name of ['command', 'paths', 'config', 'expect-version', 'on-fail', 'deploy', 'rollback', 'reporter', 'version'])
      expect(passed, name).toContain(`inputs.${name} }}`);
    // No input is pasted into a script: that would be script injection.
    for (const step of runs.steps) expect(step.run ?? '', 'a run line').not.toMatch(/\$\{\{/);
  });

  it('declares the outputs run.sh writes', async () => {
    const { outputs } = await action();
    expect(Object.keys(outputs).sort()).toEqual(['exit-code', 'junit', 'results-json', 'verdict', 'verdict-json']);
    for (const [name, { value }] of Object.entries(outputs)) expect(value).toBe(`\${{ steps.run.outputs.${name} }}`);
  });
});
