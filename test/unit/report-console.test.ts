import { describe, expect, test } from 'vitest';
import { ConsoleReporter, renderJourneyLine, renderStepLine, renderSummary } from '../../src/report/console.js';
import { formatValue } from '../../src/report/text.js';
import {
  ANSI,
  STARTED_AT,
  captureStream,
  erroredJourney,
  failedEveryRetry,
  failedJourney,
  flakyJourney,
  passedJourney,
  runResult,
  stepResult,
} from './report-fixture.js';

const plain = { color: false };

async function plainOutput(journeys = [passedJourney(), failedJourney(), erroredJourney(), flakyJourney()]) {
  const output = captureStream(false);
  const reporter = new ConsoleReporter({ stream: output.stream, color: false, live: false });
  const result = runResult(journeys);
  reporter.onRunStart({ startedAt: STARTED_AT, journeys });
  for (const journey of journeys) {
    reporter.onJourneyStart({ name: journey.name, file: journey.file, attempt: 1 });
    for (const step of journey.attempts[0]?.steps ?? []) reporter.onStepEnd({ name: journey.name, file: journey.file, attempt: 1 }, step);
    reporter.onJourneyEnd(journey);
  }
  await reporter.onRunEnd(result);
  return output.text();
}

describe('journey lines', () => {
  test('one stable line per status', () => {
    expect(renderJourneyLine(passedJourney(), plain)).toBe('PASS  chat announces who left (412ms)');
    expect(renderJourneyLine(failedJourney(), plain)).toBe('FAIL  a dropped secret reads back once (88ms)');
    expect(renderJourneyLine(erroredJourney(), plain)).toBe('ERROR dead drop is reachable (88ms)');
    expect(renderJourneyLine(flakyJourney(), plain)).toBe('FLAKY comments render (388ms, attempt 2)');
  });

  test('retried journeys show the attempt against the budget when it is known', () => {
    expect(renderJourneyLine(flakyJourney(), { color: false, maxAttempts: 3 })).toBe('FLAKY comments render (388ms, attempt 2/3)');
    expect(renderJourneyLine(failedEveryRetry(), plain)).toBe('FAIL  secret survives restarts (264ms, attempt 3/3)');
  });

  test('colour is ANSI only when asked for', () => {
    expect(renderJourneyLine(failedJourney(), { color: true })).toMatch(ANSI);
    expect(renderJourneyLine(failedJourney(), plain)).not.toMatch(ANSI);
  });
});

describe('step lines', () => {
  test('a failed step points at its source', () => {
    const step = stepResult({ index: 1, name: 'read back', status: 'failed', durationMs: 48 });
    expect(renderStepLine(step, plain)).toBe('fail  read back (48ms) journeys/secret-roundtrip.yaml:10:5');
  });

  test('a skipped step has no duration', () => {
    expect(renderStepLine(stepResult({ index: 2, name: 'gone once read', status: 'skipped' }), plain)).toBe('skip  gone once read');
  });
});

describe('plain console output', () => {
  test('has no ANSI escapes even for failures', async () => {
    expect(await plainOutput()).not.toMatch(ANSI);
  });

  test('strips escape sequences and control characters that came from a service', async () => {
    const journey = failedJourney();
    const attempt = journey.attempts[0]!;
    attempt.failure = { ...attempt.failure!, message: 'body was \u001b[31mred\u001b[0m\r\u0007 \u009b2J', actual: '\u001b[2J' };
    const text = await plainOutput([journey]);
    expect(text).not.toMatch(ANSI);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('assertion CEIL_EXPECT_JSON: body was red');
    expect(text).not.toContain('2J ');
    expect(text).toContain('actual:   "\\u001b[2J"');
  });

  test('writes progress, failure details and the summary', async () => {
    const lines = (await plainOutput()).split('\n');
    expect(lines).toContain('running 4 journeys');
    expect(lines).toContain('PASS  chat announces who left (412ms)');
    expect(lines).toContain('FAIL  a dropped secret reads back once (88ms)');
    expect(lines).toContain('ERROR dead drop is reachable (88ms)');
    expect(lines).toContain('FLAKY comments render (388ms, attempt 2)');
    // Plain mode prints no step progress; steps only appear inside failure details.
    expect(lines.filter((line) => line.startsWith('pass '))).toEqual([]);
    expect(lines).toContain('4 journeys: 1 passed, 1 failed, 1 errored, 1 flaky (1.23s)');
    expect(lines).toContain('failed (exit code 1)');
  });

  test('shows where, what, expected against actual and the hint for a failure', async () => {
    const text = await plainOutput([failedJourney()]);
    expect(text).toContain(
      [
        'FAIL  a dropped secret reads back once (88ms)',
        '  journeys/secret-roundtrip.yaml:10:5 › read back',
        '  assertion CEIL_EXPECT_JSON: json.value differs from what was stored',
        '  at json.value',
        '  expected: {"value":"abc"}',
        '  actual:   {"value":"xyz"}',
        '  hint: the service returned another secret; check the id capture',
      ].join('\n'),
    );
  });

  test('shows the error class and code of an error', async () => {
    const text = await plainOutput([erroredJourney()]);
    expect(text).toContain('  connect CEIL_CONNECT_REFUSED: connect ECONNREFUSED 127.0.0.1:4001');
    expect(text).toContain('  hint: is the dead-drop service running?');
  });

  test('lists the attempts of a flaky journey', async () => {
    const text = await plainOutput([flakyJourney()]);
    expect(text).toMatch(/ {2}attempt 1: failed \(88ms\)\n {4}journeys\/secret-roundtrip\.yaml:10:5 › read back\n/);
    expect(text).toContain('  attempt 2: passed (300ms)');
  });

  test('summarises earlier attempts of a journey that failed every retry', async () => {
    const text = await plainOutput([failedEveryRetry()]);
    expect(text).toContain(
      '  attempt 1/3: error (88ms) journeys/secret-roundtrip.yaml:10:5 › read back — connect CEIL_CONNECT_REFUSED: connect ECONNREFUSED 127.0.0.1:4001',
    );
    expect(text).toContain('  attempt 3/3: failed (88ms)\n    journeys/secret-roundtrip.yaml:10:5 › read back');
  });

  test('prints journeys the live hooks never announced', async () => {
    const output = captureStream(false);
    await new ConsoleReporter({ stream: output.stream }).onRunEnd(runResult([passedJourney()]));
    expect(output.text().split('\n')).toContain('PASS  chat announces who left (412ms)');
  });
});

describe('summary', () => {
  test('says when nothing was tested because no journey was selected', () => {
    const summary = renderSummary(runResult([], { status: 'nothing-tested', exitCode: 3, durationMs: 5 }), plain);
    expect(summary).toBe(
      '0 journeys: 0 passed, 0 failed, 0 errored, 0 flaky (5ms)\nnothing tested: no journey was run (none found, or none matched --tag/--grep) (exit code 3)',
    );
  });

  test('says when journeys ran but none made a check', () => {
    const summary = renderSummary(runResult([passedJourney()], { status: 'nothing-tested', exitCode: 3 }), plain);
    expect(summary).toContain('nothing tested: no journey made a single check (exit code 3)');
  });

  test('says when the run was interrupted', () => {
    const summary = renderSummary(runResult([passedJourney()], { interrupted: true, status: 'failed', exitCode: 130 }), plain);
    expect(summary.split('\n')[1]).toBe('interrupted (exit code 130)');
  });

  test('counts a single journey in the singular', () => {
    expect(renderSummary(runResult([passedJourney()]), plain)).toMatch(/^1 journey: 1 passed/);
  });
});

describe('live mode', () => {
  test('shows steps and retries as they finish, in colour', async () => {
    const output = captureStream(true);
    const reporter = new ConsoleReporter({ stream: output.stream });
    const journey = flakyJourney();
    const ref = { name: journey.name, file: journey.file, attempt: 1, maxAttempts: 3 };
    reporter.onJourneyStart(ref);
    for (const step of journey.attempts[0]!.steps) reporter.onStepEnd(ref, step);
    reporter.onJourneyStart({ ...ref, attempt: 2 });
    reporter.onJourneyEnd(journey);
    const text = output.text();
    expect(text).toMatch(ANSI);
    const visible = text.replace(/\u001b\[[0-9;]*m/g, '');
    expect(visible).toContain('  fail  read back (48ms) journeys/secret-roundtrip.yaml:10:5');
    expect(visible).toContain('RETRY comments render (attempt 2/3)');
    expect(visible).toContain('FLAKY comments render (388ms, attempt 2/3)');
  });

  test('names the journey on step lines when journeys run side by side', () => {
    const output = captureStream(true);
    const reporter = new ConsoleReporter({ stream: output.stream, color: false });
    reporter.onJourneyStart({ name: 'one', file: 'a.yaml', attempt: 1 });
    reporter.onJourneyStart({ name: 'two', file: 'b.yaml', attempt: 1 });
    reporter.onStepEnd({ name: 'two', file: 'b.yaml', attempt: 1 }, stepResult({ index: 0, name: 'create' }));
    expect(output.text()).toBe('  two › pass  create (20ms)\n');
  });
});

describe('values', () => {
  test('long values are pretty-printed and truncated', () => {
    const text = formatValue({ items: Array.from({ length: 500 }, (_, index) => ({ index })) });
    expect(text.split('\n').length).toBeLessThanOrEqual(42);
    expect(text).toMatch(/… \(\d+ more characters\)$/);
    expect(text.startsWith('{\n  "items": [')).toBe(true);
  });
});
