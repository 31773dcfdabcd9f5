/**
 * The cluster's node registry (`nodes` table): every master, coreapp and webapp registers itself at
 * start and touches its row every `db_liveness_interval`. DB-based monitoring reads `lastSeenAtMs`
 * against the store's clock (`NodeList.nowMs`), never a node's own clock.
 */
export type NodeRole = 'master' | 'coreapp' | 'webapp' | 'single';

export interface NodeRecord {
  /** `<hostname>:<12 hex>`, new per process start. */
  readonly id: string;
  readonly role: NodeRole;
  readonly hostname: string;
  /** Where the node's internal API listens (`http://host:port`), or null if it has none. */
  readonly internalUrl: string | null;
  readonly startedAtMs: number;
  readonly lastSeenAtMs: number;
  /** Free-form state the node reports (e.g. `primary`, `secondary`, `stopping`). */
  readonly status: string;
  /** The shard a primary coreapp owns, else null. */
  readonly shard: number | null;
}

export interface NewNode {
  readonly id: string;
  readonly role: NodeRole;
  readonly hostname: string;
  readonly internalUrl: string | null;
  readonly status: string;
}

export interface NodeList {
  /** The store's clock when the list was read, to judge `lastSeenAtMs` against. */
  readonly nowMs: number;
  /** Ordered by id. */
  readonly nodes: readonly NodeRecord[];
}

export interface NodeStore {
  /** Inserts or replaces the node's row; `startedAtMs` and `lastSeenAtMs` are the store's now. */
  register(node: NewNode): Promise<NodeRecord>;
  /** Marks the node alive now (store clock), optionally with a new status/shard. False if unknown. */
  touch(id: string, update?: { readonly status?: string; readonly shard?: number | null }): Promise<boolean>;
  get(id: string): Promise<NodeRecord | null>;
  list(): Promise<NodeList>;
  /** Removes the node's row (clean shutdown). False if it was not there. */
  remove(id: string): Promise<boolean>;
}
