import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HttpPhases } from '../core/result.js';
import type { RunOutcome, RunRecord } from './model.js';

/**
 * The daemon's Prometheus exposition. It has its own Registry, so two daemons
 * (or two tests) in one process never share series.
 *
 * Label values are bounded on purpose: a journey series carries only the
 * journey's name, the probe's location and its target, and the step histogram
 * adds the step's name from the journey file, or for an unnamed step its kind
 * and position (`http#2`). URLs, error codes and messages
 * never become labels: they are unbounded and may hold secrets. They belong
 * on the status page and in the API.
 */

/** Every value of the `result` label; `error` (timeouts, connect failures) is kept apart from `failed` (an assertion did not hold). */
export const RUN_RESULTS = ['passed', 'failed', 'flaky', 'error'] as const satisfies readonly RunOutcome[];

export const ALERT_DELIVERY_OUTCOMES = ['delivered', 'failed', 'dropped'] as const;
export type AlertDeliveryOutcome = (typeof ALERT_DELIVERY_OUTCOMES)[number];

/** Journeys run from a fast HTTP check (~50 ms) up to a minute-long browser flow. */
const JOURNEY_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];
/**
 * A step can be a few milliseconds (a WebSocket send) or most of a journey (a
 * page load). Step series outnumber journey series, so their buckets are
 * coarser: with 13 buckets, 211 journeys made a 1.7 MiB scrape, 73 % of it
 * step buckets; the gate's latency test reads exact timings from the history.
 */
const STEP_DURATION_BUCKETS = [0.01, 0.05, 0.25, 1, 5, 30];

const JOURNEY_LABELS = ['journey', 'location', 'target'] as const;

/** prom-client's totals of ceiling_nodejs_active_{handles,requests,resources}: sum() of those gives the same. */
const REDUNDANT_DEFAULT_GAUGES = ['ceiling_nodejs_active_handles_total', 'ceiling_nodejs_active_requests_total', 'ceiling_nodejs_active_resources_total'];

/** The `phase` label's values, as blackbox_exporter names them, and the HttpPhases field each reads. */
const HTTP_PHASES = [
  ['resolve', 'dnsMs'],
  ['connect', 'connectMs'],
  ['tls', 'tlsMs'],
  ['processing', 'firstByteMs'],
  ['transfer', 'bodyMs'],
] as const satisfies readonly (readonly [string, keyof HttpPhases])[];
const PROBE_LABELS = ['location', 'target'] as const;

export interface ProbeLabels {
  location: string;
  target: string;
}

export class ProbeMetrics {
  readonly #registry = new Registry();
  readonly #probe: ProbeLabels;
  /** Journey × target pairs that have series, each with the step names its histogram holds, so removal can find them all. */
  readonly #journeys = new Map<string, Set<string>>();

  readonly #up: Gauge<(typeof JOURNEY_LABELS)[number]>;
  readonly #journeyDuration: Histogram<(typeof JOURNEY_LABELS)[number]>;
  readonly #stepDuration: Histogram<(typeof JOURNEY_LABELS)[number] | 'step'>;
  readonly #httpPhase: Gauge<(typeof JOURNEY_LABELS)[number] | 'step' | 'phase'>;
  readonly #runs: Counter<(typeof JOURNEY_LABELS)[number] | 'result'>;
  readonly #failures: Counter<(typeof JOURNEY_LABELS)[number] | 'code'>;
  /** The failure codes each journey's series has seen, so removing the journey removes them all. */
  readonly #failureCodes = new Map<string, Set<string>>();
  readonly #lastRun: Gauge<(typeof JOURNEY_LABELS)[number]>;
  readonly #skipped: Counter<(typeof JOURNEY_LABELS)[number]>;
  readonly #loaded: Gauge<(typeof PROBE_LABELS)[number]>;
  readonly #inFlight: Gauge<(typeof PROBE_LABELS)[number]>;
  readonly #reloadErrors: Counter<(typeof PROBE_LABELS)[number]>;
  readonly #alertDeliveries: Counter<(typeof PROBE_LABELS)[number] | 'outcome'>;
  readonly #historyWriteErrors: Counter<(typeof PROBE_LABELS)[number]>;
  readonly #eventLoopDelay: Gauge<(typeof PROBE_LABELS)[number]>;
  readonly #fleetInstances: Gauge<'location' | 'target_group'>;
  readonly #fleetExpected: Gauge<'location' | 'target_group'>;
  readonly #discoveryErrors: Counter<'location' | 'target_group'>;

  constructor(labels: ProbeLabels) {
    this.#probe = { location: labels.location, target: labels.target };
    const registers = [this.#registry];

    this.#up = new Gauge({
      name: 'ceiling_journey_up',
      help: "Whether the journey's last run passed (1) or not (0); a flaky run, one that passed on a retry, counts as up. Absent until the first run ends.",
      labelNames: JOURNEY_LABELS,
      registers,
    });
    this.#journeyDuration = new Histogram({
      name: 'ceiling_journey_duration_seconds',
      help: 'How long each journey run took, whatever its result.',
      labelNames: JOURNEY_LABELS,
      buckets: JOURNEY_DURATION_BUCKETS,
      registers,
    });
    this.#stepDuration = new Histogram({
      name: 'ceiling_step_duration_seconds',
      help: "How long each step that ran took; `step` is the step's name from the journey file, or kind#position (http#2) for an unnamed step. Skipped steps are not observed.",
      labelNames: [...JOURNEY_LABELS, 'step'],
      buckets: STEP_DURATION_BUCKETS,
      registers,
    });
    // A gauge of the last run, as blackbox_exporter's probe_http_duration_seconds:
    // a histogram per phase would multiply the step buckets, the bulk of a scrape, by five.
    this.#httpPhase = new Gauge({
      name: 'ceiling_step_http_phase_seconds',
      help: "Where an HTTP step's time went in the journey's last run: phase = resolve, connect, tls (0 on a reused connection), processing (request written to response headers) or transfer (the body), summed over redirects.",
      labelNames: [...JOURNEY_LABELS, 'step', 'phase'],
      registers,
    });
    this.#runs = new Counter({
      name: 'ceiling_journey_runs_total',
      help: 'Journey runs by result: passed, failed (an assertion did not hold), flaky (passed on a retry) or error (timeout, connect failure, watchdog).',
      labelNames: [...JOURNEY_LABELS, 'result'],
      registers,
    });
    // The code comes from Ceiling's own catalogue (docs/failure-codes.md), never from the target: the label stays bounded.
    this.#failures = new Counter({
      name: 'ceiling_journey_failures_total',
      help: 'Failed and errored journey runs by failure code (CEIL_HTTP_STATUS, CEIL_TIMEOUT_STEP, …), the reason a dashboard groups failures by.',
      labelNames: [...JOURNEY_LABELS, 'code'],
      registers,
    });
    this.#lastRun = new Gauge({
      name: 'ceiling_journey_last_run_timestamp_seconds',
      help: "When the journey's last run ended, in Unix seconds.",
      labelNames: JOURNEY_LABELS,
      registers,
    });
    this.#skipped = new Counter({
      name: 'ceiling_journey_skipped_runs_total',
      help: "Scheduled runs skipped because the journey's previous run was still going.",
      labelNames: JOURNEY_LABELS,
      registers,
    });
    this.#loaded = new Gauge({ name: 'ceiling_journeys', help: 'Journeys currently loaded.', labelNames: PROBE_LABELS, registers });
    this.#inFlight = new Gauge({ name: 'ceiling_runs_in_flight', help: 'Journey runs going on right now.', labelNames: PROBE_LABELS, registers });
    this.#reloadErrors = new Counter({
      name: 'ceiling_reload_errors_total',
      help: 'Reloads of the journey files that failed; the daemon kept the journeys it had.',
      labelNames: PROBE_LABELS,
      registers,
    });
    this.#alertDeliveries = new Counter({
      name: 'ceiling_alert_deliveries_total',
      help: 'Alert notifications by outcome: delivered, failed (the receiver refused or could not be reached) or dropped (the queue was full).',
      labelNames: [...PROBE_LABELS, 'outcome'],
      registers,
    });
    this.#historyWriteErrors = new Counter({
      name: 'ceiling_history_write_errors_total',
      help: 'Writes to the run history that failed (a full disk, say); those runs were probed and alerted on but not recorded.',
      labelNames: PROBE_LABELS,
      registers,
    });

    this.#eventLoopDelay = new Gauge({
      name: 'ceiling_runner_event_loop_delay_seconds',
      help: "The longest the runner's own event loop was blocked since the previous scrape. Steps failing on time while this is high may be the runner's fault, not the target's.",
      labelNames: PROBE_LABELS,
      registers,
    });

    this.#fleetInstances = new Gauge({
      name: 'ceiling_fleet_instances',
      help: 'Instances a discovered target group has now (serve --config): the last good discovery, kept while discovery fails.',
      labelNames: ['location', 'target_group'],
      registers,
    });
    this.#fleetExpected = new Gauge({
      name: 'ceiling_fleet_expected_instances',
      help: "The group's expect: count, or min (at least this many); absent when the group sets no expect.",
      labelNames: ['location', 'target_group'],
      registers,
    });
    this.#discoveryErrors = new Counter({
      name: 'ceiling_discovery_errors_total',
      help: 'Discoveries of a target group that failed (DNS timeout or error, no instance found, command failure); the last good fleet kept being probed.',
      labelNames: ['location', 'target_group'],
      registers,
    });

    // Zero-valued from the start, so dashboards and rate() see the series before the first event.
    this.#loaded.set(this.#probe, 0);
    this.#inFlight.set(this.#probe, 0);
    this.#eventLoopDelay.set(this.#probe, 0);
    this.#reloadErrors.inc(this.#probe, 0);
    this.#historyWriteErrors.inc(this.#probe, 0);
    for (const outcome of ALERT_DELIVERY_OUTCOMES) this.#alertDeliveries.inc({ ...this.#probe, outcome }, 0);

    // Process RSS, open file descriptors and CPU, which the soak benchmark watches.
    collectDefaultMetrics({ register: this.#registry, prefix: 'ceiling_' });
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of its by-type gauge, which stays.
    for (const name of REDUNDANT_DEFAULT_GAUGES) this.#registry.removeSingleMetric(name);
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /**
   * Gives a journey its zero-valued counters, so rate() works from its first
   * run. recordRun and recordSkip do this themselves; the daemon may call it
   * at load so a journey that has not run yet is already visible.
   */
  addJourney(journey: string, target = this.#probe.target): void {
    const key = seriesKey(journey, target);
    if (this.#journeys.has(key)) return;
    this.#journeys.set(key, new Set());
    const labels = this.#journeyLabels(journey, target);
    for (const result of RUN_RESULTS) this.#runs.inc({ ...labels, result }, 0);
    this.#skipped.inc(labels, 0);
  }

  /** `target` is the probe's own unless given (serve --config, where each run has its target). */
  recordRun(run: RunRecord, target = this.#probe.target): void {
    this.addJourney(run.journey, target);
    const labels = this.#journeyLabels(run.journey, target);
    this.#up.set(labels, run.result === 'passed' || run.result === 'flaky' ? 1 : 0);
    this.#journeyDuration.observe(labels, run.durationMs / 1000);
    this.#runs.inc({ ...labels, result: run.result });
    if ((run.result === 'failed' || run.result === 'error') && run.failureCode !== undefined) {
      const key = seriesKey(run.journey, target);
      const codes = this.#failureCodes.get(key) ?? new Set<string>();
      codes.add(run.failureCode);
      this.#failureCodes.set(key, codes);
      this.#failures.inc({ ...labels, code: run.failureCode });
    }
    this.#lastRun.set(labels, (run.startedAt + run.durationMs) / 1000);

    const stepNames = this.#journeys.get(seriesKey(run.journey, target));
    for (const step of run.steps) {
      if (step.status === 'skipped') continue;
      // The daemon labels every step it records; only a record made elsewhere (a test) falls back to the name.
      const stepLabel = step.label ?? step.name;
      stepNames?.add(stepLabel);
      this.#stepDuration.observe({ ...labels, step: stepLabel }, step.durationMs / 1000);
      const phases = step.phases;
      if (phases) for (const [phase, field] of HTTP_PHASES) this.#httpPhase.set({ ...labels, step: stepLabel, phase }, phases[field] / 1000);
    }
  }

  recordSkip(journey: string, target = this.#probe.target): void {
    this.addJourney(journey, target);
    this.#skipped.inc(this.#journeyLabels(journey, target));
  }

  /** A discovered group's size; `expected` is its expect (count or min), or undefined for none. */
  setFleet(group: string, instances: number, expected: number | undefined): void {
    const labels = { location: this.#probe.location, target_group: group };
    this.#discoveryErrors.inc(labels, 0);
    this.#fleetInstances.set(labels, instances);
    if (expected !== undefined) this.#fleetExpected.set(labels, expected);
  }

  recordDiscoveryError(group: string): void {
    this.#discoveryErrors.inc({ location: this.#probe.location, target_group: group });
  }

  setJourneys(count: number): void {
    this.#loaded.set(this.#probe, count);
  }

  setInFlight(count: number): void {
    this.#inFlight.set(this.#probe, count);
  }

  setEventLoopDelay(seconds: number): void {
    this.#eventLoopDelay.set(this.#probe, seconds);
  }

  recordReloadError(): void {
    this.#reloadErrors.inc(this.#probe);
  }

  recordHistoryWriteError(): void {
    this.#historyWriteErrors.inc(this.#probe);
  }

  recordAlertDelivery(outcome: AlertDeliveryOutcome): void {
    this.#alertDeliveries.inc({ ...this.#probe, outcome });
  }

  /**
   * Drops every series of a journey that is no longer loaded, so it stops
   * showing as up or down. Step names the daemon passes are removed along with
   * the ones this instance has seen, in case the two differ.
   */
  removeJourney(journey: string, stepNames: string[], target = this.#probe.target): void {
    const key = seriesKey(journey, target);
    const labels = this.#journeyLabels(journey, target);
    this.#up.remove(labels);
    this.#journeyDuration.remove(labels);
    this.#lastRun.remove(labels);
    this.#skipped.remove(labels);
    for (const result of RUN_RESULTS) this.#runs.remove({ ...labels, result });
    for (const code of this.#failureCodes.get(key) ?? []) this.#failures.remove({ ...labels, code });
    this.#failureCodes.delete(key);
    const steps = new Set([...stepNames, ...(this.#journeys.get(key) ?? [])]);
    for (const step of steps) {
      this.#stepDuration.remove({ ...labels, step });
      for (const [phase] of HTTP_PHASES) this.#httpPhase.remove({ ...labels, step, phase });
    }
    this.#journeys.delete(key);
  }

  /** With tracing on (--otlp-endpoint): spans the OTLP collector refused or never received, read from the tracer at each scrape. */
  trackDroppedSpans(dropped: () => number): void {
    const probe = this.#probe;
    new Counter({
      name: 'ceiling_trace_spans_dropped_total',
      help: 'Journey trace spans the OpenTelemetry collector refused or never received (it was down or too slow); the runs themselves went on.',
      labelNames: PROBE_LABELS,
      registers: [this.#registry],
      collect() {
        this.reset();
        this.inc(probe, dropped());
      },
    });
  }

  render(): Promise<string> {
    return this.#registry.metrics();
  }

  #journeyLabels(journey: string, target: string): Record<(typeof JOURNEY_LABELS)[number], string> {
    return { journey, location: this.#probe.location, target };
  }
}

const seriesKey = (journey: string, target: string): string => JSON.stringify([journey, target]);
