/**
 * One snapshot per interval for every open dashboard of a webapp: a single timer reads the state
 * (`read`), serializes it once, and hands the same frame to each subscriber. The timer runs only
 * while somebody is subscribed, the next read starts only after the previous one finished (a slow
 * database stretches the interval instead of piling reads up), and subscribers are bounded.
 */
export type SnapshotListener = (frame: string) => void;

export interface SnapshotHubOptions {
  /** Reads and serializes one snapshot; a failure is reported to `onError` and retried next interval. */
  readonly read: () => Promise<string>;
  readonly intervalMs: number;
  readonly subscribersMax: number;
  readonly onError: (error: unknown) => void;
}

export class SnapshotHub {
  readonly #o: SnapshotHubOptions;
  readonly #listeners = new Set<SnapshotListener>();
  #timer: NodeJS.Timeout | null = null;
  #reading = false;
  #latest: string | null = null;
  #reads = 0;
  #stopped = false;

  constructor(options: SnapshotHubOptions) {
    this.#o = options;
  }

  /** Snapshots read so far (one per interval however many subscribers; tests check it). */
  get reads(): number {
    return this.#reads;
  }

  /** True while a read is scheduled or running (false once nobody listens). */
  get active(): boolean {
    return this.#timer !== null || this.#reading;
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /**
   * Adds a listener; it gets the latest frame at once (if the hub is running) and every new one. Returns the
   * unsubscribe function, or null when the hub is full or stopped.
   */
  subscribe(listener: SnapshotListener): (() => void) | null {
    if (this.#stopped || this.#listeners.size >= this.#o.subscribersMax) return null;
    // While others watch, the latest frame is at most one interval old; after a pause it may be
    // stale, and a fresh read starts at once instead.
    const active = this.#listeners.size > 0;
    this.#listeners.add(listener);
    if (active && this.#latest !== null) listener(this.#latest);
    if (this.#timer === null && !this.#reading) void this.#tick();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#pause();
    };
  }

  /** Ends the timer for good; existing listeners get nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#listeners.clear();
    this.#pause();
  }

  #pause(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    if (this.#stopped || this.#listeners.size === 0) return;
    this.#reading = true;
    try {
      const frame = await this.#o.read();
      this.#reads++;
      this.#latest = frame;
      for (const listener of [...this.#listeners]) listener(frame);
    } catch (error) {
      this.#o.onError(error);
    } finally {
      this.#reading = false;
    }
    if (!this.#stopped && this.#listeners.size > 0 && this.#timer === null) {
      this.#timer = setTimeout(() => void this.#tick(), this.#o.intervalMs);
    }
  }
}
