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
import type { AlertOrigin } from './alert-payloads.js';
import { initialState, type AlertPolicy } from './alert-policy.js';
import { AlertReconciler } from './alert-reconciler.js';
import { AlertmanagerRefresh } from './alertmanager-refresh.js';
import { createApiHandler, isLoopbackHostname } from './http-api.js';
import { closeHttp, listenHttp } from './http-server.js';
import { HistoryLock } from '../history/daemon-lock.js';
import { stateKey } from '../history/records.js';
import { HistoryStore, type HistoryOptions } from '../history/store.js';
import { HistoryWrites } from './history-writes.js';
import { JourneySource } from './journey-source.js';
import { ProbeMetrics } from './metrics.js';
import { systemClock, type Clock, type JourneyView, type RunTrigger } from './model.js';
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
import { discoverFleet } from '../discovery/index.js';
import { FleetWatch, type DiscoveredGroup, type FleetChange, type ProbeTarget } from './fleet-watch.js';
import { entryKey, ProbeEntries, type ProbeEntry } from './probe-entries.js';
import type { WebhookAuth } from '../webhook/auth.js';

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
  /** The label of the one target without --config; with it, the label of daemon-wide series. */
  target: string;
  /**
   * serve --config: each journey runs against each of these targets (static
   * ones, and the instances discovered groups find) instead of the one target.
   */
  targets?: { statics: ProbeTarget[]; discovered: DiscoveredGroup[] };
  alertPolicy: AlertPolicy;
  webhooks: WebhookTarget[];
  /** Headers and signing key for every webhook (--webhook-header, --webhook-secret-env). */
  webhookAuth?: WebhookAuth;
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
  private readonly alertmanagerRefresh: AlertmanagerRefresh | undefined;
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
  /** The discovered groups, when serve was started with --config and the config has any. */
  private readonly fleet: FleetWatch | undefined;
  /** The journeys selected now; each is probed against every target. */
  private readonly journeys = new Map<string, Journey>();

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
    this.alerts = new AlertDispatcher({
      targets: options.webhooks,
      redactor: options.redactor,
      log: options.log,
      ...(options.webhookAuth !== undefined ? { auth: options.webhookAuth } : {}),
    });
    this.alertReconciler = new AlertReconciler({
      clock: this.clock,
      entries: this.entries,
      dispatcher: this.alerts,
      receivers: options.webhooks.length,
      origin: () => this.alertOrigin(),
      history,
      historyWrites: this.historyWrites,
      stopping: () => this.stopping,
    });
    const alertmanagers = new Set(options.webhooks.flatMap((target, index) => (target.format === 'alertmanager' ? [index] : [])));
    this.alertmanagerRefresh =
      alertmanagers.size > 0
        ? new AlertmanagerRefresh({
            clock: this.clock,
            entries: this.entries,
            dispatcher: this.alerts,
            alertmanagers,
            receivers: options.webhooks.length,
            origin: () => this.alertOrigin(),
          })
        : undefined;
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
      onSkip: (job) => {
        const entry = this.entries.get(job.name);
        if (entry) this.metrics.recordSkip(entry.journey.name, this.targetLabel(entry));
      },
      onWatchdog: (job) => this.onWatchdog(job),
      onError: (job, error) => options.log(`journey "${job.name}": internal error: ${options.redactor.redact(String((error as Error)?.message ?? error))}`),
    });
    const groups = options.targets?.discovered ?? [];
    this.fleet =
      groups.length > 0
        ? new FleetWatch({
            clock: this.clock,
            groups,
            discover: (group, signal) => discoverFleet(group.name, group.spec, { vars: group.vars, redactor: options.redactor, signal }),
            onChange: (change) => this.onFleetChange(change),
            onError: (group, problem) => {
              this.metrics.recordDiscoveryError(group);
              options.log(`discovery: ${problem.message} (${problem.code}); the last good fleet of ${group} keeps being probed`);
            },
          })
        : undefined;
    for (const group of groups) this.metrics.setFleet(group.name, 0, expectedCount(group));
    for (const journey of journeys) this.addJourney(journey);
    this.metrics.setJourneys(this.journeys.size);
  }

  /** The targets each journey runs against now: the one target, or the config's static targets and discovered instances. */
  private currentTargets(): (ProbeTarget | undefined)[] {
    const targets = this.options.targets;
    if (!targets) return [undefined];
    return [...targets.statics, ...targets.discovered.flatMap((group) => this.fleet?.targets(group.name) ?? [])];
  }

  private targetLabel(entry: Pick<ProbeEntry, 'target'>): string {
    return entry.target?.name ?? this.options.target;
  }

  private onFleetChange(change: FleetChange): void {
    if (this.stopping) return;
    for (const target of change.removed) for (const journey of this.journeys.values()) this.remove(entryKey({ journey, target }));
    for (const target of change.added) for (const journey of this.journeys.values()) this.add(journey, target);
    const group = this.options.targets?.discovered.find((candidate) => candidate.name === change.group);
    const size = this.fleet?.targets(change.group).length ?? 0;
    if (group) this.metrics.setFleet(group.name, size, expectedCount(group));
    const names = (targets: ProbeTarget[]) => targets.map((target) => target.name).join(', ');
    this.options.log(
      `discovery: ${change.group} has ${size} instance(s)` +
        (change.added.length > 0 ? `; probing ${names(change.added)}` : '') +
        (change.removed.length > 0 ? `; no longer probing ${names(change.removed)}` : ''),
    );
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
      // A group whose first discovery fails starts with no instance, is reported in /healthz, and is tried again on its every.
      await daemon.fleet?.start();
      await daemon.listen();
    } catch (error) {
      await daemon.fleet?.stop();
      history.close();
      lock.release();
      daemon.eventLoop.stop();
      await daemon.resources.closeAll();
      throw error;
    }
    daemon.scheduler.start();
    daemon.alertmanagerRefresh?.start();
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

  private alertOrigin(): AlertOrigin {
    return { location: this.options.location, target: this.options.target, statusUrl: this.options.publicUrl ?? `${this.url}/` };
  }

  get journeyCount(): number {
    return this.journeys.size;
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
      runs: (name, query) => (this.entries.knowsJourney(name) ? this.history.runs(name, query) : undefined),
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

  /** The scheduler knows each journey × target by its entry key. */
  private jobOf(journey: Journey, key: string): ScheduledJob {
    return { ...scheduledJobOf(journey, this.jobDefaults), name: key };
  }

  private freshWithinMs(view: JourneyView): number {
    const entry = this.entries.get(stateKey(view.journey, view.target));
    return entry ? freshnessWindowMs(this.jobOf(entry.journey, entryKey(entry)), this.clock.now()) : 0;
  }

  private addJourney(journey: Journey): void {
    this.journeys.set(journey.name, journey);
    for (const target of this.currentTargets()) this.add(journey, target);
  }

  private removeJourney(name: string): void {
    this.journeys.delete(name);
    for (const key of this.entries.keysOf(name)) this.remove(key);
  }

  /** Starts probing the journey against the target; its state and recent runs come from the history. */
  private add(journey: Journey, target: ProbeTarget | undefined): void {
    const key = entryKey({ journey, target });
    const state = this.entries.savedState(key) ?? { ...initialState(journey.name), ...(target ? { target: target.name } : {}) };
    const recent = this.history.recent(journey.name, RECENT_RUNS, target?.name);
    this.entries.put({ journey, ...(target ? { target } : {}), signature: signatureOf(journey), state, recent });
    this.metrics.addJourney(journey.name, target?.name ?? this.options.target);
    this.scheduler.upsert(this.jobOf(journey, key));
  }

  private remove(key: string): void {
    const entry = this.entries.remove(key);
    if (!entry) return;
    this.scheduler.remove(key);
    this.metrics.removeJourney(
      entry.journey.name,
      entry.journey.steps.map((step) => step.label),
      this.targetLabel(entry),
    );
  }

  private labels(entry: ProbeEntry, trigger: RunTrigger) {
    return { location: this.options.location, target: this.targetLabel(entry), trigger };
  }

  private async execute(job: ScheduledJob, context: RunContext): Promise<void> {
    const entry = this.entries.get(job.name);
    if (!entry) return;
    const journey = entry.journey;
    const redactor = this.options.redactor.fork();
    const resources = new SharedResources(this.resources);
    const startedAt = this.clock.now();
    try {
      // A target's vars win over --var, as in gate.
      const vars = entry.target ? { ...this.options.run.vars, ...entry.target.vars } : this.options.run.vars;
      const tracing = this.options.run.tracing ? { tracing: { ...this.options.run.tracing, target: this.targetLabel(entry) } } : {};
      const result = await runJourney(journey, { ...this.options.run, ...tracing, vars, redactor, resources, signal: context.signal });
      // A run cut short by the watchdog was already recorded; one cut short by shutdown says nothing about the target.
      if (context.signal.aborted) return;
      const stepLabels = journey.steps.map((step) => step.label);
      this.outcomes.finish(toRunRecord(result, startedAt, this.labels(entry, context.trigger), redactor, stepLabels), entry, stalledByRunner(result));
    } finally {
      await resources.closeAll();
    }
  }

  private onWatchdog(job: ScheduledJob): void {
    const entry = this.entries.get(job.name);
    if (!entry) return;
    this.options.log(`journey "${job.name}": the watchdog ended a run that outlived its ${formatMs(job.deadlineMs)} deadline`);
    const now = this.clock.now();
    this.outcomes.finish(watchdogRecord(entry.journey.name, now - job.deadlineMs, job.deadlineMs, this.labels(entry, 'schedule')), entry);
  }

  /** The dispatcher keeps totals; the counters catch up with them at each scrape. */
  private syncAlertMetrics(): void {
    const stats = this.alerts.stats();
    for (const outcome of ['delivered', 'failed', 'dropped'] as const) {
      for (; this.exportedAlerts[outcome] < stats[outcome]; this.exportedAlerts[outcome]++) this.metrics.recordAlertDelivery(outcome);
    }
  }

  private views(): JourneyView[] {
    return journeyViews(this.entries.values(), (key) => this.scheduler.jobState(key), this.options.defaultSchedule);
  }

  /** A journey named or tagged runs against every target it has; the result lists entry keys (`journey @ target` with --config). */
  private trigger(request: TriggerRequest): TriggerResult {
    const names =
      request.journeys ??
      [...this.journeys.values()].filter((journey) => request.tag === undefined || journey.tags.includes(request.tag)).map((journey) => journey.name);
    const outcome: TriggerResult = { started: [], queued: [], busy: [], unknown: [] };
    for (const name of names) {
      const keys = this.entries.keysOf(name);
      if (keys.length === 0) outcome.unknown.push(name);
      for (const key of keys) {
        const result = this.stopping ? 'busy' : this.scheduler.trigger(key);
        outcome[result === 'started' ? 'started' : result === 'queued' ? 'queued' : result === 'busy' ? 'busy' : 'unknown'].push(key);
      }
    }
    return outcome;
  }

  private health() {
    const now = this.clock.now();
    return daemonHealth({
      now,
      startedAt: this.startedAt,
      stopping: this.stopping,
      journeys: this.journeys.size,
      ...(this.fleet ? { fleet: this.fleet.status() } : {}),
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
    const plan = planReload(
      [...this.journeys.values()].map((journey) => ({ journey, signature: signatureOf(journey) })),
      [...wanted.values()],
    );
    for (const name of plan.remove) this.removeJourney(name);
    let added = 0;
    let changed = 0;
    for (const change of plan.changes) {
      if (change.kind === 'add') {
        this.addJourney(change.journey);
        added++;
        continue;
      }
      const { journey, signature, droppedSteps } = change;
      this.journeys.set(journey.name, journey);
      for (const key of this.entries.keysOf(journey.name)) {
        const entry = this.entries.get(key)!;
        // Series of steps that no longer exist must go; Prometheus copes with the counter reset this causes.
        if (droppedSteps !== undefined) this.metrics.removeJourney(journey.name, droppedSteps, this.targetLabel(entry));
        // A new entry, so a run of the old version still in flight does not report into the new one.
        this.entries.put({ ...entry, journey, signature });
        this.scheduler.upsert(this.jobOf(journey, key));
      }
      changed++;
    }
    const removed = plan.remove.length;
    this.metrics.setJourneys(this.journeys.size);
    if (added + removed + changed > 0) this.options.log(`reload: ${this.journeys.size} journeys (${added} added, ${removed} removed, ${changed} changed)`);
    if (removed > 0 && this.journeys.size === 0) this.options.log('reload: no journey is left to probe; /healthz says degraded until one is back');
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
    await this.fleet?.stop();
    this.alertmanagerRefresh?.stop();
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

/** What ceiling_fleet_expected_instances shows: the count, or the minimum. */
function expectedCount(group: DiscoveredGroup): number | undefined {
  if (group.expect === undefined) return undefined;
  return 'count' in group.expect ? group.expect.count : group.expect.min;
}
