import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROMETHEUS_TOOLS, requireTool } from '../../fixtures/prometheus-tools.js';
import { eventually } from './serve-process.js';

/**
 * A real Prometheus, Pushgateway and Alertmanager, each in the foreground on a
 * loopback port with its own temporary data folder, stopped by its own
 * handle: for tests that query the way Grafana would, and that deliver alerts.
 */

export interface RunningTool {
  url: string;
  output(): string;
  close(): Promise<void>;
}

const tool = (name: string) => PROMETHEUS_TOOLS.find((candidate) => candidate.name === name)!;

/** A port that was free a moment ago: these tools take no port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startTool(executable: string, args: (port: number, dir: string) => string[], setup?: (dir: string) => Promise<void>): Promise<RunningTool> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ceiling-prom-'));
  await setup?.(dir);
  const port = await freePort();
  const child = spawn(executable, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined),
      `${executable} ready`,
      30_000,
    );
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}\n${executable} said:\n${output}`, { cause: error });
  }
  return { url, output: () => output, close };
}

export function startPushgateway(): Promise<RunningTool> {
  return startTool(requireTool(tool('Pushgateway')), (port) => [`--web.listen-address=127.0.0.1:${port}`]);
}

/** Scrapes each `host:port` every second; the Pushgateway's own labels are kept (honor_labels), as its docs say to. */
export function startPrometheus(scrape: { ceiling: string; pushgateway: string }): Promise<RunningTool> {
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: ceiling',
    '    static_configs:',
    `      - targets: ["${scrape.ceiling}"]`,
    '  - job_name: pushgateway',
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: ["${scrape.pushgateway}"]`,
    '',
  ].join('\n');
  return startTool(
    requireTool(tool('Prometheus')),
    (port, dir) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    (dir) => writeFile(path.join(dir, 'prometheus.yml'), config),
  );
}

/** Alertmanager with its own storage, routing every alert to `receiverUrl` at once. */
export function startAlertmanager(receiverUrl: string): Promise<RunningTool> {
  const config = [
    'route:',
    '  receiver: ceiling-test',
    "  group_by: ['alertname', 'journey']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: ceiling-test',
    '    webhook_configs:',
    `      - url: ${receiverUrl}`,
    '        send_resolved: true',
    '',
  ].join('\n');
  return startTool(
    requireTool(tool('Alertmanager')),
    (port, dir) => [
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      `--storage.path=${dir}`,
      `--config.file=${path.join(dir, 'am.yml')}`,
    ],
    (dir) => writeFile(path.join(dir, 'am.yml'), config),
  );
}
