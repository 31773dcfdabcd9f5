/**
 * The in-memory twin of KyselyMessageStore. Rows live in an array indexed by `seq - 1` (seq is
 * assigned 1, 2, 3, … at insert), so seq order is array order by construction. Each operation runs
 * without an await between its check and its write, which makes it as atomic as the SQL statement
 * it mirrors; `markSent` reads the fence synchronously from the MemoryShardMapStore.
 */
import { clampLimit } from '../../core/bounds.js';
import { idempotencyKeyLengthMax, messageIdLengthMax, storeBatchSizeMax, waIdLengthMax } from '../../core/limits.js';
import {
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

/** What the fence needs from MemoryShardMapStore: the current epoch of a shard, or null. */
export interface ShardEpochSource {
  currentEpoch(generation: number, shard: number): number | null;
  /** True when `generation` exists and is not retired. */
  isOpen(generation: number): boolean;
}


export class MemoryMessageStore implements MessageStore {
  readonly #shardMap: ShardEpochSource;
  /** Index `seq - 1`. */
  readonly #rows: StoredMessage[] = [];
  readonly #seqById = new Map<string, number>();
  readonly #seqByKey = new Map<string, number>();

  constructor(shardMap: ShardEpochSource) {
    this.#shardMap = shardMap;
  }

  async insert(message: NewMessage): Promise<{ readonly message: StoredMessage; readonly created: boolean }> {
    assertInsertable(message);
    const existingSeq = message.idempotencyKey === null ? undefined : this.#seqByKey.get(message.idempotencyKey);
    if (existingSeq !== undefined) return { message: this.#row(existingSeq), created: false };
    if (this.#seqById.has(message.id)) throw new Error(`message id ${message.id} already exists`);
    const stored = newRow(message, this.#rows.length + 1);
    this.#rows.push(stored);
    this.#seqById.set(stored.id, stored.seq);
    if (stored.idempotencyKey !== null) this.#seqByKey.set(stored.idempotencyKey, stored.seq);
    return { message: stored, created: true };
  }

  async insertMany(messages: readonly NewMessage[]): Promise<readonly { readonly message: StoredMessage; readonly created: boolean }[]> {
    if (messages.length > storeBatchSizeMax) throw new Error(`insertMany takes at most ${storeBatchSizeMax} messages, got ${messages.length}`);
    const out: { message: StoredMessage; created: boolean }[] = [];
    for (const message of messages) out.push(await this.insert(message));
    return out;
  }

  async get(id: string): Promise<StoredMessage | null> {
    const seq = this.#seqById.get(id);
    return seq === undefined ? null : this.#row(seq);
  }

  async pending(generation: number, shard: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    const found: StoredMessage[] = [];
    // Rows with seq > afterSeq start at index floor(afterSeq); earlier ones cannot match.
    for (let i = Math.max(0, Math.floor(afterSeq)); i < this.#rows.length && found.length < bounded; i++) {
      const row = this.#rows[i];
      if (row === undefined || row.seq <= afterSeq) continue;
      if (row.generation === generation && row.shard === shard && row.status === 'accepted') found.push(row);
    }
    return found;
  }

  async generationOpen(generation: number): Promise<boolean> {
    return this.#shardMap.isOpen(generation);
  }

  async acceptedBefore(generation: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    const found: StoredMessage[] = [];
    for (let i = Math.max(0, Math.floor(afterSeq)); i < this.#rows.length && found.length < bounded; i++) {
      const row = this.#rows[i];
      if (row !== undefined && row.seq > afterSeq && row.generation < generation && row.status === 'accepted') found.push(row);
    }
    return found;
  }

  async moveToGeneration(moves: readonly { readonly id: string; readonly shard: number }[], generation: number, nowMs: number): Promise<number> {
    if (moves.length > storeBatchSizeMax) throw new Error(`moveToGeneration takes at most ${storeBatchSizeMax} messages, got ${moves.length}`);
    let moved = 0;
    for (const { id, shard } of moves) {
      const row = this.#byId(id);
      if (row === null || row.status !== 'accepted' || row.generation >= generation) continue;
      this.#replace({ ...row, generation, shard, updatedAtMs: nowMs });
      moved++;
    }
    return moved;
  }

  async markSent(ids: readonly string[], fence: ShardFence, nowMs: number): Promise<number> {
    if (ids.length > storeBatchSizeMax) throw new Error(`markSent takes at most ${storeBatchSizeMax} ids, got ${ids.length}`);
    if (this.#shardMap.currentEpoch(fence.generation, fence.shard) !== fence.epoch) return 0;
    let changed = 0;
    for (const id of new Set(ids)) {
      const row = this.#byId(id);
      if (row === null || row.status !== 'accepted' || row.generation !== fence.generation || row.shard !== fence.shard) continue;
      this.#replace({ ...row, status: 'sent', epoch: fence.epoch, updatedAtMs: nowMs });
      changed++;
    }
    return changed;
  }

  async recordStatus(id: string, status: StatusUpdate, nowMs: number, errorCode?: number): Promise<boolean> {
    const row = this.#byId(id);
    if (row === null || !statusMayMove(row.status, status)) return false;
    const error = status === 'failed' ? { errorCode: errorCode ?? null } : {};
    this.#replace({ ...row, status, updatedAtMs: nowMs, ...error });
    return true;
  }

  async recordStatuses(changes: readonly StatusChange[], nowMs: number): Promise<number> {
    assertOnePerId(changes);
    let changed = 0;
    for (const { id, status, errorCode } of changes) if (await this.recordStatus(id, status, nowMs, errorCode)) changed++;
    return changed;
  }

  async statuses(ids: readonly string[]): Promise<ReadonlyMap<string, MessageStatus>> {
    const out = new Map<string, MessageStatus>();
    for (const id of ids) {
      const row = this.#byId(id);
      if (row !== null) out.set(id, row.status);
    }
    return out;
  }

  async countByStatus(): Promise<Readonly<Record<MessageStatus, number>>> {
    const counts: Record<MessageStatus, number> = { accepted: 0, sent: 0, delivered: 0, read: 0, failed: 0 };
    for (const row of this.#rows) counts[row.status]++;
    return counts;
  }

  async acceptedByShard(generation: number): Promise<readonly { readonly shard: number; readonly count: number }[]> {
    const counts = new Map<number, number>();
    for (const row of this.#rows) {
      if (row.generation === generation && row.status === 'accepted') counts.set(row.shard, (counts.get(row.shard) ?? 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([shard, count]) => ({ shard, count }));
  }

  async countAccepted(): Promise<number> {
    return (await this.countByStatus()).accepted;
  }

  #byId(id: string): StoredMessage | null {
    const seq = this.#seqById.get(id);
    return seq === undefined ? null : this.#row(seq);
  }

  #row(seq: number): StoredMessage {
    const row = this.#rows[seq - 1];
    if (row === undefined) throw new Error(`message seq ${seq} is indexed but missing`);
    return row;
  }

  #replace(row: StoredMessage): void {
    this.#rows[row.seq - 1] = Object.freeze(row);
  }
}

/** The same assertions as KyselyMessageStore, so both twins refuse the same inputs. */
function assertInsertable(message: NewMessage): void {
  if (message.id.length > messageIdLengthMax) throw new Error(`message id longer than ${messageIdLengthMax}`);
  if (message.recipient.length > waIdLengthMax) throw new Error(`recipient longer than ${waIdLengthMax}`);
  if (message.idempotencyKey !== null && message.idempotencyKey.length > idempotencyKeyLengthMax) {
    throw new Error(`idempotency key longer than ${idempotencyKeyLengthMax}`);
  }
}

/** Forward only by rank; `failed` only from accepted or sent. */
function newRow(message: NewMessage, seq: number): StoredMessage {
  const { id, generation, shard, recipient, payload, idempotencyKey, createdAtMs } = message;
  return Object.freeze({
    id,
    generation,
    shard,
    recipient,
    payload,
    idempotencyKey,
    createdAtMs,
    seq,
    status: 'accepted',
    epoch: null,
    errorCode: null,
    updatedAtMs: createdAtMs,
  });
}
