/**
 * The cluster event log: lease changes, promotions, demotions, failovers, shard-count changes.
 * Append-only; `seq` grows with every append and is the cursor for readers.
 */
export interface ClusterEvent {
  readonly seq: number;
  readonly atMs: number;
  /** e.g. `lease_acquired`, `promoted`, `demoted`, `failover`, `shards_changed`, `handed_over`. */
  readonly kind: string;
  readonly nodeId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

export type NewClusterEvent = Omit<ClusterEvent, 'seq'>;

export interface EventLogStore {
  append(event: NewClusterEvent): Promise<number>;
  /** Events with `seq > afterSeq`, oldest first, at most `limit` (bounded by `eventLogReadMax`). */
  list(afterSeq: number, limit: number): Promise<readonly ClusterEvent[]>;
  /** The newest `limit` events, oldest first. */
  latest(limit: number): Promise<readonly ClusterEvent[]>;
}
