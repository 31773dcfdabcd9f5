/**
 * The part of a shard's accepted messages a worker holds in memory, queued per recipient in `seq`
 * order, and the rule that keeps every recipient's sends in order: **a message is sent only when no
 * earlier message of the same recipient is unacknowledged** — at most one message per recipient is in
 * flight, and it is always the recipient's oldest. Recipients are independent, so sends run in
 * parallel across recipients.
 *
 * Why one at a time: a message the network does not take (`overloaded`, a closed session) may be
 * followed by a later one it does take; with two in flight the later one could overtake it. With
 * one, the next is sent only once the network has the previous one.
 *
 * No I/O and no clock: the caller passes the time. Ties between ready recipients are broken by the
 * `seq` of their oldest message (the order the API accepted them), never by Map order.
 */
export interface OutboundMessage {
  readonly id: string;
  readonly recipient: string;
  readonly seq: number;
  readonly content: Readonly<Record<string, unknown>>;
}

interface RecipientQueue {
  /** Messages in `seq` order; `queue[head]` is the oldest not yet taken by the network. */
  queue: OutboundMessage[];
  head: number;
  /** True while `queue[head]` is sent and its ack is not processed. */
  inFlight: boolean;
  /** `queue[head]` is not sent before this time (after a not-taken answer). */
  notBeforeMs: number;
  /** Not-taken answers in a row for the head (drives its retry delay). */
  retries: number;
}

export class RecipientQueues {
  readonly #byRecipient = new Map<string, RecipientQueue>();
  /** Every message held (queued or in flight), by id, to its recipient. */
  readonly #recipientOf = new Map<string, string>();
  #inFlight = 0;

  /** Messages held (queued or in flight). */
  get size(): number {
    return this.#recipientOf.size;
  }

  /** Messages sent and not yet completed or returned. */
  get inFlight(): number {
    return this.#inFlight;
  }

  has(id: string): boolean {
    return this.#recipientOf.has(id);
  }

  /** True when `id` is sent and its ack is not yet processed. */
  isInFlight(id: string): boolean {
    const recipient = this.#recipientOf.get(id);
    const q = recipient === undefined ? undefined : this.#byRecipient.get(recipient);
    return q !== undefined && q.inFlight && q.queue[q.head]?.id === id;
  }

  /** Adds a message not held yet, keeping its recipient's queue in `seq` order. False if held already. */
  add(message: OutboundMessage): boolean {
    if (this.#recipientOf.has(message.id)) return false;
    let q = this.#byRecipient.get(message.recipient);
    if (q === undefined) {
      q = { queue: [], head: 0, inFlight: false, notBeforeMs: 0, retries: 0 };
      this.#byRecipient.set(message.recipient, q);
    }
    this.#recipientOf.set(message.id, message.recipient);
    const last = q.queue[q.queue.length - 1];
    if (last === undefined || last.seq < message.seq) {
      q.queue.push(message);
      return true;
    }
    // A straggler (read after a later message of its recipient): it goes before the later ones that
    // are not sent yet; one already in flight cannot be overtaken any more.
    let at = q.queue.length;
    while (at > q.head + (q.inFlight ? 1 : 0) && (q.queue[at - 1] as OutboundMessage).seq > message.seq) at -= 1;
    q.queue.splice(at, 0, message);
    return true;
  }

  /**
   * The oldest message of every recipient that may send at `nowMs` (nothing in flight, no retry
   * delay), oldest first, at most `limit`; they are marked in flight.
   */
  takeReady(nowMs: number, limit: number): OutboundMessage[] {
    const ready: { q: RecipientQueue; message: OutboundMessage }[] = [];
    for (const q of this.#byRecipient.values()) {
      const message = q.queue[q.head];
      if (message !== undefined && !q.inFlight && q.notBeforeMs <= nowMs) ready.push({ q, message });
    }
    ready.sort((a, b) => a.message.seq - b.message.seq);
    const taken = ready.slice(0, Math.max(0, limit));
    for (const { q } of taken) q.inFlight = true;
    this.#inFlight += taken.length;
    return taken.map((t) => t.message);
  }

  /** The message is done (the network has it, or it failed for good): its recipient's next may go. */
  complete(id: string): void {
    const recipient = this.#recipientOf.get(id);
    const q = recipient === undefined ? undefined : this.#byRecipient.get(recipient);
    if (recipient === undefined || q === undefined) return;
    const index = q.queue[q.head]?.id === id ? q.head : q.queue.findIndex((m, i) => i > q.head && m.id === id);
    if (index < 0) return;
    if (index === q.head) {
      if (q.inFlight) this.#inFlight -= 1;
      q.inFlight = false;
      q.retries = 0;
      q.notBeforeMs = 0;
      q.head += 1;
    } else {
      q.queue.splice(index, 1);
    }
    this.#recipientOf.delete(id);
    this.#compact(recipient, q);
  }

  /**
   * The in-flight message was not taken: it stays its recipient's oldest and is sent again at
   * `retryDelayMs(retries)` after `nowMs` (pass `() => 0` to resend as soon as possible).
   */
  retryLater(id: string, nowMs: number, retryDelayMs: (retries: number) => number): void {
    const q = this.#queueOf(id);
    if (q === undefined || q.queue[q.head]?.id !== id || !q.inFlight) return;
    q.inFlight = false;
    this.#inFlight -= 1;
    q.notBeforeMs = nowMs + retryDelayMs(q.retries);
    q.retries += 1;
  }

  /** The earliest time after `nowMs` at which a recipient waiting on a retry delay becomes ready, or null. */
  nextRetryAtMs(nowMs: number): number | null {
    let next: number | null = null;
    for (const q of this.#byRecipient.values()) {
      if (!q.inFlight && q.notBeforeMs > nowMs && (next === null || q.notBeforeMs < next)) next = q.notBeforeMs;
    }
    return next;
  }

  clear(): void {
    this.#byRecipient.clear();
    this.#recipientOf.clear();
    this.#inFlight = 0;
  }

  #queueOf(id: string): RecipientQueue | undefined {
    const recipient = this.#recipientOf.get(id);
    return recipient === undefined ? undefined : this.#byRecipient.get(recipient);
  }

  /** Drops a recipient with nothing left, and the consumed prefix of a long queue. */
  #compact(recipient: string, q: RecipientQueue): void {
    if (q.head >= q.queue.length) {
      this.#byRecipient.delete(recipient);
      return;
    }
    if (q.head > 64 && q.head * 2 > q.queue.length) {
      q.queue = q.queue.slice(q.head);
      q.head = 0;
    }
  }
}
