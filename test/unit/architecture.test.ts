/**
 * The direction of imports in src/, as test/architecture/layers.ts writes it
 * down, and no cycles between files. The checker is tested on made-up trees
 * first, so a green run on the real tree means something.
 */
import { describe, expect, it } from 'vitest';
import { cycleViolations, importCycles, importEdges, layerViolations, readSourceTree, type ImportEdge } from '../architecture/import-graph.js';
import { ALLOWED_IMPORTS, IMPORTABLE_FROM_EVERYWHERE, KNOWN_CYCLES } from '../architecture/layers.js';
import { root } from '../e2e/cli.js';

const rules = { allowed: ALLOWED_IMPORTS, importableFromEverywhere: IMPORTABLE_FROM_EVERYWHERE };

const tree = (files: Record<string, string>) => new Map(Object.entries(files));

describe('the import checker', () => {
  it('reads every kind of relative import, with its line, and skips packages', () => {
    const edges = importEdges(
      tree({
        'src/steps/a.ts': [
          "import { readFile } from 'node:fs/promises';",
          "import { z } from 'zod';",
          "import type { A } from '../core/result.js';",
          "export { B } from './b.js';",
          "import './side-effect.js';",
          "type M = typeof import('../journey/schema.js');",
          "const lazy = () => import('./http/step.js');",
        ].join('\n'),
      }),
    );
    expect(edges).toEqual([
      { from: 'src/steps/a.ts', line: 3, specifier: '../core/result.js', to: 'src/core/result.ts' },
      { from: 'src/steps/a.ts', line: 4, specifier: './b.js', to: 'src/steps/b.ts' },
      { from: 'src/steps/a.ts', line: 5, specifier: './side-effect.js', to: 'src/steps/side-effect.ts' },
      { from: 'src/steps/a.ts', line: 6, specifier: '../journey/schema.js', to: 'src/journey/schema.ts' },
      { from: 'src/steps/a.ts', line: 7, specifier: './http/step.js', to: 'src/steps/http/step.ts' },
    ]);
  });

  it('does not mistake an import written inside a comment or a string for one', () => {
    const edges = importEdges(tree({ 'src/core/a.ts': "// import { x } from '../cli/program.js';\nconst s = \"import { y } from '../gate/gate.js'\";\n" }));
    expect(edges).toEqual([]);
  });

  it('catches a planted upward import, naming the file, the line and the import', () => {
    const edges = importEdges(
      tree({
        'src/core/deadline.ts': "import { x } from './teardown.js';\nimport type { Journey } from '../journey/journey.js';\n",
        'src/steps/flow.ts': "import { sleep } from '../core/deadline.js';\nimport { run } from '../engine/run.js';\n",
      }),
    );
    expect(layerViolations(edges, rules)).toEqual([
      "src/core/deadline.ts:2 imports '../journey/journey.js' (journey): core may import nothing from other folders",
      "src/steps/flow.ts:2 imports '../engine/run.js' (engine): steps may import only core, journey, secrets, discovery",
    ]);
  });

  it('keeps serve and gate apart, in both directions', () => {
    const edges = importEdges(
      tree({
        'src/serve/daemon.ts': "import { runGate } from '../gate/gate.js';\n",
        'src/gate/notify.ts': "import type { WebhookTarget } from '../serve/webhook-delivery.js';\n",
      }),
    );
    expect(layerViolations(edges, rules)).toEqual([
      "src/serve/daemon.ts:1 imports '../gate/gate.js' (gate): serve may import only core, journey, secrets, discovery, steps, report, history, engine, webhook",
      "src/gate/notify.ts:1 imports '../serve/webhook-delivery.js' (serve): gate may import only core, journey, secrets, discovery, steps, report, history, engine, webhook",
    ]);
  });

  it('lets every folder import version.ts, and a folder its own files', () => {
    const edges = importEdges(
      tree({
        'src/core/exit-codes.ts': "import { VERSION } from '../version.js';\n",
        'src/steps/http/request.ts': "import { VERSION } from '../../version.js';\nimport { a } from '../classify.js';\n",
      }),
    );
    expect(layerViolations(edges, rules)).toEqual([]);
  });

  it('fails on a folder the table does not know, and on an import that leaves src/', () => {
    const edges = importEdges(
      tree({
        'src/plugins/a.ts': "import { x } from '../core/result.js';\n",
        'src/report/json.ts': "import { y } from '../plugins/a.js';\nimport { z } from '../../test/unit/fake-clock.js';\n",
      }),
    );
    expect(layerViolations(edges, rules)).toEqual([
      "src/plugins/a.ts:1 imports '../core/result.js': src/plugins has no row in the layer table; add one",
      "src/report/json.ts:1 imports '../plugins/a.js' (plugins, which has no row in the layer table): report may import only core, journey, secrets, discovery, steps",
      "src/report/json.ts:2 imports '../../test/unit/fake-clock.js' (test/unit/fake-clock.ts), outside src/",
    ]);
  });

  it('catches a planted cycle, naming the files and the imports that close it', () => {
    const edges = importEdges(
      tree({
        'src/cli/program.ts': "const lazy = () => import('./run-command.js');\n",
        'src/cli/run-command.ts': "import { VERSION } from '../version.js';\nimport type { RunFlags } from './program.js';\n",
        'src/cli/run-flags.ts': 'export interface RunFlags {}\n',
      }),
    );
    expect(cycleViolations(edges, [])).toEqual([
      "import cycle: src/cli/program.ts → src/cli/run-command.ts → src/cli/program.ts (src/cli/program.ts:1 './run-command.js', src/cli/run-command.ts:2 './program.js')",
    ]);
  });

  it('finds a cycle through three files and a file that imports itself', () => {
    const edges = importEdges(
      tree({
        'src/serve/a.ts': "import { b } from './b.js';\n",
        'src/serve/b.ts': "import { c } from './c.js';\n",
        'src/serve/c.ts': "import { a } from './a.js';\nimport { d } from './d.js';\n",
        'src/serve/d.ts': '',
        'src/gate/self.ts': "import * as self from './self.js';\n",
      }),
    );
    expect(importCycles(edges)).toEqual([['src/gate/self.ts'], ['src/serve/a.ts', 'src/serve/b.ts', 'src/serve/c.ts']]);
    expect(cycleViolations(edges, [['src/serve/c.ts', 'src/serve/a.ts', 'src/serve/b.ts']])).toEqual([
      "import cycle: src/gate/self.ts → src/gate/self.ts (src/gate/self.ts:1 './self.js')",
    ]);
  });

  it('reports a known cycle that is gone, so its allowance is deleted', () => {
    const edges: ImportEdge[] = [{ from: 'src/serve/a.ts', line: 1, specifier: './b.js', to: 'src/serve/b.ts' }];
    expect(cycleViolations(edges, [['src/serve/a.ts', 'src/serve/b.ts']])).toEqual([
      'known cycle src/serve/a.ts, src/serve/b.ts is no longer a cycle: delete its entry from KNOWN_CYCLES',
    ]);
  });
});

describe('the layer table', () => {
  it('is itself one direction: no two folders may import each other, even through others', () => {
    const edges = Object.entries(ALLOWED_IMPORTS).flatMap(([from, allowed]) => allowed.map((to): ImportEdge => ({ from, line: 0, specifier: to, to })));
    expect(importCycles(edges)).toEqual([]);
  });

  it('names only folders that have a row of their own', () => {
    const folders = Object.keys(ALLOWED_IMPORTS);
    for (const allowed of Object.values(ALLOWED_IMPORTS)) for (const folder of allowed) expect(folders).toContain(folder);
  });
});

describe('src/', () => {
  const edges = importEdges(readSourceTree(root));

  it('is read whole: every folder, dynamic imports included', () => {
    const folders = new Set(edges.map((edge) => edge.from.split('/')[1]));
    for (const folder of ['core', 'journey', 'secrets', 'steps', 'report', 'history', 'engine', 'serve', 'gate', 'cli']) expect(folders).toContain(folder);
    expect(edges).toContainEqual(expect.objectContaining({ from: 'src/steps/registry.ts', to: 'src/steps/http/step.ts' }));
  });

  it('imports only in the direction test/architecture/layers.ts allows', () => {
    expect(layerViolations(edges, rules)).toEqual([]);
  });

  it('has no import cycle between files beyond the known ones listed in test/architecture/layers.ts', () => {
    expect(cycleViolations(edges, KNOWN_CYCLES)).toEqual([]);
  });
});
