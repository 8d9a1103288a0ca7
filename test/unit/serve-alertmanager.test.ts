import { describe, expect, it } from 'vitest';
import type { Journey } from '../../src/journey/journey.js';
import {
  ALERTMANAGER_FIRING_TTL_MS,
  ALERTMANAGER_REFRESH_MS,
  alertEvent,
  alertmanagerAlertsUrl,
  alertmanagerPayload,
  type AlertEvent,
} from '../../src/serve/alert-payloads.js';
import { initialState } from '../../src/serve/alert-policy.js';
import { AlertmanagerRefresh } from '../../src/serve/alertmanager-refresh.js';
import type { PersistedState } from '../../src/serve/model.js';
import type { ProbeEntry } from '../../src/serve/probe-entries.js';
import { FakeClock } from './fake-clock.js';

/** Alertmanager as an alert target: the body of POST /api/v2/alerts, and the re-posts that keep a failing alert active. */

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const MINUTE = 60_000;
const origin = { location: 'eu-west', target: 'production', statusUrl: 'https://probes.example.com/' };

const failing: PersistedState = {
  journey: 'checkout',
  health: 'failing',
  lastRunAt: T0 + 2 * MINUTE,
  lastPassAt: T0,
  lastFailure: { at: T0 + 2 * MINUTE, step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502' },
  consecutiveFailures: 2,
  alerting: true,
};

describe('alertmanagerPayload', () => {
  it('is a list of one alert with the documented labels and annotations, ending a TTL after now while failing', () => {
    const event = alertEvent('failing', failing, { file: 'journeys/checkout.yaml', tags: ['critical'] }, origin);
    expect(alertmanagerPayload(event, T0 + 3 * MINUTE)).toEqual([
      {
        labels: { alertname: 'CeilingJourneyFailing', journey: 'checkout', location: 'eu-west', target: 'production', severity: 'critical' },
        annotations: {
          summary: 'Journey "checkout" is failing from eu-west against production',
          step: 'pay',
          code: 'CEIL_HTTP_STATUS',
          message: 'expected status 200, got 502',
          consecutive_failures: '2',
          file: 'journeys/checkout.yaml',
          status_url: 'https://probes.example.com/',
        },
        startsAt: new Date(T0 + 2 * MINUTE).toISOString(),
        endsAt: new Date(T0 + 3 * MINUTE + ALERTMANAGER_FIRING_TTL_MS).toISOString(),
        generatorURL: 'https://probes.example.com/',
      },
    ]);
    expect(ALERTMANAGER_REFRESH_MS * 4).toBeLessThanOrEqual(ALERTMANAGER_FIRING_TTL_MS);
  });

  it('resolves with the same labels, ending at the run that passed; severity warning for a journey not tagged critical', () => {
    const recoveredState: PersistedState = {
      ...failing,
      health: 'passing',
      lastRunAt: T0 + 5 * MINUTE,
      lastPassAt: T0 + 5 * MINUTE,
      consecutiveFailures: 0,
      alerting: false,
    };
    const event = alertEvent('recovered', recoveredState, { file: 'journeys/checkout.yaml', tags: ['shop'] }, origin);
    const [alert] = alertmanagerPayload(event, T0 + 9 * MINUTE);
    expect(alert!.labels).toEqual({ alertname: 'CeilingJourneyFailing', journey: 'checkout', location: 'eu-west', target: 'production', severity: 'warning' });
    expect(alert!.startsAt).toBe(new Date(T0 + 2 * MINUTE).toISOString());
    expect(alert!.endsAt).toBe(new Date(T0 + 5 * MINUTE).toISOString());
  });

  it('posts to /api/v2/alerts under the base URL, or to the URL as given when it names that path', () => {
    expect(alertmanagerAlertsUrl(new URL('http://am:9093')).href).toBe('http://am:9093/api/v2/alerts');
    expect(alertmanagerAlertsUrl(new URL('http://am:9093/alertmanager/')).href).toBe('http://am:9093/alertmanager/api/v2/alerts');
    expect(alertmanagerAlertsUrl(new URL('http://am:9093/api/v2/alerts')).href).toBe('http://am:9093/api/v2/alerts');
  });
});

function entry(state: PersistedState): ProbeEntry {
  const journey = { name: state.journey, file: `journeys/${state.journey}.yaml`, tags: [], steps: [] } as unknown as Journey;
  return { journey, signature: '', state, recent: [] };
}

describe('AlertmanagerRefresh', () => {
  function world(idle: number[]) {
    const clock = new FakeClock(T0);
    const sent: { event: AlertEvent; skip: number[] }[] = [];
    const entries = [entry(failing), entry({ ...initialState('healthy'), lastRunAt: T0, health: 'passing' })];
    const refresh = new AlertmanagerRefresh({
      clock,
      entries: { values: () => entries.values() },
      dispatcher: {
        idleReceivers: () => new Set(idle),
        send: (event, options) => {
          sent.push({ event, skip: [...(options?.skip ?? [])].sort() });
          return Promise.resolve(new Map());
        },
      },
      // Receivers 0 (a webhook), 1 and 2 (Alertmanagers).
      alertmanagers: new Set([1, 2]),
      receivers: 3,
      origin: () => origin,
    });
    return { clock, sent, refresh };
  }

  it('re-posts each failing journey to the idle Alertmanagers only, every interval, until stopped', async () => {
    const { clock, sent, refresh } = world([0, 1]);
    refresh.start();
    await clock.advance(ALERTMANAGER_REFRESH_MS - 1);
    expect(sent).toEqual([]);
    await clock.advance(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.event).toMatchObject({ kind: 'failing', journey: 'checkout' });
    // The webhook is told once, on the state change; Alertmanager 2 is still busy with earlier deliveries.
    expect(sent[0]!.skip).toEqual([0, 2]);
    await clock.advance(ALERTMANAGER_REFRESH_MS);
    expect(sent).toHaveLength(2);
    refresh.stop();
    await clock.advance(10 * ALERTMANAGER_REFRESH_MS);
    expect(sent).toHaveLength(2);
  });

  it('sends nothing while every Alertmanager is busy', () => {
    const { sent, refresh } = world([0]);
    expect(refresh.refresh()).toBe(0);
    expect(sent).toEqual([]);
  });
});
