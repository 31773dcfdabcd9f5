/** A clock that moves only when told: deterministic time for unit tests and the seeded simulation. */
import type { Clock } from '../../ports/clock.js';

export class ManualClock implements Clock {
  #nowMs: number;

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  advance(ms: number): number {
    if (!(ms >= 0)) throw new Error(`ManualClock cannot go backwards (advance ${ms})`);
    this.#nowMs += ms;
    return this.#nowMs;
  }

  set(nowMs: number): void {
    if (nowMs < this.#nowMs) throw new Error(`ManualClock cannot go backwards (${nowMs} < ${this.#nowMs})`);
    this.#nowMs = nowMs;
  }
}
