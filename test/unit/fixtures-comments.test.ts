import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { COMMENTS_BUGS, MAX_BODY_BYTES, MAX_COMMENT_LENGTH, MAX_STORED_COMMENTS, startComments, type Comment } from '../../fixtures/comments.js';
import type { RunningService } from '../../fixtures/service.js';

let service: RunningService | undefined;
let agent: Agent | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
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

async function call(method: string, path: string, body?: string, contentType = 'application/json'): Promise<Reply> {
  agent ??= new Agent();
  const res = await request(new URL(path, service!.url), {
    method: method as 'GET',
    dispatcher: agent,
    headersTimeout: 3000,
    bodyTimeout: 3000,
    ...(body !== undefined && { body, headers: { 'content-type': contentType } }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function post(text: unknown): Promise<Reply> {
  return call('POST', '/api/comments', JSON.stringify({ text }));
}

async function list(): Promise<Comment[]> {
  const res = await call('GET', '/api/comments');
  expect(res.status).toBe(200);
  return JSON.parse(res.text) as Comment[];
}

/** A /live subscriber that records every frame it gets. */
interface Listener {
  ws: WebSocket;
  frames: unknown[];
  /** Resolves once `count` frames have arrived. */
  received(count: number): Promise<unknown[]>;
  /**
   * A ping/pong round trip. Every broadcast the server sent before this ping
   * arrived is ahead of the pong on the same connection, so afterwards
   * `frames` holds everything already pushed: a check of "nothing was sent"
   * that needs no waiting on the clock.
   */
  fence(): Promise<void>;
}

async function listen(path = '/live'): Promise<Listener> {
  const ws = new WebSocket(new URL(path, service!.wsUrl!), { handshakeTimeout: 3000 });
  clients.push(ws);
  ws.on('error', () => {});
  const frames: unknown[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)));
    wake?.();
  });
  await once(ws, 'open');
  return {
    ws,
    frames,
    async received(count) {
      while (frames.length < count) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      return frames;
    },
    async fence() {
      const pong = once(ws, 'pong');
      ws.ping();
      await pong;
    },
  };
}

describe('comments fixture', () => {
  it('reports url, wsUrl, health and version', async () => {
    service = await startComments({ version: '3.1.4' });
    expect(service.name).toBe('comments');
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(service.wsUrl).toBe(`ws://127.0.0.1:${service.port}/live`);
    expect(await call('GET', '/health')).toMatchObject({ status: 200, text: '{"ok":true}' });
    expect(await call('GET', '/version')).toMatchObject({ status: 200, text: '{"version":"3.1.4"}' });
    expect((await call('GET', '/elsewhere')).status).toBe(404);
  });

  it('serves the page with a labelled Comment field, a Post button, a status line and the list', async () => {
    service = await startComments();
    const res = await call('GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<title>Comments</title>');
    expect(res.text).toContain('<label for="comment">Comment</label>');
    expect(res.text).toContain(`<textarea id="comment" name="text" maxlength="${MAX_COMMENT_LENGTH}" required></textarea>`);
    expect(res.text).toContain('<button type="submit">Post</button>');
    expect(res.text).toContain('<p data-testid="status" role="status" aria-live="polite"></p>');
    expect(res.text).toMatch(/<ul data-testid="comments">\s*<\/ul>/);
    expect(res.text).toMatch(/<p data-testid="no-comments" class="muted">No comments yet.<\/p>/);
    // Its script is the only one, carries the CSP nonce, and uses the API and feed below.
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(res.headers['content-security-policy']))?.[1];
    expect(res.text.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(res.text).toContain("fetch('/api/comments', {");
    expect(res.text).toContain("new URL('/live', location.href)");
    expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('stores a comment, pushes it to every open page, and renders it on the next load', async () => {
    service = await startComments();
    const [first, second] = [await listen(), await listen()];
    const res = await post('  first!  ');
    expect(res.status).toBe(201);
    const saved = JSON.parse(res.text) as Comment;
    expect(saved).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{8,}$/), text: 'first!' });

    for (const listener of [first, second]) {
      expect(await listener.received(1)).toEqual([{ type: 'comment', comment: saved }]);
    }
    expect(await list()).toEqual([saved]);
    const page = await call('GET', '/');
    expect(page.text).toContain(`<li data-id="${saved.id}">first!</li>`);
    expect(page.text).toContain('data-testid="no-comments" class="muted" hidden');
  });

  it('has the broadcast on the wire before the 201, so the fence sees it', async () => {
    // Proves the fence used by the phantom-save test would see a broadcast.
    service = await startComments();
    const listener = await listen();
    const saved = JSON.parse((await post('ordered')).text) as Comment;
    await listener.fence();
    expect(listener.frames).toEqual([{ type: 'comment', comment: saved }]);
  });

  it('keeps comments in order and gives each its own id', async () => {
    service = await startComments();
    for (const text of ['a', 'b', 'c']) expect((await post(text)).status).toBe(201);
    const comments = await list();
    expect(comments.map((c) => c.text)).toEqual(['a', 'b', 'c']);
    expect(new Set(comments.map((c) => c.id)).size).toBe(3);
  });

  it('renders comments as text: markup in a comment is escaped', async () => {
    service = await startComments();
    const nasty = `<script>alert("x")</script><img src=x onerror=alert(1)> & 'q'`;
    expect((await post(nasty)).status).toBe(201);
    const page = await call('GET', '/');
    expect(page.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39;</li>');
    expect(page.text).not.toContain('<script>alert');
    expect(page.text).not.toContain('<img');
    expect(page.text.match(/<script/g)).toHaveLength(1);
    // The API and the feed carry the text as it was typed; the page script sets it as textContent.
    expect((await list())[0]?.text).toBe(nasty);
  });

  it.each([
    ['not JSON', '{text'],
    ['missing text', '{}'],
    ['non-string text', '{"text": 42}'],
    ['null body', 'null'],
    ['empty text', '{"text": ""}'],
    ['only whitespace', '{"text": "  \\n\\t "}'],
  ])('rejects a bad body (%s) with 400 and stores nothing', async (_label, body) => {
    service = await startComments();
    const res = await call('POST', '/api/comments', body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: expect.any(String) });
    expect(await list()).toEqual([]);
  });

  it('caps comment length', async () => {
    service = await startComments();
    expect((await post('x'.repeat(MAX_COMMENT_LENGTH))).status).toBe(201);
    const tooLong = await post('x'.repeat(MAX_COMMENT_LENGTH + 1));
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain(String(MAX_COMMENT_LENGTH));
    expect(await list()).toHaveLength(1);
  });

  it('caps request bodies with 413, including chunked ones, and keeps serving', async () => {
    service = await startComments();
    const big = await call('POST', '/api/comments', JSON.stringify({ text: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text)).toMatchObject({ error: expect.any(String) });

    agent ??= new Agent();
    const chunks = Readable.from(Array.from({ length: 4 }, () => Buffer.alloc(8 * 1024, 'x')));
    const chunked = await request(new URL('/api/comments', service.url), {
      method: 'POST',
      body: chunks,
      headers: { 'content-type': 'application/json' },
      dispatcher: agent,
      headersTimeout: 3000,
    });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.dump();

    expect(await list()).toEqual([]);
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('accepts only JSON posts (so a cross-site form cannot post) and the right methods', async () => {
    service = await startComments();
    expect((await call('POST', '/api/comments', 'text=hi', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await call('POST', '/api/comments', '{"text":"hi"}', 'text/plain')).status).toBe(415);
    expect((await call('POST', '/api/comments', '{"text":"hi"}', 'application/json; charset=utf-8')).status).toBe(201);
    expect((await call('DELETE', '/api/comments')).status).toBe(405);
    expect((await call('POST', '/', '{}')).status).toBe(405);
    expect((await call('POST', '/health', '{}')).status).toBe(405);
    const head = await call('HEAD', '/');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it(`keeps only the newest ${MAX_STORED_COMMENTS} comments`, async () => {
    service = await startComments();
    for (let i = 0; i <= MAX_STORED_COMMENTS; i++) await post(`c${i}`);
    const comments = await list();
    expect(comments).toHaveLength(MAX_STORED_COMMENTS);
    expect(comments[0]?.text).toBe('c1');
    expect(comments.at(-1)?.text).toBe(`c${MAX_STORED_COMMENTS}`);
  });

  it('refuses WebSocket upgrades anywhere but /live and ignores what pages send', async () => {
    service = await startComments();
    const stray = new WebSocket(new URL('/', service.wsUrl!), { handshakeTimeout: 3000 });
    stray.on('error', () => {});
    const [req, response] = (await once(stray, 'unexpected-response')) as [ClientRequest, IncomingMessage];
    expect(response.statusCode).toBe(404);
    req.destroy();

    const listener = await listen();
    listener.ws.send('{"type":"comment","comment":{"id":"x","text":"forged"}}');
    await listener.fence();
    expect(listener.frames).toEqual([]);
    expect(await list()).toEqual([]);
  });

  it('with phantom-save, answers 201 like a save but stores and pushes nothing, while /health is ok', async () => {
    service = await startComments({ bugs: ['phantom-save'] });
    const listener = await listen();
    const res = await post('did this save?');
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{8,}$/), text: 'did this save?' });

    await listener.fence();
    expect(listener.frames).toEqual([]);
    expect(await list()).toEqual([]);
    const page = await call('GET', '/');
    expect(page.text).not.toContain('did this save?');
    expect(page.text).toMatch(/<ul data-testid="comments">\s*<\/ul>/);
    expect(await call('GET', '/health')).toMatchObject({ status: 200, text: '{"ok":true}' });
  });

  it('rejects unknown bug names and lists the valid ones', async () => {
    await expect(startComments({ bugs: ['phantom-sav'] })).rejects.toThrow(/phantom-sav.*phantom-save/);
    expect(COMMENTS_BUGS).toEqual(['phantom-save']);
  });

  it('slowMs still answers every request correctly', async () => {
    service = await startComments({ slowMs: 50 });
    expect((await post('slow')).status).toBe(201);
    expect((await list()).map((c) => c.text)).toEqual(['slow']);
  });

  it('close() cuts open feeds, keep-alive connections and slowed requests, and is idempotent', async () => {
    service = await startComments({ slowMs: 10_000 });
    const ws = new WebSocket(new URL('/live', service.wsUrl!), { handshakeTimeout: 3000 });
    clients.push(ws);
    ws.on('error', () => {});
    await once(ws, 'open');
    const closed = once(ws, 'close');
    agent = new Agent();
    const pending = request(new URL('/health', service.url), { dispatcher: agent, headersTimeout: 5000 });
    // Usually parked in the slow timer by now; if not, it fails to connect, still a rejection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([service.close(), service.close()]);
    await closed;
    await expect(pending).rejects.toThrow();
  });
});
