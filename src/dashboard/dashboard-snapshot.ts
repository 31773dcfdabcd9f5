/**
 * Reads one dashboard snapshot from the database (and, in a cluster, each master's heartbeat view):
 * the topology, the shard map with pending messages per shard, queue depths, the newest events, and
 * the cumulative message counts that feed the throughput window. One read serves every open
 * dashboard of the webapp (`SnapshotHub`).
 *
 * The topology itself comes from the composition root (the same `readTopology` that `/v1/health` and
 * `shardgate cluster status` use), so the dashboard never disagrees with them.
 */
import { ACCOUNT_SETTINGS_KEY, accountFromStored } from '../core/account.js';
import { settingsFromStored, APPLICATION_SETTINGS_KEY } from '../core/app-settings.js';
import { dashboardEventsMax, dashboardPeerViewDeadlineMs, dashboardThroughputBucketMs, dashboardThroughputWindowMs } from '../core/limits.js';
import type { ClusterTransport } from '../ports/cluster-transport.js';
import type { Stores } from '../ports/stores.js';
import type { DashboardNode, DashboardRole, DashboardSnapshot } from './dashboard-types.js';
import { ThroughputWindow } from './throughput-window.js';

/** The subset of the gateway's topology (`readTopology`) the dashboard shows. */
export interface DashboardTopology {
  readonly db_now_ms: number;
  readonly nodes: readonly {
    readonly node_id: string;
    readonly role: DashboardRole;
    readonly hostname: string;
    readonly internal_url: string | null;
    readonly shard: number | null;
    readonly epoch: number | null;
    readonly gateway_status: 'connected' | 'connecting' | 'disconnected';
    readonly heartbeat_age_ms: number;
    readonly alive: boolean;
    readonly started_at_ms: number;
  }[];
}

export interface DashboardSource {
  readonly stores: Stores;
  /** The webapp's node id (shown as `served_by`). */
  readonly nodeId: string;
  readonly mode: 'single' | 'cluster';
  /** The name of the master lease in the lease store. */
  readonly masterLease: string;
  /** The topology with nodes judged alive within `dbLivenessIntervalS`. */
  topology(dbLivenessIntervalS: number): Promise<DashboardTopology>;
  /** Cluster mode: asks each master for its heartbeat view. Absent: no heartbeat ages. */
  readonly transport?: ClusterTransport;
}

export class DashboardSnapshots {
  readonly #source: DashboardSource;
  readonly #throughput = new ThroughputWindow(dashboardThroughputWindowMs, dashboardThroughputBucketMs);

  constructor(source: DashboardSource) {
    this.#source = source;
  }

  /** Reads the current state; every call also adds one sample to the throughput window. */
  async read(): Promise<DashboardSnapshot> {
    const { stores } = this.#source;
    const stored = (await stores.settings.snapshot()).values;
    const settings = settingsFromStored(stored[APPLICATION_SETTINGS_KEY]);
    const account = accountFromStored(stored[ACCOUNT_SETTINGS_KEY]);
    const [topology, lease, map, byStatus, callbacks, events] = await Promise.all([
      this.#source.topology(settings.db_liveness_interval),
      stores.leases.read(this.#source.masterLease),
      stores.shardMap.current(),
      stores.messages.countByStatus(),
      stores.callbacks.counts(),
      stores.events.latest(dashboardEventsMax),
    ]);
    const pending = map === null ? [] : await stores.messages.acceptedByShard(map.generation.generation);
    const pendingOf = new Map(pending.map((p) => [p.shard, p.count]));
    this.#throughput.add({
      atMs: topology.db_now_ms,
      accepted: byStatus.accepted + byStatus.sent + byStatus.delivered + byStatus.read + byStatus.failed,
      sent: byStatus.sent + byStatus.delivered + byStatus.read,
      delivered: byStatus.delivered + byStatus.read,
    });
    const heartbeats = await this.#heartbeats(topology);
    return {
      at_ms: topology.db_now_ms,
      mode: this.#source.mode,
      served_by: this.#source.nodeId,
      account: account === null ? null : { state: account.state, wa_id: account.wa_id, cc: account.cc, phone_number: account.phone_number },
      settings: { heartbeat_interval: settings.heartbeat_interval, unhealthy_interval: settings.unhealthy_interval, db_liveness_interval: settings.db_liveness_interval },
      lease: lease === null ? null : { holder: lease.held ? lease.holder : null, epoch: lease.epoch, expires_in_ms: lease.held ? Math.max(0, lease.expiresAtMs - lease.observedAtMs) : 0 },
      generation: map === null ? null : { generation: map.generation.generation, shards: map.generation.shards, state: map.generation.state },
      nodes: topology.nodes.map((n): DashboardNode => ({
        node_id: n.node_id,
        role: n.role,
        hostname: n.hostname,
        shard: n.shard,
        epoch: n.epoch,
        gateway_status: n.gateway_status,
        db_age_ms: n.heartbeat_age_ms,
        alive: n.alive,
        started_at_ms: n.started_at_ms,
        heartbeat_ms: n.role === 'coreapp' ? heartbeatsOf(n.node_id, heartbeats) : {},
      })),
      shards: (map?.assignments ?? []).map((a) => ({ shard: a.shard, owner: a.owner, epoch: a.epoch, pending: pendingOf.get(a.shard) ?? 0, updated_at_ms: a.updatedAtMs })),
      queues: { pending_messages: byStatus.accepted, pending_webhooks: callbacks.pending, dead_webhooks: callbacks.dead },
      throughput: { window_ms: dashboardThroughputWindowMs, bucket_ms: dashboardThroughputBucketMs, current: this.#throughput.current(), points: this.#throughput.points() },
      events: [...events].reverse().map((e) => ({ seq: e.seq, at_ms: e.atMs, kind: e.kind, node_id: e.nodeId, data: e.data })),
    };
  }

  /** Each alive master's view (master id → coreapp id → silence); a master that does not answer in time is left out. */
  async #heartbeats(topology: DashboardTopology): Promise<Map<string, Map<string, number>>> {
    const transport = this.#source.transport;
    const views = new Map<string, Map<string, number>>();
    if (transport === undefined) return views;
    const masters = topology.nodes.filter((n) => (n.role === 'primary_master' || n.role === 'secondary_master') && n.alive && n.internal_url !== null);
    await Promise.all(
      masters.map(async (m) => {
        const view = await transport.peerView(m.internal_url as string, dashboardPeerViewDeadlineMs).catch(() => null);
        if (view?.masterId === m.node_id) views.set(m.node_id, new Map(view.coreapps.map((c) => [c.coreappId, c.silenceMs])));
      }),
    );
    return views;
  }
}

function heartbeatsOf(coreappId: string, views: ReadonlyMap<string, ReadonlyMap<string, number>>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [masterId, view] of [...views.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    out[masterId] = view.get(coreappId) ?? null;
  }
  return out;
}
