/**
 * README's "Writing your first journey" must work as written: its YAML blocks
 * (each marked `<!-- walkthrough: passes -->` or `<!-- walkthrough: fails CODE -->`)
 * run with the real CLI, as documented, against the demo chat started with the
 * documented command, and the failure prints the lines README shows.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { root, runCli } from './cli.js';
import { Cleanup } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface WalkthroughBlock {
  yaml: string;
  outcome: { passes: true } | { passes: false; code: string };
}

function walkthroughBlocks(readme: string): WalkthroughBlock[] {
  const marked = /<!-- walkthrough: (passes|fails ([A-Z_]+)) -->\n```yaml\n([\s\S]*?)```/g;
  return [...readme.matchAll(marked)].map((match) => ({
    yaml: match[3]!,
    outcome: match[1] === 'passes' ? { passes: true } : { passes: false, code: match[2]! },
  }));
}

/** The failure lines README shows, without the first (its timing varies run to run). */
function documentedFailureLines(readme: string): string[] {
  const block = /<!-- walkthrough-output -->\n```\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README has no <!-- walkthrough-output --> block');
  return block[1]!
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** `node dist/fixtures/serve.js chat`, as README says, on a free port; resolves with its WebSocket URL. */
async function startDemoChat(): Promise<string> {
  const child = spawn(process.execPath, [path.join(root, 'dist/fixtures/serve.js'), 'chat', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  cleanup.add({
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on http:\/\/([\d.:]+)/.exec(output);
      if (url) resolve(`ws://${url[1]}/`);
    });
    child.once('close', (code) => reject(new Error(`the demo chat exited (${code}) before listening: ${output}`)));
  });
}

describe('README walkthrough: writing your first journey', () => {
  it('passes, passes again, then fails with the documented code and lines', { timeout: 120_000 }, async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const blocks = walkthroughBlocks(readme);
    expect(blocks.map((block) => block.outcome)).toEqual([{ passes: true }, { passes: true }, { passes: false, code: 'CEIL_WS_EXPECT_TIMEOUT' }]);
    const chatUrl = await startDemoChat();
    const dir = await cleanup.dir();

    for (const block of blocks) {
      await writeFile(path.join(dir, 'first.yaml'), block.yaml);
      const run = await runCli(['run', 'first.yaml'], { cwd: dir, env: { CHAT_URL: chatUrl }, killAfterMs: 60_000 });
      expect(run.killed).toBe(false);
      if (block.outcome.passes) {
        expect(run.stdout).toMatch(/PASS\s+my first journey/);
        expect(run.code).toBe(0);
        continue;
      }
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/FAIL\s+my first journey/);
      expect(run.stdout).toContain(`assertion ${block.outcome.code}:`);
      const printed = run.stdout.split('\n').map((line) => line.trim());
      for (const line of documentedFailureLines(readme)) expect(printed).toContain(line);
    }
  });
});
