/**
 * MessageStore on SQL. Idempotency rests on the unique index of `idempotency_key`: concurrent inserts
 * of one key from any number of connections leave one row, and every caller reads that row back.
 * Every change is one conditional UPDATE, so no read-modify-write can race: `markSent` is fenced by
 * an EXISTS on the shard map inside the same statement, `recordStatus` matches only the statuses it
 * may move forward from.
 */
import { clampLimit } from '../../core/bounds.js';
import type { Insertable, Selectable } from 'kysely';
import { messageIdLengthMax, idempotencyKeyLengthMax, storeBatchSizeMax, waIdLengthMax } from '../../core/limits.js';
import {
  MESSAGE_STATUS_RANK,
  type MessageStatus,
  type MessageStore,
  type NewMessage,
  type ShardFence,
  type StoredMessage,
  assertOnePerId,
  statusMayMove,
  type StatusChange,
  type StatusUpdate,
} from '../../ports/message-store.js';
import type { Database } from './database.js';
import { insertReturningSeq } from './insert-returning-seq.js';
import { shardFenceQuery } from './shard-fence-query.js';
import type { MessagesTable } from './schema.js';


export class KyselyMessageStore implements MessageStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async insert(message: NewMessage): Promise<{ readonly message: StoredMessage; readonly created: boolean }> {
    assertInsertable(message);
    const values = toRow(message);
    if (message.idempotencyKey === null) {
      // No key, no conflict to absorb: a duplicate id fails the unique index and throws.
      const seq = await insertReturningSeq(this.#database, 'messages', values, null);
      return { message: createdMessage(message, seqOrThrow(seq, message.id)), created: true };
    }
    const seq = await insertReturningSeq(this.#database, 'messages', values, 'idempotency_key');
    if (seq !== null) return { message: createdMessage(message, seq), created: true };
    const existing = await this.#byKey(message.idempotencyKey);
    if (existing === null) throw new Error(`message id ${message.id} already exists under another idempotency key`);
    return { message: existing, created: false };
  }

  async insertMany(messages: readonly NewMessage[]): Promise<readonly { readonly message: StoredMessage; readonly created: boolean }[]> {
    if (messages.length > storeBatchSizeMax) throw new Error(`insertMany takes at most ${storeBatchSizeMax} messages, got ${messages.length}`);
    if (messages.length === 0) return [];
    messages.forEach(assertInsertable);
    const { db, dialect } = this.#database;
    const seqs = new Map<string, number>();
    if (dialect === 'mysql') {
      // No ON CONFLICT and no RETURNING: one INSERT IGNORE (one statement keeps the seqs in input
      // order), then read the seqs back. A row found under a message's id is that message only if it
      // holds the same content (IGNORE also skips a duplicate id, a programmer error caught below).
      await db.insertInto('messages').values(messages.map(toRow)).ignore().execute();
      const rows = await db.selectFrom('messages').select(['id', 'seq', 'idempotency_key', 'payload', 'created_at_ms']).where('id', 'in', messages.map((m) => m.id)).execute();
      const byId = new Map(messages.map((m) => [m.id, m]));
      for (const row of rows) {
        const m = byId.get(row.id) as NewMessage;
        if (row.idempotency_key !== m.idempotencyKey || row.payload !== m.payload || Number(row.created_at_ms) !== m.createdAtMs) {
          throw new Error(`message id ${m.id} already exists with other content`);
        }
        seqs.set(row.id, Number(row.seq));
      }
    } else {
      // NULL keys never conflict; a duplicate id still fails the statement (a programmer error).
      const rows = await db
        .insertInto('messages')
        .values(messages.map(toRow))
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning(['id', 'seq'])
        .execute();
      for (const row of rows) seqs.set(row.id, Number(row.seq));
    }
    // Not inserted: its key was taken (earlier, or by an earlier row of this batch); answer with that message.
    const lostKeys = new Set<string>();
    for (const m of messages) {
      if (seqs.has(m.id)) continue;
      if (m.idempotencyKey === null) throw new Error(`message ${m.id} was not inserted`);
      lostKeys.add(m.idempotencyKey);
    }
    const existing = new Map<string, StoredMessage>();
    if (lostKeys.size > 0) {
      const rows = await db.selectFrom('messages').selectAll().where('idempotency_key', 'in', [...lostKeys]).execute();
      for (const row of rows) if (row.idempotency_key !== null) existing.set(row.idempotency_key, toStoredMessage(row));
    }
    return messages.map((m) => {
      const seq = seqs.get(m.id);
      if (seq !== undefined) return { message: createdMessage(m, seq), created: true };
      const found = existing.get(m.idempotencyKey as string);
      if (found === undefined) throw new Error(`message id ${m.id} already exists under another idempotency key`);
      return { message: found, created: false };
    });
  }

  async get(id: string): Promise<StoredMessage | null> {
    const row = await this.#database.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toStoredMessage(row);
  }

  async pending(generation: number, shard: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (bounded === 0) return [];
    const rows = await this.#database.db
      .selectFrom('messages')
      .selectAll()
      .where('generation', '=', generation)
      .where('shard', '=', shard)
      .where('status', '=', 'accepted')
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(bounded)
      .execute();
    return rows.map(toStoredMessage);
  }

  async markSent(ids: readonly string[], fence: ShardFence, nowMs: number): Promise<number> {
    assertBatch(ids);
    if (ids.length === 0) return 0;
    const result = await this.#database.db
      .updateTable('messages')
      .set({ status: 'sent', epoch: fence.epoch, updated_at_ms: nowMs })
      .where('id', 'in', [...ids])
      .where('status', '=', 'accepted')
      .where('generation', '=', fence.generation)
      .where('shard', '=', fence.shard)
      // The fence: the caller's epoch must still be the shard's epoch in the current generation
      // (the same condition ShardMapStore.assign uses), checked in the statement that writes.
      .where((eb) => eb.exists(shardFenceQuery(this.#database, fence)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async recordStatus(id: string, status: StatusUpdate, nowMs: number, errorCode?: number): Promise<boolean> {
    return (await this.recordStatuses([{ id, status, errorCode }], nowMs)) > 0;
  }

  async recordStatuses(changes: readonly StatusChange[], nowMs: number): Promise<number> {
    assertOnePerId(changes);
    const groups = new Map<string, { status: StatusUpdate; errorCode: number | null; ids: string[] }>();
    for (const { id, status, errorCode } of changes) {
      const code = status === 'failed' ? (errorCode ?? null) : null;
      const key = `${status}:${code ?? ''}`;
      const group = groups.get(key) ?? { status, errorCode: code, ids: [] };
      group.ids.push(id);
      groups.set(key, group);
    }
    let changed = 0;
    for (const { status, errorCode, ids } of groups.values()) {
      for (let i = 0; i < ids.length; i += storeBatchSizeMax) {
        const result = await this.#database.db
          .updateTable('messages')
          .set({ status, updated_at_ms: nowMs, ...(status === 'failed' ? { error_code: errorCode } : {}) })
          .where('id', 'in', ids.slice(i, i + storeBatchSizeMax))
          .where('status', 'in', statusesBefore(status))
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
    }
    return changed;
  }

  async statuses(ids: readonly string[]): Promise<ReadonlyMap<string, MessageStatus>> {
    const out = new Map<string, MessageStatus>();
    for (let i = 0; i < ids.length; i += storeBatchSizeMax) {
      const rows = await this.#database.db.selectFrom('messages').select(['id', 'status']).where('id', 'in', ids.slice(i, i + storeBatchSizeMax)).execute();
      for (const row of rows) out.set(row.id, parseStatus(row.status));
    }
    return out;
  }

  async countAccepted(): Promise<number> {
    const row = await this.#database.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('status', '=', 'accepted')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async acceptedByShard(generation: number): Promise<readonly { readonly shard: number; readonly count: number }[]> {
    const rows = await this.#database.db
      .selectFrom('messages')
      .select((eb) => ['shard', eb.fn.countAll().as('count')])
      .where('generation', '=', generation)
      .where('status', '=', 'accepted')
      .groupBy('shard')
      .orderBy('shard')
      .execute();
    return rows.map((row) => ({ shard: Number(row.shard), count: Number(row.count) }));
  }

  async countByStatus(): Promise<Readonly<Record<MessageStatus, number>>> {
    const rows = await this.#database.db
      .selectFrom('messages')
      .select((eb) => ['status', eb.fn.countAll().as('count')])
      .groupBy('status')
      .execute();
    const counts: Record<MessageStatus, number> = { accepted: 0, sent: 0, delivered: 0, read: 0, failed: 0 };
    for (const row of rows) counts[parseStatus(row.status)] = Number(row.count);
    return counts;
  }

  async generationOpen(generation: number): Promise<boolean> {
    const query = this.#database.db.selectFrom('shard_generations').select('state').where('generation', '=', generation);
    // SQLite transactions are serial (`begin immediate`); the others lock the row for the transaction.
    const locked = this.#database.dialect === 'sqlite' ? query : query.forUpdate();
    const row = await locked.executeTakeFirst();
    return row !== undefined && row.state !== 'retired';
  }

  async acceptedBefore(generation: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (bounded === 0) return [];
    const rows = await this.#database.db
      .selectFrom('messages')
      .selectAll()
      .where('status', '=', 'accepted')
      .where('generation', '<', generation)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(bounded)
      .execute();
    return rows.map(toStoredMessage);
  }

  async moveToGeneration(moves: readonly { readonly id: string; readonly shard: number }[], generation: number, nowMs: number): Promise<number> {
    assertBatch(moves.map((m) => m.id));
    let moved = 0;
    // One UPDATE per target shard (at most `shards` statements per batch); each is idempotent.
    const byShard = new Map<number, string[]>();
    for (const move of moves) byShard.set(move.shard, [...(byShard.get(move.shard) ?? []), move.id]);
    for (const [shard, ids] of byShard) {
      const result = await this.#database.db
        .updateTable('messages')
        .set({ generation, shard, updated_at_ms: nowMs })
        .where('id', 'in', ids)
        .where('status', '=', 'accepted')
        .where('generation', '<', generation)
        .executeTakeFirst();
      moved += Number(result.numUpdatedRows);
    }
    return moved;
  }

  async #byKey(idempotencyKey: string): Promise<StoredMessage | null> {
    const row = await this.#database.db
      .selectFrom('messages')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
    return row === undefined ? null : toStoredMessage(row);
  }
}

/**
 * Lengths are the webapp's to validate; here they are asserted, because MySQL's INSERT IGNORE would
 * otherwise truncate an over-long value silently, and two keys sharing a prefix would collide.
 */
function assertInsertable(message: NewMessage): void {
  if (message.id.length > messageIdLengthMax) throw new Error(`message id longer than ${messageIdLengthMax}`);
  if (message.recipient.length > waIdLengthMax) throw new Error(`recipient longer than ${waIdLengthMax}`);
  if (message.idempotencyKey !== null && message.idempotencyKey.length > idempotencyKeyLengthMax) {
    throw new Error(`idempotency key longer than ${idempotencyKeyLengthMax}`);
  }
}

function assertBatch(ids: readonly string[]): void {
  if (ids.length > storeBatchSizeMax) throw new Error(`markSent takes at most ${storeBatchSizeMax} ids, got ${ids.length}`);
}

function seqOrThrow(seq: number | null, id: string): number {
  if (seq === null) throw new Error(`message ${id} was not inserted`);
  return seq;
}

/** The statuses a message may move to `status` from: lower rank, and for `failed` only accepted or sent. */
function statusesBefore(status: StatusUpdate): MessageStatus[] {
  return (Object.keys(MESSAGE_STATUS_RANK) as MessageStatus[]).filter((s) => statusMayMove(s, status));
}

function parseStatus(value: string): MessageStatus {
  if (!Object.hasOwn(MESSAGE_STATUS_RANK, value)) throw new Error(`unknown message status in the database: ${value}`);
  return value as MessageStatus;
}

function toRow(message: NewMessage): Insertable<MessagesTable> {
  return {
    id: message.id,
    generation: message.generation,
    shard: message.shard,
    recipient: message.recipient,
    payload: message.payload,
    status: 'accepted',
    epoch: null,
    idempotency_key: message.idempotencyKey,
    error_code: null,
    created_at_ms: message.createdAtMs,
    updated_at_ms: message.createdAtMs,
  };
}

function createdMessage(message: NewMessage, seq: number): StoredMessage {
  const { id, generation, shard, recipient, payload, idempotencyKey, createdAtMs } = message;
  return { id, generation, shard, recipient, payload, idempotencyKey, createdAtMs, seq, status: 'accepted', epoch: null, errorCode: null, updatedAtMs: createdAtMs };
}

function toStoredMessage(row: Selectable<MessagesTable>): StoredMessage {
  return {
    id: row.id,
    generation: Number(row.generation),
    shard: Number(row.shard),
    recipient: row.recipient,
    payload: row.payload,
    idempotencyKey: row.idempotency_key,
    createdAtMs: Number(row.created_at_ms),
    seq: Number(row.seq),
    status: parseStatus(row.status),
    epoch: row.epoch === null ? null : Number(row.epoch),
    errorCode: row.error_code === null ? null : Number(row.error_code),
    updatedAtMs: Number(row.updated_at_ms),
  };
}
