/**
 * A token bucket: `ratePerSecond` tokens per second, holding at most `burst`. Pure: time is a
 * parameter. Used by the simulator's per-connection send limit (`--conn-rate`) and, through
 * `SendRateLimit`, by the Cloud API adapter's per-number rate.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #atMs: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    if (!(ratePerSecond >= 0) || !(burst >= 1)) throw new Error(`invalid token bucket: rate ${ratePerSecond}/s, burst ${burst}`);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#tokens = burst;
    this.#atMs = nowMs;
  }

  /** Takes up to `wanted` whole tokens; returns how many were taken. */
  take(wanted: number, nowMs: number): number {
    this.#refill(nowMs);
    const granted = Math.min(wanted, Math.floor(this.#tokens));
    this.#tokens -= granted;
    return granted;
  }

  /** When the next whole token is available (now if one is). */
  nextTokenMs(nowMs: number): number {
    this.#refill(nowMs);
    if (this.#tokens >= 1) return nowMs;
    return nowMs + Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSecond);
  }

  /** Empties the bucket at `nowMs` (it refills from there). */
  drain(nowMs: number): void {
    this.#tokens = 0;
    this.#atMs = nowMs;
  }

  #refill(nowMs: number): void {
    if (nowMs > this.#atMs) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#atMs) * this.ratePerSecond) / 1000);
      this.#atMs = nowMs;
    }
  }
}
