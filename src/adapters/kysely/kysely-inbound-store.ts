/**
 * InboundStore on SQL. The unique index on the upstream id makes recording idempotent and race-safe:
 * a redelivered message (or two connections recording it at once) leaves one row, and every caller
 * reads that row back.
 */
import type { Insertable, Selectable } from 'kysely';
import type { InboundStatus, InboundStore, NewInboundMessage, StoredInboundMessage } from '../../ports/inbound-store.js';
import type { Database } from './database.js';
import { insertReturningSeq } from './insert-returning-seq.js';
import type { InboundMessagesTable } from './schema.js';

export class KyselyInboundStore implements InboundStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async insert(message: NewInboundMessage): Promise<{ readonly message: StoredInboundMessage; readonly created: boolean }> {
    const seq = await insertReturningSeq(this.#database, 'inbound_messages', toRow(message), 'id');
    if (seq !== null) return { message: createdMessage(message, seq), created: true };
    const existing = await this.get(message.id);
    if (existing === null) throw new Error(`inbound message ${message.id} was neither inserted nor found`);
    return { message: existing, created: false };
  }

  async get(id: string): Promise<StoredInboundMessage | null> {
    const row = await this.#database.db.selectFrom('inbound_messages').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toStoredMessage(row);
  }

  async markRead(id: string): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('inbound_messages')
      .set({ status: 'read' })
      .where('id', '=', id)
      .where('status', '<>', 'read')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return true;
    // Nothing changed: either the message is already read (idempotent success) or unknown.
    return (await this.get(id)) !== null;
  }

}

function parseStatus(value: string): InboundStatus {
  if (value !== 'received' && value !== 'read') throw new Error(`unknown inbound status in the database: ${value}`);
  return value;
}

function toRow(message: NewInboundMessage): Insertable<InboundMessagesTable> {
  return {
    id: message.id,
    shard: message.shard,
    sender: message.sender,
    payload: message.payload,
    status: 'received',
    received_at_ms: message.receivedAtMs,
  };
}

function createdMessage(message: NewInboundMessage, seq: number): StoredInboundMessage {
  const { id, shard, sender, payload, receivedAtMs } = message;
  return { id, shard, sender, payload, receivedAtMs, seq, status: 'received' };
}

function toStoredMessage(row: Selectable<InboundMessagesTable>): StoredInboundMessage {
  return {
    id: row.id,
    shard: Number(row.shard),
    sender: row.sender,
    payload: row.payload,
    receivedAtMs: Number(row.received_at_ms),
    seq: Number(row.seq),
    status: parseStatus(row.status),
  };
}
