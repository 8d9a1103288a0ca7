import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatDiagnostic, type Diagnostic } from '../journey/diagnostics.js';
import { formatMs } from '../journey/duration.js';
import type { Journey, Schedule } from '../journey/journey.js';
import type { LoadOptions } from '../journey/load.js';
import { runJourney, type JourneyRunOptions } from '../engine/journey-runner.js';
import { SharedResources } from '../engine/shared-resources.js';
import { prepareJourneys } from '../engine/run.js';
import { EventLoopDelayMonitor } from '../engine/runner-health.js';
import type { Redactor } from '../secrets/redactor.js';
import { initialState, type AlertPolicy } from './alert-policy.js';
import { AlertReconciler } from './alert-reconciler.js';
import { createApiHandler, isLoopbackHostname } from './http-api.js';
import { closeHttp, listenHttp } from './http-server.js';
import { HistoryLock } from '../history/daemon-lock.js';
import { HistoryStore, type HistoryOptions } from '../history/store.js';
import { HistoryWrites } from './history-writes.js';
import { JourneySource } from './journey-source.js';
import { ProbeMetrics } from './metrics.js';
import { systemClock, type Clock, type JourneyView, type RunTrigger } from './model.js';
import { ProbeEntries } from './probe-entries.js';
import { freshnessWindowMs, scheduledJobOf, type JobDefaults } from './probe-jobs.js';
import { daemonHealth, journeyViews } from './read-models.js';
import { planReload, signatureOf } from './reload-plan.js';
import { RECENT_RUNS } from './run-outcome.js';
import { RunOutcomePipeline } from './run-outcome-pipeline.js';
import { stalledByRunner, toRunRecord, watchdogRecord } from './run-record.js';
import { Scheduler, type RunContext, type ScheduledJob } from './scheduler.js';
import { renderStatusPage } from './status-page.js';
import type { TriggerRequest, TriggerResult } from './trigger-request.js';
import { AlertDispatcher, type WebhookTarget } from './webhook-delivery.js';

/**
 * `ceiling serve`: journeys as long-lived probes. This file wires the parts
 * together; each part (scheduler, history, metrics, the run-outcome pipeline,
 * alerts, reload planning, read models, HTTP) lives in its own module and
 * knows nothing of the others.
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

const PRUNE_EVERY_MS = 10 * 60_000;
const ALERT_DRAIN_LIMIT_MS = 5_000;

export class ProbeDaemon {
  private readonly clock: Clock;
  private readonly entries: ProbeEntries;
  private readonly scheduler: Scheduler;
  private readonly metrics: ProbeMetrics;
  private readonly alerts: AlertDispatcher;
  private readonly alertReconciler: AlertReconciler;
  private readonly outcomes: RunOutcomePipeline;
  private readonly jobDefaults: JobDefaults;
  private server: http.Server | undefined;
  private reloadTimer: unknown;
  private pruneTimer: unknown;
  private reloading: Promise<void> | undefined;
  private stopping = false;
  private reloadErrors: string[] = [];
  private readonly exportedAlerts = { delivered: 0, failed: 0, dropped: 0 };
  private readonly startedAt: number;
  private readonly historyWrites: HistoryWrites;
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
    this.entries = new ProbeEntries(history.loadStates());
    this.jobDefaults = { defaultSchedule: options.defaultSchedule, retries: options.run.retries, timeoutMs: options.run.timeoutMs };
    this.metrics = new ProbeMetrics({ location: options.location, target: options.target });
    const tracer = options.run.tracing?.tracer;
    if (tracer) this.metrics.trackDroppedSpans(() => tracer.stats().spansDropped);
    this.alerts = new AlertDispatcher({ targets: options.webhooks, redactor: options.redactor, log: options.log });
    this.alertReconciler = new AlertReconciler({
      clock: this.clock,
      entries: this.entries,
      dispatcher: this.alerts,
      receivers: options.webhooks.length,
      origin: () => ({ location: options.location, target: options.target, statusUrl: options.publicUrl ?? `${this.url}/` }),
      history,
      historyWrites: this.historyWrites,
      stopping: () => this.stopping,
    });
    this.outcomes = new RunOutcomePipeline({
      clock: this.clock,
      policy: options.alertPolicy,
      entries: this.entries,
      history,
      historyWrites: this.historyWrites,
      metrics: this.metrics,
      alerts: this.alertReconciler,
      log: options.log,
    });
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
    daemon.scheduleNextReload();
    daemon.prune();
    // Alerts decided before a restart but never delivered go out now.
    for (const name of daemon.entries.names()) daemon.alertReconciler.reconcile(name);
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
      runs: (name, query) => (this.entries.knows(name) ? this.history.runs(name, query) : undefined),
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
    this.server = await listenHttp(handler, this.options.listen);
  }

  private jobOf(journey: Journey): ScheduledJob {
    return scheduledJobOf(journey, this.jobDefaults);
  }

  private freshWithinMs(view: JourneyView): number {
    const entry = this.entries.get(view.journey);
    return entry ? freshnessWindowMs(this.jobOf(entry.journey), this.clock.now()) : 0;
  }

  private add(journey: Journey): void {
    const state = this.entries.savedState(journey.name) ?? initialState(journey.name);
    this.entries.put({ journey, signature: signatureOf(journey), state, recent: this.history.recent(journey.name, RECENT_RUNS) });
    this.metrics.addJourney(journey.name);
    this.scheduler.upsert(this.jobOf(journey));
  }

  private remove(name: string): void {
    const entry = this.entries.remove(name);
    if (!entry) return;
    this.scheduler.remove(name);
    this.metrics.removeJourney(
      name,
      entry.journey.steps.map((step) => step.name),
    );
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
      this.outcomes.finish(toRunRecord(result, startedAt, this.labels(context.trigger), redactor), entry, stalledByRunner(result));
    } finally {
      await resources.closeAll();
    }
  }

  private onWatchdog(job: ScheduledJob): void {
    const entry = this.entries.get(job.name);
    if (!entry) return;
    this.options.log(`journey "${job.name}": the watchdog ended a run that outlived its ${formatMs(job.deadlineMs)} deadline`);
    const now = this.clock.now();
    this.outcomes.finish(watchdogRecord(job.name, now - job.deadlineMs, job.deadlineMs, this.labels('schedule')), entry);
  }

  /** The dispatcher keeps totals; the counters catch up with them at each scrape. */
  private syncAlertMetrics(): void {
    const stats = this.alerts.stats();
    for (const outcome of ['delivered', 'failed', 'dropped'] as const) {
      for (; this.exportedAlerts[outcome] < stats[outcome]; this.exportedAlerts[outcome]++) this.metrics.recordAlertDelivery(outcome);
    }
  }

  private views(): JourneyView[] {
    return journeyViews(this.entries.values(), (name) => this.scheduler.jobState(name), this.options.defaultSchedule);
  }

  private trigger(request: TriggerRequest): TriggerResult {
    const names =
      request.journeys ??
      [...this.entries.values()].filter((entry) => request.tag === undefined || entry.journey.tags.includes(request.tag)).map((entry) => entry.journey.name);
    const outcome: TriggerResult = { started: [], queued: [], busy: [], unknown: [] };
    for (const name of names) {
      const result = this.stopping ? 'busy' : this.scheduler.trigger(name);
      outcome[result === 'started' ? 'started' : result === 'queued' ? 'queued' : result === 'busy' ? 'busy' : 'unknown'].push(name);
    }
    return outcome;
  }

  private health() {
    const now = this.clock.now();
    return daemonHealth({
      now,
      startedAt: this.startedAt,
      stopping: this.stopping,
      journeys: this.entries.size,
      inFlight: this.scheduler.inFlight(),
      reloadErrors: this.reloadErrors,
      alerts: this.alerts.stats(),
      history: this.historyWrites.status(),
      historyUnwritable: this.historyWrites.unwritable(now),
      version: this.options.version,
      location: this.options.location,
      target: this.options.target,
    });
  }

  /** Polls the files; one reload at a time, and the next poll is planned only after this one ends. */
  private scheduleNextReload(): void {
    if (this.stopping || this.options.reloadIntervalMs <= 0) return;
    this.reloadTimer = this.clock.setTimeout(() => {
      void this.reload().finally(() => this.scheduleNextReload());
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
    const plan = planReload(this.entries.values(), [...wanted.values()]);
    for (const name of plan.remove) this.remove(name);
    let added = 0;
    let changed = 0;
    for (const change of plan.changes) {
      if (change.kind === 'add') {
        this.add(change.journey);
        added++;
        continue;
      }
      const { journey, signature, droppedSteps } = change;
      const entry = this.entries.get(journey.name)!;
      // Series of steps that no longer exist must go; Prometheus copes with the counter reset this causes.
      if (droppedSteps !== undefined) this.metrics.removeJourney(journey.name, droppedSteps);
      // A new entry, so a run of the old version still in flight does not report into the new one.
      this.entries.put({ ...entry, journey, signature });
      this.scheduler.upsert(this.jobOf(journey));
      changed++;
    }
    const removed = plan.remove.length;
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
    await this.alertReconciler.settled();
    const { checkpointError } = this.history.close();
    this.lock.release();
    if (checkpointError !== undefined)
      this.options.log(`stopping: the history's final checkpoint failed (${checkpointError}); nothing is lost, the next start replays its log`);
    else this.options.log('stopping: history flushed');
    this.eventLoop.stop();
    await this.resources.closeAll();
    await this.closeServer();
    this.options.log('stopped');
    return drained;
  }

  private async closeServer(): Promise<void> {
    if (this.server) await closeHttp(this.server);
  }
}
