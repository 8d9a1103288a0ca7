import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/serve/http-api.js';
import type { JourneyView } from '../../src/serve/model.js';
import { renderStatusPage, type StatusPageMeta } from '../../src/serve/status-page.js';
import { launchChromium } from '../../src/steps/browser/launch.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const MINUTE = 60_000;
const meta: StatusPageMeta = { location: 'eu-west', target: 'staging', version: '0.1.0', now: NOW };
const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

function view(journey: string, overrides: Partial<JourneyView> = {}): JourneyView {
  return {
    journey,
    file: `journeys/${journey}.yaml`,
    tags: [],
    schedule: 'every 1m',
    running: false,
    skippedRuns: 0,
    recent: [],
    health: 'passing',
    consecutiveFailures: 0,
    alerting: false,
    ...overrides,
  };
}

const passing = view('secret reads back once', {
  health: 'passing',
  lastRunAt: NOW - MINUTE,
  lastPassAt: NOW - 12 * MINUTE,
  recent: [
    { startedAt: NOW - 3 * MINUTE, durationMs: 420, result: 'passed' },
    { startedAt: NOW - 2 * MINUTE, durationMs: 610, result: 'passed' },
    { startedAt: NOW - MINUTE, durationMs: 380, result: 'passed' },
  ],
});
const failing = view('chat announces who left', {
  health: 'failing',
  tags: ['chat', 'critical'],
  consecutiveFailures: 3,
  lastFailure: { at: NOW - 2 * MINUTE, step: 'alice hears bob leave', code: 'CEIL_WS_EXPECT_TIMEOUT', message: 'no message matched {"type":"left"} within 2s' },
  recent: [
    { startedAt: NOW - 3 * MINUTE, durationMs: 900, result: 'passed' },
    { startedAt: NOW - 2 * MINUTE, durationMs: 2_100, result: 'failed' },
  ],
});
const flaky = view('comments render', {
  health: 'flaky',
  running: true,
  lastPassAt: NOW - 30_000,
  lastFailure: { at: NOW - 40_000, code: 'CEIL_HTTP_CONNECT', message: 'connect ECONNREFUSED' },
  recent: [{ startedAt: NOW - 40_000, durationMs: 1_500, result: 'flaky' }],
});

/** The HTML of each journey's row, in page order. */
function rows(html: string): { name: string; health: string; html: string }[] {
  return [...html.matchAll(/<tr data-journey="([^"]*)" data-health="([^"]*)">([\s\S]*?)<\/tr>/g)].map(([, name = '', health = '', body = '']) => ({
    name,
    health,
    html: body,
  }));
}

describe('renderStatusPage', () => {
  it('puts failing journeys first, then flaky, then passing and unknown, each by name', () => {
    const html = renderStatusPage(
      [
        view('b passing'),
        view('z failing', { health: 'failing' }),
        view('a unknown', { health: 'unknown' }),
        view('m flaky', { health: 'flaky' }),
        view('a failing', { health: 'failing' }),
        view('c passing'),
      ],
      meta,
    );
    expect(rows(html).map((row) => `${row.health} ${row.name}`)).toEqual([
      'failing a failing',
      'failing z failing',
      'flaky m flaky',
      'unknown a unknown',
      'passing b passing',
      'passing c passing',
    ]);
  });

  it('summarises the counts in the header and says "never" for a journey that never passed', () => {
    const html = renderStatusPage([passing, failing, flaky, view('new one', { health: 'unknown' })], meta);
    expect(html).toContain('1 passing · 1 failing · 1 flaky · 1 not run yet');
    const byName = new Map(rows(html).map((row) => [row.name, row.html]));
    expect(byName.get('chat announces who left')).toContain('>never<');
    expect(byName.get('secret reads back once')).toContain('>12m ago<');
    expect(byName.get('comments render')).toContain('>30s ago<');
  });

  it("shows the last failure's step, code and message only for failing and flaky journeys", () => {
    const recovered = view('recovered', { health: 'passing', lastFailure: { at: NOW - MINUTE, code: 'CEIL_OLD', message: 'an old failure' } });
    const [chat, comments, ok] = rows(renderStatusPage([failing, flaky, recovered], meta));
    expect(chat?.html).toContain('Step <strong>alice hears bob leave</strong>');
    expect(chat?.html).toContain('<code>CEIL_WS_EXPECT_TIMEOUT</code>');
    expect(chat?.html).toContain('3 runs in a row');
    expect(comments?.html).toContain('<code>CEIL_HTTP_CONNECT</code> <span class="reason">connect ECONNREFUSED</span>');
    expect(comments?.html).not.toContain('Step <strong>');
    expect(comments?.html).toContain('>running<');
    expect(ok?.html).not.toContain('CEIL_OLD');
  });

  it('draws the recent runs newest last, with a tooltip each, and a sparkline point per run', () => {
    const [chat] = rows(renderStatusPage([failing], meta));
    const squares = [...(chat?.html ?? '').matchAll(/<span class="run (\w+)" title="([^"]*)"><\/span>/g)];
    expect(squares.map(([, result]) => result)).toEqual(['passed', 'failed']);
    expect(squares[1]?.[2]).toBe(`failed · ${new Date(NOW - 2 * MINUTE).toISOString()} · 2.10 s`);
    const points = /<polyline points="([^"]*)"/.exec(chat?.html ?? '')?.[1]?.split(' ');
    // 900 ms of the slowest 2100 ms sits 9/21 of the way up the 20 px the line may use, below a 2 px margin.
    expect(points).toEqual(['0,13.4', '120,2']);
  });

  it('highlights the critical tag and shows the schedule', () => {
    const [chat] = rows(renderStatusPage([{ ...failing, nextRunAt: NOW + 4 * MINUTE, skippedRuns: 2 }], meta));
    expect(chat?.html).toContain('<li class="tag critical">critical</li>');
    expect(chat?.html).toContain('<li class="tag">chat</li>');
    expect(chat?.html).toContain('every 1m');
    expect(chat?.html).toContain('>next in 4m<');
    expect(chat?.html).toContain('2 skipped');
  });

  it('badges a journey that is running, or due and waiting for a slot', () => {
    const [running, queued, idle] = ['running one', 'queued one', 'idle one'].map(
      (name, index) => rows(renderStatusPage([view(name, { running: index === 0, ...(index === 1 ? { queued: true } : {}) })], meta))[0]?.html ?? '',
    );
    expect(running).toContain('>running<');
    expect(queued).toContain('>queued<');
    expect(queued).not.toContain('>running<');
    expect(idle).not.toMatch(/>(running|queued)</);
  });

  it('escapes every string that comes from journeys or configuration', () => {
    const html = renderStatusPage(
      [
        view(HOSTILE_NAME, {
          health: 'failing',
          file: 'journeys/"quoted".yaml',
          tags: ['<b>tag</b>'],
          schedule: "cron '<x>'",
          lastFailure: { at: NOW, step: '<script>alert(2)</script>', code: 'A&B', message: 'expected "<div>" & got \'</td>\'' },
        }),
      ],
      { ...meta, location: '<loc>', target: 'a&b', version: '"1"' },
    );
    expect(html).not.toMatch(/<img|<script|<b>|<x>|<div>|<loc>/);
    expect(html).toContain('data-journey="&lt;img src=x onerror=alert(1)&gt;"');
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('expected &quot;&lt;div&gt;&quot; &amp; got &#39;&lt;/td&gt;&#39;');
    expect(html).toContain('<strong>a&amp;b</strong>');
    expect(html).toContain('journeys/&quot;quoted&quot;.yaml');
  });

  it('refreshes itself every 30 s unless told otherwise, and declares its language', () => {
    expect(renderStatusPage([], meta)).toContain('<meta http-equiv="refresh" content="30">');
    expect(renderStatusPage([], { ...meta, refreshSeconds: 5 })).toContain('<meta http-equiv="refresh" content="5">');
    expect(renderStatusPage([], { ...meta, refreshSeconds: 0 })).not.toContain('http-equiv="refresh"');
    const empty = renderStatusPage([], meta);
    expect(empty).toContain('<html lang="en">');
    expect(empty).toContain('No journeys are loaded.');
  });

  it('references nothing outside the document', () => {
    const html = renderStatusPage([passing, failing, flaky], meta);
    expect(html).not.toMatch(/<script|<link rel="stylesheet"|src=|url\(|@import/);
    expect([...html.matchAll(/href="([^"]*)"/g)].map(([, href]) => href?.slice(0, 5))).toEqual(['data:']);
  });
});

interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** Share of the screenshot's pixels that satisfy `test`: the badge's text is a minority, its background the majority. */
function shareOfPixels(png: Buffer, test: (pixel: Rgb) => boolean): number {
  const image = PNG.sync.read(png);
  let matching = 0;
  for (let offset = 0; offset < image.data.length; offset += 4) {
    if (test({ r: image.data[offset] ?? 0, g: image.data[offset + 1] ?? 0, b: image.data[offset + 2] ?? 0 })) matching += 1;
  }
  return matching / (image.width * image.height);
}

describe('the status page in Chromium', () => {
  let browser: Browser;
  let server: http.Server;
  let pageUrl: string;
  let page: Page;
  const requested: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    const hostile = view(HOSTILE_NAME, { health: 'failing', lastFailure: { at: NOW, code: 'CEIL_X', message: '<img src=y onerror=alert(2)>' } });
    const html = renderStatusPage([passing, failing, flaky, hostile], meta);
    server = http.createServer(
      createApiHandler({
        statusPage: () => html,
        journeys: () => [],
        runs: () => undefined,
        trigger: () => ({ started: [], queued: [], busy: [], unknown: [] }),
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        health: () => ({ ok: true, detail: {} }),
        allowAnonymousTrigger: false,
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    ({ browser } = await launchChromium());
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (request) => requested.push(request.url()));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(pageUrl, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("shows the failing journey's step and reason", async () => {
    const row = page.locator('[data-journey="chat announces who left"]');
    await expect(row.getAttribute('data-health')).resolves.toBe('failing');
    const failure = await row.locator('[data-failure]').innerText();
    expect(failure).toContain('alice hears bob leave');
    expect(failure).toContain('CEIL_WS_EXPECT_TIMEOUT');
    expect(failure).toContain('no message matched {"type":"left"} within 2s');
    await expect(row.locator('[data-status]').innerText()).resolves.toBe('Failing');
  });

  it('paints the failing status red and the passing one green', async () => {
    const failingBadge = await page.locator('[data-journey="chat announces who left"] [data-status]').screenshot();
    const passingBadge = await page.locator('[data-journey="secret reads back once"] [data-status]').screenshot();
    const red = ({ r, g, b }: Rgb): boolean => r > 150 && g < 90 && b < 90;
    const green = ({ r, g, b }: Rgb): boolean => g > 90 && r < 80 && b < 100 && g > r + 40;
    expect(shareOfPixels(failingBadge, red)).toBeGreaterThan(0.6);
    expect(shareOfPixels(failingBadge, green)).toBe(0);
    expect(shareOfPixels(passingBadge, green)).toBeGreaterThan(0.6);
    expect(shareOfPixels(passingBadge, red)).toBe(0);
  });

  it('renders a hostile journey name as text and runs nothing from it', async () => {
    const row = page.locator(`[data-journey="${HOSTILE_NAME}"]`);
    await expect(row.locator('.name').innerText()).resolves.toBe(HOSTILE_NAME);
    await expect(row.locator('.reason').innerText()).resolves.toBe('<img src=y onerror=alert(2)>');
    await expect(page.locator('img').count()).resolves.toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('lists the journeys failing first, and loads nothing but the page itself', async () => {
    const names = await page.locator('tr[data-journey]').evaluateAll((elements) => elements.map((element) => element.getAttribute('data-journey')));
    expect(names).toEqual([HOSTILE_NAME, 'chat announces who left', 'comments render', 'secret reads back once']);
    await expect(page.locator('h1').innerText()).resolves.toBe('Ceiling status');
    await expect(page.locator('[data-summary]').innerText()).resolves.toBe('1 passing · 2 failing · 1 flaky');
    expect(requested).toEqual([pageUrl]);
  });
});

describe('status page with several targets (serve --config)', () => {
  it('groups the rows under their target group, each row naming its target, each group with its own counts', () => {
    const html = renderStatusPage(
      [
        view('chat', { target: 'web/127.0.0.1:8081', targetGroup: 'web' }),
        view('chat', { target: 'web/127.0.0.1:8082', targetGroup: 'web', health: 'failing' }),
        view('chat', { target: 'canary', targetGroup: 'canary' }),
      ],
      meta,
    );
    const groups = [...html.matchAll(/<tbody data-target-group="([^"]+)">([\s\S]*?)<\/tbody>/g)].map((match) => ({
      group: match[1],
      targets: [...match[2]!.matchAll(/data-target="([^"]+)"/g)].map((row) => row[1]),
      heading: /<tr class="group"><th[^>]*>([\s\S]*?)<\/th>/.exec(match[2]!)?.[1],
    }));
    expect(groups.map((group) => group.group)).toEqual(['canary', 'web']);
    expect(groups[1]!.targets).toEqual(['web/127.0.0.1:8082', 'web/127.0.0.1:8081']);
    expect(groups[1]!.heading).toContain('2 targets · 1 passing · 1 failing');
    expect(groups[0]!.targets).toEqual(['canary']);
  });

  it('a single-target page keeps one body and no group headings', () => {
    const html = renderStatusPage([view('chat')], meta);
    expect(html).not.toContain('data-target-group');
    expect(html).not.toContain('data-target=');
  });
});
