import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { EXIT } from '../core/exit-codes.js';
import { SharedResources } from '../engine/shared-resources.js';
import { formatDiagnostic } from '../journey/diagnostics.js';
import type { Journey } from '../journey/journey.js';
import { loadJourneys } from '../journey/load.js';
import { logSafe } from '../report/terminal-text.js';
import { InputError } from './flag-values.js';
import { planRun, type RunPlan } from './run-command.js';
import type { RunFlags } from './run-flags.js';
import { isLiveTerminal } from './terminal.js';
import { JourneyFileWatcher, type FileChanges } from './watch-files.js';

/** What the next run covers: every journey, or those of the files that changed. */
interface RunRequest {
  all: boolean;
  reason: string;
  changed: Set<string>;
  deleted: Set<string>;
}

const emptyRequest = (): RunRequest => ({ all: false, reason: '', changed: new Set(), deleted: new Set() });

const shown = (file: string): string => {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
};

/**
 * `ceiling run --watch`: one run of everything, then a run of the journeys
 * whose files change, and of everything on Enter, until SIGINT or SIGTERM
 * (exit 130). One browser stays open across runs; the reporters are made
 * afresh for each, so JSON and JUnit files are rewritten every run.
 */
export async function watchCommand(paths: string[], flags: RunFlags): Promise<number> {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  if (flags.list) {
    write('--watch runs journeys again as their files change; --list runs none: use one or the other');
    return EXIT.invalid;
  }
  let plan: RunPlan;
  try {
    plan = await planRun(paths, flags, write);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    write(error.message);
    return error.exitCode;
  }
  return new WatchSession(paths, flags, plan, write).run();
}

class WatchSession {
  private readonly controller = new AbortController();
  private readonly longLived = new SharedResources();
  private pending: RunRequest = { ...emptyRequest(), all: true, reason: 'first run' };
  private wake: (() => void) | undefined;
  private readonly live = isLiveTerminal(process.stdout);

  constructor(
    private readonly paths: string[],
    private readonly flags: RunFlags,
    private plan: RunPlan,
    private readonly write: (line: string) => void,
  ) {
    // Every journey attempt in flight listens to this one signal; many at once is expected, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  async run(): Promise<number> {
    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      if (interrupts > 1) process.exit(EXIT.interrupted);
      this.write('\nceiling: stopping the watch (again to force)');
      this.controller.abort();
      this.wake?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const stdin = createInterface({ input: process.stdin, terminal: false });
    stdin.on('line', () => this.request({ all: true, reason: 'Enter pressed' }));
    // Without a stdin (closed or /dev/null) the watch goes on; only the files trigger runs.
    stdin.on('error', () => undefined);
    let watcher = this.watcherFor(this.plan);
    try {
      await watcher.start();
      while (!this.controller.signal.aborted) {
        if (!this.hasPending()) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        const request = this.pending;
        this.pending = emptyRequest();
        if (this.plan.configFile && request.changed.has(path.resolve(this.plan.configFile))) {
          if (!(await this.replan())) continue;
          request.all = true;
          watcher.close();
          watcher = this.watcherFor(this.plan);
          await watcher.start();
        }
        await this.runOnce(request);
        if (!this.controller.signal.aborted) this.write(this.idleLine());
      }
    } finally {
      watcher.close();
      stdin.close();
      process.stdin.pause();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await this.longLived.closeAll();
      await this.plan.close();
    }
    return EXIT.interrupted;
  }

  private watcherFor(plan: RunPlan): JourneyFileWatcher {
    return new JourneyFileWatcher(plan.journeyPaths, plan.configFile ? [plan.configFile] : [], (changes) => this.onFiles(changes));
  }

  private onFiles(changes: FileChanges): void {
    const names = [...changes.changed, ...changes.deleted].map(shown);
    this.request({ all: false, reason: `${names.join(', ')} changed`, changed: changes.changed, deleted: changes.deleted });
  }

  private request(next: { all: boolean; reason: string; changed?: string[]; deleted?: string[] }): void {
    const merged = this.pending;
    merged.all ||= next.all;
    merged.reason = merged.reason ? `${merged.reason}; ${next.reason}` : next.reason;
    for (const file of next.changed ?? []) {
      merged.changed.add(file);
      merged.deleted.delete(file);
    }
    for (const file of next.deleted ?? []) {
      merged.deleted.add(file);
      merged.changed.delete(file);
    }
    this.wake?.();
  }

  private hasPending(): boolean {
    return this.pending.all || this.pending.changed.size > 0 || this.pending.deleted.size > 0;
  }

  /** An edited ceiling.yaml is read again; while it has errors, the last good one stays in use. */
  private async replan(): Promise<boolean> {
    this.header('ceiling.yaml changed');
    try {
      const previous = this.plan;
      this.plan = await planRun(this.paths, this.flags, this.write);
      await previous.close();
      return true;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.write(error.message);
      this.write(this.idleLine());
      return false;
    }
  }

  private header(reason: string): void {
    if (this.live) process.stdout.write('\x1b[2J\x1b[3J\x1b[H');
    else this.write(`\n──── ceiling watch: ${reason} ────`);
    if (this.live) this.write(`ceiling watch: ${reason}`);
  }

  private idleLine(): string {
    return `\nceiling watch: waiting for changes to ${this.plan.journeyPaths.join(', ')}${this.plan.configFile ? ` or ${this.plan.configFile}` : ''}; Enter runs all, Ctrl-C ends`;
  }

  private async runOnce(request: RunRequest): Promise<void> {
    this.header(request.all ? `${request.reason}: running every journey` : request.reason);
    const { redactor } = this.plan;
    const loaded = await loadJourneys(this.plan.journeyPaths, { extraVars: this.plan.extraVars });
    const concerns = (file: string) => request.all || request.changed.has(path.resolve(file));
    const broken = new Set<string>();
    for (const diagnostic of loaded.diagnostics) {
      if (diagnostic.severity === 'error') broken.add(path.resolve(diagnostic.file));
      if (concerns(diagnostic.file)) this.write(logSafe(redactor.redact(formatDiagnostic(diagnostic))));
    }
    for (const file of request.deleted) this.write(`${shown(file)}: removed; its journeys are no longer run`);
    for (const file of request.changed) {
      if (broken.has(file)) this.write(`${shown(file)}: has errors (above); none of its journeys was run; fix it and save again`);
    }
    const selected = this.plan.select(loaded.journeys);
    if (typeof selected === 'string') {
      this.write(selected);
      return;
    }
    const due = selected.filter((journey: Journey) => concerns(journey.file) && !broken.has(path.resolve(journey.file)));
    if (due.length === 0) {
      this.write('ceiling watch: no journey to run');
      return;
    }
    await this.plan.execute(due, this.controller.signal, this.longLived);
  }
}
