/**
 * The in-memory twin of KyselyCallbackStore. Rows live in an array indexed by `seq - 1` (seq is
 * assigned 1, 2, 3, … at enqueue), so a scan in array order visits callbacks in seq order and the
 * first pending row seen for a contact is the head of that contact's queue.
 */
import { clampLimit, truncateText } from '../../core/bounds.js';
import { callbackErrorLengthMax, storeBatchSizeMax } from '../../core/limits.js';
import type { CallbackState, CallbackStore, NewCallback, StoredCallback } from '../../ports/callback-store.js';


export class MemoryCallbackStore implements CallbackStore {
  /** Index `seq - 1`. */
  readonly #rows: StoredCallback[] = [];
  readonly #seqByEventId = new Map<string, number>();

  async enqueue(callback: NewCallback): Promise<{ readonly seq: number; readonly created: boolean }> {
    const existing = this.#seqByEventId.get(callback.eventId);
    if (existing !== undefined) return { seq: existing, created: false };
    const { eventId, shard, contact, kind, payload, createdAtMs } = callback;
    const seq = this.#rows.length + 1;
    this.#rows.push(
      Object.freeze({ eventId, shard, contact, kind, payload, createdAtMs, seq, state: 'pending' as const, attempts: 0, nextAttemptAtMs: createdAtMs, lastError: null }),
    );
    this.#seqByEventId.set(eventId, seq);
    return { seq, created: true };
  }

  async enqueueMany(callbacks: readonly NewCallback[]): Promise<number> {
    let created = 0;
    for (const callback of callbacks) if ((await this.enqueue(callback)).created) created++;
    return created;
  }

  async due(shard: number, nowMs: number, limit: number): Promise<readonly StoredCallback[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    const contactsSeen = new Set<string>();
    const found: StoredCallback[] = [];
    for (const row of this.#rows) {
      if (found.length >= bounded) break;
      if (row.state !== 'pending' || contactsSeen.has(row.contact)) continue;
      // The first pending row of a contact is its head; every later one of that contact waits.
      contactsSeen.add(row.contact);
      if (row.shard === shard && row.nextAttemptAtMs <= nowMs) found.push(row);
    }
    return found;
  }

  async headsOf(contacts: readonly string[]): Promise<readonly StoredCallback[]> {
    const wanted = new Set(contacts);
    const heads = new Map<string, StoredCallback>();
    for (const row of this.#rows) if (row.state === 'pending' && wanted.has(row.contact) && !heads.has(row.contact)) heads.set(row.contact, row);
    return [...heads.values()];
  }

  async markDelivered(seq: number): Promise<boolean> {
    return this.#updatePending(seq, (row) => ({ ...row, state: 'delivered' }));
  }

  async markDeliveredMany(seqs: readonly number[]): Promise<number> {
    return seqs.filter((seq) => this.#updatePending(seq, (row) => ({ ...row, state: 'delivered' }))).length;
  }

  async recordFailure(seq: number, nextAttemptAtMs: number, error: string): Promise<boolean> {
    return this.#updatePending(seq, (row) => ({ ...row, attempts: row.attempts + 1, nextAttemptAtMs, lastError: truncateText(error, callbackErrorLengthMax) }));
  }

  async markDead(seq: number, error: string): Promise<boolean> {
    return this.#updatePending(seq, (row) => ({ ...row, state: 'dead', lastError: truncateText(error, callbackErrorLengthMax) }));
  }

  async pendingPage(afterSeq: number, limit: number): Promise<readonly StoredCallback[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    return this.#rows.filter((row) => row.state === 'pending' && row.seq > afterSeq).slice(0, bounded);
  }

  async moveShards(moves: readonly { readonly seq: number; readonly shard: number }[]): Promise<number> {
    if (moves.length > storeBatchSizeMax) throw new Error(`moveShards takes at most ${storeBatchSizeMax} callbacks, got ${moves.length}`);
    let moved = 0;
    for (const { seq, shard } of moves) {
      const row = this.#rows[seq - 1];
      if (row === undefined || row.state !== 'pending' || row.shard === shard) continue;
      this.#rows[seq - 1] = Object.freeze({ ...row, shard });
      moved++;
    }
    return moved;
  }

  async counts(): Promise<Readonly<Record<CallbackState, number>>> {
    const counts: Record<CallbackState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of this.#rows) counts[row.state]++;
    return counts;
  }

  /** Applies `change` to a pending callback; false when the seq is unknown or no longer pending. */
  #updatePending(seq: number, change: (row: StoredCallback) => StoredCallback): boolean {
    const row = Number.isInteger(seq) ? this.#rows[seq - 1] : undefined;
    if (row === undefined || row.state !== 'pending') return false;
    this.#rows[seq - 1] = Object.freeze(change(row));
    return true;
  }
}

