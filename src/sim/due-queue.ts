/**
 * A first-in first-out queue of items with due times, for the receipt schedule. Receipt delays are
 * the same for every message, so items are pushed in due-time order and the queue needs no heap:
 * `popDue` takes from the front while the front is due. (If the delays changed while items wait, a
 * later item with an earlier due time waits behind the front: receipts are never early, only late.)
 * Pure: time is a parameter. The caller bounds its length.
 */
interface Due<T> {
  readonly dueMs: number;
  readonly item: T;
}

export class DueQueue<T> {
  private items: Due<T>[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(dueMs: number, item: T): void {
    this.items.push({ dueMs, item });
  }

  /** When the front item falls due; null when empty. */
  nextDueMs(): number | null {
    const front = this.items[this.head];
    return front === undefined ? null : front.dueMs;
  }

  /** Removes and returns up to `max` items due at `nowMs`, in order. */
  popDue(nowMs: number, max: number): T[] {
    const out: T[] = [];
    while (out.length < max && this.head < this.items.length) {
      const front = this.items[this.head] as Due<T>;
      if (front.dueMs > nowMs) break;
      out.push(front.item);
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Removes every item matching `predicate` (rare: an account's shard count changed). */
  removeWhere(predicate: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter((d) => !predicate(d.item));
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
