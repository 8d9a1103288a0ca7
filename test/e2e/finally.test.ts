import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, outcomeOf, runWithJson, show, startServer } from './helpers.js';
import { startDemoServices } from './services.js';

/**
 * Issue 15, item 1: finally steps clean up what a journey made, whatever
 * happened to its steps, through the real CLI against the dead-drop demo.
 * Reading a dead-drop secret burns it, so a finally read is its cleanup,
 * and a second read that finds 404 proves it is gone.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const burnsTheSecret = (middle: string[]) =>
  [
    'name: burns its secret',
    'steps:',
    '  - name: create',
    '    http: { method: POST, url: "{{ env.DROP_URL }}/secrets", json: { value: "finally-e2e" } }',
    '    expect: { status: 201 }',
    '    capture: { id: json.id }',
    ...middle,
    'finally:',
    '  - name: burn it',
    '    http: { url: "{{ env.DROP_URL }}/secrets/{{ vars.id }}" }',
    '    expect: { status: 200, json: { value: finally-e2e } }',
    '  - name: gone',
    '    http: { url: "{{ env.DROP_URL }}/secrets/{{ vars.id }}" }',
    '    expect: { status: 404 }',
    '',
  ].join('\n');

describe('finally', () => {
  it('cleans up after a failed expectation, and the failure stays the journey failure', async () => {
    const services = cleanup.add(await startDemoServices());
    const dir = await cleanup.dir({
      'burn.yaml': burnsTheSecret(['  - name: on purpose', '    http: { url: "{{ env.DROP_URL }}/health" }', '    expect: { status: 418 }']),
    });
    const run = await runWithJson(cleanup, ['run', dir], { env: services.env });
    expect(run.code, show(run)).toBe(1);
    const { journey, failure, step } = outcomeOf(run.json, 'burns its secret');
    expect(journey.status).toBe('failed');
    expect(step?.name).toBe('on purpose');
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    const attempt = journey.attempts[0]!;
    expect(attempt.finallySteps?.map((item) => [item.name, item.status])).toEqual([
      ['burn it', 'passed'],
      ['gone', 'passed'],
    ]);
    expect(attempt.finallyFailure).toBeUndefined();
    expect(run.stdout).toContain('finally › burn it');
  }, 40_000);

  it('cleans up after an interrupt (SIGINT) and still exits as interrupted', async () => {
    const services = cleanup.add(await startDemoServices());
    let pid: number | undefined;
    // The request arriving here is the moment the journey is in flight: interrupt it then, not after a guessed delay.
    const hanging = cleanup.add(
      await startServer(() => {
        if (pid !== undefined) process.kill(pid, 'SIGINT');
      }),
    );
    const dir = await cleanup.dir({ 'burn.yaml': burnsTheSecret([`  - http: { url: "${hanging.url}/hang" }`]) });
    const run = await runWithJson(cleanup, ['run', dir], {
      env: services.env,
      killAfterMs: 30_000,
      onSpawn: (spawned) => {
        pid = spawned;
      },
    });
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(130);
    const { failure, journey } = outcomeOf(run.json, 'burns its secret');
    expect(failure).toMatchObject({ class: 'interrupted', code: 'CEIL_INTERRUPTED' });
    expect(journey.attempts[0]!.finallySteps?.map((item) => item.status)).toEqual(['passed', 'passed']);
  }, 40_000);

  it('fails a journey whose steps passed when its cleanup fails, labelled as cleanup', async () => {
    const services = cleanup.add(await startDemoServices());
    const text = burnsTheSecret([]).replace('expect: { status: 404 }', 'expect: { status: 200 }');
    const dir = await cleanup.dir({ 'burn.yaml': text });
    const run = await runWithJson(cleanup, ['run', dir], { env: services.env });
    expect(run.code, show(run)).toBe(1);
    const { journey, failure } = outcomeOf(run.json, 'burns its secret');
    expect(journey.status).toBe('failed');
    expect(failure?.message).toMatch(/^cleanup failed in finally step "gone": /);
    expect(failure?.location).toMatchObject({ line: 11 });
    expect(run.stdout).toMatch(/cleanup failed in finally step "gone"/);
  }, 40_000);
});
