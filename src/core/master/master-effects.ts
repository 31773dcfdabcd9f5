/**
 * What the master machine asks its runtime to do. The runtime applies the effects of one
 * `takeEffects()` batch in order; no effect of a batch depends on another of the same batch — every
 * dependency (write the shard map, *then* tell the coreapp) spans batches, because the machine emits
 * the second effect only after the result of the first has been stepped in. So "persist first, then
 * send" holds however the runtime overlaps requests of one batch.
 *
 * Requests that expect a result carry a `requestId`; the runtime steps the matching result event in.
 * Ownership effects (`promote`, `notifyPromoted`, `demote`) carry the lease epoch they were decided
 * under, so a runtime can fence them on the lease as well.
 */

/** Take the master lease (free, expired, or ours already). Result: `leaseResult`. */
export interface AcquireLeaseEffect {
  readonly kind: 'acquireLease';
  readonly requestId: number;
  readonly ttlMs: number;
}

/** Extend the lease this master holds. Result: `leaseResult`. */
export interface RenewLeaseEffect {
  readonly kind: 'renewLease';
  readonly requestId: number;
  readonly ttlMs: number;
}

/** Give the lease up (shutdown). No result expected. */
export interface ReleaseLeaseEffect {
  readonly kind: 'releaseLease';
}

/** Read the node registry. Result: `nodes`. */
export interface ReadNodesEffect {
  readonly kind: 'readNodes';
  readonly requestId: number;
}

/** Read the current generation of the shard map. Result: `shardMap`. */
export interface ReadShardMapEffect {
  readonly kind: 'readShardMap';
  readonly requestId: number;
}

/** Fetch another master's heartbeat view (its `peerView()`) over the internal API. Result: `peerView`. */
export interface ReadPeerViewEffect {
  readonly kind: 'readPeerView';
  readonly requestId: number;
  readonly masterId: string;
  readonly internalUrl: string;
}

/** Heartbeat one coreapp; give up after `timeoutMs` and report `timedOut`. Result: `heartbeatResult`. */
export interface SendHeartbeatEffect {
  readonly kind: 'sendHeartbeat';
  readonly requestId: number;
  readonly coreappId: string;
  readonly internalUrl: string;
  readonly timeoutMs: number;
}

/**
 * Persist a promotion: set the owner of (`generation`, `shard`) to `coreappId` if the shard's epoch is
 * still `expectedEpoch` (the epoch becomes `expectedEpoch + 1`). Result: `promoteResult`.
 */
export interface PromoteEffect {
  readonly kind: 'promote';
  readonly requestId: number;
  readonly generation: number;
  readonly shard: number;
  readonly coreappId: string;
  readonly expectedEpoch: number;
  readonly leaseEpoch: number;
}

/** Tell a coreapp it was promoted (emitted only after the promotion was persisted). It verifies the row itself. */
export interface NotifyPromotedEffect {
  readonly kind: 'notifyPromoted';
  readonly coreappId: string;
  readonly internalUrl: string;
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
  readonly leaseEpoch: number;
}

/**
 * Revoke an ownership: the coreapp stops serving (`generation`, `shard`) if the epoch it holds for it
 * is `epoch` or lower, and verifies the shard map before it would serve that shard again. A demote
 * that names an older ownership than the coreapp's own changes nothing, so a late one is harmless.
 */
export interface DemoteEffect {
  readonly kind: 'demote';
  readonly coreappId: string;
  readonly internalUrl: string;
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
  readonly reason: string;
  readonly leaseEpoch: number;
}

export type ClusterLogKind =
  | 'lease_acquired'
  | 'lease_lost'
  | 'lease_stepped_down'
  | 'lease_released'
  | 'coreapp_unhealthy'
  | 'promoted'
  | 'failover'
  | 'promotion_lost'
  | 'demoted';

/** One entry of the cluster event log; `atMs` is the master's clock, durations are in `data`. */
export interface ClusterLogEntry {
  readonly kind: ClusterLogKind;
  readonly atMs: number;
  /** The node the entry is about: the master for lease entries, the coreapp otherwise. */
  readonly nodeId: string;
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
}

/** Append to the cluster event log. No result expected. */
export interface AppendEventEffect {
  readonly kind: 'appendEvent';
  readonly entry: ClusterLogEntry;
}

export type MasterEffect =
  | AcquireLeaseEffect
  | RenewLeaseEffect
  | ReleaseLeaseEffect
  | ReadNodesEffect
  | ReadShardMapEffect
  | ReadPeerViewEffect
  | SendHeartbeatEffect
  | PromoteEffect
  | NotifyPromotedEffect
  | DemoteEffect
  | AppendEventEffect;
