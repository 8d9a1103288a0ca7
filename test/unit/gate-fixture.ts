import type { GateFinding, GateResult, LatencyComparison, RollbackOutcome, TargetOutcome } from '../../src/gate/model.js';

/**
 * Hand-made gate results with fixed timestamps, so rendered output can be
 * compared line by line. Each builder returns a fresh object: tests may edit it.
 */

export const GATE_STARTED_AT = '2025-01-01T10:00:00.000Z';
export const GATE_FINISHED_AT = '2025-01-01T10:02:30.000Z';

const policy = { bakeMs: 120_000, everyMs: 30_000, cleanRounds: 3, confidence: 0.95, minEffect: 0.2, failOnFlaky: false };

export function targetOutcome(overrides: Partial<TargetOutcome> & Pick<TargetOutcome, 'name'>): TargetOutcome {
  return {
    version: '1.4.2',
    status: 'passed',
    cleanRounds: 3,
    journeys: [
      { name: 'chat announces who left', status: 'passed', durationMs: 412 },
      { name: 'a dropped secret reads back once', status: 'passed', durationMs: 180 },
    ],
    ...overrides,
  };
}

export function latencyComparison(overrides: Partial<LatencyComparison> = {}): LatencyComparison {
  return {
    target: 'chat-1',
    journey: 'chat announces who left',
    step: 'bob leaves',
    baselineMedianMs: 40,
    currentMedianMs: 42,
    ratio: 1.05,
    pValue: 0.41,
    baselineSamples: 30,
    currentSamples: 12,
    regressed: false,
    ...overrides,
  };
}

function gateResult(overrides: Partial<GateResult>): GateResult {
  return {
    schemaVersion: 1,
    tool: { name: 'ceiling', version: '0.1.0' },
    command: 'gate',
    startedAt: GATE_STARTED_AT,
    finishedAt: GATE_FINISHED_AT,
    verdict: 'pass',
    exitCode: 0,
    reason: 'every target stayed green for 3 rounds',
    expectedVersion: '1.4.2',
    policy: { ...policy },
    rounds: 4,
    targets: [targetOutcome({ name: 'chat-1' }), targetOutcome({ name: 'chat-2' })],
    findings: [],
    latency: [latencyComparison()],
    baseline: { source: 'file', path: 'baseline.json', samples: 30 },
    ...overrides,
  };
}

export const passResult = (): GateResult => gateResult({});

export const bobLeavesFinding = (round: number): GateFinding => ({
  kind: 'journey',
  target: 'chat-2',
  journey: 'chat announces who left',
  step: 'bob leaves',
  code: 'CEIL_WS_EXPECT_TIMEOUT',
  message: 'no message matched within 2s: expected {"type":"left","nick":"bob"}',
  failureClass: 'assertion',
  critical: true,
  round,
  file: 'journeys/chat-leave.yaml',
  line: 11,
});

export const staleVersionFinding = (): GateFinding => ({
  kind: 'version',
  target: 'chat-2',
  code: 'CEIL_GATE_VERSION',
  message: 'target chat-2 runs 1.4.1, expected 1.4.2',
  critical: true,
  round: 0,
});

export const okRollback = (): RollbackOutcome => ({
  command: ['./rollback.sh', '1.4.1'],
  exitCode: 0,
  output: 'rolled back to 1.4.1\n',
  durationMs: 2_100,
  ok: true,
});

export const failedRollback = (): RollbackOutcome => ({
  command: ['./rollback.sh', '1.4.1'],
  exitCode: 3,
  output: 'kubectl: error: deployment "chat" not found\nrollback aborted\n',
  durationMs: 900,
  ok: false,
});

/** chat-2 still runs the old version and fails a critical journey; the rollback ran and the fleet recovered. */
export const failResult = (): GateResult =>
  gateResult({
    verdict: 'fail',
    exitCode: 1,
    reason: 'target chat-2: journey "chat announces who left", step "bob leaves": no message matched within 2s',
    rounds: 2,
    targets: [
      targetOutcome({ name: 'chat-1', cleanRounds: 2 }),
      targetOutcome({
        name: 'chat-2',
        version: '1.4.1',
        status: 'failed',
        cleanRounds: 0,
        journeys: [
          { name: 'chat announces who left', status: 'failed', durationMs: 2_050, failedStep: 'bob leaves', message: 'no message matched within 2s' },
          { name: 'a dropped secret reads back once', status: 'passed', durationMs: 170 },
        ],
      }),
    ],
    findings: [staleVersionFinding(), bobLeavesFinding(1), bobLeavesFinding(2)],
    timeToDetectMs: 12_300,
    rollback: okRollback(),
    recovery: { recovered: true, rounds: 1, timeToRecoverMs: 8_400 },
  });

/** The same failure, but the rollback command itself failed and nothing recovered. */
export const failedRollbackResult = (): GateResult => ({
  ...failResult(),
  rollback: failedRollback(),
  recovery: { recovered: false, rounds: 4 },
});

export const inconclusiveResult = (): GateResult =>
  gateResult({
    verdict: 'inconclusive',
    exitCode: 3,
    reason: 'every check on every target failed at DNS: the runner cannot see the fleet',
    rounds: 1,
    targets: [
      targetOutcome({
        name: 'chat-1',
        status: 'inconclusive',
        cleanRounds: 0,
        journeys: [{ name: 'chat announces who left', status: 'error', durationMs: 5, message: 'cannot resolve the host of chat-1.internal (ENOTFOUND)' }],
      }),
    ],
    findings: [
      {
        kind: 'infrastructure',
        target: 'chat-1',
        journey: 'chat announces who left',
        code: 'CEIL_DNS_LOOKUP',
        message: 'cannot resolve the host of chat-1.internal (ENOTFOUND)',
        failureClass: 'dns',
        critical: false,
        round: 1,
      },
    ],
    latency: [],
    baseline: { source: 'none', samples: 0 },
  });

export const versionMismatchResult = (): GateResult =>
  gateResult({
    verdict: 'fail',
    exitCode: 1,
    reason: 'target chat-2 runs 1.4.1, expected 1.4.2',
    rounds: 0,
    targets: [targetOutcome({ name: 'chat-1' }), targetOutcome({ name: 'chat-2', version: '1.4.1', status: 'failed', cleanRounds: 0 })],
    findings: [staleVersionFinding()],
    latency: [],
    timeToDetectMs: 900,
  });

export const latencyRegressionResult = (): GateResult =>
  gateResult({
    verdict: 'fail',
    exitCode: 1,
    reason: 'target chat-1: step "bob leaves" is 2.58× slower than the baseline (p=0.003)',
    targets: [targetOutcome({ name: 'chat-1', status: 'failed', cleanRounds: 0 })],
    findings: [
      {
        kind: 'latency',
        target: 'chat-1',
        journey: 'chat announces who left',
        step: 'bob leaves',
        code: 'CEIL_GATE_LATENCY',
        message: 'median 40ms → 103ms (×2.58, p=0.003)',
        critical: false,
        round: 4,
      },
    ],
    latency: [
      latencyComparison({ currentMedianMs: 103, ratio: 2.575, pValue: 0.003, regressed: true }),
      latencyComparison({ journey: 'a dropped secret reads back once', step: 'create', baselineMedianMs: 20, currentMedianMs: 21, ratio: 1.05, pValue: 0.38 }),
    ],
    timeToDetectMs: 118_000,
  });
