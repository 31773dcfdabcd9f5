/**
 * DashboardSnapshots over memory stores and a manual clock: the lease with its time to expiry, each
 * master's heartbeat view per coreapp (a master that does not answer is left out), and throughput
 * from the growth of the message counts between two reads.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { createMemoryStores } from '../../../src/adapters/memory/memory-stores.js';
import { DashboardSnapshots } from '../../../src/dashboard/dashboard-snapshot.js';
import type { ClusterTransport } from '../../../src/ports/cluster-transport.js';
import { readTopology } from '../../../src/roles/gateway/cluster-topology.js';
import { MASTER_LEASE } from '../../../src/roles/gateway/gateway-node.js';

describe('DashboardSnapshots', () => {
  it('shows the lease expiry, every answering master\'s heartbeat ages, and rates from count growth', async () => {
    const clock = new ManualClock();
    const stores = createMemoryStores(clock);
    const map = await stores.shardMap.initialize(2, clock.nowMs());
    await stores.nodes.register({ id: 'm1', role: 'master', hostname: 'h', internalUrl: 'http://m1', status: 'serving' });
    await stores.nodes.register({ id: 'm2', role: 'master', hostname: 'h', internalUrl: 'http://m2', status: 'serving' });
    await stores.nodes.register({ id: 'm3', role: 'master', hostname: 'h', internalUrl: 'http://m3', status: 'serving' });
    await stores.nodes.register({ id: 'c1', role: 'coreapp', hostname: 'h', internalUrl: 'http://c1', status: 'connected' });
    await stores.nodes.register({ id: 'c2', role: 'coreapp', hostname: 'h', internalUrl: 'http://c2', status: 'disconnected' });
    await stores.leases.acquire(MASTER_LEASE, 'm1', 3_000);
    clock.advance(1_000);
    const asked: string[] = [];
    const transport = {
      peerView: async (url: string) => {
        asked.push(url);
        if (url === 'http://m3') throw new Error('no answer');
        const id = url.replace('http://', '');
        return { masterId: id, coreapps: [{ coreappId: 'c1', silenceMs: id === 'm1' ? 120 : 340 }] };
      },
    } as unknown as ClusterTransport;
    const snapshots = new DashboardSnapshots({ stores, nodeId: 'w1', mode: 'cluster', masterLease: MASTER_LEASE, transport, topology: (s) => readTopology(stores, s) });

    const first = await snapshots.read();
    expect(first.lease).toEqual({ holder: 'm1', epoch: 1, expires_in_ms: 2_000 });
    expect(asked.sort()).toEqual(['http://m1', 'http://m2', 'http://m3']);
    const c1 = first.nodes.find((n) => n.node_id === 'c1');
    const c2 = first.nodes.find((n) => n.node_id === 'c2');
    expect(c1?.heartbeat_ms).toEqual({ m1: 120, m2: 340 });
    expect(c2?.heartbeat_ms).toEqual({ m1: null, m2: null });
    expect(first.nodes.find((n) => n.node_id === 'm1')?.role).toBe('primary_master');
    expect(first.throughput.current.accepted).toBeNull();

    const generation = map.generation.generation;
    for (let i = 0; i < 6; i++) {
      const { message } = await stores.messages.insert({ id: `m-${i}`, generation, shard: i % 2, recipient: '1555', payload: '{}', idempotencyKey: null, createdAtMs: clock.nowMs() });
      if (i < 2) await stores.messages.recordStatus(message.id, 'delivered', clock.nowMs());
    }
    clock.advance(2_000);
    const second = await snapshots.read();
    expect(second.throughput.current).toEqual({ at_ms: clock.nowMs(), accepted: 3, sent: 1, delivered: 1 });
    expect(second.shards.map((s) => s.pending)).toEqual([2, 2]);
    expect(second.queues.pending_messages).toBe(4);
  });
});
