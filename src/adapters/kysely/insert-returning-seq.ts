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
  // Kysely cannot narrow a generic table name; the three tables share the shape used here (an
  // auto-increment `seq`), so the query is typed as if it were `messages`.
  const insert = database.db.insertInto(table as 'messages').values(values as Insertable<Schema['messages']>);
  if (database.dialect === 'mysql') {
    const result = await (conflictColumn === null ? insert : insert.ignore()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? Number(result.insertId) : null;
  }
  const column = conflictColumn as keyof Schema['messages'] & string;
  const guarded = conflictColumn === null ? insert : insert.onConflict((oc) => oc.column(column).doNothing());
  const row = await guarded.returning('seq').executeTakeFirst();
  return row === undefined ? null : Number(row.seq);
}
