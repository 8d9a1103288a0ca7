import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/gate/config.js';
import { expandTargets } from '../../src/gate/fleet.js';
import { Redactor } from '../../src/secrets/redactor.js';

/**
 * How the gate, the drill and `run --target` turn configured targets into
 * the ones they check, with a command source (a real child process) so no
 * DNS server is needed; DNS sources are covered end to end against dnsmasq.
 */

const listing = (urls: string[]): string[] => [process.execPath, '-e', `process.stdout.write(${JSON.stringify(JSON.stringify(urls.map((url) => ({ url }))))})`];

function group(name: string, argv: string[], extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name,
    vars: { base: '{{ target.url }}', label: '{{ target.name }}' },
    discover: { source: { kind: 'command', argv }, timeoutMs: 10_000, everyMs: 30_000 },
    ...extra,
  };
}

const options = () => ({ redactor: new Redactor(), signal: new AbortController().signal });
const probe = { url: '{{ vars.base }}/version', json: 'version', timeoutMs: 1_000 };

describe('expandTargets', () => {
  it('keeps static targets in place and puts each instance of a group where the group was, with its vars and the probe', async () => {
    const targets: TargetConfig[] = [
      { name: 'canary', vars: { base: 'http://127.0.0.1:9000' } },
      group('web', listing(['http://127.0.0.1:8082', 'http://127.0.0.1:8081']), { version: probe, expect: { count: 2 } }),
      { name: 'last', vars: { base: 'http://127.0.0.1:9001' } },
    ];
    const expansion = await expandTargets(targets, options());
    if ('problems' in expansion) throw new Error(JSON.stringify(expansion.problems));
    expect(expansion.targets).toEqual([
      { name: 'canary', vars: { base: 'http://127.0.0.1:9000' } },
      { name: 'web/127.0.0.1:8081', vars: { base: 'http://127.0.0.1:8081', label: 'web/127.0.0.1:8081' }, version: probe },
      { name: 'web/127.0.0.1:8082', vars: { base: 'http://127.0.0.1:8082', label: 'web/127.0.0.1:8082' }, version: probe },
      { name: 'last', vars: { base: 'http://127.0.0.1:9001' } },
    ]);
    expect(expansion.fleets).toEqual([
      { group: 'web', source: expect.stringMatching(/^command /), expected: { count: 2 }, instances: ['web/127.0.0.1:8081', 'web/127.0.0.1:8082'] },
    ]);
    expect(expansion.sizeFindings).toEqual([]);
  });

  it('turns a fleet of the wrong size into a critical fleet finding, decided before any round', async () => {
    const expansion = await expandTargets([group('web', listing(['http://127.0.0.1:8081']), { expect: { count: 3 } })], options());
    if ('problems' in expansion) throw new Error(JSON.stringify(expansion.problems));
    expect(expansion.sizeFindings).toEqual([
      {
        kind: 'fleet',
        target: 'web',
        code: 'CEIL_DISCOVERY_FLEET_SHORT',
        message: 'web: expected 3 instances, found 1: web/127.0.0.1:8081',
        critical: true,
        round: 0,
      },
    ]);
  });

  it('reports every group whose discovery failed, and runs nothing', async () => {
    const expansion = await expandTargets(
      [group('a', [process.execPath, '-e', 'process.exit(3)']), group('b', listing([])), group('c', listing(['http://127.0.0.1:8081']))],
      options(),
    );
    expect(expansion).toEqual({
      interrupted: false,
      problems: [
        expect.objectContaining({ group: 'a', code: 'CEIL_DISCOVERY_COMMAND_FAILED' }),
        expect.objectContaining({ group: 'b', code: 'CEIL_DISCOVERY_EMPTY' }),
      ],
    });
  });

  it('stops at once when the signal is aborted, calling it interrupted', async () => {
    const controller = new AbortController();
    const slow = group('slow', [process.execPath, '-e', 'setInterval(() => {}, 1000)']);
    const pending = expandTargets([slow], { redactor: new Redactor(), signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ interrupted: true, problems: [expect.objectContaining({ group: 'slow' })] });
  });
});
