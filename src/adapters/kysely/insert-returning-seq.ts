/**
 * Inserts one row into a table with an auto-increment `seq` and returns that seq, optionally
 * ignoring a unique-key conflict on `conflictColumn` (then it returns null). MySQL has neither
 * ON CONFLICT nor INSERT … RETURNING: it uses INSERT IGNORE and the insert id.
 */
import type { Insertable } from 'kysely';
import type { Database } from './database.js';
import type { Schema } from './schema.js';

type SeqTable = 'messages' | 'inbound_messages' | 'callbacks';

export async function insertReturningSeq<T extends SeqTable>(
  database: Database,
  table: T,
  values: Insertable<Schema[T]>,
  conflictColumn: (keyof Schema[T] & string) | null,
): Promise<number | null> {
  // Kysely cannot narrow a generic table name; the three tables share the shape this needs.
  const db = database.db as unknown as Database['db'] & { insertInto(t: T): ReturnType<Database['db']['insertInto']> };
  const insert = db.insertInto(table).values(values as never);
  if (database.dialect === 'mysql') {
    const result = await (conflictColumn === null ? insert : insert.ignore()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? Number(result.insertId) : null;
  }
  const guarded = conflictColumn === null ? insert : insert.onConflict((oc) => oc.column(conflictColumn as never).doNothing());
  const row = await guarded.returning('seq' as never).executeTakeFirst();
  return row === undefined ? null : Number((row as { seq: unknown }).seq);
}
