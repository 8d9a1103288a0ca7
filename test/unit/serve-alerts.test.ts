import { describe, expect, it } from 'vitest';
import { alertEvent, genericPayload, slackPayload, type AlertEvent } from '../../src/serve/alert-payloads.js';
import { applyRun, initialState, type AlertKind, type AlertPolicy } from '../../src/serve/alert-policy.js';
import type { PersistedState, RunOutcome, RunRecord } from '../../src/serve/model.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const MINUTE = 60_000;

function run(result: RunOutcome, startedAt: number, failure: Partial<Pick<RunRecord, 'failedStep' | 'failureCode' | 'failureMessage'>> = {}): RunRecord {
  const failed = result === 'failed' || result === 'error';
  return {
    journey: 'checkout',
    location: 'eu-west',
    target: 'production',
    trigger: 'schedule',
    startedAt,
    durationMs: 120,
    result,
    ...(failed ? { failedStep: 'pay', failureCode: 'CEIL_HTTP_STATUS', failureMessage: 'expected status 200, got 502' } : {}),
    ...failure,
    steps: [],
  };
}

/** Applies outcomes one minute apart and returns the alert each run produced. */
function replay(outcomes: RunOutcome[], policy: AlertPolicy): { alerts: (AlertKind | undefined)[]; state: PersistedState } {
  let state = initialState('checkout');
  const alerts: (AlertKind | undefined)[] = [];
  outcomes.forEach((outcome, index) => {
    const next = applyRun(state, run(outcome, T0 + index * MINUTE), policy);
    state = next.state;
    alerts.push(next.alert);
  });
  return { alerts, state };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('alert policy', () => {
  it('starts unknown, not alerting, with no failures counted', () => {
    expect(initialState('checkout')).toEqual({ journey: 'checkout', health: 'unknown', consecutiveFailures: 0, alerting: false });
  });

  it('with failAfter 1 alerts on the first failure, stays quiet while failing, and announces the recovery', () => {
    const { alerts, state } = replay(['passed', 'failed', 'error', 'failed', 'passed', 'passed'], { failAfter: 1 });
    expect(alerts).toEqual([undefined, 'failing', undefined, undefined, 'recovered', undefined]);
    expect(state).toMatchObject({ health: 'passing', consecutiveFailures: 0, alerting: false });
  });

  it('with failAfter 3 alerts only on the third failure in a row', () => {
    const { alerts, state } = replay(['failed', 'failed', 'failed', 'failed'], { failAfter: 3 });
    expect(alerts).toEqual([undefined, undefined, 'failing', undefined]);
    expect(state).toMatchObject({ health: 'failing', consecutiveFailures: 4, alerting: true });
  });

  it('lets a blip under the threshold recover silently and resets the count', () => {
    const { alerts, state } = replay(['failed', 'failed', 'passed', 'failed', 'failed', 'passed'], { failAfter: 3 });
    expect(alerts).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(state.consecutiveFailures).toBe(0);
    expect(state.alerting).toBe(false);
    // The last failure is kept for the status page even after the pass.
    expect(state.lastFailure).toEqual({ at: T0 + 4 * MINUTE, step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502' });
  });

  it('alerts failing once and recovered once across a long incident', () => {
    const { alerts } = replay(['failed', 'failed', 'error', 'failed', 'error', 'passed', 'passed', 'failed'], { failAfter: 2 });
    expect(alerts.filter((alert) => alert === 'failing')).toHaveLength(1);
    expect(alerts.filter((alert) => alert === 'recovered')).toHaveLength(1);
    expect(alerts.indexOf('failing')).toBe(1);
    expect(alerts.indexOf('recovered')).toBe(5);
  });

  it('treats a flaky run as a recovery and reports the journey as flaky', () => {
    const { alerts, state } = replay(['failed', 'flaky'], { failAfter: 1 });
    expect(alerts).toEqual(['failing', 'recovered']);
    expect(state).toMatchObject({ health: 'flaky', lastPassAt: T0 + MINUTE, consecutiveFailures: 0, alerting: false });
  });

  it('records run times, the last pass and the last failure', () => {
    let { state } = applyRun(initialState('checkout'), run('passed', T0), { failAfter: 2 });
    expect(state).toMatchObject({ health: 'passing', lastRunAt: T0, lastPassAt: T0 });
    ({ state } = applyRun(
      state,
      run('error', T0 + MINUTE, { failedStep: 'connect', failureCode: 'CEIL_CONNECT_REFUSED', failureMessage: 'connection refused' }),
      { failAfter: 2 },
    ));
    expect(state).toMatchObject({
      health: 'failing',
      lastRunAt: T0 + MINUTE,
      lastPassAt: T0,
      consecutiveFailures: 1,
      lastFailure: { at: T0 + MINUTE, step: 'connect', code: 'CEIL_CONNECT_REFUSED', message: 'connection refused' },
    });
  });

  it('falls back to CEIL_FAILED when a failed run carries no code, and leaves out an unknown step', () => {
    const bare = run('failed', T0);
    delete bare.failedStep;
    delete bare.failureCode;
    const { state } = applyRun(initialState('checkout'), bare, { failAfter: 1 });
    expect(state.lastFailure?.code).toBe('CEIL_FAILED');
    expect(state.lastFailure).not.toHaveProperty('step');
  });

  it('does not mutate the state or the run it is given', () => {
    const state = deepFreeze({ ...initialState('checkout'), consecutiveFailures: 2, health: 'failing' as const });
    const failing = deepFreeze(run('failed', T0));
    const before = structuredClone(state);
    const result = applyRun(state, failing, { failAfter: 3 });
    expect(result.alert).toBe('failing');
    expect(result.state).not.toBe(state);
    expect(state).toEqual(before);

    const alerting = deepFreeze(result.state);
    const recovered = applyRun(alerting, deepFreeze(run('passed', T0 + MINUTE)), { failAfter: 3 });
    expect(recovered.alert).toBe('recovered');
    expect(alerting.alerting).toBe(true);
  });

  it('treats a threshold below 1 as 1', () => {
    expect(replay(['failed'], { failAfter: 0 }).alerts).toEqual(['failing']);
  });
});

const failingState: PersistedState = {
  journey: 'checkout',
  health: 'failing',
  lastRunAt: T0 + 2 * MINUTE,
  lastPassAt: T0,
  lastFailure: { at: T0 + 2 * MINUTE, step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502' },
  consecutiveFailures: 2,
  alerting: true,
};
const origin = { location: 'eu-west', target: 'production', statusUrl: 'http://127.0.0.1:9464/' };

function event(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return { ...alertEvent('failing', failingState, { file: 'journeys/checkout.yaml', tags: ['shop'] }, origin), ...overrides };
}

function slackTexts(payload: Record<string, unknown>): string[] {
  return JSON.stringify(payload.blocks)
    .match(/"text":"(?:[^"\\]|\\.)*"/g)!
    .map((match) => JSON.parse(match.slice('"text":'.length)) as string);
}

describe('alertEvent', () => {
  it('copies the state and origin into an event', () => {
    expect(event()).toEqual({
      kind: 'failing',
      journey: 'checkout',
      file: 'journeys/checkout.yaml',
      tags: ['shop'],
      critical: false,
      urgent: false,
      location: 'eu-west',
      target: 'production',
      at: T0 + 2 * MINUTE,
      consecutiveFailures: 2,
      failure: failingState.lastFailure,
      lastPassAt: T0,
      statusUrl: 'http://127.0.0.1:9464/',
    });
  });

  it('marks a failing journey tagged critical as urgent, whatever the case', () => {
    expect(alertEvent('failing', failingState, { file: 'f.yaml', tags: ['shop', 'critical'] }, origin).urgent).toBe(true);
    expect(alertEvent('failing', failingState, { file: 'f.yaml', tags: ['Critical'] }, origin).urgent).toBe(true);
    expect(alertEvent('failing', failingState, { file: 'f.yaml', tags: ['critical-path'] }, origin).urgent).toBe(false);
  });

  it('never marks a recovery urgent, even of a critical journey (recoveries never page)', () => {
    const recovered = alertEvent('recovered', failingState, { file: 'f.yaml', tags: ['critical'] }, origin);
    expect(recovered).toMatchObject({ kind: 'recovered', critical: true, urgent: false });
    expect(genericPayload(recovered).urgent).toBe(false);
    expect(JSON.stringify(slackPayload(recovered))).not.toMatch(/URGENT|<!channel>/);
  });

  it('refuses a state that has never run', () => {
    expect(() => alertEvent('failing', initialState('checkout'), { file: 'f.yaml', tags: [] }, origin)).toThrow(/no run yet/);
  });
});

describe('genericPayload', () => {
  it('has a stable versioned shape with ISO times', () => {
    expect(genericPayload(event())).toEqual({
      schemaVersion: 1,
      source: 'ceiling',
      event: 'failing',
      urgent: false,
      journey: 'checkout',
      file: 'journeys/checkout.yaml',
      tags: ['shop'],
      location: 'eu-west',
      target: 'production',
      at: '2025-01-02T03:06:05.000Z',
      consecutiveFailures: 2,
      failure: { step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502', at: '2025-01-02T03:06:05.000Z' },
      lastPassAt: '2025-01-02T03:04:05.000Z',
      statusUrl: 'http://127.0.0.1:9464/',
    });
  });

  it('leaves out what is not known rather than sending nulls', () => {
    const bare = { ...event() };
    delete bare.failure;
    delete bare.lastPassAt;
    delete bare.statusUrl;
    const payload = genericPayload(bare);
    expect(Object.keys(payload)).not.toContain('failure');
    expect(Object.keys(payload)).not.toContain('lastPassAt');
    expect(Object.keys(payload)).not.toContain('statusUrl');
    expect(JSON.parse(JSON.stringify(payload))).toEqual(payload);
  });
});

describe('slackPayload', () => {
  it('posts a plain failing alert with the failing step and no channel mention', () => {
    const payload = slackPayload(event());
    expect(payload.text).toMatch(/^:red_circle: \*checkout\* is failing from eu-west against production \(2 failed runs in a row\)/);
    expect(payload.text).toContain('at step "pay": `CEIL_HTTP_STATUS` expected status 200, got 502');
    expect(payload.text).not.toContain('<!channel>');
    expect(payload.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('*checkout* is failing') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringContaining('<http://127.0.0.1:9464/|status page>') }] },
    ]);
  });

  it('pages the channel for a failing critical journey', () => {
    const payload = slackPayload(event({ urgent: true, tags: ['critical'] }));
    expect(payload.text).toMatch(/^:rotating_light: URGENT <!channel> /);
    expect(slackTexts(payload)[0]).toMatch(/^:rotating_light: URGENT <!channel> /);
  });

  it('announces a recovery without paging, even for a critical journey', () => {
    const recoveredState: PersistedState = {
      ...failingState,
      health: 'passing',
      lastRunAt: T0 + 3 * MINUTE,
      lastPassAt: T0 + 3 * MINUTE,
      consecutiveFailures: 0,
      alerting: false,
    };
    const recovered = alertEvent('recovered', recoveredState, { file: 'f.yaml', tags: ['critical'] }, origin);
    const payload = slackPayload(recovered);
    expect(payload.text).toMatch(/^:white_check_mark: \*checkout\* recovered/);
    expect(JSON.stringify(payload)).not.toContain('<!channel>');
    expect(slackTexts(payload)[0]).toContain('*Last failure* at step "pay"');
  });

  it('escapes Slack control characters in user text so nobody can inject mentions or links', () => {
    const hostile = event({
      journey: 'a<b>&c',
      failure: { at: T0, step: '<@U123>', code: 'CEIL_X', message: 'see <!channel> & <https://evil.example|click>' },
      statusUrl: 'http://127.0.0.1:9464/?a=1&b=x|y>',
    });
    const all = JSON.stringify(slackPayload(hostile));
    expect(all).toContain('a&lt;b&gt;&amp;c');
    expect(all).toContain('see &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<@U123>');
    expect(all).toContain('<http://127.0.0.1:9464/?a=1&amp;b=x%7Cy&gt;|status page>');
  });

  it('cuts a very long failure message well below Slack limits', () => {
    const long = event({ failure: { at: T0, code: 'CEIL_X', message: 'x'.repeat(10_000) } });
    for (const text of slackTexts(slackPayload(long))) expect(text.length).toBeLessThan(3_000);
  });
});
