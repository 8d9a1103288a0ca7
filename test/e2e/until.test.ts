import { afterEach, describe, expect, it } from 'vitest';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import { runCli } from './cli.js';
import { Cleanup, outcomeOf, runWithJson, show } from './helpers.js';

/**
 * Issue 15, item 2: `until:` polls a step until its expectation holds,
 * through the real CLI against the dead-drop demo while it warms up (its
 * /health answers 503 to the first calls).
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const waitsForHealth = (until: string) =>
  [
    'name: waits until ready',
    'steps:',
    '  - name: ready',
    '    http: { url: "{{ env.DROP_URL }}/health" }',
    '    expect: { status: 200, json: { ok: true } }',
    `    until: ${until}`,
    '    capture: { ok: json.ok }',
    '  - assert: { value: "{{ vars.ok }}", equals: true }',
    '',
  ].join('\n');

describe('until', () => {
  it('passes once the service is ready after a few polls', async () => {
    const drop = cleanup.add(await startDeadDrop({ warmUpChecks: 3 }));
    const dir = await cleanup.dir({ 'ready.yaml': waitsForHealth('{ every: 50ms }') });
    const run = await runWithJson(cleanup, ['run', dir], { env: { DROP_URL: drop.url } });
    expect(run.code, show(run)).toBe(0);
    expect(outcomeOf(run.json, 'waits until ready').status).toBe('passed');
    // The three 503s were used up by the polls: the next call is a 200.
    expect((await fetch(`${drop.url}/health`)).status).toBe(200);
  }, 40_000);

  it('fails with the last answer and the number of attempts when it is not ready in time', async () => {
    const drop = cleanup.add(await startDeadDrop({ warmUpChecks: 10 }));
    const dir = await cleanup.dir({ 'ready.yaml': waitsForHealth('{ every: 20ms, attempts: 3 }') });
    const run = await runWithJson(cleanup, ['run', dir], { env: { DROP_URL: drop.url } });
    expect(run.code, show(run)).toBe(1);
    const { failure, step } = outcomeOf(run.json, 'waits until ready');
    expect(step?.name).toBe('ready');
    expect(failure).toMatchObject({ class: 'assertion', code: 'CEIL_HTTP_STATUS' });
    expect(failure?.message).toMatch(/^still failing after 3 attempts over \S+: /);
    expect(run.stdout).toContain('still failing after 3 attempts');
  }, 40_000);

  it('is a load error without an expect to wait for, with file:line:col', async () => {
    const dir = await cleanup.dir({
      'bad.yaml': 'name: bad\nsteps:\n  - http: { url: "http://127.0.0.1:1/" }\n    until: { every: 1s }\n',
    });
    const run = await runCli(['validate', dir]);
    expect(run.code, show(run)).toBe(2);
    expect(run.stdout + run.stderr).toMatch(/bad\.yaml:4:12 › steps\[0\]\.until: until repeats the step until its expect holds/);
  }, 40_000);
});
