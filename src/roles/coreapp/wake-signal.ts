/**
 * How a role's loop sleeps: until something calls `wake()` (new work, a socket event queued for the
 * loop), or until a bounded timeout. A wake that arrives while the loop is busy is remembered, so the
 * next `wait` returns at once and no notification is lost between two turns.
 */
export class WakeSignal {
  #woken = false;
  #release: (() => void) | null = null;

  wake(): void {
    this.#woken = true;
    const release = this.#release;
    this.#release = null;
    release?.();
  }

  /** Resolves at the next wake (at once if woken since the last wait), or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#release = null;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#release = done;
    });
  }
}
