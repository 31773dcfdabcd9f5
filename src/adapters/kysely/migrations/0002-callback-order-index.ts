/**
 * The webhook dispatcher reads each shard's pending callbacks in `seq` order (`CallbackStore.due`);
 * without this index the database sorts every pending callback of the shard on each read, which grows
 * with the backlog. With it, the read walks the index in order and stops at its limit.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('callbacks_shard_order_idx').on('callbacks').columns(['shard', 'state', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('callbacks_shard_order_idx').on('callbacks').execute();
}
