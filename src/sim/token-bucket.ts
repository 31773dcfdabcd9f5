/**
 * A token bucket: `ratePerSecond` tokens per second, holding at most `burst`. Pure: time is a
 * parameter. Used for the per-connection send limit (`--conn-rate`).
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private tokens: number;
  private atMs: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.atMs = nowMs;
  }

  /** Takes up to `wanted` whole tokens; returns how many were taken. */
  take(wanted: number, nowMs: number): number {
    this.refill(nowMs);
    const granted = Math.min(wanted, Math.floor(this.tokens));
    this.tokens -= granted;
    return granted;
  }

  /** When the next whole token is available (now if one is). */
  nextTokenMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) return nowMs;
    return nowMs + Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  private refill(nowMs: number): void {
    if (nowMs > this.atMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.atMs) * this.ratePerSecond) / 1000);
      this.atMs = nowMs;
    }
  }
}
