/**
 * Ceiling as another project gets it: from the packed tarball (what the
 * registry would serve) and from a git URL (which must build itself with
 * `prepare`). Both install into an empty project with the real npm, then run
 * the installed `ceiling` bin against the demo services.
 *
 * This is the slowest test in the suite: better-sqlite3 compiles from source
 * (about a minute each time, three times: the tarball install, the git
 * clone's own install for `prepare`, and the git install). To keep the cost
 * down both installs run at once, npm reads its local cache first
 * (--prefer-offline), and every check reuses the two installed projects.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { root } from './cli.js';
import { startDemoServices, type DemoServices } from './services.js';

const exec = promisify(execFile);

/** The installs compile a native module on a shared machine: generous, and never a pass/fail threshold. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const RUN_TIMEOUT_MS = 120_000;

/** npm's own variables from the `npm test` that started vitest would leak into the child installs. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, CI: 'true', NO_COLOR: '1', ...extra };
}

async function run(command: string, args: string[], cwd: string, options: { env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd,
      env: cleanEnv(options.env),
      timeout: options.timeout ?? INSTALL_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

async function mustRun(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code} in ${cwd}:\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

const npmInstall = (cwd: string, spec: string) => mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', spec], cwd);

/** What a git clone of the repository holds: the tracked files plus new ones not ignored, as committed in a fresh repository. */
async function snapshotRepository(into: string): Promise<void> {
  const listed = await mustRun('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], root);
  const files = listed.split('\0').filter((file) => file !== '');
  await mkdir(into, { recursive: true });
  for (const file of files) {
    // A file deleted in the working tree is still listed as tracked.
    if (!(await stat(path.join(root, file)).catch(() => undefined))) continue;
    await cp(path.join(root, file), path.join(into, file), { recursive: true });
  }
  await mustRun('git', ['init', '--quiet', '--initial-branch=main'], into);
  await mustRun('git', ['add', '--all'], into);
  await mustRun('git', ['-c', 'user.name=ceiling-test', '-c', 'user.email=test@invalid', 'commit', '--quiet', '--no-gpg-sign', '-m', 'snapshot'], into);
}

async function emptyProject(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'a-project', version: '1.0.0', private: true }, null, 2)}\n`);
  // The journeys a user would write, next to their own code.
  await cp(path.join(root, 'journeys'), path.join(dir, 'journeys'), { recursive: true });
  return dir;
}

/** `npx ceiling …` inside the project, as a CI job would call it. */
const ceiling = (project: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  run('npx', ['--no-install', 'ceiling', ...args], project, { env, timeout: RUN_TIMEOUT_MS });

let work: string;
let services: DemoServices;
const projects: Record<'tarball' | 'git', string> = { tarball: '', git: '' };

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'ceiling-install-'));
  // The built bundle as `npm test` just made it: packing must not rebuild it under the other tests' feet.
  const packed = JSON.parse(await mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as { filename: string }[];
  const tarball = path.join(work, packed[0]!.filename);
  const repository = path.join(work, 'repository');
  await snapshotRepository(repository);
  projects.tarball = await emptyProject(path.join(work, 'from-tarball'));
  projects.git = await emptyProject(path.join(work, 'from-git'));
  [services] = await Promise.all([startDemoServices(), npmInstall(projects.tarball, tarball), npmInstall(projects.git, `git+file://${repository}`)]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await services?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each(['tarball', 'git'] as const)('installed from the %s', (kind) => {
  it('answers --version with this version, under the bin name ceiling', async () => {
    const result = await ceiling(projects[kind], ['--version']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(VERSION);
  });

  it('installs the runtime dependencies only: bundled libraries are not installed again', async () => {
    const installed = async (name: string) => (await stat(path.join(projects[kind], 'node_modules', name)).catch(() => undefined)) !== undefined;
    expect(await installed('ceiling-probe/dist/cli/main.js')).toBe(true);
    expect(await installed('better-sqlite3')).toBe(true);
    expect(await installed('playwright-core')).toBe(true);
    for (const bundled of ['zod', 'commander', 'yaml', 'undici', 'typescript', 'esbuild']) expect(await installed(bundled), bundled).toBe(false);
  });

  it('ships the journey and config schemas, so a modeline can point into node_modules', async () => {
    const schema = JSON.parse(await readFile(path.join(projects[kind], 'node_modules/ceiling-probe/journeys/ceiling.schema.json'), 'utf8')) as {
      title: string;
    };
    expect(schema.title).toBe('Ceiling journey');
    const config = JSON.parse(await readFile(path.join(projects[kind], 'node_modules/ceiling-probe/docs/ceiling.config.schema.json'), 'utf8')) as {
      title: string;
    };
    expect(config.title).toBe('Ceiling project config');
  });

  it('validates and runs HTTP and WebSocket journeys against the demo services', async () => {
    const validated = await ceiling(projects[kind], ['validate', 'journeys']);
    expect(validated.code, validated.stderr).toBe(0);
    const result = await ceiling(
      projects[kind],
      ['run', 'journeys/secret-roundtrip.yaml', 'journeys/chat-leave.yaml', 'journeys/chat-ghost.yaml', '--reporter', 'json=results.json'],
      services.env,
    );
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const json = JSON.parse(await readFile(path.join(projects[kind], 'results.json'), 'utf8')) as { totals: { journeys: number; passed: number } };
    expect(json.totals.journeys).toBe(3);
    expect(json.totals.passed).toBe(json.totals.journeys);
  });

  it("runs a browser journey in the Chromium it finds (Debian's, as in CI)", async () => {
    const result = await ceiling(projects[kind], ['run', 'journeys', '--tag', 'comments', '--trace', 'off'], services.env);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/PASS {2}a posted comment is stored and reaches other readers/);
  });

  it('without a Chromium, a browser journey is an input error (exit 2) that says what to install', async () => {
    const result = await ceiling(projects[kind], ['run', 'journeys', '--tag', 'comments', '--browser-path', path.join(work, 'no-such-chromium')], services.env);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/CEIL_BROWSER_PATH_INVALID: .*does not exist/);
  });
});
