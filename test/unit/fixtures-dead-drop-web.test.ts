import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';

let service: RunningService | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await service?.close();
  service = undefined;
  await agent?.close();
  agent = undefined;
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(method: string, path: string, body?: string): Promise<Reply> {
  agent ??= new Agent();
  const res = await request(new URL(path, service!.url), {
    method: method as 'GET',
    dispatcher: agent,
    headersTimeout: 3000,
    bodyTimeout: 3000,
    ...(body !== undefined && { body, headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function create(value: string): Promise<string> {
  const res = await call('POST', '/secrets', JSON.stringify({ value }));
  expect(res.status).toBe(201);
  return (JSON.parse(res.text) as { id: string }).id;
}

/** The checks every page shares: HTML, not cached, no referrer, only its own nonce-tagged code. */
function expectCarefulPage(res: Reply): void {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  const csp = String(res.headers['content-security-policy']);
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce).toBeDefined();
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("connect-src 'self'");
  const scripts = res.text.match(/<script[^>]*>/g) ?? [];
  expect(scripts).toEqual([`<script nonce="${nonce}">`]);
  // Nothing is loaded from anywhere else: the demo machine may have no network.
  expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
}

describe('dead-drop web pages', () => {
  it('GET / is the create page with a labelled Secret field, a Create link button and a hidden share link', async () => {
    service = await startDeadDrop();
    const res = await call('GET', '/');
    expectCarefulPage(res);
    expect(res.text).toContain('<title>Dead drop</title>');
    expect(res.text).toContain('<label for="secret">Secret</label>');
    expect(res.text).toMatch(/<textarea id="secret" [^>]*required/);
    expect(res.text).toContain('<button type="submit">Create link</button>');
    expect(res.text).toContain('<section data-testid="result" hidden>');
    expect(res.text).toContain('<a data-testid="share-link" href="">Share this link</a>');
    expect(res.text).toContain('data-testid="status" role="status"');
    // The page talks to the same API journeys and scripts use.
    expect(res.text).toContain("fetch('/secrets', {");
    expect(res.text).toContain("new URL('/s/' + encodeURIComponent(body.id), location.origin).href");
  });

  it('GET /s/:id is the reveal page, and opening it reads nothing', async () => {
    service = await startDeadDrop();
    const id = await create('only once');
    const res = await call('GET', `/s/${id}`);
    expectCarefulPage(res);
    expect(res.text).toContain('<title>Dead drop: reveal a secret</title>');
    expect(res.text).toContain(`<main data-secret-id="${id}">`);
    expect(res.text).toContain('<button type="button" data-testid="reveal">Reveal secret</button>');
    expect(res.text).toContain('<pre data-testid="secret-value" hidden></pre>');
    expect(res.text).toContain('<p data-testid="secret-gone" hidden>This secret is gone.</p>');
    expect(res.text).not.toContain('only once');
    // Link previewers fetch the page; the secret must survive that.
    await call('GET', `/s/${id}`);
    await call('HEAD', `/s/${id}`);
    expect(await call('GET', `/secrets/${id}`)).toMatchObject({ status: 200, text: '{"value":"only once"}' });
    expect((await call('GET', `/secrets/${id}`)).status).toBe(404);
    // A burned (or unknown) id still gets the page; its button reports the secret gone.
    expect((await call('GET', `/s/${id}`)).status).toBe(200);
  });

  it('answers HEAD without a body, wrong methods with 405 and malformed reveal links with 404', async () => {
    service = await startDeadDrop();
    const head = await call('HEAD', '/');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    const post = await call('POST', '/', '{}');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await call('DELETE', '/s/abc')).status).toBe(405);
    expect((await call('GET', '/s/not*an*id')).status).toBe(404);
    expect((await call('GET', '/s/')).status).toBe(404);
    expect((await call('GET', '/s/abc/extra')).status).toBe(404);
  });

  it('serves a fresh nonce per page', async () => {
    service = await startDeadDrop();
    const [a, b] = [await call('GET', '/'), await call('GET', '/')];
    expect(a.headers['content-security-policy']).not.toBe(b.headers['content-security-policy']);
  });

  it.each([['stale-cache'], ['never-burn']])('with %s the pages still serve and /health stays green', async (bug) => {
    service = await startDeadDrop({ bugs: [bug] });
    expect((await call('GET', '/')).status).toBe(200);
    expect((await call('GET', `/s/${await create('x')}`)).status).toBe(200);
    expect(await call('GET', '/health')).toMatchObject({ status: 200, text: '{"ok":true}' });
  });

  it('leaves the JSON API as it was', async () => {
    service = await startDeadDrop();
    expect((await call('GET', '/secrets')).status).toBe(405);
    expect((await call('GET', '/elsewhere')).status).toBe(404);
    expect(await call('GET', '/health')).toMatchObject({ status: 200, text: '{"ok":true}' });
  });
});
