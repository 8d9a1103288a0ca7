import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/core/result.js';
import { root, runCli, scratch } from './cli.js';
import { healthOf, startDemoServices, type DemoServices } from './services.js';

let services: DemoServices | undefined;
afterEach(async () => {
  await services?.close();
  services = undefined;
});

const outDirs: string[] = [];
afterEach(async () => {
  await Promise.all(outDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function runExamples(env: NodeJS.ProcessEnv) {
  const out = await scratch({});
  outDirs.push(out);
  const result = await runCli(['run', 'journeys', '--out', out, '--reporter', 'console', '--reporter', `json=${path.join(out, 'r.json')}`], {
    env,
    killAfterMs: 60_000,
  });
  const json = JSON.parse(await readFile(path.join(out, 'r.json'), 'utf8')) as RunResult;
  return { ...result, json };
}

/** The failed attempt carries a screenshot of every page actor, and the files exist. */
async function expectScreenshots(json: RunResult, journey: string, actors: string[]) {
  const attachments = json.journeys.find((item) => item.name === journey)?.attempts.at(-1)?.attachments ?? [];
  for (const actor of actors) {
    const shot = attachments.find((attachment) => attachment.contentType === 'image/png' && attachment.name.includes(actor));
    expect(shot, `a screenshot of ${actor}`).toBeDefined();
    const png = await readFile(path.resolve(root, shot!.path));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  }
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
    expect(run.json.totals).toMatchObject({ journeys: 5, passed: 5, failed: 0, errored: 0 });
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

  it('stale-cache: the secret reads back a different value, over the API and in the page', async () => {
    services = await startDemoServices({ drop: ['stale-cache'] });
    const run = await runExamples(services.env);
    expect(run.code).toBe(1);
    const secret = failingStep(run.json, 'a dropped secret reads back once');
    expect(secret.step?.name).toBe('read back');
    expect(secret.failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_JSON', path: 'json.value' });
    const web = failingStep(run.json, 'a secret shared through the web page reveals once');
    expect(web.step?.name).toBe("bob reads alice's secret");
    expect(web.failure?.class).toBe('assertion');
    await expectScreenshots(run.json, 'a secret shared through the web page reveals once', ['alice', 'bob']);
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
    const web = failingStep(run.json, 'a secret shared through the web page reveals once');
    expect(web.step?.name).toBe('the secret is gone once read');
    expect(await healthOf(services.drop)).toEqual({ status: 200, body: { ok: true } });
  });

  it('phantom-save: the poster is told "Saved!" but the other reader never gets the comment', async () => {
    services = await startDemoServices({ comments: ['phantom-save'] });
    expect(await healthOf(services.comments)).toEqual({ status: 200, body: { ok: true } });
    const run = await runExamples(services.env);
    expect(run.code).toBe(1);
    const comment = failingStep(run.json, 'a posted comment is stored and reaches other readers');
    expect(comment.step?.name).toBe('bob sees it arrive live');
    expect(comment.failure?.class).toBe('assertion');
    expect(run.stdout).toContain('bob sees it arrive live');
    await expectScreenshots(run.json, 'a posted comment is stored and reaches other readers', ['alice', 'bob']);
    expect(run.json.totals).toMatchObject({ passed: 4, failed: 1 });
  });
});
