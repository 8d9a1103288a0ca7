import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyResult } from '../../src/core/result.js';
import { runJourney } from '../../src/engine/journey-runner.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { secretLookup } from '../../src/secrets/sources.js';
import { scrubTrace } from '../../src/steps/browser/scrub.js';
import { CountingResources, TestSite, html } from './browser-harness.js';

/**
 * A secret typed into a page, echoed by the server, shown in the page, put in
 * the URL and written into a field by a script: the journey then fails, and
 * neither the trace, nor the screenshots, nor the results may hold it.
 */

// Quotes, angle brackets and an ampersand: the secret takes a different form in JSON, HTML and URLs.
const SECRET = 'Hunter2-s3cret&"<ok>';
const BASE64 = Buffer.from(SECRET).toString('base64');

/** Laid out at fixed places so the test knows where each one is in the picture. */
const boxes = {
  field: { x: 20, y: 40, width: 300, height: 30 },
  echo: { x: 20, y: 120, width: 400, height: 30 },
  reveal: { x: 20, y: 200, width: 400, height: 40 },
};
const at = (box: { x: number; y: number; width: number; height: number }) =>
  `position:absolute;left:${box.x}px;top:${box.y}px;width:${box.width}px;height:${box.height}px;margin:0;box-sizing:border-box`;

const secretPage = html(`<!doctype html><title>Secret</title>
<style>body{margin:0;font:16px sans-serif}</style>
<label for="pw" style="position:absolute;left:20px;top:10px">Password</label>
<input id="pw" type="text" style="${at(boxes.field)}">
<button style="position:absolute;left:340px;top:40px">Go</button>
<p id="echo" style="${at(boxes.echo)}">nothing yet</p>
<textarea id="reveal" style="${at(boxes.reveal)}"></textarea>
<script>
  document.querySelector('button').addEventListener('click', async () => {
    const value = document.querySelector('#pw').value;
    const answer = await fetch('/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) }).then((r) => r.json());
    document.querySelector('#echo').textContent = 'Your secret: ' + answer.value;
    document.querySelector('#reveal').value = answer.value;
    history.pushState({}, '', '/secret?token=' + encodeURIComponent(answer.value));
  });
</script>`);

let site: TestSite;
let outDir: string;
let result: JourneyResult;
const resources = new CountingResources();

beforeAll(async () => {
  site = await TestSite.start({
    '/secret': secretPage,
    '/echo': (_request, response, body) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    },
  });
  outDir = await mkdtemp(path.join(os.tmpdir(), 'ceiling-browser-secrets-'));
  const text = `name: a typed secret stays secret
timeout: 20s
steps:
  - browser.open: { as: alice, baseUrl: "{{ env.SITE }}", viewport: { width: 640, height: 400 } }
  - browser.goto: { as: alice, url: /secret }
  - browser.fill: { as: alice, target: { label: Password }, value: "{{ secrets.PASSWORD }}" }
  - browser.click: { as: alice, target: { role: button, name: Go } }
  - browser.expectText: { as: alice, target: { css: "#echo" }, text: "{{ secrets.PASSWORD }}" }
  - browser.screenshot: { as: alice, name: after-fill }
  - name: fails, with the secret on the page
    browser.expectText: { as: alice, target: { css: "#echo" }, equals: Welcome, within: 300ms }
`;
  const { journey, diagnostics } = await loadJourneyText('secret.yaml', text);
  if (!journey) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  const redactor = new Redactor();
  const env = (name: string) => (name === 'SITE' ? site.url : undefined);
  result = await runJourney(journey, {
    retries: 0,
    vars: {},
    env,
    secret: secretLookup({ PASSWORD: SECRET }, env, redactor),
    redactor,
    resources,
    signal: new AbortController().signal,
    outDir,
  });
});

afterAll(async () => {
  await resources.closeAll();
  await site.stop();
  await rm(outDir, { recursive: true, force: true });
});

function attachment(name: string): string {
  const found = result.attempts[0]?.attachments?.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no attachment "${name}" in ${JSON.stringify(result.attempts[0]?.attachments)}`);
  return found.path;
}

/** Every pixel inside the box (less a border for anti-aliasing) is Playwright's mask colour, #FF00FF. */
function expectMasked(png: PNG, box: { x: number; y: number; width: number; height: number }): void {
  let other = 0;
  for (let y = box.y + 2; y < box.y + box.height - 2; y++) {
    for (let x = box.x + 2; x < box.x + box.width - 2; x++) {
      const offset = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[offset], png.data[offset + 1], png.data[offset + 2]];
      if (r !== 0xff || g !== 0x00 || b !== 0xff) other++;
    }
  }
  expect(other).toBe(0);
}

async function findFile(dir: string, name: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true });
  const match = entries.find((entry) => path.basename(entry) === name);
  if (!match) throw new Error(`no ${name} under ${dir}`);
  return path.join(dir, match);
}

describe('secrets typed into a browser page', () => {
  it('the journey fails at the step meant to fail, after the secret went through the page', () => {
    expect(result.status).toBe('failed');
    const steps = result.attempts[0]!.steps;
    expect(steps.map((step) => step.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'failed']);
    expect(steps[6]!.failure?.message).toMatch(/^text of css #echo is "Your secret: \[REDACTED:PASSWORD\]", expected to be "Welcome"/);
  });

  it('(a) are in no entry of the trace, neither as typed nor in base64', async () => {
    const entries = unzipSync(new Uint8Array(await readFile(attachment('trace alice'))));
    const names = Object.keys(entries);
    expect(names).toContain('trace.trace');
    expect(names).toContain('trace.network');
    // The fill is in the trace, with its value redacted.
    const trace = Buffer.from(entries['trace.trace']!).toString('utf8');
    expect(trace).toContain('[REDACTED:PASSWORD]');
    for (const [name, bytes] of Object.entries(entries)) {
      const content = Buffer.from(bytes);
      for (const form of [SECRET, BASE64, JSON.stringify(SECRET).slice(1, -1), encodeURIComponent(SECRET), 'Hunter2-s3cret']) {
        expect(content.includes(Buffer.from(form)), `${name} holds ${form}`).toBe(false);
      }
    }
  });

  it('(b) are masked in the failure screenshot and in named screenshots', async () => {
    for (const file of [attachment('screenshot alice'), await findFile(path.join(outDir, 'screenshots'), 'after-fill.png')]) {
      const png = PNG.sync.read(await readFile(file));
      expect([png.width, png.height]).toEqual([640, 400]);
      // The field the secret was typed into, the text that echoes it, and the field a script filled with it.
      expectMasked(png, boxes.field);
      expectMasked(png, boxes.echo);
      expectMasked(png, boxes.reveal);
    }
  });

  it('(c) are in no step result', () => {
    const json = JSON.stringify(result);
    expect(json).not.toContain('Hunter2-s3cret');
    expect(json).not.toContain(BASE64);
    expect(json).toContain('[REDACTED:PASSWORD]');
  });
});

describe('scrubTrace', () => {
  const redactor = new Redactor();
  redactor.add(SECRET, 'pw');

  it('redacts text entries, JSON inside JSON included, and drops binary entries that hold a secret', async () => {
    const nested = JSON.stringify({ request: { postData: JSON.stringify({ value: SECRET }) } });
    const zip = zipSync({
      'trace.trace': strToU8(`${nested}\n{"plain":"no secret here"}\n`),
      'resources/page.html': strToU8(`<p>${SECRET.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</p>`),
      'resources/font.woff2': new Uint8Array([0, 1, 2, 3, 0, 9]),
      'resources/blob.bin': new Uint8Array([0, ...Buffer.from(SECRET), 0]),
      'resources/utf16.bin': new Uint8Array([0, ...Buffer.from(SECRET, 'utf16le')]),
    });
    const scrubbed = await scrubTrace(zip, redactor);
    const entries = unzipSync(scrubbed.zip);
    expect(Object.keys(entries).sort()).toEqual(['resources/font.woff2', 'resources/page.html', 'trace.trace']);
    expect(scrubbed.dropped.sort()).toEqual(['resources/blob.bin', 'resources/utf16.bin']);
    const trace = Buffer.from(entries['trace.trace']!).toString('utf8');
    expect(trace).not.toContain('Hunter2');
    expect(JSON.parse(JSON.parse(trace.split('\n')[0]!).request.postData)).toEqual({ value: '[REDACTED:pw]' });
    expect(trace.split('\n')[1]).toBe('{"plain":"no secret here"}');
    expect(Buffer.from(entries['resources/page.html']!).toString('utf8')).toBe('<p>[REDACTED:pw]</p>');
    expect(Array.from(entries['resources/font.woff2']!)).toEqual([0, 1, 2, 3, 0, 9]);
  });

  it('leaves a trace alone when there are no secrets', async () => {
    const zip = zipSync({ 'trace.trace': strToU8('{"a":1}\n') });
    expect((await scrubTrace(zip, new Redactor())).zip).toBe(zip);
  });
});
