/**
 * CallbackStore on SQL. Enqueueing is idempotent on the unique event id (race-safe across
 * connections). `due` returns only heads of contact queues in one query: a pending callback is a
 * head when no pending callback of the same contact, in any shard, has a lower seq. Every state
 * change is one UPDATE that matches only pending rows, so a delivered or dead callback never moves.
 */
import { clampLimit, truncateText } from '../../core/bounds.js';
import type { Insertable, Selectable } from 'kysely';
import { callbackErrorLengthMax, storeBatchSizeMax } from '../../core/limits.js';
import type { CallbackKind, CallbackState, CallbackStore, NewCallback, StoredCallback } from '../../ports/callback-store.js';
import type { Database } from './database.js';
import { insertReturningSeq } from './insert-returning-seq.js';
import type { CallbacksTable } from './schema.js';

/** Rows in one multi-row INSERT (10 parameters each: well inside every dialect's parameter limit). */
const enqueueRowsPerStatement = 500;

export class KyselyCallbackStore implements CallbackStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async enqueue(callback: NewCallback): Promise<{ readonly seq: number; readonly created: boolean }> {
    const seq = await insertReturningSeq(this.#database, 'callbacks', toRow(callback), 'event_id');
    if (seq !== null) return { seq, created: true };
    const existing = await this.#database.db
      .selectFrom('callbacks')
      .select('seq')
      .where('event_id', '=', callback.eventId)
      .executeTakeFirst();
    if (existing === undefined) throw new Error(`callback ${callback.eventId} was neither inserted nor found`);
    return { seq: Number(existing.seq), created: false };
  }

  async enqueueMany(callbacks: readonly NewCallback[]): Promise<number> {
    const seen = new Set<string>();
    const rows = callbacks.filter((c) => !seen.has(c.eventId) && seen.add(c.eventId)).map(toRow);
    let created = 0;
    for (let i = 0; i < rows.length; i += enqueueRowsPerStatement) {
      const insert = this.#database.db.insertInto('callbacks').values(rows.slice(i, i + enqueueRowsPerStatement));
      // One multi-row INSERT: its rows take ascending seqs in list order on every dialect.
      const result = await (this.#database.dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('event_id').doNothing())).executeTakeFirst();
      created += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return created;
  }

  async due(shard: number, nowMs: number, limit: number): Promise<readonly StoredCallback[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (bounded === 0) return [];
    const rows = await this.#database.db
      .selectFrom('callbacks as c')
      .selectAll('c')
      .where('c.shard', '=', shard)
      .where('c.state', '=', 'pending')
      .where('c.next_attempt_at_ms', '<=', nowMs)
      // Head of its contact's queue: nothing older of the same contact is still pending, in any shard.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('callbacks as p')
              .select('p.seq')
              .whereRef('p.contact', '=', 'c.contact')
              .where('p.state', '=', 'pending')
              .whereRef('p.seq', '<', 'c.seq'),
          ),
        ),
      )
      .orderBy('c.seq')
      .limit(bounded)
      .execute();
    return rows.map(toStoredCallback);
  }

  async headsOf(contacts: readonly string[]): Promise<readonly StoredCallback[]> {
    if (contacts.length > storeBatchSizeMax) throw new Error(`headsOf takes at most ${storeBatchSizeMax} contacts, got ${contacts.length}`);
    const heads: StoredCallback[] = [];
    for (const contact of new Set(contacts)) {
      // The (contact, state, seq) index answers this with one lookup.
      const row = await this.#database.db
        .selectFrom('callbacks')
        .selectAll()
        .where('contact', '=', contact)
        .where('state', '=', 'pending')
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      if (row !== undefined) heads.push(toStoredCallback(row));
    }
    return heads;
  }

  async markDelivered(seq: number): Promise<boolean> {
    return (await this.markDeliveredMany([seq])) > 0;
  }

  async markDeliveredMany(seqs: readonly number[]): Promise<number> {
    let changed = 0;
    for (let i = 0; i < seqs.length; i += storeBatchSizeMax) {
      const result = await this.#database.db
        .updateTable('callbacks')
        .set({ state: 'delivered' })
        .where('seq', 'in', seqs.slice(i, i + storeBatchSizeMax))
        .where('state', '=', 'pending')
        .executeTakeFirst();
      changed += Number(result.numUpdatedRows);
    }
    return changed;
  }

  async recordFailure(seq: number, nextAttemptAtMs: number, error: string): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('callbacks')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        next_attempt_at_ms: nextAttemptAtMs,
        last_error: truncateText(error, callbackErrorLengthMax),
      }))
      .where('seq', '=', seq)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markDead(seq: number, error: string): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('callbacks')
      .set({ state: 'dead', last_error: truncateText(error, callbackErrorLengthMax) })
      .where('seq', '=', seq)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async counts(): Promise<Readonly<Record<CallbackState, number>>> {
    const rows = await this.#database.db
      .selectFrom('callbacks')
      .select((eb) => ['state', eb.fn.countAll().as('count')])
      .groupBy('state')
      .execute();
    const counts: Record<CallbackState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of rows) counts[parseState(row.state)] = Number(row.count);
    return counts;
  }

  async pendingPage(afterSeq: number, limit: number): Promise<readonly StoredCallback[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (bounded === 0) return [];
    const rows = await this.#database.db
      .selectFrom('callbacks')
      .selectAll()
      .where('state', '=', 'pending')
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(bounded)
      .execute();
    return rows.map(toStoredCallback);
  }

  async moveShards(moves: readonly { readonly seq: number; readonly shard: number }[]): Promise<number> {
    if (moves.length > storeBatchSizeMax) throw new Error(`moveShards takes at most ${storeBatchSizeMax} callbacks, got ${moves.length}`);
    const byShard = new Map<number, number[]>();
    for (const move of moves) byShard.set(move.shard, [...(byShard.get(move.shard) ?? []), move.seq]);
    let moved = 0;
    for (const [shard, seqs] of byShard) {
      const result = await this.#database.db.updateTable('callbacks').set({ shard }).where('seq', 'in', seqs).where('state', '=', 'pending').where('shard', '<>', shard).executeTakeFirst();
      moved += Number(result.numUpdatedRows);
    }
    return moved;
  }

}

function parseState(value: string): CallbackState {
  if (value !== 'pending' && value !== 'delivered' && value !== 'dead') throw new Error(`unknown callback state in the database: ${value}`);
  return value;
}

function parseKind(value: string): CallbackKind {
  if (value !== 'status' && value !== 'message') throw new Error(`unknown callback kind in the database: ${value}`);
  return value;
}

function toRow(callback: NewCallback): Insertable<CallbacksTable> {
  return {
    event_id: callback.eventId,
    shard: callback.shard,
    contact: callback.contact,
    kind: callback.kind,
    payload: callback.payload,
    state: 'pending',
    attempts: 0,
    next_attempt_at_ms: callback.createdAtMs,
    last_error: null,
    created_at_ms: callback.createdAtMs,
  };
}

function toStoredCallback(row: Selectable<CallbacksTable>): StoredCallback {
  return {
    eventId: row.event_id,
    shard: Number(row.shard),
    contact: row.contact,
    kind: parseKind(row.kind),
    payload: row.payload,
    createdAtMs: Number(row.created_at_ms),
    seq: Number(row.seq),
    state: parseState(row.state),
    attempts: Number(row.attempts),
    nextAttemptAtMs: Number(row.next_attempt_at_ms),
    lastError: row.last_error,
  };
}
