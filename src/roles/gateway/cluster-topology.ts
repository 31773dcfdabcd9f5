/**
 * The cluster as the database shows it: every registered node with its role, the shard it owns, its
 * gateway status and the age of its last liveness touch. `/v1/health`, `/v1/support` and
 * `shardgate cluster status` all read it, so they always agree.
 *
 * - role: `primary_master` for the holder of the live master lease, `secondary_master` for the other
 *   masters, `coreapp`, `webapp`;
 * - gateway_status: `connected` only for a coreapp that the current shard map names owner of its shard,
 *   that says it is connected, and whose liveness is fresh; otherwise `disconnected` (or the state it
 *   reports while connecting);
 * - alive: its last touch is within `dbLivenessMissesUnhealthy` × `db_liveness_interval` (the DB path).
 */
import { dbLivenessMissesUnhealthy } from '../../core/limits.js';
import type { Stores } from '../../ports/stores.js';
import { MASTER_LEASE } from './gateway-node.js';

export type TopologyRole = 'primary_master' | 'secondary_master' | 'coreapp' | 'webapp' | 'single';
export type TopologyGatewayStatus = 'connected' | 'connecting' | 'disconnected';

export interface TopologyNode {
  readonly node_id: string;
  readonly role: TopologyRole;
  readonly hostname: string;
  readonly internal_url: string | null;
  readonly shard: number | null;
  readonly epoch: number | null;
  readonly gateway_status: TopologyGatewayStatus;
  readonly heartbeat_age_ms: number;
  readonly alive: boolean;
  readonly started_at_ms: number;
}

export interface Topology {
  readonly db_now_ms: number;
  readonly generation: number | null;
  readonly shards: number | null;
  readonly lease: { readonly holder: string | null; readonly epoch: number } | null;
  readonly nodes: readonly TopologyNode[];
}

export async function readTopology(stores: Stores, dbLivenessIntervalS: number): Promise<Topology> {
  const [list, lease, map] = await Promise.all([stores.nodes.list(), stores.leases.read(MASTER_LEASE), stores.shardMap.current()]);
  const deadAfterMs = dbLivenessMissesUnhealthy * dbLivenessIntervalS * 1_000;
  const primaryMaster = lease?.held ? lease.holder : null;
  const owners = new Map((map?.assignments ?? []).filter((a) => a.owner !== null).map((a) => [a.owner as string, a]));
  const nodes = list.nodes.map((n): TopologyNode => {
    const age = Math.max(0, list.nowMs - n.lastSeenAtMs);
    const alive = age <= deadAfterMs;
    const owned = owners.get(n.id);
    const role: TopologyRole = n.role === 'master' ? (n.id === primaryMaster ? 'primary_master' : 'secondary_master') : n.role;
    let status: TopologyGatewayStatus = 'disconnected';
    if ((n.role === 'coreapp' || n.role === 'single') && alive && owned !== undefined && (n.role === 'single' || n.shard === owned.shard)) {
      status = n.status === 'connected' ? 'connected' : n.status === 'connecting' ? 'connecting' : 'disconnected';
    }
    return {
      node_id: n.id,
      role,
      hostname: n.hostname,
      internal_url: n.internalUrl,
      shard: owned?.shard ?? null,
      epoch: owned?.epoch ?? null,
      gateway_status: status,
      heartbeat_age_ms: age,
      alive,
      started_at_ms: n.startedAtMs,
    };
  });
  return {
    db_now_ms: list.nowMs,
    generation: map?.generation.generation ?? null,
    shards: map?.generation.shards ?? null,
    lease: lease === null ? null : { holder: primaryMaster, epoch: lease.epoch },
    nodes,
  };
}
