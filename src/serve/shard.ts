import { createHash } from 'node:crypto';

/**
 * Splits the journeys among several `ceiling serve` processes (`--shard 2/3`)
 * without any coordination: each process hashes every journey's exact name
 * and keeps its own share, so every journey runs in exactly one shard and
 * stays there across restarts and reloads.
 */

/** 1-based index, as written on the command line "2/3". */
export interface Shard {
  index: number;
  total: number;
}

const SHARD_SYNTAX = '--shard must look like 2/3 (k of n, 1 ≤ k ≤ n)';

export function parseShard(text: string): Shard | { error: string } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const total = match ? Number(match[2]) : NaN;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(total) || index < 1 || index > total) {
    return { error: `${SHARD_SYNTAX}; got ${JSON.stringify(text)}` };
  }
  return { index, total };
}

export function inShard(journeyName: string, shard: Shard): boolean {
  return shardIndexOf(journeyName, shard.total) === shard.index;
}

/** sha256 rather than a string hash so the split is even and the same on every Node version and platform. */
function shardIndexOf(journeyName: string, total: number): number {
  const digest = createHash('sha256').update(journeyName, 'utf8').digest();
  return (digest.readUInt32BE(0) % total) + 1;
}
