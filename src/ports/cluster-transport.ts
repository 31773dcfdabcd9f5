/**
 * The internal cluster API as the roles see it (DESIGN.md §5): every node serves a few calls on its
 * internal port, every call carries the cluster secret, and every call has a bounded wait. The roles
 * speak only these shapes; `src/adapters/http` carries them over HTTP.
 */
import type { OwnershipClaim, PeerView } from '../core/master/cluster-view.js';

/** What a coreapp answers to a heartbeat: who it is and what it believes it owns. */
export interface HeartbeatAnswer {
  readonly nodeId: string;
  readonly owns: OwnershipClaim | null;
}

/** An ownership named in `promote` / `demote`. */
export interface OwnershipMessage {
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
}

export interface PromoteMessage extends OwnershipMessage {
  /** The promoting master's lease epoch (for the coreapp's log). */
  readonly leaseEpoch: number;
}

export interface DemoteMessage extends OwnershipMessage {
  readonly reason: string;
}

/** The outcome of a dispatch hint: the coreapp serves that shard, or says it is not its primary. */
export interface HandOverAnswer {
  readonly released: boolean;
  readonly newOwner: string | null;
  readonly ms: number;
}

export type DispatchOutcome = 'accepted' | 'not_primary';

/** Thrown by a transport call that got no usable answer (refused, timed out, 401, 5xx). */
export class ClusterCallError extends Error {
  /** The HTTP status when the node answered (with an error), else null. */
  readonly statusCode: number | null;
  /** The node's own explanation, when it gave one. */
  readonly details: string | null;
  constructor(message: string, statusCode: number | null = null, details: string | null = null) {
    super(message);
    this.name = 'ClusterCallError';
    this.statusCode = statusCode;
    this.details = details;
  }
}

/** A shard-count change the primary master refused (bad request for the cluster as it is now). */
export class ShardChangeRefusedError extends Error {}

/** This node does not hold the master lease. */
export class NotPrimaryMasterError extends Error {}

/** A coreapp was asked to hand over an ownership it does not hold (moved on, or never had it). */
export class NotOwnerError extends Error {}

export interface ClusterTransport {
  heartbeat(internalUrl: string, timeoutMs: number): Promise<HeartbeatAnswer>;
  promote(internalUrl: string, message: PromoteMessage): Promise<void>;
  demote(internalUrl: string, message: DemoteMessage): Promise<void>;
  /** Tells a coreapp that new messages of `shard` wait in the database (a hint). */
  dispatch(internalUrl: string, shard: number): Promise<DispatchOutcome>;
  /** Another master's heartbeat observations. */
  peerView(internalUrl: string, timeoutMs: number): Promise<PeerView>;
  /** The settings changed in the database: re-read them now. */
  settingsChanged(internalUrl: string): Promise<void>;
  /** A coreapp is leaving (planned handover): the master re-reads the map and does not pick it. */
  coreappLeaving(internalUrl: string, coreappId: string): Promise<void>;
  /** Tells the primary master that a coreapp which handed a shard over stays: a candidate again. */
  coreappBack(internalUrl: string, coreappId: string): Promise<void>;
  /**
   * Asks the owning coreapp to hand `ownership` over gracefully (drain, release the map row under
   * its epoch, let the master promote another coreapp). Resolves with whether the row was released,
   * the new owner if one was promoted within the coreapp's wait, and how long it took. A coreapp that
   * does not own exactly that ownership answers 409 (`ClusterCallError` with statusCode 409).
   */
  handOver(internalUrl: string, ownership: OwnershipMessage, timeoutMs: number): Promise<HandOverAnswer>;
  /** Database statistics, computed by the primary master (`/v1/stats/db`). */
  dbStats(internalUrl: string): Promise<{ readonly nodeId: string; readonly stats: unknown }>;
  /** Asks the primary master to change the shard count; resolves when the new generation serves. */
  changeShards(internalUrl: string, shards: number, timeoutMs: number): Promise<{ readonly shards: number; readonly generation: number; readonly ms: number }>;
  close(): Promise<void>;
}
