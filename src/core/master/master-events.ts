/**
 * What reaches the master machine: results of the effects it asked for, snapshots, and commands.
 * Every result names the `requestId` of its effect; a result whose request the machine no longer
 * waits for (abandoned, superseded) is ignored. Every `…AtMs` is the master's own monotonic clock
 * unless it says "store clock".
 */
import type { ControlSettings } from './control-intervals.js';
import type { NodeSnapshot, OwnershipClaim, PeerView, ShardMapView } from './cluster-view.js';

export interface LeaseGrant {
  /** True when this master holds the lease after the call. */
  readonly held: boolean;
  readonly holder: string | null;
  readonly epoch: number;
  /** Store clock; recorded in the event log, never compared with the master's clock. */
  readonly expiresAtMs: number;
}

/** The outcome of `acquireLease` / `renewLease`. */
export interface LeaseResultEvent {
  readonly type: 'leaseResult';
  readonly requestId: number;
  /** The master's clock read immediately before the request left: the lease's local validity counts from here. */
  readonly sentAtMs: number;
  readonly atMs: number;
  /** Null when the request failed or timed out (its effect on the store is unknown). */
  readonly lease: LeaseGrant | null;
}

/** The outcome of `readNodes`; `snapshot` null when the read failed. */
export interface NodesEvent {
  readonly type: 'nodes';
  readonly requestId: number;
  readonly atMs: number;
  readonly snapshot: NodeSnapshot | null;
}

/** The outcome of `readShardMap`: the current generation (null before the map exists), or a failure. */
export type ShardMapEvent =
  | { readonly type: 'shardMap'; readonly requestId: number; readonly atMs: number; readonly outcome: 'read'; readonly map: ShardMapView | null }
  | { readonly type: 'shardMap'; readonly requestId: number; readonly atMs: number; readonly outcome: 'failed' };

/** The outcome of `sendHeartbeat`. An answer carries what the coreapp says it owns. */
export type HeartbeatResultEvent =
  | {
      readonly type: 'heartbeatResult';
      readonly requestId: number;
      readonly coreappId: string;
      readonly atMs: number;
      readonly outcome: 'answered';
      readonly owns: OwnershipClaim | null;
    }
  | {
      readonly type: 'heartbeatResult';
      readonly requestId: number;
      readonly coreappId: string;
      readonly atMs: number;
      readonly outcome: 'failed' | 'timedOut';
    };

/** The outcome of `readPeerView`: another master's heartbeat observations, or null on failure. */
export interface PeerViewEvent {
  readonly type: 'peerView';
  readonly requestId: number;
  readonly masterId: string;
  readonly atMs: number;
  readonly view: PeerView | null;
}

/**
 * The outcome of `promote`: `won` (the compare-and-set wrote the row; `epoch` is the new epoch),
 * `lost` (the epoch had moved, or the lease fence refused), `failed` (no answer: the outcome is unknown).
 */
export type PromoteResultEvent =
  | { readonly type: 'promoteResult'; readonly requestId: number; readonly atMs: number; readonly outcome: 'won'; readonly epoch: number }
  | { readonly type: 'promoteResult'; readonly requestId: number; readonly atMs: number; readonly outcome: 'lost' | 'failed' };

/** The cluster settings changed (or were read at start); they apply from the next tick. */
export interface SettingsEvent {
  readonly type: 'settings';
  readonly settings: ControlSettings;
}

/**
 * A coreapp announced a planned handover (it drains, releases its shard and exits): it is no
 * candidate from now on, and the node list and shard map are read again at once.
 */
export interface CoreappLeavingEvent {
  readonly type: 'coreappLeaving';
  readonly coreappId: string;
}

/**
 * A coreapp that handed a shard over on an admin's request (not a shutdown) stays in the cluster: it
 * is a promotion candidate again, and the node list and shard map are read again at once.
 */
export interface CoreappBackEvent {
  readonly type: 'coreappBack';
  readonly coreappId: string;
}

/**
 * Hold ownership decisions (`held: true`) while the runtime changes the shard count: no promotion,
 * notification or demotion is decided until released; lease, reads and heartbeats go on. Released,
 * the machine decides again only on a map read issued after the release.
 */
export interface HoldEvent {
  readonly type: 'hold';
  readonly held: boolean;
}

/** Shut down: the next tick releases the lease and the machine emits nothing more. */
export interface StopEvent {
  readonly type: 'stop';
}

export type MasterEvent =
  | LeaseResultEvent
  | NodesEvent
  | ShardMapEvent
  | HeartbeatResultEvent
  | PeerViewEvent
  | PromoteResultEvent
  | SettingsEvent
  | CoreappLeavingEvent
  | CoreappBackEvent
  | HoldEvent
  | StopEvent;
