/**
 * Measures how long this process's event loop stood still: a timer ticks every `tickMs`, and a tick
 * that comes later than that records a stall (its end and its length beyond the tick). A stopped
 * process (SIGSTOP, a frozen VM) or a long synchronous stretch (a GC, a large parse) shows up here;
 * a slow query does not — the loop keeps ticking while it waits.
 *
 * `longestStallSinceMs(fromMs)` is what the shard worker asks before sending: it includes the gap
 * still open at the moment of asking, because after a SIGCONT the reply that was waiting runs before
 * the timer does.
 */
import { coreappLoopTickMs, coreappLoopStallsKeptMax } from '../../core/limits.js';

interface Stall {
  readonly endMs: number;
  readonly ms: number;
}

export class LoopStallMonitor {
  readonly #tickMs: number;
  #lastTickMs = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Recent stalls longer than one tick, oldest first, at most `coreappLoopStallsKeptMax`. */
  readonly #stalls: Stall[] = [];
  /** When the latest stall dropped to keep the bound ended. */
  #forgottenUntilMs = 0;

  constructor(options: { readonly tickMs?: number } = {}) {
    this.#tickMs = options.tickMs ?? coreappLoopTickMs;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastTickMs = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = Date.now();
    const ms = now - this.#lastTickMs - this.#tickMs;
    this.#lastTickMs = now;
    if (ms <= this.#tickMs) return;
    if (this.#stalls.length >= coreappLoopStallsKeptMax) {
      this.#forgottenUntilMs = (this.#stalls.shift() as Stall).endMs;
    }
    this.#stalls.push({ endMs: now, ms });
  }

  /**
   * The longest stall that ended after `fromMs`, or the one still going on now. A stall that began
   * before `fromMs` counts whole (the cautious reading). When the monitor is not running, or stalls
   * after `fromMs` may have been forgotten (more than are kept), the answer is Infinity: re-check
   * rather than guess.
   */
  longestStallSinceMs(fromMs: number): number {
    if (this.#timer === null) return Number.POSITIVE_INFINITY;
    let longest = Math.max(0, Date.now() - this.#lastTickMs - this.#tickMs);
    for (let i = this.#stalls.length - 1; i >= 0; i -= 1) {
      const stall = this.#stalls[i] as Stall;
      if (stall.endMs <= fromMs) return longest;
      longest = Math.max(longest, stall.ms);
    }
    return this.#forgottenUntilMs > fromMs ? Number.POSITIVE_INFINITY : longest;
  }
}
