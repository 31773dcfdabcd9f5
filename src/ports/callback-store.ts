/**
 * The durable webhook queue. Every status and inbound message becomes one callback with a stable
 * event id; callbacks of one contact are delivered strictly in `seq` order (the head of a contact's
 * queue blocks the rest), with linear backoff between attempts. Invariants:
 * - an event id is enqueued at most once (`created` false on a repeat);
 * - `due` returns only heads of contact queues, so nothing overtakes an undelivered predecessor.
 */
export type CallbackKind = 'status' | 'message';
export type CallbackState = 'pending' | 'delivered' | 'dead';

export interface NewCallback {
  readonly eventId: string;
  readonly shard: number;
  /** The contact the callback is about (ordering key): recipient for statuses, sender for inbound. */
  readonly contact: string;
  readonly kind: CallbackKind;
  /** The webhook body as JSON text. */
  readonly payload: string;
  readonly createdAtMs: number;
}

export interface StoredCallback extends NewCallback {
  readonly seq: number;
  readonly state: CallbackState;
  readonly attempts: number;
  readonly nextAttemptAtMs: number;
  readonly lastError: string | null;
}

export interface CallbackStore {
  enqueue(callback: NewCallback): Promise<{ readonly seq: number; readonly created: boolean }>;
  /**
   * Enqueues callbacks in array order (their seqs ascend in that order) with as few statements as the
   * database allows; an event id already stored, or repeated in the list, is stored once. Returns how
   * many were stored.
   */
  enqueueMany(callbacks: readonly NewCallback[]): Promise<number>;
  /**
   * The oldest pending callback of each contact of `shard`, if its next attempt is due at `nowMs`,
   * ordered by seq, at most `limit`.
   */
  due(shard: number, nowMs: number, limit: number): Promise<readonly StoredCallback[]>;
  /**
   * The head of each contact's queue — its oldest pending callback, in whichever shard, due or not —
   * for the contacts given (those without one are left out); one indexed lookup per contact, however
   * long the queues.
   */
  headsOf(contacts: readonly string[]): Promise<readonly StoredCallback[]>;
  markDelivered(seq: number): Promise<boolean>;
  /** Marks the pending ones of `seqs` delivered in one statement per store batch; returns how many changed. */
  markDeliveredMany(seqs: readonly number[]): Promise<number>;
  /** Counts a failed attempt and schedules the next one. */
  recordFailure(seq: number, nextAttemptAtMs: number, error: string): Promise<boolean>;
  /** Gives up on a callback (it stays visible as `dead` and unblocks its contact's queue). */
  markDead(seq: number, error: string): Promise<boolean>;
  counts(): Promise<Readonly<Record<CallbackState, number>>>;
  /** Pending callbacks with `seq > afterSeq`, in seq order, at most `limit` (a shard-count change re-routes them). */
  pendingPage(afterSeq: number, limit: number): Promise<readonly StoredCallback[]>;
  /** Moves pending callbacks to other shards (a shard-count change); returns how many moved. */
  moveShards(moves: readonly { readonly seq: number; readonly shard: number }[]): Promise<number>;
}
