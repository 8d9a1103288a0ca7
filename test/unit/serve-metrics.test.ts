import { describe, expect, it } from 'vitest';
import { ProbeMetrics } from '../../src/serve/metrics.js';
import type { RunRecord } from '../../src/serve/model.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  help?: string;
  type?: string;
}

interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Reads `{a="x",b="y"}` starting at `start`; only \\, \" and \n may be escaped, as the text format says. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let at = start + 1;
  while (line[at] !== '}') {
    const equals = line.indexOf('=', at);
    if (equals < 0) throw new Error(`no '=' in labels: ${line}`);
    const name = line.slice(at, equals);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in: ${line}`);
    if (name in labels) throw new Error(`label ${name} repeated in: ${line}`);
    if (line[equals + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = '';
    at = equals + 2;
    for (;;) {
      const char = line[at];
      if (char === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (char === '"') break;
      if (char === '\\') {
        const escaped = line[at + 1];
        if (escaped === '\\') value += '\\';
        else if (escaped === '"') value += '"';
        else if (escaped === 'n') value += '\n';
        else throw new Error(`bad escape \\${escaped ?? ''} in: ${line}`);
        at += 2;
        continue;
      }
      value += char;
      at += 1;
    }
    labels[name] = value;
    at += 1;
    if (line[at] === ',') at += 1;
    else if (line[at] !== '}') throw new Error(`expected ',' or '}' after a label in: ${line}`);
  }
  return { labels, end: at + 1 };
}

/** Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case; prom-client writes NaN as `Nan`. */
function parseValue(value: string, line: string): number {
  if (/^nan$/i.test(value)) return NaN;
  const infinity = /^([+-]?)inf$/i.exec(value);
  if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
  const number = Number(value);
  if (value.trim() === '' || Number.isNaN(number)) throw new Error(`bad value in: ${line}`);
  return number;
}

function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string): Family => {
    const found = families.get(name) ?? {};
    families.set(name, found);
    return found;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'HELP') family(name).help = rest;
      else family(name).type = rest;
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd < 0) throw new Error(`no value in: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (line[nameEnd] === '{') {
      const parsed = parseLabels(line, nameEnd);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const value = /^ (\S+)$/.exec(rest)?.[1];
    if (value === undefined) throw new Error(`expected ' value' in: ${line}`);
    samples.push({ name, labels, value: parseValue(value, line) });
  }
  return { families, samples };
}

/** The family a sample belongs to: its own name, or a histogram's name without _bucket/_sum/_count. */
function familyOf(sample: Sample, families: Map<string, Family>): string | undefined {
  if (families.has(sample.name)) return sample.name;
  const base = sample.name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base)?.type === 'histogram' ? base : undefined;
}

const probe = { location: 'eu-west', target: 'staging' };

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    journey: 'chat announces who left',
    location: probe.location,
    target: probe.target,
    trigger: 'schedule',
    startedAt: 1_700_000_000_000,
    durationMs: 1_250,
    result: 'passed',
    steps: [
      { name: 'connect alice', status: 'passed', durationMs: 40 },
      { name: 'alice hears bob leave', status: 'passed', durationMs: 900 },
    ],
    ...overrides,
  };
}

async function exposition(metrics: ProbeMetrics): Promise<Exposition> {
  return parseExposition(await metrics.render());
}

function samplesOf(parsed: Exposition, name: string): Sample[] {
  return parsed.samples.filter((sample) => sample.name === name);
}

describe('ProbeMetrics', () => {
  it('renders an exposition where every sample parses and every metric has HELP and TYPE', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(run());
    metrics.recordRun(
      run({
        journey: 'secret reads back once',
        result: 'failed',
        failedStep: 'read back',
        failureCode: 'CEIL_EXPECT_STATUS',
        failureMessage: 'expected 200, got 500',
      }),
    );
    metrics.recordSkip('chat announces who left');
    metrics.setJourneys(2);
    metrics.setInFlight(1);
    metrics.recordReloadError();
    metrics.recordAlertDelivery('delivered');

    const parsed = await exposition(metrics);
    expect(parsed.samples.length).toBeGreaterThan(20);
    for (const [name, family] of parsed.families) {
      expect(family.help, `HELP for ${name}`).toBeTruthy();
      expect(['counter', 'gauge', 'histogram', 'summary'], `TYPE for ${name}`).toContain(family.type);
    }
    for (const sample of parsed.samples) expect(familyOf(sample, parsed.families), `family of ${sample.name}`).toBeDefined();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('exports run results, up, durations and the last run time under the bounded labels', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(run({ result: 'flaky' }));
    metrics.recordRun(run({ result: 'error', startedAt: 1_700_000_060_000, durationMs: 2_000 }));
    const parsed = await exposition(metrics);
    const journey = { journey: 'chat announces who left', ...probe };

    expect(samplesOf(parsed, 'ceiling_journey_runs_total')).toEqual([
      { name: 'ceiling_journey_runs_total', labels: { ...journey, result: 'passed' }, value: 0 },
      { name: 'ceiling_journey_runs_total', labels: { ...journey, result: 'failed' }, value: 0 },
      { name: 'ceiling_journey_runs_total', labels: { ...journey, result: 'flaky' }, value: 1 },
      { name: 'ceiling_journey_runs_total', labels: { ...journey, result: 'error' }, value: 1 },
    ]);
    expect(samplesOf(parsed, 'ceiling_journey_up')).toEqual([{ name: 'ceiling_journey_up', labels: journey, value: 0 }]);
    expect(samplesOf(parsed, 'ceiling_journey_last_run_timestamp_seconds')).toEqual([
      { name: 'ceiling_journey_last_run_timestamp_seconds', labels: journey, value: 1_700_000_062 },
    ]);
    expect(samplesOf(parsed, 'ceiling_journey_duration_seconds_count')[0]?.value).toBe(2);
    expect(samplesOf(parsed, 'ceiling_journey_duration_seconds_sum')[0]?.value).toBeCloseTo(3.25);
    const stepCounts = samplesOf(parsed, 'ceiling_step_duration_seconds_count');
    expect(stepCounts.map((sample) => [sample.labels.step, sample.value])).toEqual([
      ['connect alice', 2],
      ['alice hears bob leave', 2],
    ]);
  });

  it('counts a flaky run as up and starts every result counter at zero for a new journey', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(run({ result: 'flaky' }));
    const parsed = await exposition(metrics);
    expect(samplesOf(parsed, 'ceiling_journey_up')[0]?.value).toBe(1);
    expect(samplesOf(parsed, 'ceiling_journey_runs_total').map((sample) => sample.labels.result)).toEqual(['passed', 'failed', 'flaky', 'error']);
    expect(samplesOf(parsed, 'ceiling_journey_skipped_runs_total')).toEqual([
      { name: 'ceiling_journey_skipped_runs_total', labels: { journey: 'chat announces who left', ...probe }, value: 0 },
    ]);
  });

  it('leaks neither URLs nor error text from a failed run into the exposition', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(
      run({
        result: 'failed',
        failedStep: 'read back',
        failureCode: 'CEIL_EXPECT_STATUS',
        failureMessage: 'GET https://drop.internal.example/secrets/abc123 answered 500: database password rejected',
        steps: [
          { name: 'create', status: 'passed', durationMs: 30 },
          { name: 'read back', status: 'failed', durationMs: 20 },
          { name: 'gone once read', status: 'skipped', durationMs: 0 },
        ],
      }),
    );
    const text = await metrics.render();
    for (const leaked of ['https://', 'drop.internal.example', 'abc123', 'database password', 'answered 500']) {
      expect(text).not.toContain(leaked);
    }
    // The code, from Ceiling's own catalogue, is the one thing about the failure a label carries.
    expect(samplesOf(parseExposition(text), 'ceiling_journey_failures_total').map((sample) => [sample.labels.code, sample.value])).toEqual([
      ['CEIL_EXPECT_STATUS', 1],
    ]);
    const steps = samplesOf(parseExposition(text), 'ceiling_step_duration_seconds_count').map((sample) => sample.labels.step);
    expect(steps).toEqual(['create', 'read back']);
  });

  it('gives every journey and daemon series exactly its bounded label set', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(run({ result: 'failed', failureCode: 'CEIL_CONNECT_REFUSED', failureMessage: 'connect ECONNREFUSED 10.0.0.7:443' }));
    metrics.recordSkip('a journey that only ever skipped');
    metrics.recordAlertDelivery('dropped');
    const parsed = await exposition(metrics);

    const expectedLabels: Record<string, string[]> = {
      ceiling_journey_up: ['journey', 'location', 'target'],
      ceiling_journey_duration_seconds: ['journey', 'location', 'target'],
      ceiling_step_duration_seconds: ['journey', 'location', 'step', 'target'],
      ceiling_journey_runs_total: ['journey', 'location', 'result', 'target'],
      ceiling_journey_failures_total: ['code', 'journey', 'location', 'target'],
      ceiling_journey_last_run_timestamp_seconds: ['journey', 'location', 'target'],
      ceiling_journey_skipped_runs_total: ['journey', 'location', 'target'],
      ceiling_journeys: ['location', 'target'],
      ceiling_runs_in_flight: ['location', 'target'],
      ceiling_reload_errors_total: ['location', 'target'],
      ceiling_alert_deliveries_total: ['location', 'outcome', 'target'],
    };
    const seen = new Set<string>();
    for (const sample of parsed.samples) {
      const family = familyOf(sample, parsed.families) ?? '';
      const expected = expectedLabels[family];
      if (!expected) continue;
      seen.add(family);
      const keys = Object.keys(sample.labels).filter((key) => !(sample.name.endsWith('_bucket') && key === 'le'));
      expect(keys.sort(), sample.name).toEqual(expected);
      expect(sample.labels.location).toBe('eu-west');
      expect(sample.labels.target).toBe('staging');
    }
    expect([...seen].sort()).toEqual(Object.keys(expectedLabels).sort());
    expect(new Set(samplesOf(parsed, 'ceiling_journey_runs_total').map((sample) => sample.labels.result))).toEqual(
      new Set(['passed', 'failed', 'flaky', 'error']),
    );
    expect(samplesOf(parsed, 'ceiling_alert_deliveries_total').map((sample) => [sample.labels.outcome, sample.value])).toEqual([
      ['delivered', 0],
      ['failed', 0],
      ['dropped', 1],
    ]);
  });

  it('makes every series of a removed journey disappear while another journey keeps its own', async () => {
    const metrics = new ProbeMetrics(probe);
    metrics.recordRun(run({ journey: 'leaving' }));
    metrics.recordRun(run({ journey: 'leaving', result: 'error', failureCode: 'CEIL_TIMEOUT_STEP' }));
    metrics.recordSkip('leaving');
    metrics.recordRun(run({ journey: 'staying' }));
    metrics.removeJourney('leaving', ['connect alice', 'a step that never ran']);

    const parsed = await exposition(metrics);
    const journeys = new Set(parsed.samples.map((sample) => sample.labels.journey).filter((journey) => journey !== undefined));
    expect(journeys).toEqual(new Set(['staying']));
    expect(samplesOf(parsed, 'ceiling_step_duration_seconds_count')).toHaveLength(2);

    // Coming back later starts it afresh, counters at zero again.
    metrics.recordSkip('leaving');
    const back = samplesOf(await exposition(metrics), 'ceiling_journey_runs_total').filter((sample) => sample.labels.journey === 'leaving');
    expect(back.map((sample) => sample.value)).toEqual([0, 0, 0, 0]);
  });

  it("exports an HTTP step's phases from its last run as gauges, and drops them with the journey", async () => {
    const metrics = new ProbeMetrics(probe);
    const phases = { dnsMs: 2, connectMs: 3, tlsMs: 0, firstByteMs: 40, bodyMs: 5, totalMs: 50 };
    const httpRun = (journey: string, firstByteMs: number): RunRecord =>
      run({
        journey,
        steps: [
          { name: 'create secret', status: 'passed', durationMs: 60, requestMs: 50, phases: { ...phases, firstByteMs } },
          { name: 'connect alice', status: 'passed', durationMs: 40 },
        ],
      });
    metrics.recordRun(httpRun('leaving', 400));
    metrics.recordRun(httpRun('leaving', 40));
    metrics.recordRun(httpRun('staying', 40));

    const parsed = await exposition(metrics);
    const leaving = samplesOf(parsed, 'ceiling_step_http_phase_seconds').filter((sample) => sample.labels.journey === 'leaving');
    expect(leaving.map((sample) => [sample.labels.step, sample.labels.phase, sample.value])).toEqual([
      ['create secret', 'resolve', 0.002],
      ['create secret', 'connect', 0.003],
      ['create secret', 'tls', 0],
      ['create secret', 'processing', 0.04],
      ['create secret', 'transfer', 0.005],
    ]);
    expect(Object.keys(leaving[0]!.labels).sort()).toEqual(['journey', 'location', 'phase', 'step', 'target']);

    metrics.removeJourney('leaving', []);
    const after = samplesOf(await exposition(metrics), 'ceiling_step_http_phase_seconds');
    expect(new Set(after.map((sample) => sample.labels.journey))).toEqual(new Set(['staying']));
    expect(after).toHaveLength(5);
  });

  it('escapes quotes, backslashes and newlines in journey and step names', async () => {
    const metrics = new ProbeMetrics({ location: 'lab "b"', target: 'C:\\prod' });
    const awkward = 'say "hi"\\then\nleave';
    metrics.recordRun(run({ journey: awkward, steps: [{ name: 'step "one"\\\n', status: 'passed', durationMs: 5 }] }));
    const text = await metrics.render();
    expect(text).toContain('journey="say \\"hi\\"\\\\then\\nleave"');

    const parsed = parseExposition(text);
    const up = samplesOf(parsed, 'ceiling_journey_up')[0];
    expect(up?.labels).toEqual({ journey: awkward, location: 'lab "b"', target: 'C:\\prod' });
    expect(samplesOf(parsed, 'ceiling_step_duration_seconds_count')[0]?.labels.step).toBe('step "one"\\\n');
  });

  it('includes the process metrics under the ceiling_ prefix, in a registry of its own', async () => {
    const first = new ProbeMetrics(probe);
    const second = new ProbeMetrics({ location: 'us-east', target: 'prod' });
    first.recordRun(run());
    const parsed = await exposition(second);
    for (const name of ['ceiling_process_resident_memory_bytes', 'ceiling_process_open_fds', 'ceiling_process_cpu_seconds_total']) {
      expect(parsed.families.get(name)?.type, name).toBeDefined();
    }
    expect(samplesOf(parsed, 'ceiling_journey_up')).toEqual([]);
    expect(samplesOf(parsed, 'ceiling_journeys')).toEqual([{ name: 'ceiling_journeys', labels: { location: 'us-east', target: 'prod' }, value: 0 }]);
  });
});
