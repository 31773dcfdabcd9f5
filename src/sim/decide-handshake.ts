/**
 * The handshake rule (the upstream side of fencing), as a pure function.
 *
 * Checks, in this order, and the first failure wins:
 *   1. protocol version      → protocol_error
 *   2. account + credentials → unauthorized (unknown, not yet verified, or wrong credentials)
 *   3. shards                → shards_mismatch (must equal the account's current shard count)
 *   4. epoch                 → stale_epoch (must be ≥ the highest epoch accepted for this (account, shard))
 * Otherwise the connection is accepted; if another connection holds the shard it is replaced (an
 * equal epoch replaces too: that is the same primary reconnecting).
 */
import type { ShardCount } from '../core/limits.js';
import { SIM_PROTOCOL, type HelloFrame, type SimCloseReason } from '../core/upstream-protocol.js';

export interface HandshakeAccount {
  /** Null while the account has requested a code but not verified it. */
  readonly credentials: string | null;
  readonly shards: ShardCount;
}

export interface HandshakeSlot {
  /** Highest epoch ever accepted for this (account, shard); null when none was. */
  readonly epochMax: number | null;
  /** True when a connection holds the shard now. */
  readonly held: boolean;
}

export type HandshakeDecision =
  | { readonly kind: 'accept'; readonly replaces: boolean }
  | { readonly kind: 'refuse'; readonly reason: SimCloseReason; readonly details: string };

export function decideHandshake(
  hello: HelloFrame,
  account: HandshakeAccount | undefined,
  slot: HandshakeSlot,
): HandshakeDecision {
  if (hello.protocol !== SIM_PROTOCOL.version) {
    return refuse('protocolError', `protocol ${hello.protocol} is not supported (this simulator speaks ${SIM_PROTOCOL.version})`);
  }
  if (account === undefined) return refuse('unauthorized', `account ${hello.account} is not registered`);
  if (account.credentials === null) return refuse('unauthorized', `account ${hello.account} has not completed registration`);
  if (account.credentials !== hello.credentials) return refuse('unauthorized', `wrong credentials for account ${hello.account}`);
  if (hello.shards !== account.shards) {
    return refuse('shardsMismatch', `account ${hello.account} has ${account.shards} shards, the hello says ${hello.shards}`);
  }
  if (slot.epochMax !== null && hello.epoch < slot.epochMax) {
    return refuse('staleEpoch', `epoch ${hello.epoch} is lower than epoch ${slot.epochMax} already accepted for shard ${hello.shard}`);
  }
  return { kind: 'accept', replaces: slot.held };
}

function refuse(reason: SimCloseReason, details: string): HandshakeDecision {
  return { kind: 'refuse', reason, details };
}
