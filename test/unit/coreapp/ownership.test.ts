import { describe, expect, it } from 'vitest';
import { claimOf, decidePromotion, demotionApplies, mapHoldsEpoch, mapNamesOwner, type ShardRows } from '../../../src/core/coreapp/ownership.js';

const own = (generation: number, shard: number, epoch: number) => ({ generation, shard, epoch });
const map = (generation: number, rows: [number, string | null, number][], retired = false): ShardRows => ({
  generation,
  retired,
  assignments: rows.map(([shard, owner, epoch]) => ({ shard, owner, epoch })),
});

describe('coreapp ownership decisions', () => {
  it('takes a promotion when owning nothing, ignores a repeat, refuses a second shard', () => {
    expect(decidePromotion(null, own(1, 0, 2))).toBe('take');
    expect(decidePromotion(own(1, 0, 2), own(1, 0, 2))).toBe('already');
    expect(decidePromotion(own(1, 0, 2), own(1, 1, 5))).toBe('refuse');
    // An older epoch of the same shard is no reason to let go of the newer one.
    expect(decidePromotion(own(1, 0, 3), own(1, 0, 2))).toBe('refuse');
  });

  it('replaces its ownership for a newer epoch of the same shard or a newer generation', () => {
    expect(decidePromotion(own(1, 0, 2), own(1, 0, 3))).toBe('replace');
    expect(decidePromotion(own(1, 0, 2), own(2, 1, 1))).toBe('replace');
  });

  it('applies a demotion only to the ownership it names or an older one', () => {
    expect(demotionApplies(own(1, 0, 2), own(1, 0, 2))).toBe(true);
    expect(demotionApplies(own(1, 0, 2), own(1, 0, 3))).toBe(true);
    expect(demotionApplies(own(1, 0, 3), own(1, 0, 2))).toBe(false);
    expect(demotionApplies(own(1, 0, 2), own(1, 1, 2))).toBe(false);
    expect(demotionApplies(own(1, 0, 2), own(2, 0, 2))).toBe(false);
    expect(demotionApplies(null, own(1, 0, 2))).toBe(false);
  });

  it('serves only what the map names, under exactly its epoch, in a live generation', () => {
    const m = map(1, [[0, 'a', 2], [1, 'b', 4]]);
    expect(mapNamesOwner(m, 'a', own(1, 0, 2))).toBe(true);
    expect(mapNamesOwner(m, 'b', own(1, 0, 2))).toBe(false);
    expect(mapNamesOwner(m, 'a', own(1, 0, 1))).toBe(false);
    expect(mapNamesOwner(m, 'a', own(2, 0, 2))).toBe(false);
    expect(mapNamesOwner(map(1, [[0, 'a', 2]], true), 'a', own(1, 0, 2))).toBe(false);
    expect(mapNamesOwner(null, 'a', own(1, 0, 2))).toBe(false);
    expect(mapHoldsEpoch(m, own(1, 1, 4))).toBe(true);
    expect(mapHoldsEpoch(m, own(1, 1, 3))).toBe(false);
  });

  it('claims only a verified ownership', () => {
    expect(claimOf({ ...own(1, 0, 2), verified: false })).toBeNull();
    expect(claimOf({ ...own(1, 0, 2), verified: true })).toEqual(own(1, 0, 2));
  });
});
