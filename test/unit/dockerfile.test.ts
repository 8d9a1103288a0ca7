/**
 * The root Dockerfile, checked statically: there is no Docker daemon where
 * these tests run. What can drift without a build noticing is checked here:
 * the base image, the stages, the user, the entrypoint, the browser, the npm
 * commands it runs (they must exist in package.json) and the files it copies
 * (they must exist and pass .dockerignore).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../e2e/cli.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Joins `\` continuations, drops comments, and splits into stages at each FROM. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      stages.push({ from: image, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before any FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const runtime = dockerfile.at(-1)!;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const of = (stage: Stage, keyword: string): string[] =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

/** .dockerignore as written here: ignore everything, then `!path` lets files back in. */
function passesDockerignore(file: string): boolean {
  const lines = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  expect(lines[0], '.dockerignore starts by ignoring everything').toBe('**');
  return lines.slice(1).some((line) => {
    const allowed = line.replace(/^!/, '').replace(/\/$/, '');
    return file === allowed || file.startsWith(`${allowed}/`);
  });
}

describe('Dockerfile', () => {
  it('is multi-stage on Node 20 slim, every stage', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile) expect(stage.from).toBe('node:20-slim');
  });

  it('runs as a non-root user, with ceiling as the entrypoint under an init that reaps Chromium', () => {
    expect(of(runtime, 'USER')).toEqual(['node']);
    const entrypoint = JSON.parse(of(runtime, 'ENTRYPOINT')[0]!) as string[];
    expect(entrypoint).toEqual(['/usr/bin/tini', '--', 'ceiling']);
    // `ceiling` on the PATH is the package's bin.
    expect(of(runtime, 'RUN').join('\n')).toContain(`ln -s /app/${pkg.bin.ceiling} /usr/local/bin/ceiling`);
  });

  it("installs Debian's chromium and tini in the runtime stage, and points Ceiling at that browser", () => {
    const installs = of(runtime, 'RUN').join('\n');
    expect(installs).toMatch(/apt-get install [^\n]*\bchromium\b/);
    expect(installs).toMatch(/apt-get install [^\n]*\btini\b/);
    const env = of(runtime, 'ENV').join(' ');
    expect(env).toContain('CEILING_BROWSER_PATH=/usr/bin/chromium');
    expect(env).toContain('MALLOC_ARENA_MAX=2');
  });

  it('runs only npm scripts that package.json defines, and installs the runtime dependencies without dev ones', () => {
    const runs = dockerfile.flatMap((stage) => of(stage, 'RUN')).join('\n');
    const scripts = [...runs.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(Object.keys(pkg.scripts), `npm run ${script}`).toContain(script);
    expect(runs).toMatch(/npm ci --omit=dev/);
    for (const rebuilt of [...runs.matchAll(/npm rebuild ([\w@/-]+)/g)].map((match) => match[1]!)) expect(Object.keys(pkg.dependencies)).toContain(rebuilt);
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const copies = dockerfile.flatMap((stage) => of(stage, 'COPY')).filter((args) => !args.startsWith('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(path.join(root, source)), `${source} exists`).toBe(true);
        expect(passesDockerignore(source.replace(/\/$/, '')), `${source} passes .dockerignore`).toBe(true);
      }
    }
  });

  it('copies between stages only from stages it defines', () => {
    const names = dockerfile.map((stage) => stage.name).filter(Boolean);
    const from = dockerfile.flatMap((stage) => of(stage, 'COPY')).flatMap((args) => /^--from=(\S+)/.exec(args)?.[1] ?? []);
    expect(from.length).toBeGreaterThan(0);
    for (const stage of from) expect(names).toContain(stage);
  });
});
