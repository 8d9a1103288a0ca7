import { describe, expect, it } from 'vitest';
import type { DiscoveryResult } from '../../src/discovery/index.js';
import { FleetWatch, type DiscoveredGroup, type FleetChange } from '../../src/serve/fleet-watch.js';
import { FakeClock } from './fake-clock.js';

/** The fleet bookkeeping of serve --config, driven by a fake clock and a scripted discovery. */

const every = 30_000;
const group: DiscoveredGroup = {
  name: 'web',
  spec: { source: { kind: 'srv', name: '_http._tcp.web.test', scheme: 'http' }, timeoutMs: 1_000, everyMs: every },
  expect: { count: 2 },
  vars: { base_url: '{{ target.url }}' },
};

const instance = (port: number) => ({
  name: `web/127.0.0.1:${port}`,
  group: 'web',
  host: '127.0.0.1',
  port,
  url: `http://127.0.0.1:${port}`,
  values: {},
  vars: { base_url: `http://127.0.0.1:${port}` },
});
const found = (...ports: number[]): DiscoveryResult => ({ instances: ports.map(instance) });
const timeout: DiscoveryResult = { problem: { code: 'CEIL_DISCOVERY_DNS_TIMEOUT', message: 'web: the DNS server did not answer' } };

function watch(answers: DiscoveryResult[]) {
  const clock = new FakeClock();
  const changes: FleetChange[] = [];
  const errors: string[] = [];
  let asked = 0;
  const fleet = new FleetWatch({
    clock,
    groups: [group],
    discover: () => Promise.resolve(answers[Math.min(asked++, answers.length - 1)]!),
    onChange: (change) => changes.push(change),
    onError: (_group, problem) => errors.push(problem.code),
  });
  const names = () => fleet.targets('web').map((target) => target.name);
  const summary = (change: FleetChange | undefined) => ({
    added: change?.added.map((target) => target.name),
    removed: change?.removed.map((target) => target.name),
  });
  return { clock, fleet, changes, errors, names, summary, asked: () => asked };
}

describe('FleetWatch', () => {
  it('starts probing what the first discovery finds, with each instance its vars', async () => {
    const { fleet, changes, names } = watch([found(8081, 8082)]);
    await fleet.start();
    expect(names()).toEqual(['web/127.0.0.1:8081', 'web/127.0.0.1:8082']);
    expect(changes).toHaveLength(1);
    expect(fleet.targets('web')[0]).toEqual({ name: 'web/127.0.0.1:8081', group: 'web', vars: { base_url: 'http://127.0.0.1:8081' } });
    expect(fleet.status()).toEqual([{ group: 'web', instances: 2, expected: { count: 2 }, lastDiscoveryAt: expect.any(Number) }]);
    await fleet.stop();
  });

  it('discovers again every `every`: a new instance is added, a gone one removed, an unchanged fleet changes nothing', async () => {
    const { clock, fleet, changes, names, summary, asked } = watch([found(8081, 8082), found(8082, 8083), found(8082, 8083)]);
    await fleet.start();
    await clock.advance(every - 1);
    expect(asked()).toBe(1);
    await clock.advance(1);
    expect(asked()).toBe(2);
    expect(names()).toEqual(['web/127.0.0.1:8082', 'web/127.0.0.1:8083']);
    expect(summary(changes[1])).toEqual({ added: ['web/127.0.0.1:8083'], removed: ['web/127.0.0.1:8081'] });
    await clock.advance(every);
    expect(asked()).toBe(3);
    expect(changes).toHaveLength(2);
    await fleet.stop();
  });

  it('keeps the last good fleet while discovery fails, reports the fault until the next success', async () => {
    const { clock, fleet, changes, errors, names } = watch([found(8081, 8082), timeout, found(8081)]);
    await fleet.start();
    await clock.advance(every);
    expect(names()).toEqual(['web/127.0.0.1:8081', 'web/127.0.0.1:8082']);
    expect(errors).toEqual(['CEIL_DISCOVERY_DNS_TIMEOUT']);
    expect(changes).toHaveLength(1);
    expect(fleet.status()[0]).toMatchObject({ instances: 2, error: { code: 'CEIL_DISCOVERY_DNS_TIMEOUT', message: 'web: the DNS server did not answer' } });
    await clock.advance(every);
    expect(names()).toEqual(['web/127.0.0.1:8081']);
    expect(fleet.status()[0]).not.toHaveProperty('error');
    await fleet.stop();
  });

  it('a group whose first discovery fails starts empty, reports it, and is tried again on its every', async () => {
    const { clock, fleet, errors, names } = watch([timeout, found(8081)]);
    await fleet.start();
    expect(names()).toEqual([]);
    expect(errors).toEqual(['CEIL_DISCOVERY_DNS_TIMEOUT']);
    expect(fleet.status()[0]).toMatchObject({ instances: 0, error: { code: 'CEIL_DISCOVERY_DNS_TIMEOUT' } });
    await clock.advance(every);
    expect(names()).toEqual(['web/127.0.0.1:8081']);
    await fleet.stop();
  });

  it('a discovery that throws counts as a failed discovery, never a crash', async () => {
    const clock = new FakeClock();
    const errors: string[] = [];
    const fleet = new FleetWatch({
      clock,
      groups: [group],
      discover: () => Promise.reject(new Error('boom')),
      onChange: () => undefined,
      onError: (_group, problem) => errors.push(problem.message),
    });
    await fleet.start();
    expect(errors).toEqual(['web: discovery failed: boom']);
    await fleet.stop();
  });

  it('stop() ends the timers: nothing is discovered after it', async () => {
    const { clock, fleet, asked } = watch([found(8081)]);
    await fleet.start();
    await fleet.stop();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(every * 3);
    expect(asked()).toBe(1);
  });
});
