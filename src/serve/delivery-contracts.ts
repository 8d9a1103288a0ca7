import { randomUUID } from 'node:crypto';
import { formatMs } from '../journey/duration.js';
import type { TriggerRequest, TriggerResult } from './http-api.js';
import type { JourneyView, RunOutcome } from './model.js';

/**
 * What progressive-delivery tools are told, decided from the daemon's journey
 * views alone: a verdict over a selection of journeys (Argo Rollouts' web
 * metric, Flagger's webhooks) and checks that wait for fresh runs (Spinnaker's
 * webhook stage). No I/O here; delivery-routes.ts speaks HTTP.
 *
 * A pass must be earned: a journey that never ran, ran too long ago, or ran
 * before the release being judged makes the verdict inconclusive, never a pass.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** Journeys by exact name, or by tag (any of them); no selection means every loaded journey. */
export type JourneySelection = { journeys: readonly string[]; tags?: never } | { tags: readonly string[]; journeys?: never } | { journeys?: never; tags?: never };

export interface FailingJourney {
  journey: string;
  step?: string;
  code: string;
  message: string;
  /** When the failing run started (epoch ms). */
  at: number;
}

/** Why a selected journey cannot vouch for the release: it is not loaded, has not run, or its last run is too old to count. */
export type UnverifiedReason = 'not-loaded' | 'no-run-yet' | 'stale' | 'not-since-revision';

export interface UnverifiedJourney {
  journey: string;
  reason: UnverifiedReason;
  lastRunAt?: number;
}

export interface ProbeVerdict {
  verdict: Verdict;
  /** Every selected journey is loaded and its last run started within its freshness window (and after notBefore, when given). */
  fresh: boolean;
  version: string;
  /** One sentence a person reads first, e.g. `journey "checkout" failing at step "pay": CEIL_HTTP_STATUS …`. */
  reason: string;
  counts: { selected: number; passing: number; failing: number; unverified: number };
  /** At most LISTED_JOURNEYS_LIMIT, by name; `counts` has the totals. */
  failing: FailingJourney[];
  unverified: UnverifiedJourney[];
  checkedAt: number;
}

export interface VerdictOptions {
  now: number;
  /** How long after a run started its result still counts; the daemon derives it from the journey's schedule and timeout. */
  freshWithinMs: (view: JourneyView) => number;
  version: string;
  select?: JourneySelection;
  /** Runs that started before this say nothing about the release being judged (a canary revision first seen then). */
  notBefore?: number;
}

/** Argo Rollouts keeps every measurement in the AnalysisRun's status and Flagger copies bodies into events: both lists stay short. */
export const LISTED_JOURNEYS_LIMIT = 20;
/** Failure messages can hold a whole response body; /api/v1/journeys has the full text. */
export const MESSAGE_LIMIT = 300;
const FALLBACK_FAILURE_CODE = 'CEIL_FAILED';

const byName = new Intl.Collator('en', { numeric: true });

export function verdictFromViews(views: readonly JourneyView[], options: VerdictOptions): ProbeVerdict {
  const { now, notBefore } = options;
  const { selected, notLoaded, nothingSelected } = selectViews(views, options.select ?? {});
  const failing: FailingJourney[] = [];
  const unverified: UnverifiedJourney[] = notLoaded.map((journey) => ({ journey, reason: 'not-loaded' }));
  let passing = 0;
  let flaky = 0;
  let fresh = selected.length > 0 && notLoaded.length === 0;

  for (const view of selected) {
    const lastRunAt = view.lastRunAt;
    if (lastRunAt === undefined || view.health === 'unknown') {
      unverified.push({ journey: view.journey, reason: 'no-run-yet' });
      fresh = false;
      continue;
    }
    // Checked before failing: a failure of an earlier revision must not fail this one.
    if (notBefore !== undefined && lastRunAt < notBefore) {
      unverified.push({ journey: view.journey, reason: 'not-since-revision', lastRunAt });
      fresh = false;
      continue;
    }
    const isFresh = now - lastRunAt <= options.freshWithinMs(view);
    if (!isFresh) fresh = false;
    if (view.health === 'failing') {
      failing.push(failureOf(view, lastRunAt));
    } else if (!isFresh) {
      unverified.push({ journey: view.journey, reason: 'stale', lastRunAt });
    } else {
      passing++;
      if (view.health === 'flaky') flaky++;
    }
  }

  failing.sort((a, b) => byName.compare(a.journey, b.journey));
  unverified.sort((a, b) => byName.compare(a.journey, b.journey));
  const selectedCount = selected.length + notLoaded.length;
  const verdict: Verdict = failing.length > 0 ? 'fail' : selectedCount === 0 || unverified.length > 0 ? 'inconclusive' : 'pass';
  const reason =
    verdict === 'fail'
      ? failReason(failing)
      : verdict === 'inconclusive'
        ? selectedCount === 0
          ? nothingSelected
          : unverifiedReason(unverified, views, options)
        : passReason(passing, flaky, selected);

  return {
    verdict,
    fresh,
    version: options.version,
    reason,
    counts: { selected: selectedCount, passing, failing: failing.length, unverified: unverified.length },
    failing: failing.slice(0, LISTED_JOURNEYS_LIMIT),
    unverified: unverified.slice(0, LISTED_JOURNEYS_LIMIT),
    checkedAt: now,
  };
}

function selectViews(views: readonly JourneyView[], select: JourneySelection): { selected: JourneyView[]; notLoaded: string[]; nothingSelected: string } {
  if (select.journeys !== undefined) {
    const byJourney = new Map(views.map((view) => [view.journey, view]));
    const names = [...new Set(select.journeys)];
    return {
      selected: names.flatMap((name) => byJourney.get(name) ?? []),
      notLoaded: names.filter((name) => !byJourney.has(name)),
      nothingSelected: 'no journeys were named',
    };
  }
  if (select.tags !== undefined) {
    const tags = new Set(select.tags);
    return {
      selected: views.filter((view) => view.tags.some((tag) => tags.has(tag))),
      notLoaded: [],
      nothingSelected: `no loaded journey has the tag ${[...tags].map((tag) => JSON.stringify(tag)).join(' or ')}`,
    };
  }
  return { selected: [...views], notLoaded: [], nothingSelected: 'no journeys are loaded' };
}

function failureOf(view: JourneyView, lastRunAt: number): FailingJourney {
  const failure = view.lastFailure;
  return {
    journey: view.journey,
    ...(failure?.step !== undefined ? { step: failure.step } : {}),
    code: failure?.code ?? FALLBACK_FAILURE_CODE,
    message: truncate(failure?.message ?? 'the last run failed'),
    at: failure?.at ?? lastRunAt,
  };
}

function truncate(message: string): string {
  return message.length <= MESSAGE_LIMIT ? message : `${message.slice(0, MESSAGE_LIMIT - 1)}…`;
}

function andMore(count: number, what: string): string {
  return count > 1 ? ` (and ${count - 1} more ${what})` : '';
}

function failReason(failing: FailingJourney[]): string {
  const first = failing[0]!;
  const where = first.step !== undefined ? ` at step ${JSON.stringify(first.step)}` : '';
  return `journey ${JSON.stringify(first.journey)} failing${where}: ${first.code} ${first.message}${andMore(failing.length, 'failing')}`;
}

function unverifiedReason(unverified: UnverifiedJourney[], views: readonly JourneyView[], options: VerdictOptions): string {
  const first = unverified[0]!;
  const name = JSON.stringify(first.journey);
  const more = andMore(unverified.length, 'not verified');
  switch (first.reason) {
    case 'not-loaded':
      return `no loaded journey is named ${name}${more}`;
    case 'no-run-yet':
      return `journey ${name} has not run yet${more}`;
    case 'not-since-revision':
      return `journey ${name} has not run since this revision was first seen${more}`;
    case 'stale': {
      const view = views.find((candidate) => candidate.journey === first.journey)!;
      const age = options.now - (first.lastRunAt ?? options.now);
      return `journey ${name} last ran ${formatMs(age)} ago, outside its ${formatMs(options.freshWithinMs(view))} freshness window${more}`;
    }
  }
}

function passReason(passing: number, flaky: number, selected: JourneyView[]): string {
  const flakyNote = flaky > 0 ? ` (${flaky} flaky)` : '';
  if (passing === 1) return `journey ${JSON.stringify(selected[0]!.journey)} passed within its freshness window${flakyNote}`;
  return `all ${passing} journeys passed within their freshness windows${flakyNote}`;
}

/**
 * Keeps each selection's verdict for a short while, so a fleet of analysis
 * runs polling at once costs one computation per second, not one per request.
 * Bounded: selections come from callers, so the oldest is dropped past the limit.
 */
export class VerdictCache {
  private readonly entries = new Map<string, { at: number; verdict: ProbeVerdict }>();

  constructor(
    private readonly maxAgeMs = 1000,
    private readonly limit = 100,
  ) {}

  get(key: string, now: number, compute: () => ProbeVerdict): ProbeVerdict {
    const cached = this.entries.get(key);
    // A clock that stepped back counts as expired rather than serving a verdict from the future.
    if (cached !== undefined && now >= cached.at && now - cached.at < this.maxAgeMs) return cached.verdict;
    const verdict = compute();
    this.entries.delete(key);
    this.entries.set(key, { at: now, verdict });
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return verdict;
  }
}

/**
 * When each canary's current revision (Flagger's checksum) was first seen.
 * Runs older than that tested the previous revision, so they cannot pass this one.
 */
export class RevisionTracker {
  private readonly firstSeen = new Map<string, { checksum: string; at: number }>();

  constructor(private readonly limit = 1000) {}

  since(canary: string, checksum: string, now: number): number {
    const known = this.firstSeen.get(canary);
    if (known !== undefined && known.checksum === checksum) return known.at;
    this.firstSeen.delete(canary);
    this.firstSeen.set(canary, { checksum, at: now });
    if (this.firstSeen.size > this.limit) this.firstSeen.delete(this.firstSeen.keys().next().value!);
    return now;
  }
}

// ---------------------------------------------------------------- checks (Spinnaker)

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
      check.journeys = check.journeys.map((journey) => (journey.state === 'waiting' ? this.settle(journey.journey, views.get(journey.journey), check.startedAt, now) : journey));
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
    return { ...base, status: 'TERMINAL', verdict: 'fail', reason: `journey ${JSON.stringify(failed.journey)} failed${where}: ${failed.code} ${failed.message}` };
  }
  if (unproven !== undefined) {
    return { ...base, status: 'TERMINAL', verdict: 'inconclusive', reason: `journey ${JSON.stringify(unproven.journey)}: ${unproven.message}` };
  }
  if (finished < total) return { ...base, status: 'RUNNING', verdict: 'pending', reason: `waiting for ${total - finished} of ${total} journeys to run` };
  return { ...base, status: 'SUCCEEDED', verdict: 'pass', reason: total === 1 ? `journey ${JSON.stringify(check.journeys[0]!.journey)} passed` : `all ${total} journeys passed` };
}
