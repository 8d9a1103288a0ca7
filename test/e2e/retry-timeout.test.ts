import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, outcomeOf, runWithJson, show, startServer } from './helpers.js';

/**
 * Issue 11, item 9: `timeout` bounds each attempt, not all attempts together
 * (README, "timeout"). A retry after a timeout gets a whole timeout of its own,
 * and the failure says which attempt ran out of it.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

describe('timeout and retries', () => {
  it('gives every attempt the whole timeout and says which attempt ran out of it', async () => {
    // Holds every request open: only the deadline ends an attempt.
    const silent = cleanup.add(await startServer(() => undefined));
    const dir = await cleanup.dir({
      'hang.yaml': [
        'name: hangs every time',
        'timeout: 1s',
        'retries: 2',
        'steps:',
        `  - http: { url: "${silent.url}/hang" }`,
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    });
    const run = await runWithJson(cleanup, ['run', dir], { killAfterMs: 30_000 });
    const { journey } = outcomeOf(run.json, 'hangs every time');
    // A busy machine may freeze the runner during the last attempt: then one more is made, marked, and a repeat is no verdict (exit 3).
    const noVerdict = journey.attempts.every((attempt) => attempt.failure?.runnerStallMs !== undefined);
    expect(run.code, show(run)).toBe(noVerdict ? 3 : 1);
    const planned = journey.attempts.filter((attempt) => !attempt.afterRunnerStall);
    expect(planned).toHaveLength(3);
    expect(journey.attempts.length).toBeLessThanOrEqual(4);
    planned.forEach((attempt, index) => {
      expect(attempt.failure).toMatchObject({ class: 'timeout', code: 'CEIL_TIMEOUT_JOURNEY' });
      // On a busy machine the runner may add how long it stalled meanwhile; the attempt's own words come first.
      expect(attempt.failure?.message).toMatch(new RegExp(`^attempt ${index + 1} of 3 did not finish within its 1\\.00s deadline($| \\(the runner stalled)`));
      // A deadline never fires early: each attempt had its whole second.
      expect(attempt.durationMs).toBeGreaterThanOrEqual(990);
    });
  }, 45_000);
});
