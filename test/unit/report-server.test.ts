import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReportServer, type ReportServer } from '../../src/cli/report-server.js';

describe('the show-report server', () => {
  let dir = '';
  let outside = '';
  let server: ReportServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ceiling-report-server-'));
    outside = await mkdtemp(path.join(os.tmpdir(), 'ceiling-outside-'));
    await writeFile(path.join(dir, 'report.html'), '<!doctype html><title>report</title>');
    await mkdir(path.join(dir, 'artifacts/j 1'), { recursive: true });
    await writeFile(path.join(dir, 'artifacts/j 1/alice.png'), 'png bytes');
    await writeFile(path.join(outside, 'private.txt'), 'not for the browser');
    await symlink(path.join(outside, 'private.txt'), path.join(dir, 'artifacts/link.txt'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('serves the report at / with a no-network policy, and the files beside it', async () => {
    server = await startReportServer(path.join(dir, 'report.html'), 0);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toBe('<!doctype html><title>report</title>');
    const shot = await fetch(`${server.url}artifacts/j%201/alice.png`);
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/png');
    expect(await shot.text()).toBe('png bytes');
  });

  it('reaches nothing outside the report folder, symbolic links included, and answers only GET and HEAD', async () => {
    server = await startReportServer(path.join(dir, 'report.html'), 0);
    const escape = path.relative(dir, path.join(outside, 'private.txt')).split(path.sep).map(encodeURIComponent).join('%2f');
    for (const probe of [escape, 'artifacts/link.txt', 'artifacts', 'missing.html', '%E0%A4%A']) {
      const response = await fetch(`${server.url}${probe}`);
      expect(response.status, probe).toBe(404);
      expect(await response.text()).not.toContain('not for the browser');
    }
    expect((await fetch(server.url, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(server.url, { method: 'HEAD' })).status).toBe(200);
  });
});
