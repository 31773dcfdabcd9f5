/**
 * Business accounts of the simulated network and their registration, mirroring On-Prem: request a
 * code for cc + phone_number, verify it, receive the credentials coreapps present in the handshake.
 * Each account keeps, per shard index, the highest epoch accepted, the connection holding the shard
 * and the events owed to it (`SimShardSlot`). The network (`SimNetwork`) drives connections; this
 * class only keeps the records and decides registration.
 */
import { ERRORS, type ErrorSpec } from '../core/errors.js';
import { shardCountMax, simAccountsMax, simVerifyAttemptsMax, waIdLengthMax, type ShardCount } from '../core/limits.js';
import { EventOutbox } from './event-outbox.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { SimConnection } from './sim-connection.js';
import type { SimEvent } from '../core/upstream-protocol.js';

export interface SimShardSlot {
  readonly shard: number;
  /** Highest epoch accepted for this (account, shard), kept across shard-count changes; null: none yet. */
  epochMax: number | null;
  holder: SimConnection | null;
  readonly outbox: EventOutbox<SimEvent>;
}

export interface SimAccount {
  readonly waId: string;
  /** Null until the first verification. */
  credentials: string | null;
  pendingCode: string | null;
  verifyAttempts: number;
  shards: ShardCount;
  /** One slot per shard index 0..31; only the first `shards` are in use. */
  readonly slots: readonly SimShardSlot[];
  /** Receipts scheduled or buffered or in flight, not yet acked. */
  receiptsPending: number;
  /** Inbound messages buffered or in flight, not yet acked. */
  inboundUnacked: number;
}

export type SimResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorSpec; readonly details: string };

export function failure(error: ErrorSpec, details: string): { ok: false; error: ErrorSpec; details: string } {
  return { ok: false, error, details };
}

export class SimAccounts {
  private readonly byWaId = new Map<string, SimAccount>();
  private readonly random: SeededRandom;

  constructor(random: SeededRandom) {
    this.random = random;
  }

  get(waId: string): SimAccount | undefined {
    return this.byWaId.get(waId);
  }

  /** Every account, ordered by wa_id. */
  list(): SimAccount[] {
    return [...this.byWaId.values()].sort((a, b) => (a.waId < b.waId ? -1 : a.waId > b.waId ? 1 : 0));
  }

  /** Registers an account directly (start-up `accounts` option). */
  preregister(waId: string, credentials: string | undefined, shards: ShardCount): SimAccount {
    const account = this.byWaId.get(waId) ?? this.create(waId);
    account.credentials = credentials ?? this.random.hex(32);
    account.shards = shards;
    return account;
  }

  /** Issues a registration code for cc + phone_number (a new code replaces an earlier one). */
  requestCode(cc: unknown, phoneNumber: unknown): SimResult<{ waId: string }> {
    if (typeof cc !== 'string' || !/^[0-9]{1,3}$/.test(cc)) return failure(ERRORS.PARAMETER_INVALID, 'cc must be 1-3 digits');
    if (typeof phoneNumber !== 'string' || !/^[0-9]{1,19}$/.test(phoneNumber)) {
      return failure(ERRORS.PARAMETER_INVALID, 'phone_number must be digits, without cc or +');
    }
    const waId = cc + phoneNumber;
    if (waId.length > waIdLengthMax) return failure(ERRORS.PARAMETER_INVALID, `cc + phone_number is longer than ${waIdLengthMax} digits`);
    let account = this.byWaId.get(waId);
    if (account === undefined) {
      if (this.byWaId.size >= simAccountsMax) return failure(ERRORS.OVERLOADED, `the simulator holds ${simAccountsMax} accounts already`);
      account = this.create(waId);
    }
    account.pendingCode = this.random.digits(6);
    account.verifyAttempts = 0;
    return { ok: true, value: { waId } };
  }

  /**
   * Checks a registration code. On success the account gets new credentials (earlier ones stop
   * working) and `rotated` tells whether it had credentials before.
   */
  verify(waId: string, code: unknown): SimResult<{ account: SimAccount; rotated: boolean }> {
    const account = this.byWaId.get(waId);
    if (account === undefined || account.pendingCode === null) {
      return failure(ERRORS.NOT_FOUND, `no registration code was requested for ${waId}`);
    }
    if (typeof code !== 'string' || code !== account.pendingCode) {
      account.verifyAttempts += 1;
      if (account.verifyAttempts >= simVerifyAttemptsMax) account.pendingCode = null;
      return failure(ERRORS.UNAUTHORIZED, 'wrong registration code');
    }
    const rotated = account.credentials !== null;
    account.pendingCode = null;
    account.credentials = this.random.hex(32);
    return { ok: true, value: { account, rotated } };
  }

  private create(waId: string): SimAccount {
    const slots: SimShardSlot[] = [];
    for (let shard = 0; shard < shardCountMax; shard += 1) {
      slots.push({ shard, epochMax: null, holder: null, outbox: new EventOutbox<SimEvent>() });
    }
    const account: SimAccount = {
      waId, credentials: null, pendingCode: null, verifyAttempts: 0, shards: 1, slots, receiptsPending: 0, inboundUnacked: 0,
    };
    this.byWaId.set(waId, account);
    return account;
  }
}
