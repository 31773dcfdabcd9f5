/**
 * The master lease as one master sees it: whether it may act as the primary master, and when to ask
 * the store again. Pure: the caller passes its monotonic clock in.
 *
 * The step-down rule. The store grants a lease until `storeNow + ttl`, where `storeNow` is when it
 * processed the request — never before the request was sent. So on the master's own clock the lease
 * certainly lasts until `sentAtMs + ttl`, where `sentAtMs` is read just before the request left. The
 * keeper acts as primary only while `now < sentAtMs(last grant) + ttl − margin`, with
 * `margin = ttl / masterLeaseStepDownMarginDivisor` for clock-rate differences and for the delay
 * between a tick and the effects it emits; at that instant it steps down, whatever happened to its
 * renewals. Any other master can take the lease only after the store's expiry, which is later.
 *
 * Cadence: one request at a time, every `ttl / masterLeaseRenewDivisor` (renew as primary, acquire as
 * secondary); a request unanswered for that long is abandoned and its late result ignored.
 */
import { leaseTtlMsMax, leaseTtlMsMin, masterLeaseRenewDivisor, masterLeaseStepDownMarginDivisor } from '../limits.js';
import type { LeaseResultEvent } from './master-events.js';

export type LeaseRequestKind = 'acquire' | 'renew';

/** A change of role the caller records in the event log. */
export interface LeaseChange {
  readonly kind: 'lease_acquired' | 'lease_lost' | 'lease_stepped_down';
  readonly atMs: number;
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
}

interface PendingLeaseRequest {
  readonly requestId: number;
  readonly kind: LeaseRequestKind;
  readonly issuedAtMs: number;
}

export class LeaseKeeper {
  readonly ttlMs: number;
  readonly requestEveryMs: number;
  readonly marginMs: number;
  #primary = false;
  #epoch: number | null = null;
  #validUntilMs = Number.NEGATIVE_INFINITY;
  #lastGrantSentAtMs = Number.NEGATIVE_INFINITY;
  #pending: PendingLeaseRequest | null = null;
  #lastIssuedAtMs = Number.NEGATIVE_INFINITY;
  #highestEpochSeen = 0;

  constructor(ttlMs: number) {
    if (!(ttlMs >= leaseTtlMsMin && ttlMs <= leaseTtlMsMax)) throw new Error(`lease TTL ${ttlMs} ms is outside ${leaseTtlMsMin}–${leaseTtlMsMax}`);
    this.ttlMs = ttlMs;
    this.requestEveryMs = ttlMs / masterLeaseRenewDivisor;
    this.marginMs = ttlMs / masterLeaseStepDownMarginDivisor;
  }

  isPrimary(): boolean {
    return this.#primary;
  }

  /** The epoch of the current tenure; null while secondary. */
  epoch(): number | null {
    return this.#primary ? this.#epoch : null;
  }

  /** Until when (master clock, exclusive) this master may act as primary. */
  validUntilMs(): number {
    return this.#primary ? this.#validUntilMs : Number.NEGATIVE_INFINITY;
  }

  /** The request to send now, if any. */
  due(nowMs: number): LeaseRequestKind | null {
    if (this.#pending !== null && nowMs - this.#pending.issuedAtMs < this.requestEveryMs) return null;
    if (nowMs - this.#lastIssuedAtMs < this.requestEveryMs) return null;
    return this.#primary ? 'renew' : 'acquire';
  }

  issued(kind: LeaseRequestKind, requestId: number, nowMs: number): void {
    this.#pending = { requestId, kind, issuedAtMs: nowMs };
    this.#lastIssuedAtMs = nowMs;
  }

  /** Steps down when the local validity ran out. Call first on every tick. */
  expire(nowMs: number): LeaseChange | null {
    if (!this.#primary || nowMs < this.#validUntilMs) return null;
    const change: LeaseChange = {
      kind: 'lease_stepped_down',
      atMs: nowMs,
      data: { epoch: this.#epoch, sinceLastGrantSentMs: nowMs - this.#lastGrantSentAtMs, ttlMs: this.ttlMs, marginMs: this.marginMs },
    };
    this.#stepDown();
    return change;
  }

  /** Takes a lease result in; returns the role change it caused, if any. */
  onResult(event: LeaseResultEvent): LeaseChange | null {
    const pending = this.#pending;
    if (pending === null || pending.requestId !== event.requestId) return null;
    this.#pending = null;
    const lease = event.lease;
    if (lease === null) return null; // Unknown outcome: the cadence retries, the deadline protects.
    if (!lease.held) return this.#primary ? this.#lost(event) : null;
    if (lease.epoch < this.#highestEpochSeen) return null; // Older than a tenure already seen: not ours to act on.
    this.#highestEpochSeen = lease.epoch;
    // The store processed the request after it was sent: count the TTL from the send, never later.
    const sentAtMs = Math.min(event.sentAtMs, event.atMs);
    const validUntilMs = sentAtMs + this.ttlMs - this.marginMs;
    if (this.#primary && lease.epoch === this.#epoch) {
      this.#validUntilMs = Math.max(this.#validUntilMs, validUntilMs);
      this.#lastGrantSentAtMs = Math.max(this.#lastGrantSentAtMs, sentAtMs);
      return null;
    }
    if (validUntilMs <= event.atMs) return null; // Granted, but already too old to act on; the next request will tell.
    this.#primary = true;
    this.#epoch = lease.epoch;
    this.#validUntilMs = validUntilMs;
    this.#lastGrantSentAtMs = sentAtMs;
    return {
      kind: 'lease_acquired',
      atMs: event.atMs,
      data: { epoch: lease.epoch, requestMs: event.atMs - sentAtMs, validForMs: validUntilMs - event.atMs, storeExpiresAtMs: lease.expiresAtMs },
    };
  }

  /** Stops acting as primary at once (shutdown, or the caller's own reasons). */
  stepDown(): void {
    this.#stepDown();
  }

  #lost(event: LeaseResultEvent): LeaseChange {
    const change: LeaseChange = {
      kind: 'lease_lost',
      atMs: event.atMs,
      data: { epoch: this.#epoch, holder: event.lease?.holder ?? null, holderEpoch: event.lease?.epoch ?? null },
    };
    this.#stepDown();
    return change;
  }

  #stepDown(): void {
    this.#primary = false;
    this.#epoch = null;
    this.#validUntilMs = Number.NEGATIVE_INFINITY;
  }
}
