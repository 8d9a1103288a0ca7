import { describe, expect, it } from 'vitest';
import type { FailureClass } from '../../src/core/failure.js';
import type { Journey } from '../../src/journey/journey.js';
import type { AttemptResult, JourneyResult } from '../../src/core/result.js';
import { describeFinding, judgeRound } from '../../src/gate/policy.js';
import type { RoundResult, TargetRound } from '../../src/gate/rounds.js';

/** Hand-built results: the policy is pure, so each rule is checked without a network. */

const location = { file: 'journeys/x.yaml', line: 7, column: 5 };

function attempt(status: AttemptResult['status'], failure?: { class: FailureClass; code: string; message: string }): AttemptResult {
  return {
    attempt: 1,
    status,
    startedAt: '2026-11-25T00:00:00.000Z',
    durationMs: 10,
    cleanupErrors: [],
    steps: [
      {
        index: 0,
        name: 'the step',
        kind: 'http',
        location,
        status: status === 'passed' ? 'passed' : status,
        durationMs: 10,
        assertions: 1,
        ...(failure ? { failure } : {}),
      },
    ],
    ...(failure ? { failure, failedStep: 0 } : {}),
  };
}

function result(
  name: string,
  status: JourneyResult['status'],
  options: { tags?: string[]; failure?: { class: FailureClass; code: string; message: string } } = {},
): JourneyResult {
  const attempts =
    status === 'flaky'
      ? [attempt('failed', { class: 'assertion', code: 'CEIL_HTTP_STATUS', message: 'expected 200, got 503' }), attempt('passed')]
      : [attempt(status === 'passed' ? 'passed' : status, options.failure)];
  return { name, file: 'journeys/x.yaml', tags: options.tags ?? [], status, startedAt: '2026-11-25T00:00:00.000Z', durationMs: 10, assertions: 1, attempts };
}

function round(targets: TargetRound[]): RoundResult {
  return { round: 1, startedAt: 0, durationMs: 10, targets };
}

const journeys = new Map<string, Journey>([
  [
    'chat',
    {
      name: 'chat',
      file: 'journeys/chat.yaml',
      tags: ['critical'],
      vars: {},
      timeoutMs: 1000,
      retries: 0,
      steps: [],
      location: { file: 'journeys/chat.yaml', line: 1, column: 1 },
    },
  ],
]);
const assertionFailure = { class: 'assertion' as const, code: 'CEIL_WS_EXPECT_TIMEOUT', message: 'no left message' };

describe('judgeRound', () => {
  it('fails at once on a critical journey that failed on one target, and names target and step', () => {
    const judged = judgeRound(
      round([
        { target: 'chat-1', journeys: [result('chat', 'passed', { tags: ['critical'] })] },
        { target: 'chat-2', journeys: [result('chat', 'failed', { tags: ['critical'], failure: assertionFailure })] },
      ]),
      { journeys, failOnFlaky: false },
    );
    expect(judged.failNow).toBe(true);
    expect([...judged.clean]).toEqual([
      ['chat-1', true],
      ['chat-2', false],
    ]);
    expect(describeFinding(judged.findings[0]!)).toBe('target chat-2: journey "chat", step "the step": no left message');
    expect(judged.findings[0]).toMatchObject({ file: 'journeys/chat.yaml', line: 7, critical: true });
  });

  it('lets a non-critical failure break the clean streak without failing at once', () => {
    const judged = judgeRound(round([{ target: 't', journeys: [result('other', 'failed', { failure: assertionFailure })] }]), { journeys, failOnFlaky: false });
    expect(judged.failNow).toBe(false);
    expect(judged.clean.get('t')).toBe(false);
  });

  it('reports flaky results, and counts them only under failOnFlaky', () => {
    const flakyRound = round([{ target: 't', journeys: [result('chat', 'flaky', { tags: ['critical'] })] }]);
    const lenient = judgeRound(flakyRound, { journeys, failOnFlaky: false });
    expect(lenient.findings.map((finding) => finding.kind)).toEqual(['flaky']);
    expect(lenient.clean.get('t')).toBe(true);
    expect(lenient.failNow).toBe(false);
    const strict = judgeRound(flakyRound, { journeys, failOnFlaky: true });
    expect(strict.clean.get('t')).toBe(false);
    expect(strict.failNow).toBe(true);
  });

  it('fails a target that reports another version, even when its journeys pass', () => {
    const judged = judgeRound(
      round([{ target: 'web-8', version: { ok: true, version: '1.4.1' }, journeys: [result('chat', 'passed', { tags: ['critical'] })] }]),
      {
        journeys,
        failOnFlaky: false,
        expectVersion: '1.5.0',
      },
    );
    expect(judged.failNow).toBe(true);
    expect(describeFinding(judged.findings[0]!)).toBe('target web-8 runs 1.4.1, expected 1.5.0');
  });

  it('records a version without judging it when none is expected', () => {
    const judged = judgeRound(round([{ target: 'web-8', version: { ok: true, version: '1.4.1' }, journeys: [result('chat', 'passed')] }]), {
      journeys,
      failOnFlaky: false,
    });
    expect(judged.findings).toEqual([]);
    expect(judged.failNow).toBe(false);
  });

  it('calls DNS failure on every target infrastructure, not a failed deploy', () => {
    const dns = { class: 'dns' as const, code: 'CEIL_DNS_LOOKUP', message: 'cannot resolve' };
    const everywhere = judgeRound(
      round([
        {
          target: 'a',
          version: { ok: false, code: 'CEIL_DNS_LOOKUP', message: 'x', failureClass: 'dns' },
          journeys: [result('chat', 'error', { tags: ['critical'], failure: dns })],
        },
        { target: 'b', journeys: [result('chat', 'error', { tags: ['critical'], failure: dns })] },
      ]),
      { journeys, failOnFlaky: false },
    );
    expect(everywhere.infrastructure).toBe(true);
    expect(everywhere.failNow).toBe(false);
    const oneTarget = judgeRound(
      round([
        { target: 'a', journeys: [result('chat', 'passed', { tags: ['critical'] })] },
        { target: 'b', journeys: [result('chat', 'error', { tags: ['critical'], failure: dns })] },
      ]),
      { journeys, failOnFlaky: false },
    );
    expect(oneTarget.infrastructure).toBe(false);
    expect(oneTarget.failNow).toBe(true);
  });

  it('treats a journey that could not be set up as a problem with the inputs, never a reason to fail', () => {
    const missing = { class: 'config' as const, code: 'CEIL_TEMPLATE_UNDEFINED', message: 'undefined secrets.TOKEN in template' };
    const judged = judgeRound(round([{ target: 't', journeys: [result('chat', 'error', { tags: ['critical'], failure: missing })] }]), {
      journeys,
      failOnFlaky: false,
    });
    expect(judged.configProblem?.code).toBe('CEIL_TEMPLATE_UNDEFINED');
    expect(judged.failNow).toBe(false);
  });
});
