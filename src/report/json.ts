/**
 * The JSON report is the result model itself. It is rebuilt field by field
 * in the model's order so the file diffs cleanly between runs whatever order
 * the engine assembled its objects in, and so stray fields never leak into a
 * versioned format.
 */
import type { AttemptResult, FailureInfo, JourneyResult, RunResult, StepResult } from '../engine/result.js';
import type { Reporter } from './reporter.js';
import { writeOutput, type OutputTarget } from './output.js';

function orderedFailure(failure: FailureInfo): FailureInfo {
  return {
    class: failure.class,
    code: failure.code,
    message: failure.message,
    path: failure.path,
    expected: failure.expected,
    actual: failure.actual,
    hint: failure.hint,
  };
}

function orderedStep(step: StepResult): StepResult {
  return {
    index: step.index,
    name: step.name,
    kind: step.kind,
    location: { file: step.location.file, line: step.location.line, column: step.location.column },
    status: step.status,
    durationMs: step.durationMs,
    assertions: step.assertions,
    failure: step.failure && orderedFailure(step.failure),
  };
}

function orderedAttempt(attempt: AttemptResult): AttemptResult {
  return {
    attempt: attempt.attempt,
    status: attempt.status,
    startedAt: attempt.startedAt,
    durationMs: attempt.durationMs,
    steps: attempt.steps.map(orderedStep),
    failedStep: attempt.failedStep,
    failure: attempt.failure && orderedFailure(attempt.failure),
    cleanupErrors: [...attempt.cleanupErrors],
  };
}

function orderedJourney(journey: JourneyResult): JourneyResult {
  return {
    name: journey.name,
    file: journey.file,
    tags: [...journey.tags],
    status: journey.status,
    startedAt: journey.startedAt,
    durationMs: journey.durationMs,
    assertions: journey.assertions,
    attempts: journey.attempts.map(orderedAttempt),
  };
}

export function orderedRun(result: RunResult): RunResult {
  return {
    schemaVersion: result.schemaVersion,
    tool: { name: result.tool.name, version: result.tool.version },
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    status: result.status,
    interrupted: result.interrupted,
    failOnFlaky: result.failOnFlaky,
    exitCode: result.exitCode,
    totals: {
      journeys: result.totals.journeys,
      passed: result.totals.passed,
      failed: result.totals.failed,
      errored: result.totals.errored,
      flaky: result.totals.flaky,
    },
    journeys: result.journeys.map(orderedJourney),
  };
}

/** Absent optional fields stay absent: JSON.stringify drops the undefined ones. */
export function renderJson(result: RunResult): string {
  return `${JSON.stringify(orderedRun(result), null, 2)}\n`;
}

export class JsonReporter implements Reporter {
  readonly name = 'json';

  constructor(private readonly target: OutputTarget) {}

  onRunEnd(result: RunResult): Promise<void> {
    return writeOutput(this.target, renderJson(result));
  }
}
