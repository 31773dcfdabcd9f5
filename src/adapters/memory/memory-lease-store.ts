/** The in-memory twin of KyselyLeaseStore: the rules of `core/lease.ts` over a Map, judged by a Clock. */
import { decideAcquire, decideRelease, decideRenew, isLeaseLive, type LeaseDecision, type LeaseRow } from '../../core/lease.js';
import type { Clock } from '../../ports/clock.js';
import type { LeaseState, LeaseStore } from '../../ports/lease-store.js';

export class MemoryLeaseStore implements LeaseStore {
  readonly #clock: Clock;
  readonly #rows = new Map<string, LeaseRow>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    const nowMs = this.#clock.nowMs();
    return this.#apply(name, holder, nowMs, decideAcquire(this.#rows.get(name) ?? null, holder, nowMs, ttlMs));
  }

  async renew(name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    const nowMs = this.#clock.nowMs();
    return this.#apply(name, holder, nowMs, decideRenew(this.#rows.get(name) ?? null, holder, nowMs, ttlMs));
  }

  async release(name: string, holder: string): Promise<LeaseState> {
    const nowMs = this.#clock.nowMs();
    const state = this.#apply(name, holder, nowMs, decideRelease(this.#rows.get(name) ?? null, holder, nowMs));
    return { ...state, held: false };
  }

  async read(name: string): Promise<LeaseState | null> {
    const row = this.#rows.get(name);
    if (row === undefined) return null;
    const nowMs = this.#clock.nowMs();
    return { held: isLeaseLive(row, nowMs), holder: row.holder, epoch: row.epoch, expiresAtMs: row.expiresAtMs, observedAtMs: nowMs };
  }

  /** True when `holder` holds lease `name` under `epoch`, unexpired now (a promotion's fence). */
  holds(name: string, holder: string, epoch: number): boolean {
    const row = this.#rows.get(name);
    return row !== undefined && row.holder === holder && row.epoch === epoch && isLeaseLive(row, this.#clock.nowMs());
  }

  #apply(name: string, holder: string, nowMs: number, decision: LeaseDecision): LeaseState {
    if (decision.granted) this.#rows.set(name, decision.row);
    const row = decision.row;
    return {
      held: decision.granted && row.holder === holder,
      holder: row.holder,
      epoch: row.epoch,
      expiresAtMs: row.expiresAtMs,
      observedAtMs: nowMs,
    };
  }
}
