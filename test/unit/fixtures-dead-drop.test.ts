import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { DEAD_DROP_BUGS, MAX_BODY_BYTES, startDeadDrop } from '../../fixtures/dead-drop.js';
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
  body: unknown;
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
  return { status: res.statusCode, body: await res.body.json() };
}

async function create(value: string): Promise<string> {
  const res = await call('POST', '/secrets', JSON.stringify({ value }));
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

describe('dead-drop fixture', () => {
  it('reports url, health and version', async () => {
    service = await startDeadDrop({ version: '7.0.1' });
    expect(service.name).toBe('dead-drop');
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(await call('GET', '/health')).toEqual({ status: 200, body: { ok: true } });
    expect(await call('GET', '/version')).toEqual({ status: 200, body: { version: '7.0.1' } });
    expect((await call('GET', '/elsewhere')).status).toBe(404);
  });

  it('creates a secret, reads it once, then burns it', async () => {
    service = await startDeadDrop();
    const id = await create('launch code 0000');
    expect(id).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(await call('GET', `/secrets/${id}`)).toEqual({ status: 200, body: { value: 'launch code 0000' } });
    expect(await call('GET', `/secrets/${id}`)).toEqual({ status: 404, body: { error: 'not found' } });
  });

  it('gives every secret its own id', async () => {
    service = await startDeadDrop();
    const [a, b] = [await create('a'), await create('b')];
    expect(a).not.toBe(b);
    expect((await call('GET', `/secrets/${b}`)).body).toEqual({ value: 'b' });
    expect((await call('GET', `/secrets/${a}`)).body).toEqual({ value: 'a' });
  });

  it('404s unknown ids', async () => {
    service = await startDeadDrop();
    expect(await call('GET', '/secrets/does-not-exist')).toEqual({ status: 404, body: { error: 'not found' } });
  });

  it('answers wrong methods with 405', async () => {
    service = await startDeadDrop();
    expect((await call('GET', '/secrets')).status).toBe(405);
    expect((await call('DELETE', '/secrets/abc')).status).toBe(405);
    expect((await call('POST', '/health', '{}')).status).toBe(405);
  });

  it.each([
    ['not JSON', '{value'],
    ['missing value', '{}'],
    ['non-string value', '{"value": 42}'],
    ['null body', 'null'],
  ])('rejects a bad body (%s) with 400', async (_label, body) => {
    service = await startDeadDrop();
    const res = await call('POST', '/secrets', body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: expect.any(String) });
  });

  it('caps request bodies at 64 KiB with 413 and keeps serving', async () => {
    service = await startDeadDrop();
    const atLimit = JSON.stringify({ value: 'x'.repeat(MAX_BODY_BYTES - 20) });
    expect(Buffer.byteLength(atLimit)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect((await call('POST', '/secrets', atLimit)).status).toBe(201);

    const res = await call('POST', '/secrets', JSON.stringify({ value: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: expect.any(String) });
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('also caps chunked bodies that declare no length', async () => {
    service = await startDeadDrop();
    agent = new Agent();
    // A stream body makes undici send transfer-encoding: chunked.
    const body = Readable.from(Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 'x')));
    const res = await request(new URL('/secrets', service.url), {
      method: 'POST',
      body,
      dispatcher: agent,
      headersTimeout: 3000,
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });

  it('rejects unknown bug names and lists the valid ones', async () => {
    await expect(startDeadDrop({ bugs: ['stale-cahce'] })).rejects.toThrow(/stale-cahce.*stale-cache, never-burn/);
    expect(DEAD_DROP_BUGS).toEqual(['stale-cache', 'never-burn']);
  });

  it('with stale-cache, the very first roundtrip reads back another value', async () => {
    service = await startDeadDrop({ bugs: ['stale-cache'] });
    const id = await create('mine');
    const read = await call('GET', `/secrets/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ value: expect.any(String) });
    expect(read.body).not.toEqual({ value: 'mine' });
    // Every id now maps to the same stale entry.
    expect((await call('GET', `/secrets/${await create('other')}`)).body).toEqual(read.body);
    expect(await call('GET', '/health')).toEqual({ status: 200, body: { ok: true } });
  });

  it('with never-burn, a secret can be read twice', async () => {
    service = await startDeadDrop({ bugs: ['never-burn'] });
    const id = await create('sticky');
    expect(await call('GET', `/secrets/${id}`)).toEqual({ status: 200, body: { value: 'sticky' } });
    expect(await call('GET', `/secrets/${id}`)).toEqual({ status: 200, body: { value: 'sticky' } });
  });

  it('slowMs still answers every request correctly', async () => {
    service = await startDeadDrop({ slowMs: 100 });
    const id = await create('slow');
    expect((await call('GET', `/secrets/${id}`)).body).toEqual({ value: 'slow' });
  });

  it('close() cuts keep-alive and in-flight slowed requests, and is idempotent', async () => {
    service = await startDeadDrop({ slowMs: 10_000 });
    agent = new Agent();
    const pending = request(new URL('/health', service.url), { dispatcher: agent, headersTimeout: 5000 });
    // Usually enough for the request to be parked in the slow timer; if not,
    // the request fails to connect instead, which is still a rejection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([service.close(), service.close()]);
    await expect(pending).rejects.toThrow();
  });
});
