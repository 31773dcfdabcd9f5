import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardMapStore } from '../../src/ports/shard-map-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: ShardMapStore`, () => {
    let instance: TargetInstance;
    let map: ShardMapStore;

    beforeAll(async () => {
      instance = await target.create();
      map = instance.stores.shardMap;
    });
    afterAll(async () => instance?.dispose());

    it('is empty, then initialize creates generation 1 with unowned shards at epoch 1, once', async () => {
      expect(await map.current()).toBeNull();
      const first = await map.initialize(4, 1_000);
      expect(first.generation).toEqual({ generation: 1, shards: 4, state: 'active', createdAtMs: 1_000 });
      expect(first.assignments.map((a) => [a.shard, a.owner, a.epoch])).toEqual([
        [0, null, 1],
        [1, null, 1],
        [2, null, 1],
        [3, null, 1],
      ]);
      const again = await map.initialize(8, 2_000);
      expect(again.generation.shards).toBe(4);
      expect(again.assignments).toHaveLength(4);
    });

    it('assign is a compare-and-set on the epoch', async () => {
      const a = await map.assign(1, 2, 'core-a', 1, 3_000);
      expect(a).toEqual({ generation: 1, shard: 2, owner: 'core-a', epoch: 2, updatedAtMs: 3_000 });
      // A second master that read epoch 1 loses.
      expect(await map.assign(1, 2, 'core-b', 1, 3_001)).toBeNull();
      expect(await map.assign(1, 2, 'core-b', 2, 3_002)).toMatchObject({ owner: 'core-b', epoch: 3 });
      expect(await map.assign(1, 9, 'core-b', 1, 3_003)).toBeNull();
      expect(await map.assign(7, 0, 'core-b', 1, 3_003)).toBeNull();
      const current = await map.current();
      expect(current?.assignments[2]).toMatchObject({ owner: 'core-b', epoch: 3 });
      expect(current?.assignments[0]).toMatchObject({ owner: null, epoch: 1 });
    });

    it('a lease-fenced assign writes only while that holder holds the lease under that epoch', async () => {
      const leases = instance.stores.leases;
      const lease = await leases.acquire('fence-test', 'master-a', 60_000);
      expect(lease.held).toBe(true);
      const fence = { name: 'fence-test', holder: 'master-a', epoch: lease.epoch };
      const before = (await map.current())?.assignments[3];
      if (before === undefined) throw new Error('no shard 3');
      // Another holder, or an older epoch of the same holder: refused, and the epoch does not move.
      expect(await map.assign(1, 3, 'core-x', before.epoch, 4_000, { ...fence, holder: 'master-b' })).toBeNull();
      expect(await map.assign(1, 3, 'core-x', before.epoch, 4_000, { ...fence, epoch: lease.epoch - 1 })).toBeNull();
      expect(await map.assign(1, 3, 'core-x', before.epoch, 4_000, { ...fence, name: 'other-lease' })).toBeNull();
      const won = await map.assign(1, 3, 'core-x', before.epoch, 4_001, fence);
      expect(won).toMatchObject({ owner: 'core-x', epoch: before.epoch + 1 });
      // Released (or taken over): the deposed master's write is refused.
      await leases.release('fence-test', 'master-a');
      expect(await map.assign(1, 3, 'core-y', before.epoch + 1, 4_002, fence)).toBeNull();
      expect((await map.current())?.assignments[3]).toMatchObject({ owner: 'core-x', epoch: before.epoch + 1 });
    });

    it('concurrent assigns from two connections with the same expected epoch: exactly one wins', async () => {
      const other = await instance.connect();
      const before = (await map.current())?.assignments[1];
      const results = await Promise.all([
        map.assign(1, 1, 'core-x', before?.epoch ?? -1, 4_000),
        other.shardMap.assign(1, 1, 'core-y', before?.epoch ?? -1, 4_000),
      ]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('a new generation fences the old one and starts every shard above any epoch its id had', async () => {
      const before = await map.current();
      const next = await map.beginGeneration(1, 2, 5_000);
      expect(next?.generation).toEqual({ generation: 2, shards: 2, state: 'changing', createdAtMs: 5_000 });
      const oldMaxByShard = new Map(before?.assignments.map((a) => [a.shard, a.epoch + 1]));
      for (const a of next?.assignments ?? []) {
        expect(a.owner).toBeNull();
        expect(a.epoch).toBe((oldMaxByShard.get(a.shard) ?? 0) + 1);
      }
      // The retired generation can no longer be assigned, even with its latest epoch.
      expect(await map.assign(1, 2, 'core-z', 4, 5_001)).toBeNull();
      expect(await map.assign(1, 2, 'core-z', 3, 5_001)).toBeNull();
      // Only one change can start from a generation.
      expect(await map.beginGeneration(1, 4, 5_002)).toBeNull();
      expect(await map.activateGeneration(1)).toBe(false);
      expect(await map.activateGeneration(2)).toBe(true);
      expect(await map.activateGeneration(2)).toBe(false);
      expect((await map.current())?.generation.state).toBe('active');
    });

    it('growing again keeps epochs monotonic per shard id across generations', async () => {
      const g2 = await map.current();
      const s0 = g2?.assignments[0];
      await map.assign(2, 0, 'core-a', s0?.epoch ?? -1, 6_000);
      const g3 = await map.beginGeneration(2, 8, 6_001);
      expect(g3?.assignments).toHaveLength(8);
      // Shard 0 had epoch s0+1 in generation 2, then +1 when fenced; generation 3 starts above that.
      expect(g3?.assignments[0]?.epoch).toBe((s0?.epoch ?? 0) + 3);
      // Shard 7 never existed: it starts at 1.
      expect(g3?.assignments[7]?.epoch).toBe(1);
    });
  });
}
