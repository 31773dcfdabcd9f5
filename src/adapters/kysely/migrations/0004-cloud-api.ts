/**
 * The WhatsApp Cloud API adapter's tables (src/ports/cloud-store.ts):
 * - `cloud_sends`: one claim per message posted to the Cloud API — who claimed it (epoch), whether
 *   the API accepted it, and its Cloud `wamid` (unique), so statuses map back to our message id;
 * - `cloud_events`: the inbox of Cloud webhook events, unique by event id, read per contact bucket in
 *   `seq` order (index on bucket, done, seq).
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../../../core/config.js';
import { columnTypes, exactCollation } from './0001-initial.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect, dialect === 'mysql' ? await exactCollation(db) : undefined);
  await t
    .createTable(db, 'cloud_sends')
    .addColumn('message_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .addColumn('wamid', 'varchar(255)', (c) => c.unique())
    .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await t
    .seq(t.createTable(db, 'cloud_events'))
    .addColumn('event_id', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('contact', 'varchar(32)', (c) => c.notNull())
    .addColumn('payload', t.text, (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cloud_events_bucket_idx').on('cloud_events').columns(['bucket', 'done', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cloud_events').execute();
  await db.schema.dropTable('cloud_sends').execute();
}
