/**
 * A named, time-limited, exclusive lease: the primitive under the master election (and under any
 * other "exactly one" duty). Invariants every implementation keeps:
 * - at any instant at most one holder has an unexpired lease of a name;
 * - `epoch` increases by one whenever the holder changes (including after a release), and never
 *   otherwise; it is the fencing token of the holder's tenure;
 * - expiry is judged by the store's clock (the database clock on PostgreSQL/MySQL), never by the
 *   caller's; `observedAtMs` and `expiresAtMs` are on that clock.
 */
export interface LeaseState {
  /** True when the caller (the holder named in the call) holds the lease now. */
  readonly held: boolean;
  /** The current holder, or null when the lease was released or never taken. */
  readonly holder: string | null;
  readonly epoch: number;
  /** When the current holder's lease runs out, on the store's clock (ms since the Unix epoch). */
  readonly expiresAtMs: number;
  /** The store's clock when it made this decision. For a grant, `expiresAtMs - ttl`. */
  readonly observedAtMs: number;
}

export interface LeaseStore {
  /** Takes the lease if it is free or expired, or extends it if `holder` already holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseState>;
  /** Extends the lease only if `holder` holds it and it has not expired; otherwise `held` is false. */
  renew(name: string, holder: string, ttlMs: number): Promise<LeaseState>;
  /** Gives the lease up at once if `holder` holds it (others may take it without waiting for expiry). */
  release(name: string, holder: string): Promise<LeaseState>;
  /** The lease as it stands; `held` is true when some holder's lease is unexpired. Null if never taken. */
  read(name: string): Promise<LeaseState | null>;
}
