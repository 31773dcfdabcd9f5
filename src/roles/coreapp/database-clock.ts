import { coreappDatabaseClockResyncMs } from '../../core/limits.js';
import type { Stores } from '../../ports/stores.js';

/**
 * The database's clock without a query per transaction. The pipeline stamps its writes (statuses,
 * callbacks, their next attempts) with the database's time, so that every coreapp, whatever its own
 * clock, agrees on when a callback is due. Reading it cost one round trip before every transaction —
 * a sixth of a coreapp's queries at low rates. Instead the offset between the database clock and
 * this process's monotonic clock is measured (the midpoint of the query's round trip) and re-measured
 * every `resyncMs`; in between, the time is this process's monotonic clock plus that offset. The
 * error is at most half a round trip plus the drift of `resyncMs` (sub-millisecond), and the result
 * never goes backwards within one offset.
 */
export class DatabaseClock {
  readonly #read: () => Promise<number>;
  readonly #resyncMs: number;
  #offsetMs: number | null = null;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #syncing: Promise<void> | null = null;

  constructor(read: () => Promise<number>, resyncMs: number) {
    this.#read = read;
    this.#resyncMs = resyncMs;
  }

  readonly nowMs = async (): Promise<number> => {
    if (this.#offsetMs === null || performance.now() - this.#syncedAt >= this.#resyncMs) {
      this.#syncing ??= this.#sync().finally(() => {
        this.#syncing = null;
      });
      await this.#syncing;
    }
    return Math.round(performance.now() + (this.#offsetMs as number));
  };

  async #sync(): Promise<void> {
    const before = performance.now();
    const databaseMs = await this.#read();
    const after = performance.now();
    this.#offsetMs = databaseMs - (before + after) / 2;
    this.#syncedAt = after;
  }
}

/** `stores` whose `nowMs` reads the database clock through a `DatabaseClock` (for the pipeline's writers). */
export function withDatabaseClock(stores: Stores): Stores {
  return { ...stores, nowMs: new DatabaseClock(() => stores.nowMs(), coreappDatabaseClockResyncMs).nowMs };
}
