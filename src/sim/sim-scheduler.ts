/**
 * Drives `SimNetwork.tick` with Node timers: at most one immediate tick pending (however many times
 * the network asks to wake), and one timer armed for the earliest time the network said work falls
 * due. Every wait is bounded: the network never asks for more than `simTickIntervalMsMax`.
 */
export class SimScheduler {
  private readonly run: (nowMs: number) => number;
  private readonly clock: () => number;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private stopped = false;

  /** `run(nowMs)` does the due work and returns when it should run next. */
  constructor(run: (nowMs: number) => number, clock: () => number) {
    this.run = run;
    this.clock = clock;
  }

  /** Runs soon (on the next turn of the event loop), once however often it is called. */
  wake(): void {
    if (this.stopped || this.immediate !== null) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.tick();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timer !== null) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }

  private tick(): void {
    if (this.stopped) return;
    const next = this.run(this.clock());
    this.arm(next);
  }

  private arm(atMs: number): void {
    if (this.timer !== null && this.timerAtMs <= atMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtMs = Number.POSITIVE_INFINITY;
      this.tick();
    }, Math.max(0, Math.ceil(atMs - this.clock())));
  }
}
