import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { describeSchedule } from '../../src/journey/schedule.js';

/** A journey whose second line is the given schedule, so every diagnostic below sits on line 2. */
const withSchedule = (schedule: string): string =>
  ['name: probe', schedule, 'steps:', '  - http: { url: "http://127.0.0.1:1/" }', '    expect: { status: 200 }', ''].join('\n');

async function problems(schedule: string): Promise<string[]> {
  const loaded = await loadJourneyText('journeys/probe.yaml', withSchedule(schedule));
  return loaded.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

describe('a journey schedule', () => {
  it.each([
    ['schedule: { every: 1m }', { kind: 'every', everyMs: 60_000, jitterMs: 0 }, 'every 1.0m'],
    ['schedule: { every: 30s, jitter: 5s }', { kind: 'every', everyMs: 30_000, jitterMs: 5_000 }, 'every 30.0s ±5.00s'],
    ['schedule: { cron: "*/5 * * * *" }', { kind: 'cron', cron: '*/5 * * * *', jitterMs: 0 }, 'cron */5 * * * *'],
    [
      'schedule: { cron: "0 3 * * 1-5", timezone: Europe/Berlin, jitter: 1m }',
      { kind: 'cron', cron: '0 3 * * 1-5', timezone: 'Europe/Berlin', jitterMs: 60_000 },
      'cron 0 3 * * 1-5 (Europe/Berlin) ±1.0m',
    ],
  ])('%s compiles', async (line, expected, described) => {
    const loaded = await loadJourneyText('journeys/probe.yaml', withSchedule(line));
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.journey?.schedule).toEqual(expected);
    expect(describeSchedule(loaded.journey!.schedule!)).toBe(described);
  });

  it('is absent when the file sets none, so serve applies its default', async () => {
    const loaded = await loadJourneyText('journeys/probe.yaml', withSchedule('tags: [x]'));
    expect(loaded.journey).toBeDefined();
    expect(loaded.journey!.schedule).toBeUndefined();
  });

  it.each([
    ['schedule: { cron: "61 * * * *" }', 'journeys/probe.yaml:2:19 › schedule.cron: invalid cron expression "61 * * * *"'],
    ['schedule: { cron: "0 0 30 2 *" }', 'journeys/probe.yaml:2:19 › schedule.cron: cron expression "0 0 30 2 *" never fires'],
    ['schedule: { cron: "0 3 * * *", timezone: Mars/Olympus }', 'journeys/probe.yaml:2:42 › schedule.timezone: unknown time zone "Mars/Olympus"'],
    ['schedule: { cron: "0 3 * * *", timezone: Europe/Berln }', 'did you mean "Europe/Berlin"?'],
    ['schedule: { every: 500ms }', 'journeys/probe.yaml:2:20 › schedule.every: every 500ms is too often for a probe; the shortest interval is 1s'],
    ['schedule: { every: 10 }', 'schedule.every: duration 10 has no unit'],
    ['schedule: { every: 10s, jitter: 10s }', 'schedule.jitter: jitter 10.0s must be shorter than the interval'],
    ['schedule: { every: 1m, cron: "* * * * *" }', 'schedule.cron: a schedule takes either every or cron, not both'],
    ['schedule: { every: 1m, timezone: UTC }', 'schedule.timezone: timezone applies to cron schedules only'],
    ['schedule: {}', 'journeys/probe.yaml:2:11 › schedule: a schedule needs every'],
  ])('rejects %s with its file:line', async (line, message) => {
    const found = await problems(line);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('suggests the key meant by a typo', async () => {
    const found = await problems('schedule: { evry: 1m }');
    expect(found.join('\n')).toContain('journeys/probe.yaml:2:13 › schedule.evry: unknown key "evry"; did you mean "every"?');
  });
});
