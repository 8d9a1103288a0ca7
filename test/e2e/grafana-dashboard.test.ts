import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { root, runCli } from './cli.js';
import { Cleanup, startServer } from './helpers.js';
import { startPrometheus, startPushgateway } from './prometheus-stack.js';
import { eventually, startServe } from './serve-process.js';

/**
 * docs/grafana/ceiling-dashboard.json is only worth importing if its queries
 * work against what Ceiling exports. A real Prometheus scrapes a real
 * `ceiling serve --config` (a discovered fleet, a passing and a failing
 * journey) and a real Pushgateway holding a real gate's verdict; every
 * panel's query then runs through Prometheus's HTTP API and must parse and
 * return data.
 */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: { expr: string; refId: string }[];
}

interface Dashboard {
  title: string;
  uid: string;
  templating: { list: { name: string; query: { query: string } }[] };
  panels: Panel[];
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

const dashboardFile = path.join(root, 'docs', 'grafana', 'ceiling-dashboard.json');

/** As Grafana would with "All" picked: the location variable matches everything. */
const withVariables = (expr: string): string => expr.replaceAll('$location', '.*');

function journey(name: string, route: string): string {
  return [`name: ${name}`, 'schedule: { every: 1s }', 'steps:', `  - http: { url: "{{ vars.base }}${route}" }`, '    expect: { status: 200 }', ''].join('\n');
}

describe('the Grafana dashboard', () => {
  it('is an importable dashboard: unique panel ids, a Prometheus datasource input, and a query on every panel', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard & { __inputs: { name: string; pluginId: string }[] };
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase());
    for (const wanted of ['journey up', 'failure reasons', 'step latency', 'runs by result', 'fleet size', 'gate']) {
      expect(
        titles.some((title) => title.includes(wanted)),
        wanted,
      ).toBe(true);
    }
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
  });

  it('runs every panel query against a real Prometheus scraping serve and a Pushgateway, and each returns data', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard;
    const service = cleanup.add(await startServer((request, response) => response.writeHead(request.url === '/ok' ? 200 : 500).end()));
    const dir = await cleanup.dir({
      'ok.yaml': journey('the page answers', '/ok'),
      'broken.yaml': journey('the broken page answers', '/broken'),
      'list.mjs': `console.log(JSON.stringify([{ url: ${JSON.stringify(service.url)} }]));\n`,
      'ceiling.yaml': [
        'journeys: [ok.yaml, broken.yaml]',
        'targets:',
        `  static: { vars: { base: "${service.url}" } }`,
        '  web:',
        `    discover: { command: ["${process.execPath}", "list.mjs"] }`,
        '    expect: { count: 1 }',
        '    vars: { base: "{{ target.url }}" }',
        '',
      ].join('\n'),
    });
    const config = path.join(dir, 'ceiling.yaml');

    const pushgateway = cleanup.add(await startPushgateway());
    const gate = await runCli(
      ['gate', '--config', config, '--target', 'static', '--pushgateway', pushgateway.url, '--verdict-out', path.join(dir, 'verdict.json')],
      {
        killAfterMs: 60_000,
      },
    );
    expect(gate.code, gate.stderr).toBe(1);

    const serve = cleanup.add(await startServe(['--config', config, '--db', path.join(dir, 'history.db'), '--location', 'lab']));
    const prometheus = cleanup.add(await startPrometheus({ ceiling: new URL(serve.url).host, pushgateway: new URL(pushgateway.url).host }));

    const query = async (expr: string): Promise<QueryAnswer> => {
      const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5_000) });
      return (await response.json()) as QueryAnswer;
    };
    const queries = [
      ...dashboard.templating.list.map((variable) => ({
        panel: `variable ${variable.name}`,
        expr: variable.query.query.replace(/^label_values\((\w+).*$/, '$1'),
      })),
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel: `${panel.title} ${target.refId}`, expr: withVariables(target.expr) }))),
    ];
    // Rates need two scrapes of a run that already happened; each query gets until it has data, then all are checked at once.
    const answers = new Map<string, QueryAnswer>();
    await eventually(
      async () => {
        for (const { panel, expr } of queries) {
          if ((answers.get(panel)?.data?.result.length ?? 0) > 0) continue;
          answers.set(panel, await query(expr));
        }
        return queries.every(({ panel }) => (answers.get(panel)?.data?.result.length ?? 0) > 0) ? true : undefined;
      },
      'every panel query to return data',
      60_000,
    ).catch(() => undefined);
    const outcome = queries.map(({ panel, expr }) => {
      const answer = answers.get(panel);
      return { panel, expr, status: answer?.status, error: answer?.error, series: answer?.data?.result.length ?? 0 };
    });
    expect(outcome.filter((item) => item.status !== 'success' || item.series === 0)).toEqual([]);
  }, 150_000);
});
