/**
 * Group commit for accepted messages. Every `POST /v1/messages` must be durable before its 201; one
 * transaction per message would cost one disk flush each. Instead, requests queue here and are
 * written together: while one transaction commits, the next requests gather, and the next flush
 * writes all of them in one transaction. Each caller's promise settles only after its own batch has
 * committed, so nothing is acknowledged before it is durable.
 */
import { groupCommitBatchMax, groupCommitQueueMax } from '../../core/limits.js';
import type { NewMessage, StoredMessage } from '../../ports/message-store.js';
import type { Stores } from '../../ports/stores.js';
import { unsafeTestFault } from '../../adapters/unsafe-test-faults.js';

/** How late the deliberately broken build (no-durable-accept) stores what it already answered 201 for. */
const writeBehindMs = 1_000;

interface Waiting {
  readonly message: NewMessage;
  resolve(result: { message: StoredMessage; created: boolean }): void;
  reject(error: unknown): void;
}

export class QueueFullError extends Error {}

/** The message was routed on a generation that a shard-count change retired meanwhile: route it again. */
export class GenerationRetiredError extends Error {}

export class MessageInsertBatcher {
  readonly #stores: Stores;
  readonly #queue: Waiting[] = [];
  #flushing = false;
  /** The fault suite's deliberately broken build (src/adapters/unsafe-test-faults.ts). */
  readonly #writeBehind = unsafeTestFault('no-durable-accept');

  constructor(stores: Stores) {
    this.#stores = stores;
  }

  /** Inserts the message in the next group commit; throws QueueFullError when the queue is at its bound. */
  insert(message: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
    if (this.#queue.length >= groupCommitQueueMax) return Promise.reject(new QueueFullError(`${this.#queue.length} messages wait for the disk`));
    if (this.#writeBehind) return this.#acceptWithoutStoring(message);
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  /** The broken build: a 201 for a message that is stored only later (lost if the process dies first). */
  #acceptWithoutStoring(message: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
    setTimeout(() => {
      this.#queue.push({ message, resolve: () => undefined, reject: () => undefined });
      if (!this.#flushing) void this.#flush();
    }, writeBehindMs);
    const stored: StoredMessage = { ...message, seq: 0, status: 'accepted', epoch: null, errorCode: null, updatedAtMs: message.createdAtMs };
    return Promise.resolve({ message: stored, created: true });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    // Let requests already read from their sockets in this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, groupCommitBatchMax);
      try {
        const results = await this.#stores.inTransaction(async (tx) => {
          // Hold each generation open until the commit: a shard-count change retires it only after,
          // and so re-routes every message inserted into it; and inserts into one generation commit
          // one batch at a time, in seq order (MessageStore.generationOpen). Oldest generation first,
          // so two webapps never wait for each other's rows in opposite orders.
          const open = new Map<number, boolean>();
          for (const g of [...new Set(batch.map((w) => w.message.generation))].sort((a, b) => a - b)) open.set(g, await tx.messages.generationOpen(g));
          // Insert in Idempotency-Key order: two webapps whose batches hold the same retried keys in
          // opposite orders would otherwise deadlock on the key's unique index (PostgreSQL, MySQL).
          // The requests of one batch are concurrent, so any order among them is a valid one.
          // One INSERT for the whole batch (rows lock in that order).
          const out: ({ message: StoredMessage; created: boolean } | null)[] = batch.map(() => null);
          const order = insertOrder(batch).filter((i) => open.get((batch[i] as Waiting).message.generation) === true);
          const stored = await tx.messages.insertMany(order.map((i) => (batch[i] as Waiting).message));
          order.forEach((i, k) => (out[i] = stored[k] ?? null));
          return out;
        });
        batch.forEach((waiting, i) => {
          const result = results[i];
          if (result == null) waiting.reject(new GenerationRetiredError(`generation ${waiting.message.generation} was retired by a shard-count change`));
          else waiting.resolve(result);
        });
      } catch (error) {
        // The whole batch rolled back: every caller gets the error (a retry with its key is safe).
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.#flushing = false;
  }
}

/** Indexes of `batch` with the keyed messages first, by key (stable), then the others as they came. */
function insertOrder(batch: readonly Waiting[]): number[] {
  const keyOf = (i: number): string | null => (batch[i] as Waiting).message.idempotencyKey;
  return batch
    .map((_, i) => i)
    .sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      if (ka === null || kb === null) return ka === kb ? a - b : ka === null ? 1 : -1;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
}
