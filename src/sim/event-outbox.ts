/**
 * The events (statuses, inbound messages) one (account, shard) owes its coreapp, in event-number
 * order, until the coreapp acknowledges them. Pure: time is a parameter.
 *
 * An event is `unsent` (waiting for a holder, or for room in the in-flight window) or `in flight`
 * (transmitted on the current holder, not yet acked). When the holder goes away, every in-flight
 * event becomes unsent again, in event-number order, so the next holder receives everything unacked,
 * in the original order. An in-flight event not acked within `redeliveryMs` is transmitted again.
 * Bounded by the caller: the simulator refuses new work when an account's pending events reach
 * `simPendingEventsPerAccountMax`, and `take` never exceeds the in-flight window.
 */
export interface OutboxEntry<E> {
  readonly n: number;
  /** The wa_id the event is about (recipient of a status, sender of an inbound message). */
  readonly contact: string;
  readonly event: E;
  /** When it was last transmitted on the current holder; -1 while unsent. */
  sentAtMs: number;
}

export class EventOutbox<E> {
  /** Unsent entries in event-number order: `unsent[head..]`. */
  private unsent: OutboxEntry<E>[] = [];
  private head = 0;
  /** In-flight entries by event number, in the order of their last transmission. */
  private readonly inflight = new Map<number, OutboxEntry<E>>();

  get size(): number {
    return this.unsent.length - this.head + this.inflight.size;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  get unsentCount(): number {
    return this.unsent.length - this.head;
  }

  /** Appends an event; `n` must be greater than every event number pushed before. */
  push(n: number, contact: string, event: E): void {
    this.unsent.push({ n, contact, event, sentAtMs: -1 });
  }

  /**
   * The entries to transmit now: first in-flight entries whose redelivery time has come (oldest
   * first), then unsent entries while the in-flight window has room. At most `max` in all. Marks them
   * in flight at `nowMs`. `redelivered` tells how many of them are redeliveries.
   */
  take(nowMs: number, redeliveryMs: number, windowMax: number, max: number): { entries: OutboxEntry<E>[]; redelivered: number } {
    const entries: OutboxEntry<E>[] = [];
    for (const entry of this.inflight.values()) {
      if (entries.length >= max || entry.sentAtMs + redeliveryMs > nowMs) break;
      entries.push(entry);
    }
    for (const entry of entries) {
      // Re-inserting moves the entry to the end: the map stays in order of last transmission.
      this.inflight.delete(entry.n);
      entry.sentAtMs = nowMs;
      this.inflight.set(entry.n, entry);
    }
    const redelivered = entries.length;
    while (entries.length < max && this.inflight.size < windowMax && this.head < this.unsent.length) {
      const entry = this.unsent[this.head] as OutboxEntry<E>;
      this.head += 1;
      entry.sentAtMs = nowMs;
      this.inflight.set(entry.n, entry);
      entries.push(entry);
    }
    this.compact();
    return { entries, redelivered };
  }

  /** When the oldest in-flight entry falls due for redelivery; null when nothing is in flight. */
  nextRedeliveryMs(redeliveryMs: number): number | null {
    for (const entry of this.inflight.values()) return entry.sentAtMs + redeliveryMs;
    return null;
  }

  /** True when an unsent entry could be transmitted now (window has room). */
  hasSendable(windowMax: number): boolean {
    return this.head < this.unsent.length && this.inflight.size < windowMax;
  }

  /** Removes an in-flight (or unsent) entry acknowledged by the coreapp; undefined when unknown. */
  ack(n: number): OutboxEntry<E> | undefined {
    const entry = this.inflight.get(n);
    if (entry !== undefined) {
      this.inflight.delete(n);
      return entry;
    }
    // An ack for an unsent entry: it was transmitted to an earlier holder, which acked it late.
    const at = this.indexOfUnsent(n);
    if (at < 0) return undefined;
    const [removed] = this.unsent.splice(at, 1);
    return removed;
  }

  /** The holder went away: every in-flight entry is unsent again, in event-number order. */
  detach(): void {
    if (this.inflight.size === 0) return;
    const back = [...this.inflight.values()].sort((a, b) => a.n - b.n);
    this.inflight.clear();
    for (const entry of back) entry.sentAtMs = -1;
    this.unsent = mergeByN(back, this.unsent.slice(this.head));
    this.head = 0;
  }

  /** Removes and returns every entry in event-number order (used when the shard count changes). */
  drain(): OutboxEntry<E>[] {
    this.detach();
    const all = this.unsent.slice(this.head);
    this.unsent = [];
    this.head = 0;
    for (const entry of all) entry.sentAtMs = -1;
    return all;
  }

  /** Counts entries matching `predicate` (for reports; linear). */
  count(predicate: (entry: OutboxEntry<E>) => boolean): number {
    let n = 0;
    for (let i = this.head; i < this.unsent.length; i += 1) if (predicate(this.unsent[i] as OutboxEntry<E>)) n += 1;
    for (const entry of this.inflight.values()) if (predicate(entry)) n += 1;
    return n;
  }

  private indexOfUnsent(n: number): number {
    // Unsent entries are sorted by n: binary search.
    let lo = this.head;
    let hi = this.unsent.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = (this.unsent[mid] as OutboxEntry<E>).n;
      if (at === n) return mid;
      if (at < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.unsent.length) {
      this.unsent = this.unsent.slice(this.head);
      this.head = 0;
    }
  }
}

function mergeByN<E>(a: OutboxEntry<E>[], b: OutboxEntry<E>[]): OutboxEntry<E>[] {
  const out: OutboxEntry<E>[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if ((a[i] as OutboxEntry<E>).n < (b[j] as OutboxEntry<E>).n) out.push(a[i++] as OutboxEntry<E>);
    else out.push(b[j++] as OutboxEntry<E>);
  }
  while (i < a.length) out.push(a[i++] as OutboxEntry<E>);
  while (j < b.length) out.push(b[j++] as OutboxEntry<E>);
  return out;
}
