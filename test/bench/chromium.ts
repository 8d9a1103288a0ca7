/**
 * Chromium processes, found by scanning /proc: which are running, which of
 * them one bench child started, and whether any outlived it. Other people's
 * test runs may have a Chromium open on the same machine at the same time, so
 * "new since before" is not enough to blame a run; every browser child gets
 * a tag of its own, and a process counts as that child's when it carries it:
 *   - in its environment (CEILING_BENCH_CHILD=<tag>): the browser process and
 *     its crashpad handlers keep the environment they were started with;
 *   - in its command line (the child's own TMPDIR, which Playwright puts the
 *     profile under as --user-data-dir): the zygotes, GPU, utility and
 *     renderer processes overwrite their environment with their title, but
 *     all of them are passed the profile folder.
 * Zombies (exited, not yet reaped by their parent) have neither and are not
 * counted: they run nothing and hold nothing but a pid.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const CHILD_TAG_VARIABLE = 'CEILING_BENCH_CHILD';

export interface ChromiumProcess {
  pid: number;
  cmdline: string;
  /** Raw NUL-separated environment, or undefined when it cannot be read. */
  environ: string | undefined;
}

/** What marks a process as one child's (or, with a prefix tag and the bench's own folder, as any of the bench's). */
export interface Mark {
  tag: string;
  /** A folder that appears in the command line of every process of that child's browser. */
  dir: string;
  /** True: any tag starting with `tag` matches (the bench-wide sweep). */
  prefix?: boolean;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** The substrings that make a command line a Chromium one: "chromium", the executable, and the folder it really lives in. */
export function chromiumNeedles(executable: string | undefined): string[] {
  const needles = new Set(['chromium']);
  if (executable !== undefined) {
    needles.add(executable);
    try {
      const real = realpathSync(executable);
      needles.add(real);
      // Google Chrome's /usr/bin/google-chrome links to /opt/google/chrome/google-chrome, which starts ./chrome beside it.
      if (path.dirname(real) !== '/usr/bin' && path.dirname(real) !== '/bin') needles.add(`${path.dirname(real)}/`);
    } catch {
      // Gone or unreadable: "chromium" and the path as given still apply.
    }
  }
  return [...needles];
}

/** Every live process whose command line looks like Chromium. Without procfs, none. */
export function scanChromium(needles: readonly string[], self = process.pid): ChromiumProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: ChromiumProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === self) continue;
    const raw = read(`/proc/${pid}/cmdline`);
    // Empty for zombies and kernel threads.
    if (raw === undefined || raw === '') continue;
    const cmdline = raw.replaceAll('\0', ' ').trimEnd();
    if (!needles.some((needle) => cmdline.includes(needle))) continue;
    found.push({ pid, cmdline, environ: read(`/proc/${pid}/environ`) });
  }
  return found;
}

export function isMarked(proc: ChromiumProcess, mark: Mark): boolean {
  if (proc.cmdline.includes(`${mark.dir}${path.sep}`)) return true;
  if (proc.environ === undefined) return false;
  const wanted = `${CHILD_TAG_VARIABLE}=${mark.tag}`;
  return proc.environ.split('\0').some((entry) => (mark.prefix === true ? entry.startsWith(wanted) : entry === wanted));
}

export function isAlive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  // The state follows the parenthesised command name, which may itself contain ") ".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== '';
}

/**
 * The marked processes still alive once `graceMs` has passed since the child
 * exited. Stops early as soon as none is left: a process gone within the grace
 * period did not outlive the run.
 */
export async function leftoverAfter(needles: readonly string[], mark: Mark, graceMs: number): Promise<ChromiumProcess[]> {
  const until = Date.now() + graceMs;
  for (;;) {
    const alive = scanChromium(needles).filter((proc) => isMarked(proc, mark));
    if (alive.length === 0 || Date.now() >= until) return alive;
    await sleep(Math.min(50, Math.max(1, until - Date.now())));
  }
}

/**
 * SIGKILLs the given processes by pid, after checking each pid still belongs
 * to a marked process (a pid may have been reused since the scan), and waits
 * until they are gone; returns the pids that would not go.
 */
export async function killMarked(procs: readonly ChromiumProcess[], needles: readonly string[], mark: Mark, waitMs = 2_000): Promise<number[]> {
  const current = new Map(
    scanChromium(needles)
      .filter((proc) => isMarked(proc, mark))
      .map((proc) => [proc.pid, proc]),
  );
  const targets = procs.filter((proc) => current.has(proc.pid)).map((proc) => proc.pid);
  for (const pid of targets) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const until = Date.now() + waitMs;
  let stuck = targets.filter(isAlive);
  while (stuck.length > 0 && Date.now() < until) {
    await sleep(25);
    stuck = stuck.filter(isAlive);
  }
  return stuck;
}
