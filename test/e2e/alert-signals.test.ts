import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROMETHEUS_TOOLS, requireTool } from '../../fixtures/prometheus-tools.js';
import { root } from './cli.js';
import { Cleanup, startServer } from './helpers.js';
import { eventually, startServe, type ServeProcess } from './serve-process.js';

/**
 * What serve hands to Prometheus and its alerting, checked with Prometheus's
 * own tools: promtool lints a real daemon's /metrics and the docs' rules.
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
  });

  it('accepts the alerting rules in docs/kubernetes', async () => {
    const check = await promtool(['check', 'rules', 'docs/kubernetes/alert-rules.yml']);
    expect(check.output).toContain('SUCCESS');
    expect(check.code).toBe(0);
  });
});
