import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatDiagnostic, type Diagnostic } from '../journey/diagnostics.js';
import { formatMs } from '../journey/duration.js';
import type { Journey, Schedule } from '../journey/journey.js';
import type { LoadOptions } from '../journey/load.js';
import { describeSchedule, scheduleIntervalMs } from '../journey/schedule.js';
import { runJourney, type JourneyRunOptions } from '../engine/journey-runner.js';
import { SharedResources } from '../engine/shared-resources.js';
import { prepareJourneys } from '../engine/run.js';
import { EventLoopDelayMonitor } from '../engine/runner-health.js';
import type { Redactor } from '../secrets/redactor.js';
import { applyRun, initialState, type AlertKind, type AlertPolicy } from './alert-policy.js';
import { alertEvent } from './alert-payloads.js';
import { createApiHandler, isLoopbackHostname } from './http-api.js';
import { HistoryLock } from '../history/daemon-lock.js';
import { HistoryStore, type HistoryOptions } from '../history/store.js';
import { HistoryWrites } from './history-writes.js';
import { JourneySource } from './journey-source.js';
import { ProbeMetrics } from './metrics.js';
import { systemClock, type Clock, type JourneyView, type PersistedState, type RunRecord, type RunTrigger } from './model.js';
import { toRunRecord, watchdogRecord } from './run-record.js';
import { Scheduler, type RunContext, type ScheduledJob } from './scheduler.js';
import { renderStatusPage } from './status-page.js';
import { AlertDispatcher, type WebhookTarget } from './webhook-delivery.js';

/**
 * `ceiling serve`: journeys as long-lived probes. This file wires the parts
 * together; each part (scheduler, history, metrics, alerts, HTTP) lives in its
 * own module and knows nothing of the others.
 */

export interface DaemonOptions {
  paths: string[];
  load: LoadOptions;
  /** --tag, --grep and --shard, applied on every (re)load. */
  select: (journeys: Journey[]) => Journey[];
  listen: { host: string; port: number };
  defaultSchedule: Schedule;
  concurrency: number;
  history: HistoryOptions;
  location: string;
  target: string;
  alertPolicy: AlertPolicy;
  webhooks: WebhookTarget[];
  token?: string;
  /** Where people reach the status page; alerts link to it. Defaults to the listening address. */
  publicUrl?: string;
  graceMs: number;
  reloadIntervalMs: number;
  run: Omit<JourneyRunOptions, 'redactor' | 'resources' | 'signal' | 'onJourneyStart' | 'onStepEnd'>;
  redactor: Redactor;
  version: string;
  log: (line: string) => void;
  clock?: Clock;
}

/** The files loaded, but no journey is left after --tag, --grep and --shard: a daemon that probes nothing must not look up. */
export class NothingToServeError extends Error {
  constructor(readonly loadedJourneys: number) {
    super(`no journey to serve (${loadedJourneys} loaded, none selected)`);
  }
}

export class DaemonConfigError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
  }
}

interface ProbeEntry {
  journey: Journey;
  /** A digest of what the journey does, so a reload can tell an edit from a re-read. */
  signature: string;
  state: PersistedState;
  recent: JourneyView['recent'];
}

const RECENT_RUNS = 30;
const PRUNE_EVERY_MS = 10 * 60_000;
/** Teardown (5 s) and evidence (10 s) run after a journey's own deadline; the watchdog allows for both. */
const AFTER_DEADLINE_MS = 15_000;
const ALERT_DRAIN_LIMIT_MS = 5_000;

function signatureOf(journey: Journey): string {
  return JSON.stringify([journey.file, journey.tags, journey.vars, journey.timeoutMs, journey.retries, journey.schedule, journey.steps]);
}

export class ProbeDaemon {
  private readonly clock: Clock;
  private readonly entries = new Map<string, ProbeEntry>();
  private readonly savedStates: Map<string, PersistedState>;
  private readonly scheduler: Scheduler;
  private readonly metrics: ProbeMetrics;
  private readonly alerts: AlertDispatcher;
  private server: http.Server | undefined;
  private reloadTimer: unknown;
  private pruneTimer: unknown;
  private reloading: Promise<void> | undefined;
  private stopping = false;
  private reloadErrors: string[] = [];
  private readonly exportedAlerts = { delivered: 0, failed: 0, dropped: 0 };
  private readonly startedAt: number;
  private readonly historyWrites: HistoryWrites;
  /** Alerts on their way, by journey: one at a time per journey, so a slow receiver cannot pile them up. */
  private readonly alertsInFlight = new Map<string, Promise<void>>();
  /** Receivers (by index) that already took the alert still owed for a journey, so a re-send skips them. */
  private readonly alertTakenBy = new Map<string, { kind: AlertKind; receivers: Set<number> }>();
  /** The daemon's long-lived resources: one browser for every run, relaunched when it dies. */
  private readonly resources = new SharedResources();
  private readonly eventLoop = new EventLoopDelayMonitor();

  private constructor(
    private readonly options: DaemonOptions,
    private readonly history: HistoryStore,
    private readonly lock: HistoryLock,
    private readonly source: JourneySource,
    journeys: Journey[],
  ) {
    this.clock = options.clock ?? systemClock;
    this.historyWrites = new HistoryWrites(options.history.file, options.log, () => this.metrics.recordHistoryWriteError());
    this.startedAt = this.clock.now();
    this.savedStates = history.loadStates();
    this.metrics = new ProbeMetrics({ location: options.location, target: options.target });
    this.alerts = new AlertDispatcher({ targets: options.webhooks, redactor: options.redactor, log: options.log });
    this.scheduler = new Scheduler({
      clock: this.clock,
      concurrency: options.concurrency,
      run: (job, context) => this.execute(job, context),
      onSkip: (job) => this.metrics.recordSkip(job.name),
      onWatchdog: (job) => this.onWatchdog(job),
      onError: (job, error) => options.log(`journey "${job.name}": internal error: ${options.redactor.redact(String((error as Error)?.message ?? error))}`),
    });
    for (const journey of journeys) this.add(journey);
    this.metrics.setJourneys(this.entries.size);
  }

  /** Loads the journeys (any error refuses to start), opens the history and starts serving. */
  static async start(options: DaemonOptions): Promise<ProbeDaemon> {
    const source = new JourneySource(options.paths, options.load);
    const loaded = await source.loadInitial();
    if (!loaded.journeys) throw new DaemonConfigError('journey files have errors', loaded.diagnostics);
    const selected = options.select(loaded.journeys);
    if (selected.length === 0) throw new NothingToServeError(loaded.journeys.length);
    // The lock comes first: a second daemon must not even migrate the file under the first one.
    const lock = HistoryLock.acquire(options.history.file);
    let history: HistoryStore;
    try {
      history = HistoryStore.open(options.history);
    } catch (error) {
      lock.release();
      throw error;
    }
    const daemon = new ProbeDaemon(options, history, lock, source, selected);
    try {
      await daemon.prepare(loaded.journeys);
      await daemon.listen();
    } catch (error) {
      history.close();
      lock.release();
      daemon.eventLoop.stop();
      await daemon.resources.closeAll();
      throw error;
    }
    daemon.scheduler.start();
    daemon.planReload();
    daemon.prune();
    // Alerts decided before a restart but never delivered go out now.
    for (const entry of daemon.entries.values()) daemon.reconcileAlert(entry);
    return daemon;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) return '';
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  get journeyCount(): number {
    return this.entries.size;
  }

  /** Step code, Playwright and the browser are loaded before the first run, and again for what a reload adds. */
  private prepare(journeys: readonly Journey[]): Promise<void> {
    return prepareJourneys(journeys, this.resources, {
      outDir: this.options.run.outDir,
      ...(this.options.run.browserPath !== undefined ? { browserPath: this.options.run.browserPath } : {}),
      ...(this.options.run.trace !== undefined ? { trace: this.options.run.trace } : {}),
    });
  }

  private async listen(): Promise<void> {
    const { token } = this.options;
    const handler = createApiHandler({
      journeys: () => this.views(),
      runs: (name, query) => (this.entries.has(name) || this.savedStates.has(name) ? this.history.runs(name, query) : undefined),
      trigger: (request) => this.trigger(request),
      metrics: async () => {
        this.metrics.setInFlight(this.scheduler.inFlight());
        this.metrics.setEventLoopDelay(this.eventLoop.takeMaxSeconds());
        this.syncAlertMetrics();
        return { contentType: this.metrics.contentType, body: await this.metrics.render() };
      },
      health: () => this.health(),
      statusPage: () =>
        renderStatusPage(this.views(), { location: this.options.location, target: this.options.target, version: this.options.version, now: this.clock.now() }),
      delivery: {
        version: this.options.version,
        now: () => this.clock.now(),
        freshWithinMs: (view) => this.freshWithinMs(view),
        ...(this.options.publicUrl !== undefined ? { publicUrl: this.options.publicUrl } : {}),
      },
      ...(token !== undefined ? { token } : {}),
      allowAnonymousTrigger: token === undefined && isLoopbackHostname(this.options.listen.host),
      log: this.options.log,
    });
    const server = http.createServer(handler);
    // A scraper that opens a connection and goes quiet must not hold a socket for ever.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private jobOf(journey: Journey): ScheduledJob {
    const attempts = (this.options.run.retries ?? journey.retries) + 1;
    const timeoutMs = this.options.run.timeoutMs ?? journey.timeoutMs;
    return { name: journey.name, schedule: journey.schedule ?? this.options.defaultSchedule, deadlineMs: attempts * (timeoutMs + AFTER_DEADLINE_MS) };
  }

  /** A result older than two intervals plus the run's own deadline is stale: the probe has stopped seeing the target. */
  private freshWithinMs(view: JourneyView): number {
    const entry = this.entries.get(view.journey);
    if (!entry) return 0;
    const job = this.jobOf(entry.journey);
    return 2 * scheduleIntervalMs(job.schedule, new Date(this.clock.now())) + job.deadlineMs;
  }

  private add(journey: Journey): void {
    const state = this.savedStates.get(journey.name) ?? initialState(journey.name);
    this.entries.set(journey.name, { journey, signature: signatureOf(journey), state, recent: this.history.recent(journey.name, RECENT_RUNS) });
    this.metrics.addJourney(journey.name);
    this.scheduler.upsert(this.jobOf(journey));
  }

  private remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    this.scheduler.remove(name);
    this.metrics.removeJourney(name, entry.journey.steps.map((step) => step.name));
  }

  private labels(trigger: RunTrigger) {
    return { location: this.options.location, target: this.options.target, trigger };
  }

  private async execute(job: ScheduledJob, context: RunContext): Promise<void> {
    const entry = this.entries.get(job.name);
    if (!entry) return;
    const journey = entry.journey;
    const redactor = this.options.redactor.fork();
    const resources = new SharedResources(this.resources);
    const startedAt = this.clock.now();
    try {
      const result = await runJourney(journey, { ...this.options.run, redactor, resources, signal: context.signal });
      // A run cut short by the watchdog was already recorded; one cut short by shutdown says nothing about the target.
      if (context.signal.aborted) return;
      const record = toRunRecord(result, startedAt, this.labels(context.trigger), redactor);
      const stalled = (result.status === 'failed' || result.status === 'error') && result.attempts.at(-1)?.failure?.runnerStallMs !== undefined;
      // The runner's own stall is an error of the probe, not a finding about the target.
      this.finish(stalled ? { ...record, result: 'error' } : record, entry, stalled);
    } finally {
      await resources.closeAll();
    }
  }

  private onWatchdog(job: ScheduledJob): void {
    const entry = this.entries.get(job.name);
    if (!entry) return;
    this.options.log(`journey "${job.name}": the watchdog ended a run that outlived its ${formatMs(job.deadlineMs)} deadline`);
    const now = this.clock.now();
    this.finish(watchdogRecord(job.name, now - job.deadlineMs, job.deadlineMs, this.labels('schedule')), entry);
  }

  private finish(record: RunRecord, entry: ProbeEntry, runnerStalled = false): void {
    // The journey may have been removed or replaced by a reload while it ran.
    if (this.entries.get(record.journey) !== entry) return;
    this.historyWrites.attempt(`record a run of "${record.journey}"`, this.clock.now(), () => this.history.record(record));
    this.metrics.recordRun(record);
    entry.recent = [...entry.recent, { startedAt: record.startedAt, durationMs: record.durationMs, result: record.result }].slice(-RECENT_RUNS);
    if (runnerStalled) {
      // Counted as an error above, but a failure the runner's own stall explains raises no alert and moves no health state.
      this.options.log(`journey "${record.journey}": ${record.failureCode ?? 'error'} while the runner itself stalled; not counted against the target`);
      return;
    }
    const previous = entry.state.health;
    const { state } = applyRun(entry.state, record, this.options.alertPolicy);
    entry.state = state;
    this.savedStates.set(state.journey, state);
    this.historyWrites.attempt(`save the state of "${record.journey}"`, this.clock.now(), () => this.history.saveState(state));
    if (state.health !== previous) {
      const why = record.failureCode ? `: ${record.failedStep ? `step "${record.failedStep}": ` : ''}${record.failureCode} ${record.failureMessage ?? ''}` : '';
      this.options.log(`journey "${record.journey}" is ${state.health}${why}`);
    }
    this.reconcileAlert(entry);
  }

  /**
   * Sends the alert a journey is owed: its state says failing (or recovered)
   * but receivers were last told otherwise. The state is written as notified
   * only once every receiver took the alert (or refused it for good with a
   * 4xx), so an alert lost to a dead receiver, a shutdown or kill -9 is sent
   * again on the next run or after a restart, and a delivered one is not.
   */
  private reconcileAlert(entry: ProbeEntry): void {
    const name = entry.journey.name;
    const state = entry.state;
    if (this.stopping || this.alertsInFlight.has(name)) return;
    if (state.alerting === (state.notifiedFailing ?? false) || state.lastRunAt === undefined) return;
    const kind: AlertKind = state.alerting ? 'failing' : 'recovered';
    if (this.options.webhooks.length === 0) {
      this.markNotified(name, kind);
      return;
    }
    const owed = this.alertTakenBy.get(name);
    const receivers = owed?.kind === kind ? owed.receivers : new Set<number>();
    this.alertTakenBy.set(name, { kind, receivers });
    const event = alertEvent(kind, state, entry.journey, { location: this.options.location, target: this.options.target, statusUrl: this.options.publicUrl ?? `${this.url}/` });
    const sending = this.alerts.send(event, { skip: receivers }).then((outcomes) => {
      this.alertsInFlight.delete(name);
      for (const [receiver, outcome] of outcomes) if (outcome !== 'failed') receivers.add(receiver);
      // Someone has not got it: the next run, or a restart, sends it to them again.
      if (receivers.size < this.options.webhooks.length) return;
      this.alertTakenBy.delete(name);
      this.markNotified(name, kind);
      // The journey may have moved on while the alert was on its way.
      const current = this.entries.get(name);
      if (current) this.reconcileAlert(current);
    });
    this.alertsInFlight.set(name, sending);
  }

  private markNotified(name: string, kind: AlertKind): void {
    const notifiedFailing = kind === 'failing';
    const current = this.entries.get(name);
    const base = current?.state ?? this.savedStates.get(name);
    if (!base) return;
    const state: PersistedState = { ...base, notifiedFailing };
    if (current) current.state = state;
    this.savedStates.set(name, state);
    this.historyWrites.attempt(`save the alert state of "${name}"`, this.clock.now(), () => this.history.saveState(state));
  }

  /** The dispatcher keeps totals; the counters catch up with them at each scrape. */
  private syncAlertMetrics(): void {
    const stats = this.alerts.stats();
    for (const outcome of ['delivered', 'failed', 'dropped'] as const) {
      for (; this.exportedAlerts[outcome] < stats[outcome]; this.exportedAlerts[outcome]++) this.metrics.recordAlertDelivery(outcome);
    }
  }

  private views(): JourneyView[] {
    return [...this.entries.values()].map((entry) => {
      const job = this.scheduler.jobState(entry.journey.name);
      return {
        ...entry.state,
        file: entry.journey.file,
        tags: entry.journey.tags,
        schedule: describeSchedule(entry.journey.schedule ?? this.options.defaultSchedule),
        running: job?.running ?? false,
        ...(job?.queued ? { queued: true } : {}),
        skippedRuns: job?.skipped ?? 0,
        recent: entry.recent,
        ...(job?.nextRunAt !== undefined ? { nextRunAt: job.nextRunAt } : {}),
      };
    });
  }

  private trigger(request: { journeys?: string[]; tag?: string }) {
    const names =
      request.journeys ??
      [...this.entries.values()].filter((entry) => request.tag === undefined || entry.journey.tags.includes(request.tag)).map((entry) => entry.journey.name);
    const outcome = { started: [] as string[], queued: [] as string[], busy: [] as string[], unknown: [] as string[] };
    for (const name of names) {
      const result = this.stopping ? 'busy' : this.scheduler.trigger(name);
      outcome[result === 'started' ? 'started' : result === 'queued' ? 'queued' : result === 'busy' ? 'busy' : 'unknown'].push(name);
    }
    return outcome;
  }

  private health() {
    const now = this.clock.now();
    const problems: string[] = [];
    if (this.entries.size === 0) problems.push('no journey is loaded: the last reload left none (see reloadErrors, --tag, --grep and --shard)');
    const history = this.historyWrites.status();
    if (history.failingSince !== undefined) problems.push(`the history cannot be written since ${new Date(history.failingSince).toISOString()}: ${history.lastError ?? ''}`);
    // A full disk for a minute is an outage of the record, worth a 503; a blip, or nothing to probe, is only degraded.
    const ok = !this.stopping && !this.historyWrites.unwritable(now);
    return {
      ok,
      detail: {
        status: this.stopping ? 'stopping' : problems.length > 0 ? 'degraded' : 'ok',
        ...(problems.length > 0 ? { problems } : {}),
        version: this.options.version,
        location: this.options.location,
        target: this.options.target,
        journeys: this.entries.size,
        inFlight: this.scheduler.inFlight(),
        uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000),
        reloadErrors: this.reloadErrors,
        alerts: this.alerts.stats(),
        history: history,
      },
    };
  }

  /** Polls the files; one reload at a time, and the next poll is planned only after this one ends. */
  private planReload(): void {
    if (this.stopping || this.options.reloadIntervalMs <= 0) return;
    this.reloadTimer = this.clock.setTimeout(() => {
      void this.reload().finally(() => this.planReload());
    }, this.options.reloadIntervalMs);
  }

  /** Re-reads the journey files now (also on SIGHUP). A bad edit keeps the previous version running. */
  reload(force = false): Promise<void> {
    this.reloading ??= this.applyReload(force).finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async applyReload(force: boolean): Promise<void> {
    let snapshot;
    try {
      snapshot = await this.source.reload(force);
    } catch (error) {
      this.reloadErrors = [`reload failed: ${(error as Error).message}`];
      this.metrics.recordReloadError();
      this.options.log(`reload: ${(error as Error).message}; the journeys loaded before keep running`);
      return;
    }
    if (!snapshot || this.stopping) return;
    const errors = snapshot.diagnostics.filter((d) => d.severity === 'error').map((d) => this.options.redactor.redact(formatDiagnostic(d)));
    this.reloadErrors = errors;
    if (errors.length > 0) {
      this.metrics.recordReloadError();
      for (const line of errors) this.options.log(`reload: ${line}`);
      if (snapshot.keptPrevious.length > 0) this.options.log(`reload: kept the previous version of ${snapshot.keptPrevious.join(', ')}`);
    }
    const wanted = new Map(this.options.select(snapshot.journeys).map((journey) => [journey.name, journey]));
    // A reload may bring step kinds (or the first browser journey) the daemon has not loaded yet.
    await this.prepare([...wanted.values()]).catch(() => undefined);
    if (this.stopping) return;
    let added = 0;
    let removed = 0;
    let changed = 0;
    for (const name of [...this.entries.keys()]) {
      if (!wanted.has(name)) {
        this.remove(name);
        removed++;
      }
    }
    for (const [name, journey] of wanted) {
      const entry = this.entries.get(name);
      if (!entry) {
        this.add(journey);
        added++;
        continue;
      }
      const signature = signatureOf(journey);
      if (signature === entry.signature) continue;
      const oldSteps = entry.journey.steps.map((step) => step.name);
      const newSteps = new Set(journey.steps.map((step) => step.name));
      // Series of steps that no longer exist must go; Prometheus copes with the counter reset this causes.
      if (oldSteps.some((step) => !newSteps.has(step))) this.metrics.removeJourney(name, oldSteps);
      // Replace the entry so a run of the old version still in flight does not report into the new one.
      this.entries.set(name, { ...entry, journey, signature });
      this.scheduler.upsert(this.jobOf(journey));
      changed++;
    }
    this.metrics.setJourneys(this.entries.size);
    if (added + removed + changed > 0) this.options.log(`reload: ${this.entries.size} journeys (${added} added, ${removed} removed, ${changed} changed)`);
    if (removed > 0 && this.entries.size === 0) this.options.log('reload: no journey is left to probe; /healthz says degraded until one is back');
  }

  private prune(): void {
    if (this.stopping) return;
    try {
      const { deleted } = this.history.prune();
      if (deleted > 0) this.options.log(`history: pruned ${deleted} old runs`);
    } catch (error) {
      this.options.log(`history: prune failed: ${(error as Error).message}`);
    }
    this.pruneTimer = this.clock.setTimeout(() => this.prune(), PRUNE_EVERY_MS);
  }

  /**
   * The SIGTERM sequence: stop scheduling, let runs in flight finish (or abort
   * them after the grace period), flush the history, then close the server.
   */
  async stop(): Promise<{ finished: number; aborted: number }> {
    if (this.stopping) return { finished: 0, aborted: 0 };
    this.stopping = true;
    this.clock.clearTimeout(this.reloadTimer);
    this.clock.clearTimeout(this.pruneTimer);
    this.scheduler.stop();
    const inFlight = this.scheduler.inFlight();
    this.options.log(`stopping: scheduling stopped; waiting up to ${formatMs(this.options.graceMs)} for ${inFlight} run(s) in flight`);
    const drained = await this.scheduler.drain(this.options.graceMs);
    this.options.log(`stopping: ${drained.finished} run(s) finished, ${drained.aborted} aborted`);
    await this.reloading?.catch(() => undefined);
    await this.alerts.drain(Math.min(this.options.graceMs, ALERT_DRAIN_LIMIT_MS));
    await this.alerts.close();
    // Delivered alerts are written as such before the file closes; the rest stay owed for the next start.
    await Promise.all(this.alertsInFlight.values());
    const { checkpointError } = this.history.close();
    this.lock.release();
    if (checkpointError !== undefined) this.options.log(`stopping: the history's final checkpoint failed (${checkpointError}); nothing is lost, the next start replays its log`);
    else this.options.log('stopping: history flushed');
    this.eventLoop.stop();
    await this.resources.closeAll();
    await this.closeServer();
    this.options.log('stopped');
    return drained;
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // Requests still open after a moment (a slow scraper) are cut; the process is about to exit.
      const timer = setTimeout(() => server.closeAllConnections(), 1_000);
      timer.unref();
    });
  }
}
