/**
 * The HTML report through the real CLI: a browser journey in real Chromium
 * fails against the demo comments board (its phantom-save bug), and an HTTP
 * journey gets a planted secret echoed back in a failing expectation. The
 * page embeds the failure screenshot, shows where and why, escapes a hostile
 * journey name, and holds no form of the secret. `show-report --serve`
 * serves it until SIGINT.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startComments } from '../../fixtures/comments.js';
import type { RunningService } from '../../fixtures/service.js';
import type { RunResult } from '../../src/core/result.js';
import { findChromium } from '../../src/steps/browser/discovery.js';
import { root, runCli } from './cli.js';
import { Cleanup, outcomeOf, show } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let comments: RunningService;
beforeAll(async () => {
  comments = await startComments({ bugs: ['phantom-save'] });
});
afterAll(() => comments?.close());

/** `<`, `>`, `&`, a slash and a plus: its HTML-escaped, URL-encoded and base64 forms all differ from the raw value. */
const CANARY = 'Html-CANARY q/7+&x<9>';

function formsOf(secret: string): Record<string, string> {
  return {
    raw: secret,
    base64: Buffer.from(secret).toString('base64'),
    'base64 unpadded': Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    base64url: Buffer.from(secret).toString('base64url'),
    encodeURIComponent: encodeURIComponent(secret),
    'form-encoded': new URLSearchParams([['x', secret]]).toString().slice(2),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    'HTML-escaped': secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  };
}

/** Every form, and every 8-character piece of the raw and HTML-escaped value: half a secret is still a leak. */
function leaksIn(page: string): string[] {
  const found: string[] = [];
  for (const [form, text] of Object.entries(formsOf(CANARY))) {
    if (page.includes(text)) found.push(`${form}: ${text}`);
    if (form !== 'raw' && form !== 'HTML-escaped') continue;
    for (let start = 0; start + 8 <= text.length; start++) {
      const piece = text.slice(start, start + 8);
      if (page.includes(piece)) found.push(`${form} piece: ${piece}`);
    }
  }
  return found;
}

const HOSTILE_NAME = 'the board echoes <script>alert(1)</script> "back"';

const JOURNEYS = {
  'browser.yaml': `name: a comment with a canary reaches other readers
timeout: 30s
steps:
  - browser.open: { as: alice }
  - browser.goto: { as: alice, url: "{{ env.COMMENTS_URL }}/" }
  - browser.fill: { as: alice, target: { label: Comment }, value: "note {{ secrets.HTML_CANARY }}" }
  - browser.click: { as: alice, target: { role: button, name: Post } }
  - name: alice is told it saved
    browser.expectText: { as: alice, target: { testId: status }, equals: Saved! }
  - browser.open: { as: bob }
  - browser.goto: { as: bob, url: "{{ env.COMMENTS_URL }}/" }
  - name: bob sees the comment
    browser.expectVisible: { as: bob, target: { text: "note {{ secrets.HTML_CANARY }}" }, within: 2s }
`,
  'http.yaml': `name: '${HOSTILE_NAME}'
steps:
  - name: post the canary
    http:
      method: POST
      url: "{{ env.COMMENTS_URL }}/api/comments"
      json: { text: "note {{ secrets.HTML_CANARY }}" }
    expect: { status: 201, json: { text: "something else" } }
`,
};

const browserPath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : findChromium().executable;

/** Runs both journeys with the html and json reporters writing into --out. */
async function runWithHtml() {
  const dir = await cleanup.dir(JOURNEYS);
  const out = await cleanup.dir();
  const run = await runCli(['run', dir, '--out', out, '--reporter', 'html', '--reporter', 'json', '--concurrency', '1', '--browser-path', browserPath], {
    env: { COMMENTS_URL: comments.url, HTML_CANARY: CANARY },
    killAfterMs: 50_000,
  });
  const page = await readFile(path.join(out, 'report.html'), 'utf8').catch(() => undefined);
  const json = await readFile(path.join(out, 'results.json'), 'utf8').then(
    (text) => JSON.parse(text) as RunResult,
    () => undefined,
  );
  return { run, out, page, json };
}

describe('the HTML report of a real run', () => {
  it('embeds the failure screenshot, shows where and why, escapes target text and holds no form of the planted secret', { timeout: 90_000 }, async () => {
    const { run, out, page, json } = await runWithHtml();
    expect(run.killed, show(run)).toBe(false);
    expect(run.code, show(run)).toBe(1);
    expect(page, show(run)).toBeDefined();
    const html = page!;

    // The browser journey failed at bob's step, with a screenshot; the page embeds that very file.
    const browser = outcomeOf(json, 'a comment with a canary reaches other readers');
    expect(browser.status).toBe('failed');
    expect(browser.step?.name).toBe('bob sees the comment');
    const shots = (browser.journey.attempts.at(-1)?.attachments ?? []).filter((item) => item.contentType === 'image/png');
    expect(shots.length, JSON.stringify(browser.journey.attempts.at(-1)?.attachments)).toBeGreaterThan(0);
    for (const shot of shots) {
      const png = await readFile(path.resolve(root, shot.path));
      expect(html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    }
    const trace = browser.journey.attempts.at(-1)?.attachments?.find((item) => item.contentType === 'application/zip');
    if (trace) expect(html).toContain(`href="${path.relative(out, path.resolve(root, trace.path)).split(path.sep).map(encodeURIComponent).join('/')}"`);
    const where = `${browser.step!.location.file}:${browser.step!.location.line}:${browser.step!.location.column}`;
    expect(html).toContain(where);
    expect(html).toContain(browser.failure!.code);

    // The HTTP journey's failure shows expected against actual, the secret redacted in it.
    const echoed = outcomeOf(json, HOSTILE_NAME);
    expect(echoed.failure?.class).toBe('assertion');
    expect(JSON.stringify(echoed.failure?.actual)).toContain('[REDACTED');
    expect(html).toContain('<pre class="expected">');
    expect(html).toContain('something else');
    expect(html).toContain('[REDACTED');

    // The hostile journey name is text, and the page runs and fetches nothing.
    expect(html).toContain('the board echoes &lt;script&gt;alert(1)&lt;/script&gt; &quot;back&quot;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(?:src|href)="(?:[a-z]+:)?\/\//i);

    expect(leaksIn(html)).toEqual([]);

    // show-report --serve serves this very file, and the screenshots beside it, until SIGINT.
    let served: { status: number; body: string } | undefined;
    let traversal: number | undefined;
    let failure: unknown;
    const serve = await runCli(['show-report', path.join(out, 'report.html'), '--serve'], {
      killAfterMs: 30_000,
      onSpawn: (pid, output) => {
        void (async () => {
          try {
            let url: string | undefined;
            while (url === undefined) {
              url = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output.stdout())?.[1];
              if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
            }
            const response = await fetch(url);
            served = { status: response.status, body: await response.text() };
            traversal = (await fetch(`${url}..%2f..%2f..%2fetc%2fpasswd`)).status;
          } catch (error) {
            failure = error;
          } finally {
            process.kill(pid, 'SIGINT');
          }
        })();
      },
    });
    expect(failure).toBeUndefined();
    expect(serve.killed, show(serve)).toBe(false);
    expect(serve.code, show(serve)).toBe(0);
    expect(served?.status).toBe(200);
    expect(served?.body).toBe(html);
    expect(traversal).toBe(404);
  });
});

describe('ceiling show-report', () => {
  it('a missing report is exit 2 with what to do', async () => {
    const dir = await cleanup.dir();
    const run = await runCli(['show-report', path.join(dir, 'nope.html')]);
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toContain('no HTML report at');
    expect(run.stderr).toContain('ceiling run --reporter html');
  });

  it('prints the path of the report, given the file or its folder, and opens no browser outside a terminal', async () => {
    const dir = await cleanup.dir({ 'report.html': '<!doctype html><title>r</title>' });
    const byFile = await runCli(['show-report', path.join(dir, 'report.html')]);
    expect(byFile.code, show(byFile)).toBe(0);
    expect(byFile.stdout.trim()).toBe(path.join(dir, 'report.html'));
    const byFolder = await runCli(['show-report', dir]);
    expect(byFolder.stdout.trim()).toBe(path.join(dir, 'report.html'));
  });
});
