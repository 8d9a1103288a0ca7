#!/usr/bin/env node
/**
 * Bundles the CLI into dist/cli with esbuild: one file per command chunk, so
 * `ceiling --version` loads a few kilobytes and `ceiling run` never loads the
 * gate. It runs as `prepare`, so a git install builds itself; it needs only
 * esbuild, not the TypeScript compiler.
 *
 * What stays outside the bundle is what the published package lists as its
 * runtime dependencies: native modules (better-sqlite3, ws's optional
 * bufferutil and utf-8-validate) and Playwright, which finds its driver files
 * on disk next to its own code.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli`;

// Chunk names carry a content hash: stale chunks from the last build would ship with the package.
rmSync(outdir, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['bufferutil', 'utf-8-validate', 'playwright', 'playwright-core', 'better-sqlite3'],
  // Bundled CommonJS libraries call require() for Node built-ins; ESM output has none of its own.
  banner: { js: "import { createRequire as __ceilingRequire } from 'node:module'; const require = __ceilingRequire(import.meta.url);" },
  logLevel: 'warning',
});
