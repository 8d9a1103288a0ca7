import { describe, expect, it } from 'vitest';
import { alertEvent, pagerdutyDedupKey, pagerdutyPayload } from '../../src/serve/alert-payloads.js';
import type { PersistedState } from '../../src/serve/model.js';

/** PagerDuty Events API v2 bodies (the routing key is added by the dispatcher, after redaction). */

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const origin = { location: 'eu-west', target: 'production', statusUrl: 'https://probes.example.com/' };
const failing: PersistedState = {
  journey: 'checkout',
  health: 'failing',
  lastRunAt: T0,
  lastFailure: { at: T0, step: 'pay', code: 'CEIL_HTTP_STATUS', message: 'expected status 200, got 502' },
  consecutiveFailures: 3,
  alerting: true,
};

describe('pagerdutyPayload', () => {
  it('triggers with the summary, source, severity and details PagerDuty documents; warning for a journey not tagged critical', () => {
    const body = pagerdutyPayload(alertEvent('failing', failing, { file: 'journeys/checkout.yaml', tags: ['shop'] }, origin));
    expect(body).toEqual({
      event_action: 'trigger',
      dedup_key: pagerdutyDedupKey({ journey: 'checkout', location: 'eu-west', target: 'production' }),
      payload: {
        summary: 'Journey "checkout" is failing from eu-west against production at step "pay": CEIL_HTTP_STATUS expected status 200, got 502',
        source: 'production',
        severity: 'warning',
        timestamp: new Date(T0).toISOString(),
        component: 'checkout',
        group: 'eu-west',
        class: 'CEIL_HTTP_STATUS',
        custom_details: {
          journey: 'checkout',
          file: 'journeys/checkout.yaml',
          location: 'eu-west',
          target: 'production',
          consecutive_failures: 3,
          step: 'pay',
          code: 'CEIL_HTTP_STATUS',
          message: 'expected status 200, got 502',
        },
      },
      client: 'Ceiling',
      client_url: 'https://probes.example.com/',
      links: [{ href: 'https://probes.example.com/', text: 'Ceiling status page' }],
    });
    expect(body).not.toHaveProperty('routing_key');
  });

  it('pages (critical) for a critical journey and resolves with the same dedup_key', () => {
    const trigger = pagerdutyPayload(alertEvent('failing', failing, { file: 'f.yaml', tags: ['critical'] }, origin));
    expect((trigger.payload as { severity: string }).severity).toBe('critical');
    const recovered = { ...failing, health: 'passing' as const, lastRunAt: T0 + 60_000, lastPassAt: T0 + 60_000, consecutiveFailures: 0, alerting: false };
    expect(pagerdutyPayload(alertEvent('recovered', recovered, { file: 'f.yaml', tags: ['critical'] }, origin))).toEqual({
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
  });

  it('keys the incident by journey, location and target, and nothing else', () => {
    const key = pagerdutyDedupKey({ journey: 'checkout', location: 'eu-west', target: 'production' });
    expect(pagerdutyDedupKey({ journey: 'checkout', location: 'eu-west', target: 'production' })).toBe(key);
    expect(pagerdutyDedupKey({ journey: 'checkout', location: 'us-east', target: 'production' })).not.toBe(key);
    expect(pagerdutyDedupKey({ journey: 'checkout', location: 'eu-west', target: 'staging' })).not.toBe(key);
    // A separator inside a name cannot make two different triples collide.
    expect(pagerdutyDedupKey({ journey: 'a', location: 'b c', target: 'd' })).not.toBe(pagerdutyDedupKey({ journey: 'a b', location: 'c', target: 'd' }));
    expect(key.length).toBeLessThanOrEqual(255);
  });
});
