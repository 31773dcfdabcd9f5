/**
 * CloudStore on SQL. The claim is one INSERT … SELECT (or, for a claim in doubt for too long, one
 * UPDATE) whose WHERE checks the message is still `accepted` in the caller's shard and the caller's
 * epoch is the shard's epoch in a generation that is not retired — the same fence `markSent` uses,
 * in the statement that writes. When it writes nothing, reads say why (a decision only for this
 * caller: the write already refused). The inbox insert ignores event ids already stored.
 */
import { sql } from 'kysely';
import { clampLimit } from '../../core/bounds.js';
import { storeBatchSizeMax } from '../../core/limits.js';
import type { AcceptedSend, ClaimResult, CloudStore, NewCloudEvent, StoredCloudEvent } from '../../ports/cloud-store.js';
import type { ShardFence } from '../../ports/message-store.js';
import type { Database } from './database.js';
import { shardFenceQuery } from './shard-fence-query.js';

export class KyselyCloudStore implements CloudStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async claimSend(messageId: string, fence: ShardFence, nowMs: number, reclaimAfterMs: number): Promise<ClaimResult> {
    if ((await this.#insertClaim(messageId, fence, nowMs)) || (await this.#retakeClaim(messageId, fence, nowMs, reclaimAfterMs))) return { kind: 'claimed' };
    const db = this.#database.db;
    const claim = await db.selectFrom('cloud_sends').select(['state', 'wamid', 'updated_at_ms']).where('message_id', '=', messageId).executeTakeFirst();
    if (claim?.state === 'accepted') return { kind: 'accepted', wamid: claim.wamid };
    const message = await db.selectFrom('messages').select('status').where('id', '=', messageId).executeTakeFirst();
    if (message?.status !== 'accepted') return { kind: 'not_pending' };
    const owner = await shardFenceQuery(this.#database, fence).executeTakeFirst();
    if (owner !== undefined && claim !== undefined) return { kind: 'in_doubt', sinceMs: Number(claim.updated_at_ms) };
    return { kind: 'fenced' };
  }

  /** A first claim: inserted only when the message is accepted in the fenced shard. */
  async #insertClaim(messageId: string, fence: ShardFence, nowMs: number): Promise<boolean> {
    // Numbers selected as constants need a type on PostgreSQL (an untyped parameter is text there).
    const bigint = sql.raw(this.#database.dialect === 'mysql' ? 'signed' : 'bigint');
    const select = this.#database.db
      .selectFrom('messages')
      .select([
        'messages.id',
        sql<string>`'posting'`.as('state'),
        sql<number>`cast(${fence.epoch} as ${bigint})`.as('epoch'),
        sql<number>`cast(${nowMs} as ${bigint})`.as('updated_at_ms'),
      ])
      .where('messages.id', '=', messageId)
      .where('messages.status', '=', 'accepted')
      .where('messages.generation', '=', fence.generation)
      .where('messages.shard', '=', fence.shard)
      .where((eb) => eb.exists(shardFenceQuery(this.#database, fence)));
    const insert = this.#database.db.insertInto('cloud_sends').columns(['message_id', 'state', 'epoch', 'updated_at_ms']).expression(select);
    const guarded = this.#database.dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('message_id').doNothing());
    const result = await guarded.executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Takes over a claim left `posting` for at least `reclaimAfterMs`, under the same fence. */
  async #retakeClaim(messageId: string, fence: ShardFence, nowMs: number, reclaimAfterMs: number): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('cloud_sends')
      .set({ epoch: fence.epoch, updated_at_ms: nowMs })
      .where('message_id', '=', messageId)
      .where('state', '=', 'posting')
      .where('updated_at_ms', '<=', nowMs - reclaimAfterMs)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('messages')
            .select('messages.id')
            .where('messages.id', '=', messageId)
            .where('messages.status', '=', 'accepted')
            .where('messages.generation', '=', fence.generation)
            .where('messages.shard', '=', fence.shard),
        ),
      )
      .where((eb) => eb.exists(shardFenceQuery(this.#database, fence)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async recordAccepted(entries: readonly AcceptedSend[], nowMs: number): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length > storeBatchSizeMax) throw new Error(`at most ${storeBatchSizeMax} entries per call`);
    const done = await this.#database.db
      .selectFrom('cloud_sends')
      .select('message_id')
      .where('message_id', 'in', entries.map((e) => e.messageId))
      .where('state', '=', 'accepted')
      .execute();
    const known = new Set(done.map((r) => r.message_id));
    const todo = entries.filter((e) => !known.has(e.messageId));
    if (todo.length === 0) return;
    await this.#database.db.transaction().execute(async (trx) => {
      for (const { messageId, wamid } of todo) {
        const updated = await trx
          .updateTable('cloud_sends')
          .set({ state: 'accepted', wamid, updated_at_ms: nowMs })
          .where('message_id', '=', messageId)
          .where('state', '=', 'posting')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) > 0) continue;
        // No claim row (or accepted meanwhile): insert it, ignoring a row that is there.
        const insert = trx.insertInto('cloud_sends').values({ message_id: messageId, state: 'accepted', epoch: 0, wamid, updated_at_ms: nowMs });
        await (this.#database.dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.doNothing())).execute();
      }
    });
  }

  async release(messageId: string, epoch: number): Promise<void> {
    await this.#database.db.deleteFrom('cloud_sends').where('message_id', '=', messageId).where('state', '=', 'posting').where('epoch', '=', epoch).execute();
  }

  async messageIdOf(wamid: string): Promise<string | null> {
    const row = await this.#database.db.selectFrom('cloud_sends').select('message_id').where('wamid', '=', wamid).executeTakeFirst();
    return row?.message_id ?? null;
  }

  async insertEvents(events: readonly NewCloudEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    if (events.length > storeBatchSizeMax) throw new Error(`at most ${storeBatchSizeMax} events per insert`);
    const rows = events.map((e) => ({ event_id: e.eventId, bucket: e.bucket, contact: e.contact, payload: e.payload, done: 0, received_at_ms: e.receivedAtMs }));
    const insert = this.#database.db.insertInto('cloud_events').values(rows);
    const result = await (this.#database.dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('event_id').doNothing())).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  async pendingEvents(buckets: readonly number[], limit: number): Promise<readonly StoredCloudEvent[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (buckets.length === 0 || bounded === 0) return [];
    const rows = await this.#database.db
      .selectFrom('cloud_events')
      .select(['seq', 'event_id', 'bucket', 'contact', 'payload', 'received_at_ms'])
      .where('bucket', 'in', [...buckets])
      .where('done', '=', 0)
      .orderBy('seq')
      .limit(bounded)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      eventId: r.event_id,
      bucket: Number(r.bucket),
      contact: r.contact,
      payload: r.payload,
      receivedAtMs: Number(r.received_at_ms),
    }));
  }

  async markEventsDone(seqs: readonly number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += storeBatchSizeMax) {
      const part = seqs.slice(i, i + storeBatchSizeMax);
      if (part.length > 0) await this.#database.db.updateTable('cloud_events').set({ done: 1 }).where('seq', 'in', part).execute();
    }
  }

  async pruneEvents(buckets: readonly number[], beforeMs: number, limit: number): Promise<number> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    if (buckets.length === 0 || bounded === 0) return 0;
    // Select first, then delete by seq: DELETE … LIMIT is not portable.
    const rows = await this.#database.db
      .selectFrom('cloud_events')
      .select('seq')
      .where('bucket', 'in', [...buckets])
      .where('done', '=', 1)
      .where('received_at_ms', '<', beforeMs)
      .orderBy('seq')
      .limit(bounded)
      .execute();
    if (rows.length === 0) return 0;
    const result = await this.#database.db.deleteFrom('cloud_events').where('seq', 'in', rows.map((r) => Number(r.seq))).where('done', '=', 1).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  nowMs(): Promise<number> {
    return this.#database.nowMs();
  }

  async countEvents(): Promise<number> {
    const row = await this.#database.db.selectFrom('cloud_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
