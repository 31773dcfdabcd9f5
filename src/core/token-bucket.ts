/**
 * A token bucket for a send rate (messages per second), pure: the caller passes the time. It also
 * holds a pause (after the network said "too fast", error 130429), during which no token is given,
 * and whose length doubles with each consecutive rate-limit answer up to a bound.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #updatedAtMs: number;
  #pausedUntilMs = 0;
  #pauseMs: number;
  readonly #pauseMsMin: number;
  readonly #pauseMsMax: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number, pauseMsMin: number, pauseMsMax: number) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error(`invalid token bucket: rate ${ratePerSecond}/s, burst ${burst}`);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#tokens = burst;
    this.#updatedAtMs = nowMs;
    this.#pauseMsMin = pauseMsMin;
    this.#pauseMsMax = pauseMsMax;
    this.#pauseMs = pauseMsMin;
  }

  /** Takes one token and returns 0, or returns how many ms to wait before asking again. */
  take(nowMs: number): number {
    if (nowMs < this.#pausedUntilMs) return this.#pausedUntilMs - nowMs;
    this.#refill(nowMs);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 1_000) / this.ratePerSecond));
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
    this.#tokens = 0;
    this.#updatedAtMs = nowMs;
    return pause;
  }

  /** A send went through: the next rate-limit pause starts from the minimum again. */
  succeeded(): void {
    this.#pauseMs = this.#pauseMsMin;
  }

  #refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.#updatedAtMs);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1_000);
    this.#updatedAtMs = nowMs;
  }
}
