/**
 * A send rate (messages per second) over a `TokenBucket`, pure: the caller passes the time. It also
 * holds a pause (after the network said "too fast", error 130429), during which no token is given,
 * and whose length doubles with each consecutive rate-limit answer up to a bound.
 */
import { TokenBucket } from './token-bucket.js';

export class SendRateLimit {
  readonly #bucket: TokenBucket;
  #pausedUntilMs = 0;
  #pauseMs: number;
  readonly #pauseMsMin: number;
  readonly #pauseMsMax: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number, pauseMsMin: number, pauseMsMax: number) {
    this.#bucket = new TokenBucket(ratePerSecond, burst, nowMs);
    this.#pauseMsMin = pauseMsMin;
    this.#pauseMsMax = pauseMsMax;
    this.#pauseMs = pauseMsMin;
  }

  /** Takes one token and returns 0, or returns how many ms to wait before asking again. */
  take(nowMs: number): number {
    if (nowMs < this.#pausedUntilMs) return this.#pausedUntilMs - nowMs;
    if (this.#bucket.take(1, nowMs) === 1) return 0;
    return Math.max(1, this.#bucket.nextTokenMs(nowMs) - nowMs);
  }

  /**
   * The network answered "too fast": no tokens until the pause ends; the next pause is twice as long.
   * Answers to sends made before the pause began (still in flight) do not lengthen it again.
   */
  rateLimited(nowMs: number): number {
    if (nowMs < this.#pausedUntilMs) return this.#pausedUntilMs - nowMs;
    const pause = this.#pauseMs;
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, nowMs + pause);
    this.#pauseMs = Math.min(this.#pauseMs * 2, this.#pauseMsMax);
    this.#bucket.drain(nowMs);
    return pause;
  }

  /** A send went through: the next rate-limit pause starts from the minimum again. */
  succeeded(): void {
    this.#pauseMs = this.#pauseMsMin;
  }
}
