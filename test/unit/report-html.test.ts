import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FailureInfo, RunResult } from '../../src/core/result.js';
import { HtmlReporter, loadAttachmentViews, MAX_EMBEDDED_IMAGE_BYTES, renderHtml } from '../../src/report/html.js';
import { markup } from '../../src/report/html-text.js';
import { brokenAttempt, captureStream, journeyResult, mismatch, passedJourney, runResult, stepResult } from './report-fixture.js';

const HOSTILE = '<script>alert(1)</script>';

function tinyPng(): Buffer {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(255);
  return PNG.sync.write(png);
}

function hostileRun(): RunResult {
  const failure: FailureInfo = {
    class: 'assertion',
    code: 'CEIL_EXPECT_JSON',
    message: `the page said ${HOSTILE}`,
    path: 'json.title',
    expected: { title: 'Welcome "home"' },
    actual: { title: HOSTILE },
    hint: 'check <b>the</b> title',
  };
  const attempt = brokenAttempt(1, failure);
  attempt.steps[1]!.name = 'read "quoted" <img src=x onerror=alert(2)>';
  return runResult([journeyResult({ name: 'journey "with" <quotes>', status: 'failed', attempts: [attempt] })]);
}

/** Every `<script` in the page, case-insensitive: the report itself has none. */
const scriptTags = (page: string): number => page.match(/<script/gi)?.length ?? 0;

describe('renderHtml', () => {
  it('escapes hostile target text in messages, values, step and journey names', () => {
    const page = renderHtml(hostileRun());
    expect(scriptTags(page)).toBe(0);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<b>the</b>');
    expect(page).toContain('the page said &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('read &quot;quoted&quot; &lt;img src=x onerror=alert(2)&gt;');
    expect(page).toContain('journey &quot;with&quot; &lt;quotes&gt;');
    expect(page).toContain('hint: check &lt;b&gt;the&lt;/b&gt; title');
  });

  it('shows the failing step with its kind, file:line:col and duration, and expected against actual as pretty JSON', () => {
    const page = renderHtml(runResult([journeyResult({ name: 'a dropped secret reads back once', status: 'failed', attempts: [brokenAttempt(1, mismatch)] })]));
    expect(page).toContain('journeys/secret-roundtrip.yaml:10:5');
    expect(page).toContain('<code>http</code>');
    expect(page).toContain('48ms');
    expect(page).toContain('CEIL_EXPECT_JSON');
    expect(page).toContain('(assertion)');
    expect(page).toContain('json.value differs from what was stored');
    expect(page).toContain('<pre class="expected">{\n  &quot;value&quot;: &quot;abc&quot;\n}</pre>');
    expect(page).toContain('<pre class="actual">{\n  &quot;value&quot;: &quot;xyz&quot;\n}</pre>');
    expect(page).toContain('hint: the service returned another secret; check the id capture');
  });

  it('states the verdict and totals, and lists failing journeys first, open', () => {
    const page = renderHtml(runResult([passedJourney(), journeyResult({ name: 'broken one', status: 'failed', attempts: [brokenAttempt(1, mismatch)] })]));
    expect(page).toContain('Ceiling run <span class="badge failed">failed</span>');
    expect(page).toMatch(/<b>2<\/b>journeys[\s\S]*<b>1<\/b>passed[\s\S]*<b>1<\/b>failed/);
    expect(page.indexOf('broken one')).toBeLessThan(page.indexOf('chat announces who left'));
    expect(page).toMatch(/<details class="journey" id="journey-2" open>/);
    expect(page).toMatch(/<details class="journey" id="journey-1">/);
  });

  it('shows every attempt of a retried journey, and HTTP phases when a step has them', () => {
    const phases = { dnsMs: 1, connectMs: 2, tlsMs: 0, firstByteMs: 31, bodyMs: 4, totalMs: 38 };
    const retried = journeyResult({
      name: 'retried',
      status: 'failed',
      attempts: [brokenAttempt(1, mismatch), { ...brokenAttempt(2, mismatch), steps: [stepResult({ index: 0, name: 'timed', phases })] }],
    });
    const page = renderHtml(runResult([retried]));
    expect(page).toContain('attempt 1 of 2');
    expect(page).toContain('attempt 2 of 2');
    expect(page).toContain('dns 1ms · connect 2ms · tls 0ms · first byte 31ms · body 4ms (total 38ms)');
  });

  it('embeds a screenshot as a data URI and links traces relative to the report', () => {
    const attempt = {
      ...brokenAttempt(1, mismatch),
      attachments: [
        { name: 'screenshot alice', path: 'out/artifacts/j/attempt-1/alice.png', contentType: 'image/png' },
        { name: 'trace alice', path: 'out/artifacts/j/attempt-1/alice trace.zip', contentType: 'application/zip' },
      ],
    };
    const views = new Map([
      ['out/artifacts/j/attempt-1/alice.png', { href: 'artifacts/j/attempt-1/alice.png', embedded: 'data:image/png;base64,iVBORw0KGgo=' }],
      ['out/artifacts/j/attempt-1/alice trace.zip', { href: 'artifacts/j/attempt-1/alice%20trace.zip' }],
    ]);
    const page = renderHtml(runResult([journeyResult({ name: 'comments', status: 'failed', attempts: [attempt] })]), views);
    expect(page).toContain('<img src="data:image/png;base64,iVBORw0KGgo=" alt="screenshot alice" />');
    expect(page).toContain('<a href="artifacts/j/attempt-1/alice%20trace.zip">out/artifacts/j/attempt-1/alice trace.zip</a>');
    expect(page).toContain('npx playwright show-trace');
  });

  it('allows no network and no script: a CSP with default-src none, and no external URL', () => {
    const page = renderHtml(hostileRun());
    expect(page).toContain(`content="default-src 'none'; img-src data:;`);
    expect(page).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(page).not.toContain('@import');
    // The stylesheet is markup as written: an escaped `>` would break its child selectors.
    expect(page).toContain('details.journey > summary');
    expect(page).toContain('"Segoe UI"');
  });
});

describe('the markup tag', () => {
  it('escapes interpolated text but keeps markup it built itself', () => {
    const inner = markup`<i>${'<b>'}</i>`;
    expect(markup`<p title="${'"x"'}">${inner}${['<', markup`<br>`]}${false}${undefined}</p>`.text).toBe(
      '<p title="&quot;x&quot;"><i>&lt;b&gt;</i>&lt;<br></p>',
    );
    // A look-alike object is text, not markup.
    expect(markup`${{ text: '<script>' } as unknown as string}`.text).toBe('[object Object]');
  });
});

describe('HtmlReporter and its screenshots on disk', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ceiling-html-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function runWith(attachments: { name: string; path: string; contentType: string }[]): RunResult {
    const attempt = { ...brokenAttempt(1, mismatch), attachments };
    return runResult([journeyResult({ name: 'with evidence', status: 'failed', attempts: [attempt] })]);
  }

  it('writes one file that embeds the PNG from disk and links the trace relative to the report', async () => {
    const png = tinyPng();
    await mkdir(path.join(dir, 'out/artifacts/j/attempt-1'), { recursive: true });
    await writeFile(path.join(dir, 'out/artifacts/j/attempt-1/alice.png'), png);
    const result = runWith([
      { name: 'screenshot alice', path: 'out/artifacts/j/attempt-1/alice.png', contentType: 'image/png' },
      { name: 'trace alice', path: 'out/artifacts/j/attempt-1/alice.zip', contentType: 'application/zip' },
    ]);
    const reportPath = path.join(dir, 'out/report.html');
    await new HtmlReporter({ path: reportPath, stdout: captureStream().stream }, { baseDir: dir }).onRunEnd(result);
    const page = await readFile(reportPath, 'utf8');
    expect(page).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    expect(page).toContain('<a href="artifacts/j/attempt-1/alice.zip">');
  });

  it('links but does not embed a screenshot over the size bound, a missing one, or a file that is not a PNG, and says why', async () => {
    await writeFile(path.join(dir, 'big.png'), Buffer.alloc(MAX_EMBEDDED_IMAGE_BYTES + 1));
    await writeFile(path.join(dir, 'fake.png'), '<script>alert(1)</script>');
    const result = runWith([
      { name: 'big', path: 'big.png', contentType: 'image/png' },
      { name: 'gone', path: 'gone.png', contentType: 'image/png' },
      { name: 'fake', path: 'fake.png', contentType: 'image/png' },
    ]);
    const views = await loadAttachmentViews(result, dir, dir);
    expect(views.get('big.png')).toEqual({ href: 'big.png', note: 'not embedded: 5.0 MiB, over the 5.0 MiB the report embeds per screenshot' });
    expect(views.get('gone.png')).toEqual({ href: 'gone.png', note: 'not embedded: the file is missing' });
    expect(views.get('fake.png')).toEqual({ href: 'fake.png', note: 'not embedded: not a PNG file' });
    const page = renderHtml(result, views);
    expect(page).not.toContain('data:image/png');
    expect(page).toContain('(not embedded: the file is missing)');
  });
});
