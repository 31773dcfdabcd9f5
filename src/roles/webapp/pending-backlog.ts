/**
 * The accepted-but-unsent message count behind the backlog bound of `POST /v1/messages`. Counting
 * rows per request would cost a query per send, so the count is read at most once per
 * `pendingCountCacheMs` (one read in flight at a time, in the background once a first count exists)
 * and the messages this webapp accepted since are added on top: the estimate errs towards refusing,
 * never towards unbounded growth.
 */
import { pendingCountCacheMs } from '../../core/limits.js';
import type { Clock } from '../../ports/clock.js';
import type { MessageStore } from '../../ports/message-store.js';

export class PendingBacklog {
  readonly #messages: MessageStore;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  #counted = 0;
  #acceptedSinceCount = 0;
  #countedAtMs = Number.NEGATIVE_INFINITY;
  #counting: Promise<number> | null = null;

  constructor(messages: MessageStore, clock: Clock, cacheMs = pendingCountCacheMs) {
    this.#messages = messages;
    this.#clock = clock;
    this.#cacheMs = cacheMs;
  }

  /** The estimated number of accepted, unsent messages. */
  async pending(): Promise<number> {
    if (this.#clock.nowMs() - this.#countedAtMs <= this.#cacheMs) return this.estimate();
    const counted = Number.isFinite(this.#countedAtMs);
    if (this.#counting === null) {
      const counting = this.#count().finally(() => {
        this.#counting = null;
      });
      this.#counting = counting;
      // A failed background count is seen by the request that waits on a later one.
      if (counted) counting.catch(() => undefined);
    }
    // Once a count exists, a refresh runs in the background and the estimate answers meanwhile:
    // a slow database then delays the refresh, not every request.
    return counted ? this.estimate() : this.#counting;
  }

  /** The last estimate, without reading the store (for the metrics gauge). */
  estimate(): number {
    return this.#counted + this.#acceptedSinceCount;
  }

  /** Records a message this webapp just accepted (counted until the next read). */
  noteAccepted(): void {
    this.#acceptedSinceCount++;
  }

  async #count(): Promise<number> {
    const startedAtMs = this.#clock.nowMs();
    const acceptedBefore = this.#acceptedSinceCount;
    const accepted = await this.#messages.countAccepted();
    // Messages accepted while the query ran may or may not be in it; keeping them errs high.
    this.#acceptedSinceCount -= acceptedBefore;
    this.#counted = accepted;
    this.#countedAtMs = startedAtMs;
    return this.estimate();
  }
}
