import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GateResult } from '../../src/gate/model.js';
import { runCli } from './cli.js';
import { Cleanup, show, startServer } from './helpers.js';

/** Fault cases of `ceiling gate` from issue 11, through the real CLI: the recovery message and rollback commands that need a shell. */

const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

const JOURNEY = ['name: answers 200', 'steps:', '  - http: { url: "{{ vars.base }}/state" }', '    expect: { status: 200 }', ''].join('\n');

async function brokenFleet(): Promise<string> {
  const broken = cleanup.add(await startServer((_req, res) => res.writeHead(503).end('down')));
  return cleanup.dir({
    'ceiling.yaml': ['targets:', '  only:', `    vars: { base: "${broken.url}" }`, ''].join('\n'),
    'answers.yaml': JOURNEY,
  });
}

describe('the gate after a rollback that does not bring back green', () => {
  it('says it waited --recover-within, not the round interval', async () => {
    const dir = await brokenFleet();
    const verdictFile = path.join(dir, 'verdict.json');
    const rollback = `${process.execPath} -e "process.exit(0)"`;
    const result = await runCli(
      [
        'gate',
        path.join(dir, 'answers.yaml'),
        '--config',
        path.join(dir, 'ceiling.yaml'),
        '--verdict-out',
        verdictFile,
        '--out',
        path.join(dir, 'out'),
        '--every',
        '30s',
        '--on-fail',
        rollback,
        '--recover-within',
        '3s',
        '--no-notify',
      ],
      { killAfterMs: 60_000 },
    );
    expect(result.code, show(result)).toBe(1);
    expect(result.stdout).toContain('NOT recovered within 3.00s');
    expect(result.stdout).not.toContain('30.0s');
    const verdict = JSON.parse(await readFile(verdictFile, 'utf8')) as GateResult;
    expect(verdict.recovery).toMatchObject({ recovered: false, withinMs: 3_000 });
  }, 60_000);
});

describe('rollback commands that need a shell', () => {
  it.each([
    ['backticks', './rollback.sh `git rev-parse HEAD~1`', '`git rev-parse HEAD~1`'],
    ['a variable', './rollback.sh --to $PREVIOUS_VERSION', '$PREVIOUS_VERSION'],
    ['a quoted variable', './rollback.sh --to "${PREVIOUS_VERSION}"', '$PREVIOUS_VERSION'],
    ['a substitution', './rollback.sh --to $(cat previous)', '('],
  ])('refuses %s in --on-fail the same way, with exit 2', async (_what, command, shown) => {
    const dir = await brokenFleet();
    const result = await runCli(['gate', path.join(dir, 'answers.yaml'), '--config', path.join(dir, 'ceiling.yaml'), '--on-fail', command]);
    expect(result.code, show(result)).toBe(2);
    expect(result.stderr).toContain(`--on-fail: "${shown}" needs a shell`);
  });

  it('refuses them in drill --rollback too', async () => {
    const dir = await brokenFleet();
    const base = ['drill', path.join(dir, 'answers.yaml'), '--config', path.join(dir, 'ceiling.yaml'), '--deploy', './deploy.sh'];
    const refused = await runCli([...base, '--rollback', './rollback.sh $PREVIOUS']);
    expect(refused.code, show(refused)).toBe(2);
    expect(refused.stderr).toContain('--rollback: "$PREVIOUS" needs a shell');
  });
});
