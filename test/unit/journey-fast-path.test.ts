import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../../src/journey/fast-yaml.js';
import { parseWithPositions } from '../../src/journey/yaml-positions.js';

const crafted = `
name: "quoted: name"
tags: [a, b]
vars:
  n: 3
  flag: yes
  when: 2026-01-01
  multi: |
    line one
    line two
steps:
  - http:
      url: "http://127.0.0.1:1/?a=1&b=2"
      headers: { x-id: "*star*" }
    expect: { status: [200, "2xx"], json: { list: [1, { $len: 2 }] } }
  -   wait: 5ms
  - name: a flow mapping
    assert: { value: "{{ vars.n }}", equals: 3 }
`;

async function texts(): Promise<{ name: string; text: string }[]> {
  const files = (await readdir('journeys')).filter((file) => file.endsWith('.yaml'));
  const examples = await Promise.all(files.map(async (file) => ({ name: file, text: await readFile(path.join('journeys', file), 'utf8') })));
  return [...examples, { name: 'crafted', text: crafted }];
}

describe('the fast YAML path agrees with the exact one', () => {
  it('gives the same values and the same step positions', async () => {
    for (const { name, text } of await texts()) {
      const fast = fastParse(text);
      const exact = parseWithPositions(text);
      expect(fast, name).not.toBeNull();
      expect(exact.errors, name).toEqual([]);
      expect(fast!.raw, name).toEqual(exact.raw);
      const steps = (exact.raw as { steps: unknown[] }).steps;
      for (const index of steps.keys()) {
        expect(fast!.positions.locate(['steps', index], false), `${name} steps[${index}]`).toEqual(exact.positions.locate(['steps', index], false));
      }
    }
  });

  it('leaves anchors, merges, tabs and duplicate keys to the exact path', () => {
    expect(fastParse('a: &x 1\nb: *x\n')).toBeNull();
    expect(fastParse('base: &b { x: 1 }\nc:\n  <<: *b\n')).toBeNull();
    expect(fastParse('a:\n\tb: 1\n')).toBeNull();
    expect(fastParse('a: 1\na: 2\n')).toBeNull();
  });

  it('keeps dates as strings, like the exact path', () => {
    expect(fastParse('when: 2026-01-01\n')!.raw).toEqual({ when: '2026-01-01' });
  });
});
