/**
 * The API checks its backlog bound by counting the messages still `accepted`
 * (`MessageStore.countAccepted`). The table keeps every message ever sent, so that count must read
 * only the accepted rows: an index led by `status` makes it proportional to the backlog, not to
 * the table.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('messages_status_idx').on('messages').column('status').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('messages_status_idx').on('messages').execute();
}
