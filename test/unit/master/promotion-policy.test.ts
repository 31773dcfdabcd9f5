import { describe, expect, it } from 'vitest';
import type { ShardMapView } from '../../../src/core/master/cluster-view.js';
import {
  compareCandidates,
  planDemotions,
  planPromotions,
  type CoreappCandidate,
  type PromotionInput,
} from '../../../src/core/master/promotion-policy.js';

function map(owners: (string | null)[], epochs: number[] = owners.map(() => 5), generation = 3): ShardMapView {
  return {
    generation,
    shards: owners.length,
    state: 'active',
    assignments: owners.map((owner, shard) => ({ shard, owner, epoch: epochs[shard] ?? 5 })),
  };
}

const coreapp = (id: string, health: CoreappCandidate['health'], startedAtMs = 100, claim: CoreappCandidate['claim'] = null): CoreappCandidate => ({
  id,
  health,
  startedAtMs,
  claim,
});

function plan(m: ShardMapView, coreapps: CoreappCandidate[], busy: Partial<Pick<PromotionInput, 'busyShards' | 'busyCoreapps'>> = {}) {
  return planPromotions({ map: m, coreapps, busyShards: busy.busyShards ?? new Set(), busyCoreapps: busy.busyCoreapps ?? new Set() });
}

describe('promotion tie-breaks', () => {
  it('orders healthy first, then the longest uptime, then the lowest node id (code units)', () => {
    const list = [
      coreapp('b', 'healthy', 200),
      coreapp('z', 'unknown', 1),
      coreapp('a', 'healthy', 200),
      coreapp('B', 'healthy', 200),
      coreapp('y', 'healthy', 50),
      coreapp('x', 'unhealthy', 0),
    ];
    expect([...list].sort(compareCandidates).map((c) => c.id)).toEqual(['y', 'B', 'a', 'b', 'z', 'x']);
  });

  it('picks the same coreapp whatever order the node list comes in', () => {
    const list = [coreapp('c', 'healthy', 300), coreapp('a', 'healthy', 300), coreapp('b', 'healthy', 200), coreapp('d', 'unknown', 1)];
    const expected = [{ shard: 0, coreappId: 'b', expectedEpoch: 5, replaces: null, reason: 'unowned' }];
    for (const order of [list, [...list].reverse(), [list[2], list[0], list[3], list[1]]]) {
      expect(plan(map([null]), order as CoreappCandidate[])).toEqual(expected);
    }
  });

  it('serves shards in ascending order when candidates run short', () => {
    expect(plan(map([null, null, null]), [coreapp('late', 'healthy', 900), coreapp('early', 'healthy', 100)])).toEqual([
      { shard: 0, coreappId: 'early', expectedEpoch: 5, replaces: null, reason: 'unowned' },
      { shard: 1, coreappId: 'late', expectedEpoch: 5, replaces: null, reason: 'unowned' },
    ]);
  });
});

describe('who gets promoted', () => {
  it('never promotes an unknown or unhealthy coreapp', () => {
    expect(plan(map([null]), [coreapp('a', 'unknown'), coreapp('b', 'unhealthy')])).toEqual([]);
  });

  it('one coreapp owns at most one shard: owners, claimants and busy coreapps are not candidates', () => {
    const m = map(['owner', null]);
    const coreapps = [
      coreapp('owner', 'healthy', 1),
      coreapp('claims', 'healthy', 2, { generation: 2, shard: 0, epoch: 4 }),
      coreapp('busy', 'healthy', 3),
      coreapp('free', 'healthy', 4),
    ];
    expect(plan(m, coreapps, { busyCoreapps: new Set(['busy']) })).toEqual([{ shard: 1, coreappId: 'free', expectedEpoch: 5, replaces: null, reason: 'unowned' }]);
  });

  it('replaces an unhealthy owner, or one missing from the node list, but waits while an owner is unknown', () => {
    const m = map(['sick', 'gone', 'unsure', 'fine'], [7, 8, 9, 10]);
    const coreapps = [coreapp('sick', 'unhealthy'), coreapp('unsure', 'unknown'), coreapp('fine', 'healthy'), coreapp('s1', 'healthy', 1), coreapp('s2', 'healthy', 2), coreapp('s3', 'healthy', 3)];
    expect(plan(m, coreapps)).toEqual([
      { shard: 0, coreappId: 's1', expectedEpoch: 7, replaces: 'sick', reason: 'unhealthy' },
      { shard: 1, coreappId: 's2', expectedEpoch: 8, replaces: 'gone', reason: 'unhealthy' },
    ]);
  });

  it('leaves a shard with a promotion in flight alone', () => {
    expect(plan(map([null, null]), [coreapp('a', 'healthy'), coreapp('b', 'healthy')], { busyShards: new Set([0]) })).toEqual([
      { shard: 1, coreappId: 'a', expectedEpoch: 5, replaces: null, reason: 'unowned' },
    ]);
  });

  it('repairs a map that names one coreapp for two shards: it keeps the shard it claims', () => {
    const m = map(['dup', 'dup'], [4, 6]);
    const claimsOne = [coreapp('dup', 'healthy', 1, { generation: 3, shard: 1, epoch: 6 }), coreapp('spare', 'healthy', 2)];
    expect(plan(m, claimsOne)).toEqual([{ shard: 0, coreappId: 'spare', expectedEpoch: 4, replaces: 'dup', reason: 'duplicate' }]);
    const claimsNone = [coreapp('dup', 'healthy', 1), coreapp('spare', 'healthy', 2)];
    expect(plan(m, claimsNone)).toEqual([{ shard: 1, coreappId: 'spare', expectedEpoch: 6, replaces: 'dup', reason: 'duplicate' }]);
  });
});

describe('who gets demoted', () => {
  const m = map(['a', 'b'], [5, 9], 3);
  it.each([
    ['a claim of an older generation', 'x', { generation: 2, shard: 0, epoch: 50 }, 'stale_generation'],
    ['a shard the generation does not have', 'x', { generation: 3, shard: 7, epoch: 1 }, 'no_such_shard'],
    ['an epoch the map has moved past', 'x', { generation: 3, shard: 1, epoch: 8 }, 'stale_epoch'],
    ['the current epoch, but the map names another owner', 'x', { generation: 3, shard: 1, epoch: 9 }, 'not_owner'],
  ] as const)('demotes %s', (_name, coreappId, claim, reason) => {
    expect(planDemotions(m, [{ coreappId, claim }])).toEqual([{ coreappId, claim, reason }]);
  });

  it.each([
    ['the owner at the current epoch', 'b', { generation: 3, shard: 1, epoch: 9 }],
    ['a claim newer than the map we hold (our map is old)', 'x', { generation: 3, shard: 1, epoch: 10 }],
    ['a claim of a later generation', 'x', { generation: 4, shard: 0, epoch: 1 }],
  ] as const)('leaves %s alone', (_name, coreappId, claim) => {
    expect(planDemotions(m, [{ coreappId, claim }])).toEqual([]);
  });

  it('lists demotions by node id', () => {
    const claim = { generation: 1, shard: 0, epoch: 1 };
    expect(planDemotions(m, [{ coreappId: 'c', claim }, { coreappId: 'a', claim }]).map((d) => d.coreappId)).toEqual(['a', 'c']);
  });
});
