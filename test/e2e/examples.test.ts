import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.js';
import { runCli, scratch } from './cli.js';
import { healthOf, startDemoServices, type DemoServices } from './services.js';

let services: DemoServices | undefined;
afterEach(async () => {
  await services?.close();
  services = undefined;
});

async function runExamples(env: NodeJS.ProcessEnv) {
  const out = await scratch({});
  const result = await runCli(['run', 'journeys', '--reporter', 'console', '--reporter', `json=${path.join(out, 'r.json')}`], { env });
  const json = JSON.parse(await readFile(path.join(out, 'r.json'), 'utf8')) as RunResult;
  await rm(out, { recursive: true, force: true });
  return { ...result, json };
}

function failingStep(json: RunResult, journey: string) {
  const found = json.journeys.find((item) => item.name === journey);
  const attempt = found?.attempts.at(-1);
  return { status: found?.status, step: attempt?.steps.find((step) => step.status !== 'passed' && step.status !== 'skipped'), failure: attempt?.failure };
}

describe('example journeys against the demo services', () => {
  it('all pass against healthy services', async () => {
    services = await startDemoServices();
    const run = await runExamples(services.env);
    expect(run.killed).toBe(false);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json.totals).toMatchObject({ journeys: 3, passed: 3, failed: 0, errored: 0 });
    expect(run.stdout).toMatch(/PASS\s+chat announces who left/);
  });

  it('ghost-leave: the ghost journey fails at the leave announcement while /health is green', async () => {
    services = await startDemoServices({ chat: ['ghost-leave'] });
    expect(await healthOf(services.chat)).toEqual({ status: 200, body: { ok: true } });
    const run = await runExamples(services.env);
    expect(run.code).toBe(1);
    const ghost = failingStep(run.json, 'chat reaps a ghost and announces it');
    expect(ghost.status).toBe('failed');
    expect(ghost.step?.name).toBe('the room is told the ghost left');
    expect(ghost.failure?.class).toBe('assertion');
    expect(failingStep(run.json, 'chat announces who left').status).toBe('passed');
    expect(run.stdout).toContain('the room is told the ghost left');
    expect(run.stdout).toContain(path.join('journeys', 'chat-ghost.yaml'));
    expect(await healthOf(services.chat)).toEqual({ status: 200, body: { ok: true } });
  });

  it('stale-cache: the secret reads back a different value', async () => {
    services = await startDemoServices({ drop: ['stale-cache'] });
    const run = await runExamples(services.env);
    expect(run.code).toBe(1);
    const secret = failingStep(run.json, 'a dropped secret reads back once');
    expect(secret.step?.name).toBe('read back');
    expect(secret.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_JSON', path: 'json.value' });
    expect(await healthOf(services.drop)).toEqual({ status: 200, body: { ok: true } });
  });

  it('never-burn: the secret is still readable after the first read', async () => {
    services = await startDemoServices({ drop: ['never-burn'] });
    const run = await runExamples(services.env);
    expect(run.code).toBe(1);
    const secret = failingStep(run.json, 'a dropped secret reads back once');
    expect(secret.step?.name).toBe('gone once read');
    expect(secret.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS', expected: 404, actual: 200 });
    expect(run.stdout).toMatch(/expected status 404, got 200/);
    expect(await healthOf(services.drop)).toEqual({ status: 200, body: { ok: true } });
  });
});

