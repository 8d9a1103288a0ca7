import { describe, expect, it } from 'vitest';
import { inShard, parseShard, type Shard } from '../../src/serve/shard.js';

const names = Array.from({ length: 500 }, (_, i) => `journey ${i} ${'ß✓'.repeat(i % 3)}`);

function shardsOf(total: number): Shard[] {
  return Array.from({ length: total }, (_, i) => ({ index: i + 1, total }));
}

describe('parseShard', () => {
  it.each([
    ['1/1', { index: 1, total: 1 }],
    ['2/3', { index: 2, total: 3 }],
    ['3/3', { index: 3, total: 3 }],
    [' 4/12 ', { index: 4, total: 12 }],
  ])('reads %j', (text, shard) => {
    expect(parseShard(text)).toEqual(shard);
  });

  it.each(['0/3', '4/3', 'a/b', '1/0', '2', '', '1/3/4', '-1/3', '1.5/3', '2 / 3', '99999999999999999999/99999999999999999999'])(
    'rejects %j and says what to write',
    (text) => {
      expect(parseShard(text)).toEqual({ error: `--shard must look like 2/3 (k of n, 1 ≤ k ≤ n); got ${JSON.stringify(text)}` });
    },
  );
});

describe('inShard', () => {
  it.each([1, 2, 3, 4, 5])('puts every name in exactly one of %i shards, and none is left empty', (total) => {
    const perShard = new Map<number, number>();
    for (const name of names) {
      const owners = shardsOf(total).filter((shard) => inShard(name, shard));
      expect(owners, name).toHaveLength(1);
      const owner = owners[0]!.index;
      perShard.set(owner, (perShard.get(owner) ?? 0) + 1);
    }
    expect([...perShard.keys()].sort()).toEqual(shardsOf(total).map((shard) => shard.index));
  });

  it('gives a name the same shard on every call', () => {
    for (const name of names) {
      const first = shardsOf(4).find((shard) => inShard(name, shard));
      for (let round = 0; round < 3; round++) expect(shardsOf(4).find((shard) => inShard(name, shard))).toEqual(first);
    }
  });

  it('hashes the exact name, so the split survives restarts and Node upgrades', () => {
    // Pinned: a change here moves journeys between probe processes in a running fleet.
    const pinned = { 'comments render escaped': 1, 'probe 0': 2, 'chat announces who left': 3 };
    for (const [name, index] of Object.entries(pinned)) {
      expect(shardsOf(3).find((shard) => inShard(name, shard))?.index, name).toBe(index);
    }
  });

  it('treats names that differ only in case or spacing as different journeys', () => {
    const variants = ['Login', 'login', 'login ', ' login', 'LOGIN'];
    const assignments = variants.map((name) => shardsOf(5).find((shard) => inShard(name, shard))?.index);
    expect(new Set(assignments).size).toBeGreaterThan(1);
  });
});
