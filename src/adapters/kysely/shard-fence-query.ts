/**
 * The fence as a subquery: the caller's epoch is still the shard's epoch in a generation that is not
 * retired (the condition `ShardMapStore.assign` writes under). Ownership-dependent writes put it in
 * the statement that writes (`where exists (…)`), so a deposed owner's write changes nothing.
 */
import type { ShardFence } from '../../ports/message-store.js';
import type { Database } from './database.js';

export function shardFenceQuery(database: Database, fence: ShardFence) {
  return database.db
    .selectFrom('shard_map')
    .innerJoin('shard_generations', 'shard_generations.generation', 'shard_map.generation')
    .select('shard_map.shard')
    .where('shard_map.generation', '=', fence.generation)
    .where('shard_map.shard', '=', fence.shard)
    .where('shard_map.epoch', '=', fence.epoch)
    .where('shard_generations.state', '<>', 'retired');
}
