import { lastAttempt, type JourneyResult } from '../core/result.js';
import type { Redactor } from '../secrets/redactor.js';
import type { RunRecord, RunTrigger } from './model.js';

export interface RunLabels {
  location: string;
  target: string;
  trigger: RunTrigger;
}

/**
 * Boils an engine result down to what the daemon keeps. Only the last attempt's
 * steps are kept: they are what the status page and the step histogram show.
 * Every string goes through the run's redactor first, since records are stored
 * on disk and served over HTTP. `stepLabels` are the journey's step labels
 * by index (CompiledStep.label): the names metric series may carry.
 */
export function toRunRecord(result: JourneyResult, startedAt: number, labels: RunLabels, redactor: Redactor, stepLabels: readonly string[] = []): RunRecord {
  const attempt = lastAttempt(result);
  const failedStep = attempt?.failedStep !== undefined ? attempt.steps.find((step) => step.index === attempt.failedStep) : undefined;
  const record: RunRecord = {
    journey: result.name,
    location: labels.location,
    target: labels.target,
    trigger: labels.trigger,
    startedAt,
    durationMs: result.durationMs,
    result: result.status,
    steps: (attempt?.steps ?? []).map((step) => ({
      name: redactor.redact(step.name),
      ...(stepLabels[step.index] !== undefined ? { label: redactor.redact(stepLabels[step.index]!) } : {}),
      status: step.status,
      durationMs: step.durationMs,
      ...(step.phases ? { requestMs: step.phases.totalMs, phases: step.phases } : {}),
    })),
  };
  if (result.status === 'failed' || result.status === 'error') {
    if (failedStep) record.failedStep = redactor.redact(failedStep.name);
    if (attempt?.failure) {
      record.failureCode = attempt.failure.code;
      record.failureMessage = redactor.redact(attempt.failure.message);
    }
    if (attempt?.traceId !== undefined) record.traceId = attempt.traceId;
  }
  return record;
}

/** The run failed while Ceiling's own event loop stalled: the failure may say more about the runner than about the target. */
export function stalledByRunner(result: JourneyResult): boolean {
  return (result.status === 'failed' || result.status === 'error') && result.attempts.at(-1)?.failure?.runnerStallMs !== undefined;
}

/** The record of a run the watchdog had to end: its own promise never settled. */
export function watchdogRecord(journey: string, startedAt: number, durationMs: number, labels: RunLabels): RunRecord {
  return {
    journey,
    location: labels.location,
    target: labels.target,
    trigger: labels.trigger,
    startedAt,
    durationMs,
    result: 'error',
    failureCode: 'CEIL_WATCHDOG',
    failureMessage: 'the run did not end at its deadline and was stopped by the watchdog; a step is ignoring its timeout',
    steps: [],
  };
}
