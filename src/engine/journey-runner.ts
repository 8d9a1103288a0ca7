import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatMs, renderedDurationMs } from '../journey/duration.js';
import { StepFailure } from '../core/failure.js';
import { DEFAULT_FINALLY_TIMEOUT_MS, journeyFolderName, type CompiledStep, type Journey } from '../journey/journey.js';
import { locateField } from '../journey/locate-field.js';
import { render, type TemplateScope } from '../journey/template.js';
import type { JourneyRef } from '../report/reporter.js';
import type { Redactor } from '../secrets/redactor.js';
import { Actors, type EvidenceCollector, type Executor, type RunResources, type StepContext, type StepOutcome } from '../steps/executor.js';
import type { StepKind } from '../journey/schema.js';
import { loadExecutor } from '../steps/registry.js';
import { abortFailure, raceAbort, scopedSignal, type ScopedSignal } from '../core/deadline.js';
import type { Attachment, AttemptResult, FailureInfo, HttpPhases, JourneyResult, JourneyStatus, StepResult } from '../core/result.js';
import { runnerStalls, stallExplains } from './runner-health.js';
import { TeardownStack } from '../core/teardown.js';
import type { AttemptTrace, JourneyTracing } from './tracing/journey-tracer.js';
import { runFinallySteps, withFinallyOutcome } from './finally-steps.js';
import { pollUntil } from './until.js';

export interface JourneyRunOptions {
  /** Overrides every journey's own retries when set (--retries). */
  retries?: number;
  /** Overrides every journey's own deadline when set (--timeout). */
  timeoutMs?: number;
  /** --var values; they win over the journey's own vars. */
  vars: Record<string, string>;
  env: (name: string) => string | undefined;
  secret: (name: string) => string | undefined;
  redactor: Redactor;
  resources: RunResources;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Where evidence of failures is written, under artifacts/. */
  outDir: string;
  /** An explicit browser executable for browser steps. */
  browserPath?: string;
  trace?: 'retain-on-failure' | 'off';
  /** OpenTelemetry tracing (--otlp-endpoint): each attempt a trace, each step a span. Absent when off. */
  tracing?: JourneyTracing;
  onJourneyStart?: (journey: JourneyRef) => void;
  onStepEnd?: (journey: JourneyRef, step: StepResult) => void;
}

/** Cleanup of actors is bounded so a stuck close cannot hold the run. */
const TEARDOWN_LIMIT_MS = 5_000;
const EVIDENCE_LIMIT_MS = 10_000;

export function failureInfo(error: unknown): FailureInfo {
  const failure =
    error instanceof StepFailure
      ? error
      : new StepFailure('protocol', 'CEIL_INTERNAL', `unexpected error: ${(error as Error)?.message ?? String(error)}`, {
          hint: 'this is likely a bug in ceiling; please report it with the journey file',
        });
  const info: FailureInfo = { class: failure.failureClass, code: failure.code, message: failure.message };
  if (failure.details.path !== undefined) info.path = failure.details.path;
  if (failure.details.expected !== undefined) info.expected = failure.details.expected;
  if (failure.details.actual !== undefined) info.actual = failure.details.actual;
  if (failure.details.hint !== undefined) info.hint = failure.details.hint;
  return info;
}

function skipped(step: CompiledStep): StepResult {
  return { index: step.index, name: step.name, kind: step.kind, location: step.location, status: 'skipped', durationMs: 0, assertions: 0 };
}

async function runTeardown(teardown: TeardownStack): Promise<string[]> {
  if (teardown.isEmpty) return [];
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([`teardown did not finish within ${formatMs(TEARDOWN_LIMIT_MS)}`]), TEARDOWN_LIMIT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([teardown.runAll(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** A folder per journey and attempt; the name keeps only safe characters so a journey name cannot escape --out. */
export function evidenceDir(outDir: string, journey: Journey, attempt: number): string {
  return path.join(outDir, 'artifacts', journeyFolderName(journey), `attempt-${attempt}`);
}

/** Evidence is best effort and bounded: a stuck screenshot must not hold the run. */
export async function collectEvidence(collectors: readonly EvidenceCollector[], dir: string): Promise<{ attachments: Attachment[]; errors: string[] }> {
  const attachments: Attachment[] = [];
  const errors: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    return { attachments, errors: [`evidence: cannot create ${dir}: ${(error as Error).message}`] };
  }
  for (const collect of collectors) {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${formatMs(EVIDENCE_LIMIT_MS)}`)), EVIDENCE_LIMIT_MS);
      timer.unref();
    });
    try {
      attachments.push(...(await Promise.race([collect(dir), limit])));
    } catch (error) {
      errors.push(`evidence: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return { attachments, errors };
}

async function runAttempt(journey: Journey, attempt: number, maxAttempts: number, options: JourneyRunOptions): Promise<AttemptResult> {
  const startedAt = new Date();
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? journey.timeoutMs;
  // The timeout bounds each attempt, not all of them together: a retry after a timeout gets a whole timeout of its own
  // (README, "timeout"), as test runners do, so retries can still help against a hang that passes.
  const what = maxAttempts > 1 ? `attempt ${attempt} of ${maxAttempts}` : 'the journey';
  const journeyScope = scopedSignal(
    options.signal,
    timeoutMs,
    () =>
      new StepFailure('timeout', 'CEIL_TIMEOUT_JOURNEY', `${what} did not finish within its ${formatMs(timeoutMs)} deadline`, {
        hint:
          maxAttempts > 1
            ? 'raise timeout: on the journey (it bounds each attempt), or find the step that hangs'
            : 'raise timeout: on the journey, or find the step that hangs',
      }),
  );
  const teardown = new TeardownStack();
  const evidence: EvidenceCollector[] = [];
  const actors = new Actors();
  const vars: Record<string, unknown> = {};
  const scope: TemplateScope = {
    vars,
    env: options.env,
    secret: options.secret,
    onSecretDerived: (value, secretName) => options.redactor.add(value, secretName),
  };
  const ref: JourneyRef = { name: journey.name, file: journey.file, attempt, maxAttempts };
  const steps: StepResult[] = [];
  let failure: FailureInfo | undefined;
  let failedStep: number | undefined;
  let renderingVar: string | undefined;
  const attemptTrace = options.tracing?.tracer.startAttempt(
    { journey: journey.name, file: journey.file, attempt, redactor: options.redactor },
    options.tracing,
  );
  const environment: StepEnvironment = { journey, actors, teardown, evidence, vars, scope, options, attemptTrace };
  try {
    try {
      // Target vars and --var are in scope first, so a journey var may build on them ("{{ vars.base_url }}/api"); they still win over a journey var of the same name.
      Object.assign(vars, options.vars);
      for (const [name, value] of Object.entries(journey.vars)) {
        if (Object.hasOwn(options.vars, name)) continue;
        renderingVar = name;
        vars[name] = render(value, scope);
      }
      renderingVar = undefined;
    } catch (error) {
      failure = failureInfo(error);
      // No step has failed: the var's own place in the file is the pointer a reader needs.
      const location = renderingVar !== undefined ? await locateField(journey.file, ['vars', renderingVar]) : undefined;
      if (location) failure.location = location;
    }
    for (const step of journey.steps) {
      if (failure) {
        steps.push(skipped(step));
        continue;
      }
      const result = await runStep(step, journeyScope, environment);
      steps.push(result);
      options.onStepEnd?.(ref, result);
      if (result.failure) {
        failure = result.failure;
        failedStep = step.index;
      }
    }
  } finally {
    journeyScope.dispose();
  }
  const collected = failure && evidence.length > 0 ? await collectEvidence(evidence, evidenceDir(options.outDir, journey, attempt)) : undefined;
  // After the evidence, so screenshots show the failure rather than the cleanup; before teardown, so actors are still open.
  const cleanup = journey.finally
    ? await runFinallySteps(
        journey.finally,
        journey.finallyTimeoutMs ?? DEFAULT_FINALLY_TIMEOUT_MS,
        (step, deadline) => runStep(step, deadline, environment),
        (result) => options.onStepEnd?.(ref, result),
      )
    : undefined;
  const verdict = withFinallyOutcome(failure, cleanup);
  failure = verdict.failure;
  const cleanupErrors = [...(collected?.errors ?? []), ...(await runTeardown(teardown))];
  const status = !failure ? 'passed' : failure.class === 'assertion' ? 'failed' : 'error';
  attemptTrace?.end({ status, ...(failure ? { failure } : {}) });
  return {
    attempt,
    status,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    steps,
    ...verdict.fields,
    cleanupErrors,
    ...(collected && collected.attachments.length > 0 ? { attachments: collected.attachments } : {}),
    ...(failure ? { failure } : {}),
    ...(failedStep !== undefined ? { failedStep } : {}),
    ...(attemptTrace ? { traceId: attemptTrace.traceId } : {}),
  };
}

interface StepEnvironment {
  journey: Journey;
  actors: Actors;
  teardown: TeardownStack;
  evidence: EvidenceCollector[];
  vars: Record<string, unknown>;
  scope: TemplateScope;
  options: JourneyRunOptions;
  attemptTrace: AttemptTrace | undefined;
}

/** Says in the failure itself that the runner, not the service, may be to blame. */
function labelStall(info: FailureInfo, stalledMs: number, stepMs: number): FailureInfo {
  if (!stallExplains(info, stalledMs, stepMs)) return info;
  return {
    ...info,
    message: `${info.message} (the runner stalled ${formatMs(stalledMs)} during this step: Ceiling's own delay, not necessarily the service's)`,
    runnerStallMs: stalledMs,
  };
}

async function runStep(step: CompiledStep, deadline: ScopedSignal, environment: StepEnvironment): Promise<StepResult> {
  const stepTrace = environment.attemptTrace?.startStep(step);
  const result = await runTracedStep(step, deadline, environment, stepTrace?.traceparent);
  stepTrace?.end(result);
  return result;
}

/** The step's span (when tracing is on) covers loading its code too: that is part of what the journey waited for. */
async function runTracedStep(step: CompiledStep, deadline: ScopedSignal, environment: StepEnvironment, traceparent: string | undefined): Promise<StepResult> {
  const { journey, actors, teardown, evidence, vars, scope, options } = environment;
  const base = { index: step.index, name: step.name, kind: step.kind, location: step.location };
  let executor: Executor<StepKind>;
  try {
    // Loading code is Ceiling's cost, not the service's: the step's clock starts after it.
    executor = await loadExecutor(step.kind);
  } catch (error) {
    const info = failureInfo(error);
    return { ...base, status: 'error', durationMs: 0, assertions: 0, failure: info };
  }
  let stepTimeout = step.timeoutMs ?? Number.POSITIVE_INFINITY;
  if (step.timeoutTemplate !== undefined) {
    try {
      stepTimeout = renderedDurationMs('timeout', step.timeoutTemplate, (text) => render(text, scope));
    } catch (error) {
      return { ...base, status: 'error', durationMs: 0, assertions: 0, failure: failureInfo(error) };
    }
  }
  const started = performance.now();
  const stalls = runnerStalls.open();
  let phases: HttpPhases | undefined;
  const stepScope = scopedSignal(
    deadline.signal,
    stepTimeout,
    () => new StepFailure('timeout', 'CEIL_TIMEOUT_STEP', `step "${step.name}" did not finish within its ${formatMs(stepTimeout)} timeout`),
  );
  const context: StepContext = {
    signal: stepScope.signal,
    // Executors bound their own waits by this, so they can report what they saw before the journey's deadline cuts them off.
    deadline: Math.min(stepScope.deadline, deadline.deadline),
    vars,
    actors,
    teardown,
    evidence,
    redactor: options.redactor,
    resources: options.resources,
    journey: { name: journey.name, file: journey.file },
    ...(traceparent !== undefined && journey.propagateTrace !== false ? { traceparent } : {}),
    settings: {
      outDir: options.outDir,
      ...(options.browserPath !== undefined ? { browserPath: options.browserPath } : {}),
      ...(options.trace !== undefined ? { trace: options.trace } : {}),
    },
    render: (value) => render(value, scope),
    recordPhases: (recorded) => {
      phases = recorded;
    },
  };
  try {
    if (stepScope.signal.aborted) throw abortFailure(stepScope.signal);
    const execute = () => (executor as (s: CompiledStep, c: StepContext) => Promise<StepOutcome>)(step, context);
    const outcome = step.until
      ? await pollUntil(execute, { ...step.until, signal: stepScope.signal, deadline: context.deadline })
      : await raceAbort(execute(), stepScope.signal);
    if (outcome.captured) Object.assign(vars, outcome.captured);
    return {
      ...base,
      status: 'passed',
      durationMs: Math.round(performance.now() - started),
      ...(phases ? { phases } : {}),
      assertions: outcome.assertions,
      ...(outcome.attachments && outcome.attachments.length > 0 ? { attachments: outcome.attachments } : {}),
    };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const { stalledMs } = stalls.close();
    const info = labelStall(
      failureInfo(stepScope.signal.aborted && !(error instanceof StepFailure) ? abortFailure(stepScope.signal) : error),
      stalledMs,
      durationMs,
    );
    // A failed check is a check made; an error (a reset, a timeout) made none.
    const assertions = info.class === 'assertion' ? ((error instanceof StepFailure ? error.details.assertions : undefined) ?? 1) : 0;
    return { ...base, status: info.class === 'assertion' ? 'failed' : 'error', durationMs, ...(phases ? { phases } : {}), assertions, failure: info };
  } finally {
    stalls.close();
    stepScope.dispose();
  }
}

/** Runs a journey with its retries; a retry restarts the whole journey with fresh vars and actors. */
export async function runJourney(journey: Journey, options: JourneyRunOptions): Promise<JourneyResult> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const stalls = runnerStalls.open();
  const retries = options.retries ?? journey.retries;
  let maxAttempts = retries + 1;
  const attempts: AttemptResult[] = [];
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      options.onJourneyStart?.({ name: journey.name, file: journey.file, attempt, maxAttempts });
      const result = await runAttempt(journey, attempt, maxAttempts, options);
      if (attempt > retries + 1) result.afterRunnerStall = true;
      attempts.push(result);
      if (result.status === 'passed') break;
      const final = result.failure?.class === 'config' || result.failure?.class === 'interrupted' || options.signal.aborted;
      if (final) break;
      // The verdict must never come from Ceiling's own stall: a last attempt that the stall explains gets one more, once.
      if (attempt === maxAttempts && maxAttempts === retries + 1 && result.failure?.runnerStallMs !== undefined) maxAttempts++;
    }
  } finally {
    stalls.close();
  }
  const maxDelayMs = Math.round(stalls.maxDelayMs);
  const last = attempts[attempts.length - 1]!;
  const status = journeyStatus(attempts);
  return {
    name: journey.name,
    file: journey.file,
    tags: journey.tags,
    status,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    assertions: last.steps.reduce((sum, step) => sum + step.assertions, 0),
    eventLoopDelayMaxMs: maxDelayMs,
    attempts,
  };
}

/**
 * Failures the runner's own stall explains say nothing about the service:
 * they do not make a pass flaky, and a journey whose every attempt ended so
 * is an error (no verdict), never a failure.
 */
export function journeyStatus(attempts: readonly AttemptResult[]): JourneyStatus {
  const last = attempts[attempts.length - 1]!;
  const realFailures = attempts.filter((attempt) => attempt.status !== 'passed' && attempt.failure?.runnerStallMs === undefined).length;
  if (last.status === 'passed') return realFailures > 0 ? 'flaky' : 'passed';
  return last.failure?.runnerStallMs !== undefined && realFailures === 0 ? 'error' : last.status;
}
