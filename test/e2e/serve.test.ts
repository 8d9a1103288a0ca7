import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JourneyView, RunRecord } from '../../src/serve/model.js';
import { runCli } from './cli.js';
import { Cleanup, startServer, type TestServer } from './helpers.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-process.js';
import { startDemoServices } from './services.js';

/**
 * `ceiling serve` through the real CLI: probes against the demo services and
 * against a switch the test can flip, hot reload, restarts, alerts and the
 * SIGTERM sequence.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const PLANTED = 'planted-probe-token-7f3a9c2e51';

/** A target whose answer the test controls: healthy, broken (echoing the request headers, secret included), slow or silent. */
type SwitchMode = 'ok' | 'broken' | 'slow' | 'silent';

interface SwitchServer extends TestServer {
  setMode(mode: SwitchMode): void;
}

async function startSwitch(): Promise<SwitchServer> {
  const held: ServerResponse[] = [];
  let mode: SwitchMode = 'ok';
  const server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    if (mode === 'silent') {
      held.push(res);
      return;
    }
    const answer = () => {
      const body = mode === 'broken' ? JSON.stringify({ error: 'cache is stale', saw: req.headers }) : JSON.stringify({ ok: true });
      res.writeHead(mode === 'broken' ? 503 : 200, { 'content-type': 'application/json' }).end(body);
    };
    if (mode === 'slow') setTimeout(answer, 1_500).unref();
    else answer();
  });
  return Object.assign(server, {
    setMode: (next: SwitchMode) => {
      mode = next;
    },
  });
}

function switchJourney(name: string, schedule: string, extra = ''): string {
  return [
    `name: ${name}`,
    'tags: [critical]',
    `schedule: ${schedule}`,
    'timeout: 5s',
    extra,
    'steps:',
    '  - name: ask the switch',
    '    http: { url: "{{ env.SWITCH_URL }}/state", headers: { authorization: "Bearer {{ secrets.PROBE_TOKEN }}" } }',
    '    expect: { status: 200, json: { ok: true } }',
    '',
  ].join('\n');
}

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const daemon = await startServe(args, { env });
  cleanup.add(daemon);
  return daemon;
}

async function journeys(daemon: ServeProcess): Promise<JourneyView[]> {
  return (await getJson<{ journeys: JourneyView[] }>(`${daemon.url}/api/v1/journeys`)).body.journeys;
}

async function journeyState(daemon: ServeProcess, name: string): Promise<JourneyView | undefined> {
  return (await journeys(daemon)).find((journey) => journey.journey === name);
}

async function text(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

interface Receiver extends TestServer {
  bodies: { path: string; body: Record<string, unknown>; raw: string }[];
}

async function startReceiver(): Promise<Receiver> {
  const bodies: Receiver['bodies'] = [];
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      bodies.push({ path: req.url ?? '', body: JSON.parse(raw) as Record<string, unknown>, raw });
      res.writeHead(200).end('ok');
    });
  });
  return Object.assign(server, { bodies });
}

describe('ceiling serve against the demo services', () => {
  it('probes on a schedule and exports state, history, metrics and a status page', async () => {
    const services = cleanup.add(await startDemoServices());
    const dir = await cleanup.dir();
    const daemon = await serve(
      ['journeys/secret-roundtrip.yaml', 'journeys/chat-leave.yaml', '--every', '1s', '--db', path.join(dir, 'history.db'), '--location', 'e2e-lab'],
      services.env,
    );
    const names = ['a dropped secret reads back once', 'chat announces who left'];
    await eventually(async () => {
      const states = await journeys(daemon);
      return names.every((name) => states.find((journey) => journey.journey === name)?.health === 'passing') ? states : undefined;
    }, 'both journeys passing');

    const runs = await getJson<{ runs: RunRecord[] }>(`${daemon.url}/api/v1/journeys/${encodeURIComponent(names[0]!)}/runs`);
    expect(runs.status).toBe(200);
    expect(runs.body.runs[0]).toMatchObject({ journey: names[0], result: 'passed', location: 'e2e-lab' });
    expect(runs.body.runs[0]!.steps.map((step) => step.name)).toEqual(['create', 'read back', 'gone once read']);

    const metrics = await text(`${daemon.url}/metrics`);
    expect(metrics).toContain(`ceiling_journey_up{journey="${names[0]}",location="e2e-lab",target="default"} 1`);
    expect(metrics).toMatch(/ceiling_journey_runs_total\{journey="chat announces who left",location="e2e-lab",target="default",result="passed"\} [1-9]/);
    expect(metrics).not.toContain('127.0.0.1');
    // HTTP steps export where their time went; the history keeps the whole request.
    for (const phase of ['resolve', 'connect', 'tls', 'processing', 'transfer']) {
      expect(metrics).toMatch(
        new RegExp(`ceiling_step_http_phase_seconds\\{journey="${names[0]}",location="e2e-lab",target="default",step="create",phase="${phase}"\\} \\d`),
      );
    }
    expect(metrics).not.toMatch(/ceiling_step_http_phase_seconds\{journey="chat announces who left"/);
    const create = runs.body.runs[0]!.steps[0]!;
    expect(create.requestMs).toBeGreaterThan(0);
    expect(create.requestMs).toBeLessThanOrEqual(create.durationMs + 1);

    const page = await fetch(`${daemon.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('chat announces who left');
    expect((await getJson(`${daemon.url}/healthz`)).status).toBe(200);

    const stopped = await daemon.stop('SIGTERM');
    expect(stopped).toMatchObject({ code: 0, killed: false });
  }, 60_000);
});

describe('ceiling serve alerts', () => {
  it('alerts once after N failures, once on recovery, and never leaks a secret anywhere', async () => {
    const target = cleanup.add(await startSwitch());
    const receiver = cleanup.add(await startReceiver());
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works', '{ every: 1s }') });
    const db = path.join(dir, 'state', 'history.db');
    target.setMode('broken');
    const daemon = await serve(
      [dir, '--db', db, '--alert-after', '2', '--webhook', `${receiver.url}/generic`, '--slack-webhook', `${receiver.url}/slack/T000/B000/${PLANTED}-hook`],
      { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED },
    );
    const failing = await eventually(
      async () => (receiver.bodies.filter((item) => item.path === '/generic').length > 0 ? receiver.bodies : undefined),
      'a failing alert',
    );
    const generic = failing.find((item) => item.path === '/generic')!.body;
    expect(generic).toMatchObject({ event: 'failing', urgent: true, journey: 'switch works', consecutiveFailures: 2 });
    expect(JSON.stringify(generic.failure)).toContain('ask the switch');
    await eventually(async () => (receiver.bodies.some((item) => item.path.startsWith('/slack/')) ? true : undefined), 'the slack alert');
    const slack = receiver.bodies.find((item) => item.path.startsWith('/slack/'))!.body;
    expect(String(slack.text)).toMatch(/URGENT/);

    target.setMode('ok');
    const recovered = await eventually(async () => receiver.bodies.find((item) => item.body.event === 'recovered'), 'a recovery alert');
    // The journey is tagged critical, yet good news never pages anyone.
    expect(recovered.body).toMatchObject({ event: 'recovered', urgent: false, consecutiveFailures: 0 });
    const state = await journeyState(daemon, 'switch works');
    expect(state).toMatchObject({ health: 'passing', alerting: false, consecutiveFailures: 0 });
    const failingAlerts = receiver.bodies.filter((item) => item.path === '/generic' && item.body.event === 'failing');
    expect(failingAlerts).toHaveLength(1);

    const artifacts = [
      ...receiver.bodies.map((item) => item.raw),
      JSON.stringify(await journeys(daemon)),
      await text(`${daemon.url}/api/v1/journeys/switch%20works/runs`),
      await text(`${daemon.url}/metrics`),
      await text(`${daemon.url}/`),
      await text(`${daemon.url}/healthz`),
    ];
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    artifacts.push(daemon.stdout(), daemon.stderr());
    for (const file of await readdir(path.dirname(db))) artifacts.push((await readFile(path.join(path.dirname(db), file))).toString('latin1'));
    // The broken target echoed the Authorization header; the failure text carried it before redaction.
    expect(artifacts.join('\n')).toContain('REDACTED');
    for (const artifact of artifacts) expect(artifact).not.toContain(PLANTED);
  }, 60_000);
});

describe('ceiling serve hot reload', () => {
  it('picks up edits, keeps the previous version on a bad edit, and drops a removed journey', async () => {
    const target = cleanup.add(await startSwitch());
    const dir = await cleanup.dir({
      'a.yaml': switchJourney('journey a', '{ every: 1s }'),
      'b.yaml': switchJourney('journey b', '{ every: 1s }'),
    });
    const daemon = await serve([dir, '--reload-interval', '100ms', '--db', path.join(dir, '.state', 'h.db')], { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED });
    await eventually(async () => ((await journeys(daemon)).every((journey) => journey.health === 'passing') ? true : undefined), 'both passing');

    await writeFile(path.join(dir, 'a.yaml'), switchJourney('journey a', '{ every: 1s }').replace('ask the switch', 'ask the switch again'));
    await eventually(
      async () => ((await text(`${daemon.url}/metrics`)).includes('step="ask the switch again"') ? true : undefined),
      'the edited step in /metrics',
    );

    await writeFile(path.join(dir, 'a.yaml'), switchJourney('journey a', '{ cron: "61 * * * *" }'));
    await eventually(async () => (daemon.stderr().includes('schedule.cron') ? true : undefined), 'the reload error');
    expect(daemon.stderr()).toMatch(/a\.yaml:3:\d+ › schedule\.cron: invalid cron expression "61 \* \* \* \*"/);
    const health = await getJson<{ reloadErrors: string[] }>(`${daemon.url}/healthz`);
    expect(health.body.reloadErrors.join('\n')).toContain('a.yaml');
    const before = (await journeyState(daemon, 'journey a'))!.lastRunAt!;
    await eventually(
      async () => (((await journeyState(daemon, 'journey a'))?.lastRunAt ?? 0) > before ? true : undefined),
      'the previous version still running',
    );
    expect(await text(`${daemon.url}/metrics`)).toContain('ceiling_reload_errors_total');

    await rm(path.join(dir, 'b.yaml'));
    await eventually(async () => ((await journeyState(daemon, 'journey b')) === undefined ? true : undefined), 'journey b gone from the API');
    expect(await text(`${daemon.url}/metrics`)).not.toContain('journey="journey b"');

    await writeFile(path.join(dir, 'a.yaml'), switchJourney('journey a', '{ every: 2s }'));
    await eventually(
      async () => ((await getJson<{ reloadErrors: string[] }>(`${daemon.url}/healthz`)).body.reloadErrors.length === 0 ? true : undefined),
      'errors cleared',
    );
    expect((await journeyState(daemon, 'journey a'))!.schedule).toBe('every 2.00s');
    expect((await daemon.stop()).code).toBe(0);
  }, 60_000);
});

describe('ceiling serve restarts and shutdown', () => {
  it('restores the state and keeps the history across a restart, without alerting again', async () => {
    const target = cleanup.add(await startSwitch());
    const receiver = cleanup.add(await startReceiver());
    // A yearly schedule: only the test's trigger runs this journey.
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('manual switch', '{ cron: "0 0 1 1 *" }') });
    const db = path.join(dir, '.state', 'history.db');
    const env = { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED };
    const args = [dir, '--db', db, '--alert-after', '1', '--webhook', receiver.url];
    target.setMode('broken');

    const first = await serve(args, env);
    const triggered = await getJson<{ started: string[] }>(`${first.url}/api/v1/run`, { method: 'POST', body: JSON.stringify({ journey: 'manual switch' }) });
    expect(triggered).toMatchObject({ status: 202, body: { started: ['manual switch'] } });
    await eventually(async () => ((await journeyState(first, 'manual switch'))?.health === 'failing' ? true : undefined), 'failing');
    await eventually(async () => (receiver.bodies.length === 1 ? true : undefined), 'the failing alert');
    expect((await first.stop('SIGTERM')).code).toBe(0);

    const second = await serve(args, env);
    const restored = await journeyState(second, 'manual switch');
    expect(restored).toMatchObject({ health: 'failing', consecutiveFailures: 1, alerting: true, lastFailure: { step: 'ask the switch' } });
    expect(restored!.recent).toHaveLength(1);
    const history = await getJson<{ runs: RunRecord[] }>(`${second.url}/api/v1/journeys/manual%20switch/runs`);
    expect(history.body.runs).toHaveLength(1);

    await getJson(`${second.url}/api/v1/run`, { method: 'POST', body: JSON.stringify({ journey: 'manual switch' }) });
    await eventually(async () => ((await journeyState(second, 'manual switch'))?.consecutiveFailures === 2 ? true : undefined), 'a second failure');
    expect(receiver.bodies).toHaveLength(1);
    expect((await second.stop('SIGTERM')).code).toBe(0);
  }, 60_000);

  it('on SIGTERM stops scheduling, lets the run in flight finish, flushes the history and exits 0', async () => {
    const target = cleanup.add(await startSwitch());
    target.setMode('slow');
    const dir = await cleanup.dir({ 'slow.yaml': switchJourney('slow switch', '{ every: 1s }') });
    const daemon = await serve([dir, '--db', path.join(dir, '.state', 'h.db'), '--grace', '10s'], { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED });
    await eventually(async () => ((await journeyState(daemon, 'slow switch'))?.running ? true : undefined), 'a run in flight');
    const stopped = await daemon.stop('SIGTERM');
    expect(stopped).toMatchObject({ code: 0, killed: false });
    const lines = daemon.stderr().split('\n');
    const order = ['SIGTERM received', 'scheduling stopped', '1 run(s) finished, 0 aborted', 'history flushed', 'ceiling serve: stopped'].map((needle) =>
      lines.findIndex((line) => line.includes(needle)),
    );
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  }, 60_000);

  it('aborts a run that outlives the grace period and still exits 0', async () => {
    const target = cleanup.add(await startSwitch());
    target.setMode('silent');
    const dir = await cleanup.dir({ 'silent.yaml': switchJourney('silent switch', '{ every: 1s }') });
    const daemon = await serve([dir, '--db', path.join(dir, '.state', 'h.db'), '--grace', '300ms'], { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED });
    await eventually(async () => ((await journeyState(daemon, 'silent switch'))?.running ? true : undefined), 'a run in flight');
    const stopped = await daemon.stop('SIGTERM');
    expect(stopped).toMatchObject({ code: 0, killed: false });
    expect(daemon.stderr()).toContain('0 run(s) finished, 1 aborted');
  }, 60_000);
});

describe('ceiling serve trigger endpoint', () => {
  it('requires the bearer token when one is configured', async () => {
    const target = cleanup.add(await startSwitch());
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('guarded switch', '{ cron: "0 0 1 1 *" }') });
    const token = 'a-long-random-api-token-for-tests';
    const daemon = await serve([dir, '--db', path.join(dir, '.state', 'h.db')], { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED, CEILING_API_TOKEN: token });
    const post = (headers: Record<string, string>) => getJson<{ started?: string[] }>(`${daemon.url}/api/v1/run`, { method: 'POST', headers });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
    const accepted = await post({ authorization: `Bearer ${token}` });
    expect(accepted).toMatchObject({ status: 202, body: { started: ['guarded switch'] } });
    expect((await getJson(`${daemon.url}/api/v1/journeys`)).status).toBe(200);
    expect(daemon.stderr()).not.toContain(token);
  }, 60_000);
});

describe('ceiling serve for progressive-delivery tools', () => {
  it('answers the Argo Rollouts web metric and Flagger webhooks per their contracts', async () => {
    const target = cleanup.add(await startSwitch());
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('canary switch', '{ every: 1s }') });
    const daemon = await serve([dir, '--db', path.join(dir, '.state', 'h.db')], { SWITCH_URL: target.url, PROBE_TOKEN: PLANTED });
    const verdict = () =>
      getJson<{ verdict: string; fresh: boolean; version: string; failing: { journey: string; step?: string }[] }>(`${daemon.url}/api/v1/verdict`);
    const flagger = (checksum: string) =>
      getJson<{ ok: boolean; reason: string }>(`${daemon.url}/api/v1/flagger`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'chat', namespace: 'prod', phase: 'Progressing', checksum, metadata: { tag: 'critical' } }),
      });

    const passing = await eventually(async () => {
      const answer = await verdict();
      return answer.body.verdict === 'pass' ? answer : undefined;
    }, 'a pass verdict');
    expect(passing).toMatchObject({ status: 200, body: { fresh: true, failing: [] } });
    expect(typeof passing.body.version).toBe('string');
    await eventually(async () => ((await flagger('rev-1')).status === 200 ? true : undefined), 'Flagger 200 once a run of revision rev-1 passed');

    target.setMode('broken');
    const failing = await eventually(async () => {
      const answer = await verdict();
      return answer.body.verdict === 'fail' ? answer : undefined;
    }, 'a fail verdict');
    expect(failing.status).toBe(200);
    expect(failing.body.failing).toEqual([expect.objectContaining({ journey: 'canary switch', step: 'ask the switch' })]);
    const refused = await flagger('rev-1');
    target.setMode('ok');
    // Spinnaker's webhook stage: start a check, then poll the status URL it was given.
    const started = await fetch(`${daemon.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"tag":"critical"}',
      signal: AbortSignal.timeout(5_000),
    });
    expect(started.status).toBe(202);
    const statusUrl = started.headers.get('location')!;
    expect(statusUrl).toMatch(/\/api\/v1\/checks\/[0-9a-f-]{36}$/);
    const finished = await eventually(async () => {
      const status = await getJson<{ status: string }>(new URL(statusUrl, daemon.url).toString());
      return status.body.status === 'RUNNING' ? undefined : status.body;
    }, 'the check to finish');
    expect(finished.status).toBe('SUCCEEDED');
    expect(refused.status).toBe(412);
    expect(refused.body.ok).toBe(false);
    expect(refused.body.reason).toContain('ask the switch');
    expect(JSON.stringify(failing.body) + JSON.stringify(refused.body)).not.toContain(PLANTED);
    expect((await daemon.stop()).code).toBe(0);
  }, 60_000);
});

describe('ceiling serve input errors', () => {
  it('refuses to start on a bad schedule, with file:line and exit 2', async () => {
    const dir = await cleanup.dir({ 'bad.yaml': switchJourney('bad zone', '{ cron: "0 3 * * *", timezone: Europe/Berln }') });
    const result = await runCli(['serve', dir, '--listen', '127.0.0.1:0', '--db', path.join(dir, '.state', 'h.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.yaml:3:\d+ › schedule\.timezone: unknown time zone "Europe\/Berln"; did you mean "Europe\/Berlin"/);
    expect(result.stderr).toContain('ceiling serve did not start');
  });

  it.each([
    [['--shard', '3/2'], /--shard/],
    [['--listen', 'nowhere'], /--listen: "nowhere" is not host:port/],
    [['--every', '500ms'], /--every: the shortest interval is 1s/],
    [['--retention', '7 days'], /--retention: .*not a duration/],
    [['--retention-size', 'big'], /--retention-size/],
    [['--webhook', 'not a url'], /--webhook: "not a url" is not a URL/],
  ])('rejects %j with exit 2', async (args, message) => {
    const result = await runCli(['serve', 'journeys', '--listen', '127.0.0.1:0', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('says what to do when the history file is not a database', async () => {
    const dir = await cleanup.dir({ 'history.db': 'this is not sqlite at all, just text'.repeat(200) });
    const result = await runCli(['serve', 'journeys', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'history.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('history.db');
  });
});

describe('ceiling serve shards', () => {
  it('splits one set of journeys across replicas with no gaps and no overlap', async () => {
    const files = Object.fromEntries(Array.from({ length: 8 }, (_, index) => [`j${index}.yaml`, switchJourney(`sharded ${index}`, '{ cron: "0 0 1 1 *" }')]));
    const dir = await cleanup.dir(files);
    const env = { SWITCH_URL: 'http://127.0.0.1:9', PROBE_TOKEN: PLANTED };
    const replicas = await Promise.all(
      ['1/2', '2/2'].map((shard) => serve([dir, '--shard', shard, '--db', path.join(dir, `.state-${shard.replace('/', '-')}`, 'h.db')], env)),
    );
    const owned = await Promise.all(replicas.map(async (replica) => (await journeys(replica)).map((journey) => journey.journey)));
    const all = owned.flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(
      Object.values(files)
        .map((_, index) => `sharded ${index}`)
        .sort(),
    );
  }, 60_000);
});
