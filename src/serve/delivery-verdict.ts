import { formatMs } from '../journey/duration.js';
import type { JourneyView } from './model.js';

/**
 * The verdict progressive-delivery tools are told (Argo Rollouts' web metric,
 * Flagger's webhooks), decided from the daemon's journey views alone over a
 * selection of journeys. No I/O here; delivery-routes.ts speaks HTTP.
 * Spinnaker's checks, which wait for fresh runs, are in check-registry.ts.
 *
 * A pass must be earned: a journey that never ran, ran too long ago, or ran
 * before the release being judged makes the verdict inconclusive, never a pass.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** Journeys by exact name, or by tag (any of them); no selection means every loaded journey. */
export type JourneySelection =
  { journeys: readonly string[]; tags?: never } | { tags: readonly string[]; journeys?: never } | { journeys?: never; tags?: never };

export interface FailingJourney {
  journey: string;
  /** The target it failed against (serve --config). */
  target?: string;
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
  /** serve --config: the target whose run cannot vouch. */
  target?: string;
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
/** Stands in for a failure that was recorded without a code. */
export const FALLBACK_FAILURE_CODE = 'CEIL_FAILED';

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
      unverified.push({ journey: view.journey, ...targetOf(view), reason: 'no-run-yet' });
      fresh = false;
      continue;
    }
    // Checked before failing: a failure of an earlier revision must not fail this one.
    if (notBefore !== undefined && lastRunAt < notBefore) {
      unverified.push({ journey: view.journey, ...targetOf(view), reason: 'not-since-revision', lastRunAt });
      fresh = false;
      continue;
    }
    const isFresh = now - lastRunAt <= options.freshWithinMs(view);
    if (!isFresh) fresh = false;
    if (view.health === 'failing') {
      failing.push(failureOf(view, lastRunAt));
    } else if (!isFresh) {
      unverified.push({ journey: view.journey, ...targetOf(view), reason: 'stale', lastRunAt });
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
    // With serve --config a journey has one view per target; naming it selects all of them.
    const names = [...new Set(select.journeys)];
    return {
      selected: names.flatMap((name) => views.filter((view) => view.journey === name)),
      notLoaded: names.filter((name) => !views.some((view) => view.journey === name)),
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
    ...targetOf(view),
    ...(failure?.step !== undefined ? { step: failure.step } : {}),
    code: failure?.code ?? FALLBACK_FAILURE_CODE,
    message: truncate(failure?.message ?? 'the last run failed'),
    at: failure?.at ?? lastRunAt,
  };
}

/** Cuts a failure message to MESSAGE_LIMIT characters for the lists tools keep. */
export function truncate(message: string): string {
  return message.length <= MESSAGE_LIMIT ? message : `${message.slice(0, MESSAGE_LIMIT - 1)}…`;
}

function andMore(count: number, what: string): string {
  return count > 1 ? ` (and ${count - 1} more ${what})` : '';
}

function failReason(failing: FailingJourney[]): string {
  const first = failing[0]!;
  const where = first.step !== undefined ? ` at step ${JSON.stringify(first.step)}` : '';
  const against = first.target !== undefined ? ` against ${first.target}` : '';
  return `journey ${JSON.stringify(first.journey)} failing${against}${where}: ${first.code} ${first.message}${andMore(failing.length, 'failing')}`;
}

function unverifiedReason(unverified: UnverifiedJourney[], views: readonly JourneyView[], options: VerdictOptions): string {
  const first = unverified[0]!;
  const name = JSON.stringify(first.journey) + (first.target !== undefined ? ` against ${first.target}` : '');
  const more = andMore(unverified.length, 'not verified');
  switch (first.reason) {
    case 'not-loaded':
      return `no loaded journey is named ${name}${more}`;
    case 'no-run-yet':
      return `journey ${name} has not run yet${more}`;
    case 'not-since-revision':
      return `journey ${name} has not run since this revision was first seen${more}`;
    case 'stale': {
      const view = views.find((candidate) => candidate.journey === first.journey && candidate.target === first.target)!;
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

const targetOf = (view: JourneyView): { target?: string } => (view.target !== undefined ? { target: view.target } : {});
