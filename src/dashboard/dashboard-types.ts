/**
 * What the dashboard's stream carries: one `DashboardSnapshot` per interval, the same for every
 * subscriber of a webapp. Shared by the server (which builds it) and the browser client (which draws
 * it), so this file imports nothing. Field names are snake_case like the REST API's; times are the
 * database's clock (`at_ms`), ages and durations in milliseconds.
 */

export type DashboardRole = 'primary_master' | 'secondary_master' | 'coreapp' | 'webapp' | 'single';

export interface DashboardNode {
  readonly node_id: string;
  readonly role: DashboardRole;
  readonly hostname: string;
  /** The shard this node owns in the current map (a primary coreapp, or the single node), else null. */
  readonly shard: number | null;
  readonly epoch: number | null;
  readonly gateway_status: 'connected' | 'connecting' | 'disconnected';
  /** Age of the node's last liveness touch in the database (the DB path). */
  readonly db_age_ms: number;
  readonly alive: boolean;
  readonly started_at_ms: number;
  /** Coreapps: time since each master last heard this coreapp's heartbeat (master id → ms; null: never). */
  readonly heartbeat_ms: Readonly<Record<string, number | null>>;
}

export interface DashboardShard {
  readonly shard: number;
  /** The primary coreapp (node id), or null while the shard has none (failing over, changing). */
  readonly owner: string | null;
  readonly epoch: number;
  /** Messages accepted and not yet sent in this shard. */
  readonly pending: number;
  readonly updated_at_ms: number;
}

export interface DashboardEvent {
  readonly seq: number;
  readonly at_ms: number;
  readonly kind: string;
  readonly node_id: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Rates per second over one bucket of the throughput window; null where no two samples span it. */
export interface ThroughputPoint {
  readonly at_ms: number;
  readonly accepted: number | null;
  readonly sent: number | null;
  readonly delivered: number | null;
}

export interface DashboardSnapshot {
  readonly at_ms: number;
  /** `single`: one `shardgate start` process; `cluster`: masters, coreapps and webapps. */
  readonly mode: 'single' | 'cluster';
  /** The node that computed this snapshot (the webapp the page talks to). */
  readonly served_by: string;
  /** The registered account (never its credentials); the shard-count change names it. */
  readonly account: { readonly state: 'pending' | 'registered'; readonly wa_id: string; readonly cc: string; readonly phone_number: string } | null;
  readonly settings: { readonly heartbeat_interval: number; readonly unhealthy_interval: number; readonly db_liveness_interval: number };
  readonly lease: { readonly holder: string | null; readonly epoch: number; readonly expires_in_ms: number } | null;
  readonly generation: { readonly generation: number; readonly shards: number; readonly state: string } | null;
  readonly nodes: readonly DashboardNode[];
  readonly shards: readonly DashboardShard[];
  readonly queues: { readonly pending_messages: number; readonly pending_webhooks: number; readonly dead_webhooks: number };
  readonly throughput: {
    readonly window_ms: number;
    readonly bucket_ms: number;
    /** The latest bucket's rates (what the page shows as numbers). */
    readonly current: ThroughputPoint;
    /** Oldest first, one point per bucket of the window. */
    readonly points: readonly ThroughputPoint[];
  };
  /** The newest cluster events, newest first. */
  readonly events: readonly DashboardEvent[];
}
