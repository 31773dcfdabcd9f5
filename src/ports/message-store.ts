/**
 * Outbound messages: persisted (status `accepted`) before the API answers 201, then sent by the
 * primary coreapp of their shard. Invariants:
 * - an idempotency key names at most one message: inserting it again returns the first message;
 * - `seq` grows with every insert and orders a shard's sends (per recipient, sends follow `seq`);
 * - status only moves forward (accepted → sent → delivered → read; failed is final);
 * - `markSent` is fenced: it changes nothing unless the caller's epoch is still the shard's epoch
 *   in the shard map, so a deposed primary cannot record sends.
 */
export type MessageStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

export interface NewMessage {
  readonly id: string;
  readonly generation: number;
  readonly shard: number;
  /** Digits-only wa_id of the recipient. */
  readonly recipient: string;
  /** The On-Prem request body as JSON text. */
  readonly payload: string;
  readonly idempotencyKey: string | null;
  readonly createdAtMs: number;
}

export interface StoredMessage extends NewMessage {
  readonly seq: number;
  readonly status: MessageStatus;
  /** The shard epoch under which the message was sent, or null before it was. */
  readonly epoch: number | null;
  readonly errorCode: number | null;
  readonly updatedAtMs: number;
}

/** The ownership a coreapp claims when it records a send. */
export interface ShardFence {
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
}

export interface MessageStore {
  /** Persists a new message, or returns the one already stored under the same idempotency key. */
  insert(message: NewMessage): Promise<{ readonly message: StoredMessage; readonly created: boolean }>;
  /**
   * Inserts several messages as `insert` would, each result in input order, with one INSERT for all
   * (at most `storeBatchSizeMax`): rows take ascending seqs in input order. Two messages with one
   * idempotency key store the first; the second gets it back (`created` false).
   */
  insertMany(messages: readonly NewMessage[]): Promise<readonly { readonly message: StoredMessage; readonly created: boolean }[]>;
  get(id: string): Promise<StoredMessage | null>;
  /** Accepted (unsent) messages of one shard with `seq > afterSeq`, in `seq` order, at most `limit`. */
  pending(generation: number, shard: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]>;
  /** Marks accepted messages of the fenced shard as sent; returns how many changed (0 if fenced off). */
  markSent(ids: readonly string[], fence: ShardFence, nowMs: number): Promise<number>;
  /** Moves a message's status forward; false if the message is unknown or already further along. */
  recordStatus(id: string, status: Exclude<MessageStatus, 'accepted'>, nowMs: number, errorCode?: number): Promise<boolean>;
  /**
   * Moves each message's status forward as `recordStatus` does, with one statement per (status,
   * error code) group instead of one per message. At most one change per id. Returns how many changed.
   */
  recordStatuses(changes: readonly StatusChange[], nowMs: number): Promise<number>;
  /** The stored status of each of `ids` (unknown ids are left out), in one query per store batch. */
  statuses(ids: readonly string[]): Promise<ReadonlyMap<string, MessageStatus>>;
  countByStatus(): Promise<Readonly<Record<MessageStatus, number>>>;
  /**
   * Messages still `accepted` (waiting to be sent). Cheap whatever the table's size — it reads only
   * the accepted rows — so the API can check its backlog bound often.
   */
  countAccepted(): Promise<number>;
  /**
   * Messages still `accepted` in `generation`, counted per shard (shards with none are left out),
   * ordered by shard. Reads only that generation's accepted rows (the pending index), for the dashboard.
   */
  acceptedByShard(generation: number): Promise<readonly { readonly shard: number; readonly count: number }[]>;
  /**
   * True when `generation` is not retired. Inside `Stores.inTransaction` it also locks the
   * generation's row (exclusively on PostgreSQL and MySQL; SQLite transactions are serial) until the
   * transaction ends, so:
   * - a shard-count change cannot retire the generation between this check and the commit of messages
   *   inserted into it: no message lands in a generation after it was retired;
   * - the transactions that insert into one generation commit one at a time, each taking its `seq`s
   *   after the previous one committed: whoever sees a message of the generation also sees every
   *   message of it with a lower `seq`. A coreapp reading after its cursor therefore never skips a
   *   message that commits late and is then sent after a younger one to the same recipient.
   */
  generationOpen(generation: number): Promise<boolean>;
  /** Accepted messages of generations older than `generation`, `seq > afterSeq`, in `seq` order, at most `limit`. */
  acceptedBefore(generation: number, afterSeq: number, limit: number): Promise<readonly StoredMessage[]>;
  /**
   * Moves accepted messages of older generations into `generation`, each to the shard given (a
   * shard-count change re-routes what was not sent yet). `seq` is kept, so per-recipient order is
   * kept. Messages no longer accepted, or already in `generation`, are left alone. Returns how many moved.
   */
  moveToGeneration(moves: readonly { readonly id: string; readonly shard: number }[], generation: number, nowMs: number): Promise<number>;
}

export type StatusUpdate = Exclude<MessageStatus, 'accepted'>;

export interface StatusChange {
  readonly id: string;
  readonly status: StatusUpdate;
  readonly errorCode?: number | undefined;
}

/** Whether a message may move from `from` to `to`: forward in rank; `failed` only from accepted or sent. */
export function statusMayMove(from: MessageStatus, to: StatusUpdate): boolean {
  if (to === 'failed') return from === 'accepted' || from === 'sent';
  return MESSAGE_STATUS_RANK[from] < MESSAGE_STATUS_RANK[to];
}

/** `recordStatuses` takes at most one change per id: grouping by status would reorder two of one message. */
export function assertOnePerId(changes: readonly StatusChange[]): void {
  if (new Set(changes.map((c) => c.id)).size !== changes.length) throw new Error('recordStatuses takes at most one change per message id');
}

/** Status order; `failed` is final and reachable only from accepted or sent. */
export const MESSAGE_STATUS_RANK: Readonly<Record<MessageStatus, number>> = Object.freeze({
  accepted: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 4,
});
