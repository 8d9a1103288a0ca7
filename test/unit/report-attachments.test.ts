import { describe, expect, it } from 'vitest';
import { renderJourneyDetails } from '../../src/report/console.js';
import { renderJson } from '../../src/report/json.js';
import { renderJunit } from '../../src/report/junit.js';
import type { RunResult } from '../../src/core/result.js';
import { brokenAttempt, journeyResult, mismatch, STARTED_AT } from './report-fixture.js';

const screenshot = { name: 'screenshot alice', path: 'ceiling-out/artifacts/j-1/attempt-1/alice.png', contentType: 'image/png' };
const trace = { name: 'trace', path: 'ceiling-out/artifacts/j-1/attempt-1/trace.zip', contentType: 'application/zip' };

function withEvidence(): RunResult {
  const attempt = { ...brokenAttempt(1, mismatch), attachments: [screenshot, trace] };
  const journey = journeyResult({ name: 'comment stored', status: 'failed', attempts: [attempt] });
  return {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: '0.0.0' },
    startedAt: STARTED_AT,
    durationMs: 10,
    status: 'failed',
    interrupted: false,
    failOnFlaky: false,
    exitCode: 1,
    totals: { journeys: 1, passed: 0, failed: 1, errored: 0, flaky: 0 },
    journeys: [journey],
  };
}

describe('failure evidence in reports', () => {
  it('is listed under the failure on the console', () => {
    const text = renderJourneyDetails(withEvidence().journeys[0]!, { color: false });
    expect(text).toContain(`screenshot alice: ${screenshot.path}`);
    expect(text).toContain(`trace: ${trace.path}`);
  });

  it('is in the JSON', () => {
    const parsed = JSON.parse(renderJson(withEvidence())) as RunResult;
    expect(parsed.journeys[0]!.attempts[0]!.attachments).toEqual([screenshot, trace]);
  });

  it('is attached in JUnit the way CI servers read it', () => {
    const xml = renderJunit(withEvidence());
    expect(xml).toContain(`[[ATTACHMENT|${screenshot.path}]]`);
    expect(xml).toContain(`[[ATTACHMENT|${trace.path}]]`);
  });
});
