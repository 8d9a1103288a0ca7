import { randomUUID } from 'node:crypto';
import { formatMs } from '../journey/duration.js';
import { FALLBACK_FAILURE_CODE, truncate, type Verdict } from './delivery-verdict.js';
import type { JourneyView, RunOutcome } from './model.js';
import type { TriggerRequest, TriggerResult } from './trigger-request.js';

/** The words Spinnaker's webhook stage maps through successStatuses and terminalStatuses; anything else it keeps polling. */
export type CheckStatus = 'RUNNING' | 'SUCCEEDED' | 'TERMINAL';

export type CheckJourneyState = 'waiting' | 'passed' | 'flaky' | 'failed' | 'error' | 'not-loaded' | 'did-not-run';

export interface CheckJourney {
  journey: string;
  state: CheckJourneyState;
  /** The start of the first run after the check began: the run that decided this journey. */
  runStartedAt?: number;
  step?: string;
  code?: string;
  message?: string;
}

export interface CheckReport {
  id: string;
  status: CheckStatus;
  verdict: Verdict | 'pending';
  reason: string;
  /** For Spinnaker's progressJsonPath: "1 of 3 journeys finished". */
  progress: string;
  startedAt: number;
  journeys: CheckJourney[];
}

export interface CheckRegistryOptions {
  now(): number;
  journeys(): readonly JourneyView[];
  trigger(request: TriggerRequest): TriggerResult;
  /** How long a check waits for a journey's next run before giving up on it. */
  waitWithinMs(view: JourneyView): number;
  maxChecks?: number;
  ttlMs?: number;
  newId?: () => string;
}

export type CheckStart = { started: true; report: CheckReport } | { started: false; result: TriggerResult };

interface Check {
  id: string;
  startedAt: number;
  /** In the order the trigger reported them; settled entries never change again. */
  journeys: CheckJourney[];
}

export const MAX_CHECKS = 1000;
export const CHECK_TTL_MS = 60 * 60_000;

const PASSED_STATES: ReadonlySet<CheckJourneyState> = new Set(['passed', 'flaky']);
const OUTCOME_STATE: Record<RunOutcome, CheckJourneyState> = { passed: 'passed', flaky: 'flaky', failed: 'failed', error: 'error' };

/**
 * Checks that start journeys now and report once each has run again: the
 * start-then-poll contract of Spinnaker's webhook stage. A check is decided by
 * the first run of each journey that started after the check did, so neither a
 * run already in flight nor an older result can answer for a fresh deploy.
 * A failure ends the check at once; the other journeys need not be waited for.
 */
export class CheckRegistry {
  private readonly checks = new Map<string, Check>();
  private readonly maxChecks: number;
  private readonly ttlMs: number;
  private readonly newId: () => string;

  constructor(private readonly options: CheckRegistryOptions) {
    this.maxChecks = options.maxChecks ?? MAX_CHECKS;
    this.ttlMs = options.ttlMs ?? CHECK_TTL_MS;
    this.newId = options.newId ?? randomUUID;
  }

  get size(): number {
    return this.checks.size;
  }

  /** Triggers the journeys; refuses (started: false) when none of them exists. */
  start(request: TriggerRequest): CheckStart {
    const startedAt = this.options.now();
    this.expire(startedAt);
    const result = this.options.trigger(request);
    const triggered = [...result.started, ...result.queued, ...result.busy];
    if (triggered.length === 0) return { started: false, result };
    const check: Check = {
      id: this.newId(),
      startedAt,
      journeys: [
        // A busy journey's run in flight started before the check; its next run decides it.
        ...triggered.map((journey): CheckJourney => ({ journey, state: 'waiting' })),
        ...result.unknown.map((journey): CheckJourney => ({ journey, state: 'not-loaded', message: 'no loaded journey has this name' })),
      ],
    };
    this.checks.set(check.id, check);
    while (this.checks.size > this.maxChecks) this.checks.delete(this.checks.keys().next().value!);
    return { started: true, report: this.evaluate(check, startedAt) };
  }

  /** Undefined for an id never issued, expired or evicted. */
  status(id: string): CheckReport | undefined {
    const now = this.options.now();
    this.expire(now);
    const check = this.checks.get(id);
    return check === undefined ? undefined : this.evaluate(check, now);
  }

  /** Checks are kept in start order, so the expired ones are at the front. */
  private expire(now: number): void {
    for (const [id, check] of this.checks) {
      if (now - check.startedAt < this.ttlMs) break;
      this.checks.delete(id);
    }
  }

  private evaluate(check: Check, now: number): CheckReport {
    if (check.journeys.some((journey) => journey.state === 'waiting')) {
      const views = new Map(this.options.journeys().map((view) => [view.journey, view]));
      check.journeys = check.journeys.map((journey) =>
        journey.state === 'waiting' ? this.settle(journey.journey, views.get(journey.journey), check.startedAt, now) : journey,
      );
    }
    return reportOf(check);
  }

  private settle(journey: string, view: JourneyView | undefined, since: number, now: number): CheckJourney {
    if (view === undefined) return { journey, state: 'not-loaded', message: 'the journey was removed (by a reload) before it ran' };
    // `recent` is oldest first, so this is the first run that started after the check.
    const run = view.recent.find((candidate) => candidate.startedAt >= since);
    if (run !== undefined) {
      const state = OUTCOME_STATE[run.result];
      if (PASSED_STATES.has(state)) return { journey, state, runStartedAt: run.startedAt };
      // lastFailure.at is its run's start, so it names this run's failure only when they match.
      const failure = view.lastFailure?.at === run.startedAt ? view.lastFailure : undefined;
      return {
        journey,
        state,
        runStartedAt: run.startedAt,
        ...(failure?.step !== undefined ? { step: failure.step } : {}),
        code: failure?.code ?? FALLBACK_FAILURE_CODE,
        message: truncate(failure?.message ?? `the run ${run.result === 'error' ? 'ended with an error' : 'failed'}`),
      };
    }
    const waitMs = this.options.waitWithinMs(view);
    if (now - since > waitMs) return { journey, state: 'did-not-run', message: `no run started within ${formatMs(waitMs)} of the check` };
    return { journey, state: 'waiting' };
  }
}

function reportOf(check: Check): CheckReport {
  const total = check.journeys.length;
  const finished = check.journeys.filter((journey) => journey.state !== 'waiting').length;
  const failed = check.journeys.find((journey) => journey.state === 'failed' || journey.state === 'error');
  const unproven = check.journeys.find((journey) => journey.state === 'not-loaded' || journey.state === 'did-not-run');
  const base = { id: check.id, startedAt: check.startedAt, progress: `${finished} of ${total} journeys finished`, journeys: check.journeys };

  if (failed !== undefined) {
    const where = failed.step !== undefined ? ` at step ${JSON.stringify(failed.step)}` : '';
    return {
      ...base,
      status: 'TERMINAL',
      verdict: 'fail',
      reason: `journey ${JSON.stringify(failed.journey)} failed${where}: ${failed.code} ${failed.message}`,
    };
  }
  if (unproven !== undefined) {
    return { ...base, status: 'TERMINAL', verdict: 'inconclusive', reason: `journey ${JSON.stringify(unproven.journey)}: ${unproven.message}` };
  }
  if (finished < total) return { ...base, status: 'RUNNING', verdict: 'pending', reason: `waiting for ${total - finished} of ${total} journeys to run` };
  return {
    ...base,
    status: 'SUCCEEDED',
    verdict: 'pass',
    reason: total === 1 ? `journey ${JSON.stringify(check.journeys[0]!.journey)} passed` : `all ${total} journeys passed`,
  };
}
