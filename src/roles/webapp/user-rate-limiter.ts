/**
 * The optional per-user request limit: a token bucket per user that refills at `ratePerSecond` and
 * holds one second's worth (at least one request). Bounded: beyond `usersMax` buckets the least
 * recently used is forgotten (it comes back full, which only ever errs towards admitting).
 */
import { rateLimitUsersMax } from '../../core/limits.js';

interface Bucket {
  tokens: number;
  atMs: number;
}

export class UserRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #ratePerSecond: number;
  readonly #capacity: number;
  readonly #usersMax: number;

  constructor(ratePerSecond: number, usersMax = rateLimitUsersMax) {
    this.#ratePerSecond = ratePerSecond;
    this.#capacity = Math.max(1, ratePerSecond);
    this.#usersMax = usersMax;
  }

  /** Takes one request from the user's bucket: 0 when admitted, else the seconds until one is. */
  take(username: string, nowMs: number): number {
    const bucket = this.#buckets.get(username) ?? { tokens: this.#capacity, atMs: nowMs };
    this.#buckets.delete(username);
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (elapsedMs * this.#ratePerSecond) / 1_000);
    bucket.atMs = nowMs;
    this.#buckets.set(username, bucket);
    if (this.#buckets.size > this.#usersMax) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) this.#buckets.delete(oldest.value);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#ratePerSecond));
  }
}
