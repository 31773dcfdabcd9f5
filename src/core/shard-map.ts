/**
 * Rules of the shard map that every store implements alike (pure; the stores apply them).
 */
import type { ShardCount } from './limits.js';

/**
 * The epochs of a new generation's shards: each shard id starts one above the highest epoch that id
 * ever had, so an epoch seen by the upstream for shard k is never handed out again.
 * `maxEpochByShard` holds, per shard id, the highest epoch in any generation (after the old
 * generation was fenced).
 */
export function firstEpochs(shards: ShardCount, maxEpochByShard: ReadonlyMap<number, number>): number[] {
  const epochs: number[] = [];
  for (let shard = 0; shard < shards; shard++) epochs.push((maxEpochByShard.get(shard) ?? 0) + 1);
  return epochs;
}
