/**
 * What the master knows of the cluster: the small shapes it decides on, mirrored from the node
 * registry and the shard map (src/core imports nothing outside src/core, so the runtime converts its
 * store records into these). Times named `…AtMs` here are on the store clock unless said otherwise;
 * the master never compares them with its own clock, only with each other.
 */

export type ClusterNodeRole = 'master' | 'coreapp' | 'webapp' | 'single';

/** One row of the node registry, as much of it as the master needs. */
export interface ClusterNode {
  /** `<hostname>:<12 hex>`, new per process start. */
  readonly id: string;
  readonly role: ClusterNodeRole;
  /** Where the node's internal API listens, or null if it has none (then it cannot be heartbeated). */
  readonly internalUrl: string | null;
  /** Store clock. The longest-running coreapp (smallest value) is preferred for promotion. */
  readonly startedAtMs: number;
  /** Store clock: the node's last liveness touch. */
  readonly lastSeenAtMs: number;
}

/** The node list as read in one query, with the store clock at that moment. */
export interface NodeSnapshot {
  readonly dbNowMs: number;
  readonly nodes: readonly ClusterNode[];
}

export interface ShardOwner {
  readonly shard: number;
  /** The primary coreapp's node id, or null while the shard has none. */
  readonly owner: string | null;
  /** The shard's fencing epoch; every change of owner bumps it by one (compare-and-set). */
  readonly epoch: number;
}

/** The current generation of the shard map: one entry per shard 0..shards-1. */
export interface ShardMapView {
  readonly generation: number;
  readonly shards: number;
  readonly state: 'active' | 'changing' | 'retired';
  readonly assignments: readonly ShardOwner[];
}

/** What a coreapp says it owns when it answers a heartbeat (null: nothing). */
export interface OwnershipClaim {
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
}

/** A master's own heartbeat observations of the coreapps, as it tells the primary master. */
export interface PeerView {
  readonly masterId: string;
  /**
   * Per coreapp this master has been heartbeating: how long it has not answered, on the reporting
   * master's clock at the moment it produced the view — a duration, so clocks need not agree.
   */
  readonly coreapps: readonly { readonly coreappId: string; readonly silenceMs: number }[];
}

/** Ids compare by UTF-16 code units: the same order everywhere, whatever the locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
