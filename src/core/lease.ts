/**
 * The lease rules, as pure functions over the stored row. The in-memory store applies them directly;
 * the SQL stores implement the same rules as single conditional UPDATEs (see KyselyLeaseStore), and
 * the contract suite runs both against the same expectations.
 */

export interface LeaseRow {
  readonly holder: string | null;
  readonly epoch: number;
  readonly expiresAtMs: number;
}

export interface LeaseDecision {
  /** The row after the call (unchanged when not granted). */
  readonly row: LeaseRow;
  readonly granted: boolean;
}

const EMPTY: LeaseRow = Object.freeze({ holder: null, epoch: 0, expiresAtMs: 0 });

export function isLeaseLive(row: LeaseRow, nowMs: number): boolean {
  return row.holder !== null && row.expiresAtMs > nowMs;
}

/** Acquire: granted when free, expired, or already held by `holder`. The epoch moves on a change of holder. */
export function decideAcquire(current: LeaseRow | null, holder: string, nowMs: number, ttlMs: number): LeaseDecision {
  const row = current ?? EMPTY;
  if (row.holder !== holder && isLeaseLive(row, nowMs)) return { row, granted: false };
  const epoch = row.holder === holder ? row.epoch : row.epoch + 1;
  return { row: { holder, epoch, expiresAtMs: nowMs + ttlMs }, granted: true };
}

/** Renew: granted only while `holder` holds an unexpired lease. */
export function decideRenew(current: LeaseRow | null, holder: string, nowMs: number, ttlMs: number): LeaseDecision {
  if (current === null || current.holder !== holder || !isLeaseLive(current, nowMs)) {
    return { row: current ?? EMPTY, granted: false };
  }
  return { row: { ...current, expiresAtMs: nowMs + ttlMs }, granted: true };
}

/** Release: ends `holder`'s tenure now; the next acquire by anyone starts a new epoch. */
export function decideRelease(current: LeaseRow | null, holder: string, nowMs: number): LeaseDecision {
  if (current === null || current.holder !== holder) return { row: current ?? EMPTY, granted: false };
  return { row: { holder: null, epoch: current.epoch, expiresAtMs: nowMs }, granted: true };
}
