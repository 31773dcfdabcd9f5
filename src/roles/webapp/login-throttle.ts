/**
 * Slows password guessing: after `failuresMax` failed logins for one (user, address) within
 * `windowMs` of the first, further attempts for that pair are refused until the window ends, without
 * checking the password. Memory is bounded: beyond `entriesMax` pairs the least recently failed pair
 * is forgotten (an attacker rotating pairs gains nothing per pair, and the process stays small).
 */
import { loginFailureWindowMs, loginFailuresMax, loginThrottleEntriesMax } from '../../core/limits.js';

interface Failures {
  count: number;
  readonly windowStartMs: number;
}

export class LoginThrottle {
  readonly #entries = new Map<string, Failures>();
  readonly #failuresMax: number;
  readonly #windowMs: number;
  readonly #entriesMax: number;

  constructor(failuresMax = loginFailuresMax, windowMs = loginFailureWindowMs, entriesMax = loginThrottleEntriesMax) {
    this.#failuresMax = failuresMax;
    this.#windowMs = windowMs;
    this.#entriesMax = entriesMax;
  }

  /** Seconds the pair must wait before its next attempt; 0 when it may try now. */
  retryAfterSeconds(username: string, address: string, nowMs: number): number {
    const entry = this.#entries.get(key(username, address));
    if (entry === undefined || entry.count < this.#failuresMax) return 0;
    const remainingMs = entry.windowStartMs + this.#windowMs - nowMs;
    return remainingMs > 0 ? Math.ceil(remainingMs / 1_000) : 0;
  }

  recordFailure(username: string, address: string, nowMs: number): void {
    const k = key(username, address);
    const entry = this.#entries.get(k);
    this.#entries.delete(k);
    const current = entry !== undefined && nowMs - entry.windowStartMs < this.#windowMs ? entry : { count: 0, windowStartMs: nowMs };
    current.count++;
    this.#entries.set(k, current);
    if (this.#entries.size > this.#entriesMax) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  recordSuccess(username: string, address: string): void {
    this.#entries.delete(key(username, address));
  }

  get size(): number {
    return this.#entries.size;
  }
}

function key(username: string, address: string): string {
  return `${username}\u0000${address}`;
}
