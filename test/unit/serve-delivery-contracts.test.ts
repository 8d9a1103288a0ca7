import { describe, expect, it } from 'vitest';
import { CHECK_TTL_MS, CheckRegistry } from '../../src/serve/check-registry.js';
import {
  LISTED_JOURNEYS_LIMIT,
  MESSAGE_LIMIT,
  VerdictCache,
  verdictFromViews,
  type ProbeVerdict,
  type VerdictOptions,
} from '../../src/serve/delivery-verdict.js';
import { RevisionTracker } from '../../src/serve/revision-tracker.js';
import type { TriggerRequest, TriggerResult } from '../../src/serve/trigger-request.js';
import type { JourneyView, LastFailure, RunOutcome } from '../../src/serve/model.js';

const NOW = 1_800_000_000_000;
const MINUTE = 60_000;

function view(journey: string, overrides: Partial<JourneyView> = {}): JourneyView {
  return {
    journey,
    file: `journeys/${journey}.yaml`,
    tags: [],
    schedule: 'every 1m',
    running: false,
    skippedRuns: 0,
    recent: [],
    health: 'passing',
    lastRunAt: NOW - MINUTE,
    lastPassAt: NOW - MINUTE,
    consecutiveFailures: 0,
    alerting: false,
    ...overrides,
  };
}

function failingView(journey: string, failure: Omit<LastFailure, 'at'> & { at?: number }, overrides: Partial<JourneyView> = {}): JourneyView {
  const at = failure.at ?? NOW - MINUTE;
  return view(journey, { health: 'failing', lastRunAt: at, lastFailure: { ...failure, at }, consecutiveFailures: 1, ...overrides });
}

const threeMinutes = (): number => 3 * MINUTE;

function judge(views: JourneyView[], options: Partial<VerdictOptions> = {}): ProbeVerdict {
  return verdictFromViews(views, { now: NOW, freshWithinMs: threeMinutes, version: '0.1.0', ...options });
}

describe('verdictFromViews', () => {
  it('passes when every selected journey passed within its freshness window, and says so', () => {
    const verdict = judge([view('chat'), view('secrets', { lastRunAt: NOW - 3 * MINUTE })]);
    expect(verdict).toEqual({
      verdict: 'pass',
      fresh: true,
      version: '0.1.0',
      reason: 'all 2 journeys passed within their freshness windows',
      counts: { selected: 2, passing: 2, failing: 0, unverified: 0 },
      failing: [],
      unverified: [],
      checkedAt: NOW,
    });
  });

  it('counts a flaky journey as passing, and mentions it', () => {
    const verdict = judge([view('chat', { health: 'flaky' })]);
    expect(verdict.verdict).toBe('pass');
    expect(verdict.reason).toBe('journey "chat" passed within its freshness window (1 flaky)');
  });

  it('fails when a selected journey is failing, naming its step, code and message', () => {
    const verdict = judge([view('chat'), failingView('checkout', { step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'status is 500, expected 200' })]);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.fresh).toBe(true);
    expect(verdict.reason).toBe('journey "checkout" failing at step "pay": CEIL_HTTP_STATUS status is 500, expected 200');
    expect(verdict.failing).toEqual([{ journey: 'checkout', step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'status is 500, expected 200', at: NOW - MINUTE }]);
    expect(verdict.counts).toEqual({ selected: 2, passing: 1, failing: 1, unverified: 0 });
  });

  it('fails on a failing journey even when another has not run and the failure is old', () => {
    const verdict = judge([
      view('new', { health: 'unknown', lastRunAt: undefined, lastPassAt: undefined }),
      failingView('b', { code: 'CEIL_WS_TIMEOUT', message: 'no message within 2s' }, { lastRunAt: NOW - 30 * MINUTE }),
      failingView('a', { code: 'CEIL_HTTP_JSON', message: 'json.id is missing' }),
    ]);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.fresh).toBe(false);
    expect(verdict.failing.map((failure) => failure.journey)).toEqual(['a', 'b']);
    expect(verdict.reason).toBe('journey "a" failing: CEIL_HTTP_JSON json.id is missing (and 1 more failing)');
    expect(verdict.unverified).toEqual([{ journey: 'new', reason: 'no-run-yet' }]);
  });

  it('is inconclusive, never a pass, while a selected journey has not run yet', () => {
    const verdict = judge([view('chat'), view('new', { health: 'unknown', lastRunAt: undefined, lastPassAt: undefined })]);
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.fresh).toBe(false);
    expect(verdict.reason).toBe('journey "new" has not run yet');
  });

  it("is inconclusive when the last run is older than the journey's own freshness window", () => {
    const windows: Record<string, number> = { hourly: 2 * 60 * MINUTE, minutely: 3 * MINUTE };
    const views = [view('hourly', { lastRunAt: NOW - 90 * MINUTE }), view('minutely', { lastRunAt: NOW - 10 * MINUTE })];
    const verdict = judge(views, { freshWithinMs: (candidate) => windows[candidate.journey]! });
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.fresh).toBe(false);
    expect(verdict.unverified).toEqual([{ journey: 'minutely', reason: 'stale', lastRunAt: NOW - 10 * MINUTE }]);
    expect(verdict.reason).toBe('journey "minutely" last ran 10.0m ago, outside its 3.0m freshness window');
    // One millisecond inside the window is fresh.
    expect(judge([view('minutely', { lastRunAt: NOW - 3 * MINUTE })]).verdict).toBe('pass');
    expect(judge([view('minutely', { lastRunAt: NOW - 3 * MINUTE - 1 })]).verdict).toBe('inconclusive');
  });

  it('selects by tag (any of them) and says when no journey has the tag', () => {
    const views = [
      failingView('nightly', { code: 'CEIL_X', message: 'broken' }, { tags: ['slow'] }),
      view('chat', { tags: ['chat', 'critical'] }),
      view('secrets', { tags: ['critical'] }),
    ];
    expect(judge(views, { select: { tags: ['critical'] } })).toMatchObject({ verdict: 'pass', counts: { selected: 2 } });
    expect(judge(views, { select: { tags: ['chat', 'slow'] } })).toMatchObject({ verdict: 'fail', counts: { selected: 2 } });
    const none = judge(views, { select: { tags: ['billing'] } });
    expect(none).toMatchObject({ verdict: 'inconclusive', fresh: false, counts: { selected: 0 } });
    expect(none.reason).toBe('no loaded journey has the tag "billing"');
    expect(judge([]).reason).toBe('no journeys are loaded');
    expect(judge([]).verdict).toBe('inconclusive');
  });

  it('selects by exact name, and a name that is not loaded makes it inconclusive', () => {
    const views = [view('chat'), view('Chat', { health: 'failing', lastFailure: { at: NOW - MINUTE, code: 'CEIL_X', message: 'x' } })];
    expect(judge(views, { select: { journeys: ['chat'] } }).verdict).toBe('pass');
    const missing = judge(views, { select: { journeys: ['chat', 'chat%'] } });
    expect(missing.verdict).toBe('inconclusive');
    expect(missing.fresh).toBe(false);
    expect(missing.unverified).toEqual([{ journey: 'chat%', reason: 'not-loaded' }]);
    expect(missing.reason).toBe('no loaded journey is named "chat%"');
    expect(missing.counts.selected).toBe(2);
  });

  it('does not count runs from before notBefore: an earlier revision neither passes nor fails this one', () => {
    const revisionSeen = NOW - 30_000;
    const oldFailure = failingView('checkout', { code: 'CEIL_HTTP_STATUS', message: 'status is 500' }, { lastRunAt: NOW - MINUTE });
    const before = judge([oldFailure, view('chat', { lastRunAt: NOW - MINUTE })], { notBefore: revisionSeen });
    expect(before.verdict).toBe('inconclusive');
    expect(before.unverified.map((entry) => entry.reason)).toEqual(['not-since-revision', 'not-since-revision']);
    expect(before.reason).toBe('journey "chat" has not run since this revision was first seen (and 1 more not verified)');
    expect(judge([view('chat', { lastRunAt: revisionSeen })], { notBefore: revisionSeen }).verdict).toBe('pass');
  });

  it('keeps its lists short and its messages bounded, with the totals in counts', () => {
    const views = Array.from({ length: 25 }, (_, i) => failingView(`journey ${i + 1}`, { code: 'CEIL_HTTP_BODY', message: 'x'.repeat(5000) }));
    const verdict = judge(views);
    expect(verdict.failing).toHaveLength(LISTED_JOURNEYS_LIMIT);
    expect(verdict.counts.failing).toBe(25);
    // Natural order: "journey 2" before "journey 10".
    expect(verdict.failing.slice(0, 3).map((failure) => failure.journey)).toEqual(['journey 1', 'journey 2', 'journey 3']);
    for (const failure of verdict.failing) {
      expect(failure.message).toHaveLength(MESSAGE_LIMIT);
      expect(failure.message.endsWith('…')).toBe(true);
    }
    expect(verdict.reason.length).toBeLessThan(MESSAGE_LIMIT + 100);
  });
});

describe('VerdictCache', () => {
  const verdict = (checkedAt: number): ProbeVerdict => ({ ...judge([]), checkedAt });

  it('computes a selection at most once a second', () => {
    const cache = new VerdictCache();
    let computed = 0;
    const compute = (at: number) => () => {
      computed++;
      return verdict(at);
    };
    expect(cache.get('critical', NOW, compute(NOW)).checkedAt).toBe(NOW);
    expect(cache.get('critical', NOW + 999, compute(NOW + 999)).checkedAt).toBe(NOW);
    expect(computed).toBe(1);
    expect(cache.get('critical', NOW + 1000, compute(NOW + 1000)).checkedAt).toBe(NOW + 1000);
    expect(cache.get('all', NOW + 1000, compute(NOW + 1000)).checkedAt).toBe(NOW + 1000);
    expect(computed).toBe(3);
  });

  it('recomputes when the clock steps back, and forgets the oldest selection past its limit', () => {
    const cache = new VerdictCache(1000, 2);
    let computed = 0;
    const compute = () => {
      computed++;
      return verdict(NOW);
    };
    cache.get('a', NOW, compute);
    cache.get('a', NOW - 5, compute);
    expect(computed).toBe(2);
    cache.get('b', NOW, compute);
    cache.get('c', NOW, compute);
    cache.get('b', NOW, compute);
    expect(computed).toBe(4);
    cache.get('a', NOW, compute);
    expect(computed).toBe(5);
  });
});

describe('RevisionTracker', () => {
  it("remembers when each canary's checksum was first seen, and restarts on a new one", () => {
    const revisions = new RevisionTracker();
    expect(revisions.since('test/podinfo', 'abc', NOW)).toBe(NOW);
    expect(revisions.since('test/podinfo', 'abc', NOW + MINUTE)).toBe(NOW);
    expect(revisions.since('prod/podinfo', 'abc', NOW + MINUTE)).toBe(NOW + MINUTE);
    expect(revisions.since('test/podinfo', 'def', NOW + 2 * MINUTE)).toBe(NOW + 2 * MINUTE);
    expect(revisions.since('test/podinfo', 'def', NOW + 3 * MINUTE)).toBe(NOW + 2 * MINUTE);
  });

  it('is bounded: past its limit the oldest canary is forgotten', () => {
    const revisions = new RevisionTracker(2);
    revisions.since('a', '1', NOW);
    revisions.since('b', '1', NOW + 1);
    revisions.since('c', '1', NOW + 2);
    expect(revisions.since('b', '1', NOW + 10)).toBe(NOW + 1);
    expect(revisions.since('a', '1', NOW + 10)).toBe(NOW + 10);
  });
});

/** The daemon as a check sees it: journeys that run when told to, on a clock the test moves. */
class FakeProbes {
  now = NOW;
  readonly views = new Map<string, JourneyView>();
  readonly busy = new Set<string>();
  readonly triggered: TriggerRequest[] = [];

  constructor(names: string[]) {
    for (const name of names)
      this.views.set(name, view(name, { lastRunAt: NOW - 10 * MINUTE, recent: [{ startedAt: NOW - 10 * MINUTE, durationMs: 500, result: 'passed' }] }));
  }

  trigger(request: TriggerRequest): TriggerResult {
    this.triggered.push(request);
    const names = request.journeys ?? [...this.views.keys()];
    const known = names.filter((name) => this.views.has(name));
    return {
      started: known.filter((name) => !this.busy.has(name)),
      queued: [],
      busy: known.filter((name) => this.busy.has(name)),
      unknown: names.filter((name) => !this.views.has(name)),
    };
  }

  /** A run of `name` that started at `startedAt` has just ended. */
  ran(name: string, result: RunOutcome, startedAt: number, failure?: Omit<LastFailure, 'at'>): void {
    const current = this.views.get(name)!;
    const failed = result === 'failed' || result === 'error';
    this.views.set(name, {
      ...current,
      health: failed ? 'failing' : result === 'flaky' ? 'flaky' : 'passing',
      lastRunAt: startedAt,
      ...(failed ? { lastFailure: { at: startedAt, code: 'CEIL_FAILED', message: 'the run failed', ...failure } } : { lastPassAt: startedAt }),
      recent: [...current.recent, { startedAt, durationMs: 500, result }],
    });
  }

  registry(overrides: { maxChecks?: number; ttlMs?: number; newId?: () => string } = {}): CheckRegistry {
    return new CheckRegistry({
      now: () => this.now,
      journeys: () => [...this.views.values()],
      trigger: (request) => this.trigger(request),
      waitWithinMs: () => 5 * MINUTE,
      ...overrides,
    });
  }
}

function started(registry: CheckRegistry, request: TriggerRequest = {}) {
  const outcome = registry.start(request);
  if (!outcome.started) throw new Error(`the check did not start: ${JSON.stringify(outcome.result)}`);
  return outcome.report;
}

describe('CheckRegistry', () => {
  it('is RUNNING until each triggered journey has run since the check began, then SUCCEEDED', () => {
    const probes = new FakeProbes(['chat', 'secrets']);
    const registry = probes.registry();
    const report = started(registry, { tag: 'critical' });
    expect(probes.triggered).toEqual([{ tag: 'critical' }]);
    expect(report).toMatchObject({ status: 'RUNNING', verdict: 'pending', progress: '0 of 2 journeys finished', startedAt: NOW });
    expect(report.journeys).toEqual([
      { journey: 'chat', state: 'waiting' },
      { journey: 'secrets', state: 'waiting' },
    ]);

    probes.now = NOW + 2_000;
    probes.ran('chat', 'passed', NOW + 5);
    expect(registry.status(report.id)).toMatchObject({ status: 'RUNNING', progress: '1 of 2 journeys finished', reason: 'waiting for 1 of 2 journeys to run' });

    probes.ran('secrets', 'flaky', NOW + 6);
    const done = registry.status(report.id)!;
    expect(done).toMatchObject({ status: 'SUCCEEDED', verdict: 'pass', reason: 'all 2 journeys passed', progress: '2 of 2 journeys finished' });
    expect(done.journeys).toEqual([
      { journey: 'chat', state: 'passed', runStartedAt: NOW + 5 },
      { journey: 'secrets', state: 'flaky', runStartedAt: NOW + 6 },
    ]);
  });

  it("ignores runs that started before the check, including a busy journey's run in flight", () => {
    const probes = new FakeProbes(['chat']);
    probes.busy.add('chat');
    const registry = probes.registry();
    const report = started(registry);
    // The run that was in flight when the check began ends now: it cannot vouch for the deploy.
    probes.ran('chat', 'passed', NOW - 1_000);
    expect(registry.status(report.id)?.status).toBe('RUNNING');
    probes.ran('chat', 'passed', NOW + 30_000);
    expect(registry.status(report.id)?.status).toBe('SUCCEEDED');
  });

  it('ends TERMINAL at the first failure without waiting for the others, and stays so', () => {
    const probes = new FakeProbes(['chat', 'checkout']);
    const registry = probes.registry();
    const report = started(registry);
    probes.ran('checkout', 'failed', NOW + 10, { step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'status is 502, expected 200' });
    const failed = registry.status(report.id)!;
    expect(failed).toMatchObject({
      status: 'TERMINAL',
      verdict: 'fail',
      reason: 'journey "checkout" failed at step "pay": CEIL_HTTP_STATUS status is 502, expected 200',
    });
    expect(failed.journeys[1]).toEqual({
      journey: 'checkout',
      state: 'failed',
      runStartedAt: NOW + 10,
      step: 'pay',
      code: 'CEIL_HTTP_STATUS',
      message: 'status is 502, expected 200',
    });
    probes.ran('chat', 'passed', NOW + 20);
    probes.ran('checkout', 'passed', NOW + 40);
    expect(registry.status(report.id)).toMatchObject({ status: 'TERMINAL', verdict: 'fail' });
  });

  it('is decided by the first run after the start, even when a later run passed before the next poll', () => {
    const probes = new FakeProbes(['chat']);
    const registry = probes.registry();
    const report = started(registry);
    probes.ran('chat', 'error', NOW + 10, { code: 'CEIL_CONNECT', message: 'connection refused' });
    probes.ran('chat', 'passed', NOW + 70_000);
    expect(registry.status(report.id)).toMatchObject({ status: 'TERMINAL', verdict: 'fail', reason: 'journey "chat" failed: CEIL_CONNECT connection refused' });
  });

  it('gives up on a journey that does not run within its wait, as TERMINAL and inconclusive', () => {
    const probes = new FakeProbes(['chat']);
    const registry = probes.registry();
    const report = started(registry);
    probes.now = NOW + 5 * MINUTE;
    expect(registry.status(report.id)?.status).toBe('RUNNING');
    probes.now = NOW + 5 * MINUTE + 1;
    expect(registry.status(report.id)).toMatchObject({
      status: 'TERMINAL',
      verdict: 'inconclusive',
      reason: 'journey "chat": no run started within 5.0m of the check',
    });
  });

  it('refuses when nothing matched, and ends TERMINAL when some names are unknown or a journey is removed', () => {
    const probes = new FakeProbes(['chat', 'secrets']);
    const registry = probes.registry();
    expect(registry.start({ journeys: ['nope'] })).toEqual({ started: false, result: { started: [], queued: [], busy: [], unknown: ['nope'] } });
    expect(registry.size).toBe(0);

    const partly = started(registry, { journeys: ['chat', 'nope'] });
    expect(partly).toMatchObject({ status: 'TERMINAL', verdict: 'inconclusive', reason: 'journey "nope": no loaded journey has this name' });

    const removed = started(registry, { journeys: ['secrets'] });
    probes.views.delete('secrets');
    expect(registry.status(removed.id)).toMatchObject({ status: 'TERMINAL', verdict: 'inconclusive' });
    expect(registry.status(removed.id)?.journeys[0]?.state).toBe('not-loaded');
  });

  it('forgets checks after an hour and keeps at most maxChecks, dropping the oldest', () => {
    const probes = new FakeProbes(['chat']);
    const registry = probes.registry({ maxChecks: 3 });
    const ids = [1, 2, 3, 4].map(() => started(registry).id);
    expect(registry.size).toBe(3);
    expect(registry.status(ids[0]!)).toBeUndefined();
    expect(registry.status(ids[1]!)).toBeDefined();
    probes.now = NOW + CHECK_TTL_MS - 1;
    expect(registry.status(ids[3]!)).toBeDefined();
    probes.now = NOW + CHECK_TTL_MS;
    expect(registry.status(ids[3]!)).toBeUndefined();
    expect(registry.size).toBe(0);
  });

  it('issues random UUIDs, so a status URL cannot be guessed', () => {
    const registry = new FakeProbes(['chat']).registry();
    const ids = new Set(Array.from({ length: 50 }, () => started(registry).id));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('verdictFromViews over several targets (serve --config)', () => {
  it('naming a journey selects it against every target, and a failure names the target it failed against', () => {
    const views = [
      view('chat', { target: 'web/127.0.0.1:8081', targetGroup: 'web' }),
      failingView('chat', { code: 'CEIL_WS_TIMEOUT', message: 'no answer' }, { target: 'web/127.0.0.1:8082', targetGroup: 'web' }),
    ];
    const verdict = judge(views, {});
    expect(verdict.counts).toEqual({ selected: 2, passing: 1, failing: 1, unverified: 0 });
    expect(verdict.failing[0]).toMatchObject({ journey: 'chat', target: 'web/127.0.0.1:8082' });
    expect(verdict.reason).toContain('journey "chat" failing against web/127.0.0.1:8082');
  });
});
