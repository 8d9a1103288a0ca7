import { Writable } from 'node:stream';
import { totalsOf, type AttemptResult, type FailureInfo, type JourneyResult, type RunResult, type StepResult } from '../../src/core/result.js';

/** Hand-made results with fixed timestamps, so rendered output can be compared line by line. */

export const STARTED_AT = '2025-01-01T10:00:00.000Z';

export function stepResult(overrides: Partial<StepResult> & Pick<StepResult, 'index' | 'name'>): StepResult {
  return {
    kind: 'http',
    location: { file: 'journeys/secret-roundtrip.yaml', line: 6 + overrides.index * 4, column: 5 },
    status: 'passed',
    durationMs: 20,
    assertions: 1,
    ...overrides,
  };
}

export const mismatch: FailureInfo = {
  class: 'assertion',
  code: 'CEIL_EXPECT_JSON',
  message: 'json.value differs from what was stored',
  path: 'json.value',
  expected: { value: 'abc' },
  actual: { value: 'xyz' },
  hint: 'the service returned another secret; check the id capture',
};

export const connectRefused: FailureInfo = {
  class: 'connect',
  code: 'CEIL_CONNECT_REFUSED',
  message: 'connect ECONNREFUSED 127.0.0.1:4001',
  hint: 'is the dead-drop service running?',
};

export function passedAttempt(attempt = 1): AttemptResult {
  return {
    attempt,
    status: 'passed',
    startedAt: STARTED_AT,
    durationMs: 300,
    steps: [stepResult({ index: 0, name: 'create' }), stepResult({ index: 1, name: 'read back' })],
    cleanupErrors: [],
  };
}

export function brokenAttempt(attempt: number, failure: FailureInfo): AttemptResult {
  const status = failure.class === 'assertion' ? 'failed' : 'error';
  return {
    attempt,
    status,
    startedAt: STARTED_AT,
    durationMs: 88,
    steps: [
      stepResult({ index: 0, name: 'create' }),
      stepResult({ index: 1, name: 'read back', status, failure, durationMs: 48 }),
      stepResult({ index: 2, name: 'gone once read', status: 'skipped', durationMs: 0, assertions: 0 }),
    ],
    failedStep: 1,
    failure,
    cleanupErrors: [],
  };
}

export function journeyResult(overrides: Partial<JourneyResult> & Pick<JourneyResult, 'name' | 'status' | 'attempts'>): JourneyResult {
  return {
    file: 'journeys/secret-roundtrip.yaml',
    tags: [],
    startedAt: STARTED_AT,
    durationMs: overrides.attempts.reduce((sum, attempt) => sum + attempt.durationMs, 0),
    assertions: 2,
    ...overrides,
  };
}

export const passedJourney = (): JourneyResult =>
  journeyResult({ name: 'chat announces who left', file: 'journeys/chat-leave.yaml', status: 'passed', attempts: [passedAttempt()], durationMs: 412 });

export const failedJourney = (): JourneyResult =>
  journeyResult({ name: 'a dropped secret reads back once', status: 'failed', attempts: [brokenAttempt(1, mismatch)] });

export const erroredJourney = (): JourneyResult =>
  journeyResult({ name: 'dead drop is reachable', status: 'error', attempts: [brokenAttempt(1, connectRefused)] });

export const flakyJourney = (): JourneyResult =>
  journeyResult({ name: 'comments render', file: 'journeys/comments.yaml', status: 'flaky', attempts: [brokenAttempt(1, mismatch), passedAttempt(2)] });

export const failedEveryRetry = (): JourneyResult =>
  journeyResult({
    name: 'secret survives restarts',
    status: 'failed',
    attempts: [brokenAttempt(1, connectRefused), brokenAttempt(2, mismatch), brokenAttempt(3, mismatch)],
  });

export function runResult(journeys: JourneyResult[], overrides: Partial<RunResult> = {}): RunResult {
  const totals = totalsOf(journeys);
  const failed = totals.failed + totals.errored > 0;
  return {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: '0.1.0' },
    startedAt: STARTED_AT,
    durationMs: 1234,
    status: failed ? 'failed' : 'passed',
    interrupted: false,
    failOnFlaky: false,
    exitCode: failed ? 1 : 0,
    totals,
    journeys,
    ...overrides,
  };
}

export interface CapturedStream {
  stream: Writable & { isTTY?: boolean };
  text(): string;
}

export function captureStream(isTTY = false): CapturedStream {
  const chunks: string[] = [];
  const stream: Writable & { isTTY?: boolean } = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  stream.isTTY = isTTY;
  return { stream, text: () => chunks.join('') };
}

export const ANSI = /\u001b\[/;
