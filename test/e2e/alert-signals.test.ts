import { execFile } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROMETHEUS_TOOLS, requireTool } from '../../fixtures/prometheus-tools.js';
import { root, runCli } from './cli.js';
import { Cleanup, startServer } from './helpers.js';
import { freePort, startAlertmanager } from './prometheus-stack.js';
import { eventually, startServe, type ServeProcess } from './serve-process.js';

/**
 * What serve hands to Prometheus, alert receivers and paging, through the real
 * CLI: promtool lints a real daemon's /metrics and the docs' rules, and a
 * webhook receiver authenticates the alerts it gets.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const [PROMTOOL_TOOL] = PROMETHEUS_TOOLS;
/** Written literally into a step's URL: it must never become a label value. */
const URL_TOKEN = 'url-literal-token-5d1e8a9c';

function promtool(args: string[], input?: string): Promise<{ code: number; output: string }> {
  const promtoolPath = requireTool(PROMTOOL_TOOL);
  return new Promise((resolve) => {
    const child = execFile(promtoolPath, args, { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  return cleanup.add(await startServe(args, { env }));
}

async function text(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
}

describe('serve and promtool', () => {
  it('exports metrics promtool accepts, unnamed steps labelled by kind and position, never by URL', async () => {
    const target = cleanup.add(await startServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')));
    const dir = await cleanup.dir({
      'unnamed.yaml': [
        'name: unnamed steps',
        'schedule: { every: 1s }',
        'steps:',
        '  - name: named first',
        '    http: { url: "{{ env.TARGET_URL }}/a" }',
        `  - http: { url: "{{ env.TARGET_URL }}/b?token=${URL_TOKEN}" }`,
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    });
    const daemon = await serve([dir, '--db', path.join(dir, 'history.db')], { TARGET_URL: target.url });
    const metrics = await eventually(async () => {
      const body = await text(`${daemon.url}/metrics`);
      return body.includes('step="http#2"') ? body : undefined;
    }, 'a run with step series');

    expect(metrics).toMatch(/ceiling_step_duration_seconds_count\{journey="unnamed steps",location="local",target="default",step="named first"\} [1-9]/);
    expect(metrics).toMatch(/ceiling_step_duration_seconds_count\{journey="unnamed steps",location="local",target="default",step="http#2"\} [1-9]/);
    expect(metrics).not.toContain(URL_TOKEN);
    expect(metrics).not.toContain('ceiling_nodejs_active_handles_total');

    const lint = await promtool(['check', 'metrics'], metrics);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  }, 60_000);

  it('accepts the alerting rules in docs/kubernetes', async () => {
    const check = await promtool(['check', 'rules', 'docs/kubernetes/alert-rules.yml']);
    expect(check.output).toContain('SUCCESS');
    expect(check.code).toBe(0);
  });
});

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

async function startRecorder(): Promise<{ url: string; port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  return cleanup.add(Object.assign(server, { received }));
}

/** A switch the test flips: 503 while broken, 200 {"ok":true} otherwise. */
async function startSwitch(): Promise<{ url: string; setBroken(broken: boolean): void; close(): Promise<void> }> {
  let broken = true;
  const server = await startServer((_req, res) =>
    res.writeHead(broken ? 503 : 200, { 'content-type': 'application/json' }).end(broken ? '{"ok":false}' : '{"ok":true}'),
  );
  return cleanup.add(Object.assign(server, { setBroken: (next: boolean) => void (broken = next) }));
}

function switchJourney(name: string): string {
  return [
    `name: ${name}`,
    'tags: [critical]',
    'schedule: { every: 1s }',
    'steps:',
    '  - name: ask the switch',
    '    http: { url: "{{ env.SWITCH_URL }}/state" }',
    '    expect: { status: 200 }',
    '',
  ].join('\n');
}

/** README's verification snippet, as a receiver would run it. */
function verifyCeilingSignature(secret: string, headers: IncomingHttpHeaders, rawBody: string, toleranceSeconds = 300): boolean {
  const timestamp = String(headers['x-ceiling-timestamp'] ?? '');
  const signature = String(headers['x-ceiling-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

const HEADER_CANARY = 'canary-hook-token-3f9a1c7d';
const SIGNING_CANARY = 'canary-signing-key-b84e02d6c1';
const PASSWORD_CANARY = 'canary-url-password-6c2e';

describe('serve webhook authentication', () => {
  it('sends the header, a signature the receiver verifies and Basic auth from the URL, and prints none of them', async () => {
    const target = await startSwitch();
    const hook = await startRecorder();
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const daemon = await serve(
      [
        dir,
        '--db',
        path.join(dir, 'history.db'),
        '--alert-after',
        '1',
        '--webhook',
        `http://probe:${PASSWORD_CANARY}@127.0.0.1:${hook.port}/hook`,
        '--webhook-header',
        'X-Hook-Token: {{ env.HOOK_TOKEN }}',
        '--webhook-secret-env',
        'HOOK_KEY',
      ],
      { SWITCH_URL: target.url, HOOK_TOKEN: HEADER_CANARY, HOOK_KEY: SIGNING_CANARY },
    );
    const failing = await eventually(async () => hook.received.find((item) => item.raw.includes('"event":"failing"')), 'a failing alert');
    expect(failing.path).toBe('/hook');
    expect(failing.headers['x-hook-token']).toBe(HEADER_CANARY);
    expect(failing.headers.authorization).toBe(`Basic ${Buffer.from(`probe:${PASSWORD_CANARY}`).toString('base64')}`);
    expect(verifyCeilingSignature(SIGNING_CANARY, failing.headers, failing.raw)).toBe(true);
    expect(verifyCeilingSignature(SIGNING_CANARY, failing.headers, failing.raw.replace('failing', 'passing'))).toBe(false);

    target.setBroken(false);
    const recovered = await eventually(async () => hook.received.find((item) => item.raw.includes('"event":"recovered"')), 'a recovery alert');
    expect(verifyCeilingSignature(SIGNING_CANARY, recovered.headers, recovered.raw)).toBe(true);

    const outputs = [
      await text(`${daemon.url}/metrics`),
      await text(`${daemon.url}/api/v1/journeys`),
      await text(`${daemon.url}/api/v1/journeys/switch%20works/runs`),
      await text(`${daemon.url}/healthz`),
      await text(`${daemon.url}/`),
      ...hook.received.map((item) => item.raw),
    ];
    await daemon.stop();
    outputs.push(daemon.stdout(), daemon.stderr());
    for (const canary of [HEADER_CANARY, SIGNING_CANARY, PASSWORD_CANARY]) for (const output of outputs) expect(output).not.toContain(canary);
  }, 60_000);

  it('refuses a header without ":" and a missing variable with exit 2, naming it and never a value', async () => {
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const common = [dir, '--listen', '127.0.0.1:0', '--db', path.join(dir, 'history.db'), '--webhook', 'http://127.0.0.1:9/hook'];
    const noColon = await runCli(['serve', ...common, '--webhook-header', `Authorization Bearer ${HEADER_CANARY}`], {
      env: { SWITCH_URL: 'http://127.0.0.1:9' },
    });
    expect(noColon.code).toBe(2);
    expect(noColon.stderr).toMatch(/--webhook-header #1 has no ":"/);
    expect(noColon.stdout + noColon.stderr).not.toContain(HEADER_CANARY);

    const missing = await runCli(['serve', ...common, '--webhook-header', 'Authorization: Bearer {{ env.NOT_SET_TOKEN }}'], {
      env: { SWITCH_URL: 'http://127.0.0.1:9' },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/env\.NOT_SET_TOKEN is not set/);

    const noKey = await runCli(['serve', ...common, '--webhook-secret-env', 'NOT_SET_KEY'], { env: { SWITCH_URL: 'http://127.0.0.1:9' } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--webhook-secret-env: NOT_SET_KEY is not set/);
  }, 60_000);
});

describe('gate webhook authentication', () => {
  async function brokenFleet(): Promise<string> {
    const broken = cleanup.add(await startServer((_req, res) => res.writeHead(503).end('down')));
    return cleanup.dir({
      'ceiling.yaml': ['targets:', '  only:', `    vars: { base: "${broken.url}" }`, ''].join('\n'),
      'answers.yaml': ['name: answers 200', 'steps:', '  - http: { url: "{{ vars.base }}/state" }', '    expect: { status: 200 }', ''].join('\n'),
    });
  }

  it('signs the notification of a failed gate and sends its header, printing neither', async () => {
    const dir = await brokenFleet();
    const hook = await startRecorder();
    const result = await runCli(
      [
        'gate',
        path.join(dir, 'answers.yaml'),
        '--config',
        path.join(dir, 'ceiling.yaml'),
        '--verdict-out',
        path.join(dir, 'verdict.json'),
        '--out',
        path.join(dir, 'out'),
        '--webhook',
        `${hook.url}/gate`,
        '--webhook-header',
        'Authorization: Bearer {{ env.HOOK_TOKEN }}',
        '--webhook-secret-env',
        'HOOK_KEY',
      ],
      { env: { HOOK_TOKEN: HEADER_CANARY, HOOK_KEY: SIGNING_CANARY }, killAfterMs: 60_000 },
    );
    expect(result.code).toBe(1);
    const [notification] = hook.received;
    expect(notification!.headers.authorization).toBe(`Bearer ${HEADER_CANARY}`);
    expect(verifyCeilingSignature(SIGNING_CANARY, notification!.headers, notification!.raw)).toBe(true);
    for (const output of [result.stdout, result.stderr, notification!.raw]) {
      expect(output).not.toContain(HEADER_CANARY);
      expect(output).not.toContain(SIGNING_CANARY);
    }
  }, 60_000);

  it('refuses a missing variable with exit 2, naming it', async () => {
    const dir = await brokenFleet();
    const result = await runCli([
      'gate',
      path.join(dir, 'answers.yaml'),
      '--config',
      path.join(dir, 'ceiling.yaml'),
      '--webhook-header',
      'X-Token: {{ secrets.GONE }}',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--webhook-header #1 \(X-Token\): secrets\.GONE is not set/);
  });
});

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  generatorURL?: string;
}

interface AmNotification {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

describe('serve and a real Alertmanager', () => {
  it('posts a failing alert that Alertmanager holds and routes to its receiver, then resolves it on recovery', async () => {
    const target = await startSwitch();
    const routed = await startRecorder();
    const alertmanager = cleanup.add(await startAlertmanager(`${routed.url}/am`));
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const daemon = await serve(
      [dir, '--db', path.join(dir, 'history.db'), '--alert-after', '1', '--location', 'lab', '--target', 'staging', '--alertmanager', alertmanager.url],
      { SWITCH_URL: target.url },
    );

    const active = await eventually(async () => {
      const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) })).json()) as AmAlert[];
      return alerts.find((alert) => alert.labels.alertname === 'CeilingJourneyFailing');
    }, 'the alert in Alertmanager');
    expect(active.labels).toEqual({ alertname: 'CeilingJourneyFailing', journey: 'switch works', location: 'lab', target: 'staging', severity: 'critical' });
    expect(active.status.state).toBe('active');
    expect(active.annotations).toMatchObject({ step: 'ask the switch', code: 'CEIL_HTTP_STATUS', status_url: `${daemon.url}/` });
    expect(active.annotations.message).toMatch(/503/);
    expect(active.annotations.summary).toBe('Journey "switch works" is failing from lab against staging');

    const firing = await eventually(async () => {
      const notes = routed.received.map((item) => JSON.parse(item.raw) as AmNotification);
      return notes.find((note) => note.status === 'firing');
    }, 'the firing notification at the receiver');
    expect(firing.alerts[0]!.labels).toMatchObject({ alertname: 'CeilingJourneyFailing', journey: 'switch works', severity: 'critical' });

    target.setBroken(false);
    const resolved = await eventually(async () => {
      const notes = routed.received.map((item) => JSON.parse(item.raw) as AmNotification);
      return notes.find((note) => note.status === 'resolved');
    }, 'the resolved notification at the receiver');
    expect(resolved.alerts[0]!.labels).toMatchObject({ journey: 'switch works', location: 'lab' });
    const left = (await (await fetch(`${alertmanager.url}/api/v2/alerts?active=true`, { signal: AbortSignal.timeout(5_000) })).json()) as AmAlert[];
    expect(left.filter((alert) => alert.status.state === 'active')).toEqual([]);

    const metrics = await text(`${daemon.url}/metrics`);
    expect(metrics).toMatch(/ceiling_alert_deliveries_total\{location="lab",target="staging",outcome="delivered"\} [2-9]/);
  }, 60_000);
});

describe("ceiling.yaml's notify.alertmanager", () => {
  it('is where serve --config posts alerts, each naming its target', async () => {
    const target = await startSwitch();
    const routed = await startRecorder();
    const alertmanager = cleanup.add(await startAlertmanager(`${routed.url}/am`));
    const dir = await cleanup.dir({
      'switch.yaml': switchJourney('switch from config'),
      'ceiling.yaml': [
        'journeys: [switch.yaml]',
        'targets:',
        '  blue: { vars: { color: blue } }',
        'notify:',
        `  alertmanager: ["${alertmanager.url}"]`,
        '',
      ].join('\n'),
    });
    await serve(['--config', path.join(dir, 'ceiling.yaml'), '--db', path.join(dir, 'history.db'), '--alert-after', '1', '--location', 'lab'], {
      SWITCH_URL: target.url,
    });
    const active = await eventually(async () => {
      const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) })).json()) as AmAlert[];
      return alerts.find((alert) => alert.labels.journey === 'switch from config');
    }, 'the alert in Alertmanager');
    expect(active.labels).toMatchObject({ alertname: 'CeilingJourneyFailing', location: 'lab', target: 'blue' });
  }, 60_000);
});

describe('serve and an Alertmanager that is down', () => {
  it('keeps probing on schedule while the alert waits in its queue', async () => {
    const target = await startSwitch();
    const down = await freePort();
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const daemon = await serve([dir, '--db', path.join(dir, 'history.db'), '--alert-after', '1', '--alertmanager', `http://127.0.0.1:${down}`], {
      SWITCH_URL: target.url,
    });
    // Runs keep ending while the first alert is still being retried against the closed port.
    await eventually(async () => {
      const metrics = await text(`${daemon.url}/metrics`);
      const runs = /ceiling_journey_runs_total\{journey="switch works",location="local",target="default",result="failed"\} (\d+)/.exec(metrics);
      return runs && Number(runs[1]) >= 4 ? true : undefined;
    }, 'four runs while Alertmanager is down');
    const health = (await (await fetch(`${daemon.url}/healthz`, { signal: AbortSignal.timeout(5_000) })).json()) as { alerts?: { pending?: number } };
    expect(health.alerts?.pending).toBeGreaterThan(0);
    await daemon.stop();
    expect(daemon.stderr()).not.toMatch(/\d+\.\d+\.\d+\.\d+:\d+\/api/);
  }, 60_000);
});

interface PagerdutyEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; component?: string; group?: string; class?: string; custom_details?: Record<string, unknown> };
  links?: { href: string; text: string }[];
}

const ROUTING_KEY_CANARY = 'canaryroutingkey0123456789abcdef';

describe('serve and PagerDuty (Events API v2 contract)', () => {
  it('triggers with a stable dedup_key and the documented body, resolves on recovery, and never prints the routing key', async () => {
    const target = await startSwitch();
    const pagerduty = await startRecorder();
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const daemon = await serve(
      [
        dir,
        '--db',
        path.join(dir, 'history.db'),
        '--alert-after',
        '1',
        '--location',
        'lab',
        '--target',
        'staging',
        '--pagerduty-url',
        `${pagerduty.url}/v2/enqueue`,
        '--pagerduty-routing-key-env',
        'PD_ROUTING_KEY',
        // Meant for webhooks: PagerDuty authenticates by its routing key and must not get it.
        '--webhook-header',
        'Authorization: Bearer {{ env.HOOK_TOKEN }}',
      ],
      { SWITCH_URL: target.url, PD_ROUTING_KEY: ROUTING_KEY_CANARY, HOOK_TOKEN: HEADER_CANARY },
    );
    const events = (): PagerdutyEvent[] => pagerduty.received.map((item) => JSON.parse(item.raw) as PagerdutyEvent);
    const trigger = await eventually(async () => events().find((event) => event.event_action === 'trigger'), 'a trigger event');
    expect(pagerduty.received[0]!.path).toBe('/v2/enqueue');
    expect(pagerduty.received[0]!.headers.authorization).toBeUndefined();
    expect(trigger.routing_key).toBe(ROUTING_KEY_CANARY);
    expect(trigger.dedup_key).toMatch(/^ceiling-[0-9a-f]{64}$/);
    expect(trigger.payload).toMatchObject({ source: 'staging', severity: 'critical', component: 'switch works', group: 'lab', class: 'CEIL_HTTP_STATUS' });
    expect(trigger.payload!.summary).toMatch(/^Journey "switch works" is failing from lab against staging at step "ask the switch": CEIL_HTTP_STATUS /);
    expect(trigger.links).toEqual([{ href: `${daemon.url}/`, text: 'Ceiling status page' }]);

    target.setBroken(false);
    const resolve = await eventually(async () => events().find((event) => event.event_action === 'resolve'), 'a resolve event');
    expect(resolve).toEqual({ routing_key: ROUTING_KEY_CANARY, event_action: 'resolve', dedup_key: trigger.dedup_key });

    const outputs = [await text(`${daemon.url}/metrics`), await text(`${daemon.url}/api/v1/journeys`), await text(`${daemon.url}/healthz`)];
    await daemon.stop();
    outputs.push(daemon.stdout(), daemon.stderr());
    for (const output of outputs) expect(output).not.toContain(ROUTING_KEY_CANARY);
  }, 60_000);

  it('refuses a routing key variable that is not set with exit 2, naming it', async () => {
    const dir = await cleanup.dir({ 'switch.yaml': switchJourney('switch works') });
    const result = await runCli(['serve', dir, '--listen', '127.0.0.1:0', '--db', path.join(dir, 'history.db'), '--pagerduty-routing-key-env', 'PD_NOT_SET'], {
      env: { SWITCH_URL: 'http://127.0.0.1:9' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--pagerduty-routing-key-env: PD_NOT_SET is not set/);
  });
});
