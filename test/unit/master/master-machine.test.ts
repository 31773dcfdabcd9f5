import { describe, expect, it } from 'vitest';
import type { ClusterNode, ShardMapView } from '../../../src/core/master/cluster-view.js';
import type { MasterEffect } from '../../../src/core/master/master-effects.js';
import { MasterMachine } from '../../../src/core/master/master-machine.js';
import { coreappNode, one, only, shardMap, type Of } from './machine-helpers.js';
import { ControlPlaneWorld, type WorldOptions } from './control-plane-world.js';

const SETTINGS = { heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 };
const U = 5_000;
const TICK = 100;
const OWNERSHIP: readonly MasterEffect['kind'][] = ['promote', 'notifyPromoted', 'demote', 'readPeerView'];


/** Drives one machine by hand: every tick's effects are kept for inspection. */
class Hand {
  readonly m = new MasterMachine({ masterId: 'm1', leaseTtlMs: 3_000, settings: SETTINGS });
  readonly all: MasterEffect[] = [];

  tick(nowMs: number): MasterEffect[] {
    this.m.tick(nowMs);
    const effects = this.m.takeEffects();
    this.all.push(...effects);
    return effects;
  }

  /** Answers every heartbeat of `effects` at `atMs` with "owns nothing" (or the given claims). */
  answerHeartbeats(effects: readonly MasterEffect[], atMs: number, owns: Record<string, { generation: number; shard: number; epoch: number }> = {}): void {
    for (const hb of only(effects, 'sendHeartbeat')) {
      this.m.step({ type: 'heartbeatResult', requestId: hb.requestId, coreappId: hb.coreappId, atMs, outcome: 'answered', owns: owns[hb.coreappId] ?? null });
    }
  }

  /** Up to the first promotion: lease granted, nodes read, every coreapp answered, the map read. */
  bootPrimary(nodes: ClusterNode[], map: ShardMapView): MasterEffect[] {
    const first = this.tick(0);
    this.m.step({ type: 'nodes', requestId: one(first, 'readNodes').requestId, atMs: 1, snapshot: { dbNowMs: 50_000, nodes } });
    this.answerHeartbeats(this.tick(1), 2);
    this.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 3, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
    const read = one(this.tick(3), 'readShardMap');
    this.m.step({ type: 'shardMap', requestId: read.requestId, atMs: 4, outcome: 'read', map });
    return this.tick(4);
  }
}

describe('MasterMachine, step by step', () => {
  it('promotes only as primary: after the lease is granted and a map read in this tenure, and tells the coreapp only after the write', () => {
    const hand = new Hand();
    const first = hand.tick(0);
    expect(first.map((e) => e.kind)).toEqual(['acquireLease', 'readNodes']);
    hand.m.step({ type: 'nodes', requestId: one(first, 'readNodes').requestId, atMs: 1, snapshot: { dbNowMs: 50_000, nodes: [coreappNode('c1', 10)] } });
    const beats = hand.tick(1);
    expect(one(beats, 'sendHeartbeat')).toMatchObject({ coreappId: 'c1', internalUrl: 'http://c1', timeoutMs: 1_000 });
    hand.answerHeartbeats(beats, 2);
    expect(hand.tick(2)).toEqual([]); // Healthy candidate, but no lease: nothing about ownership, not even a map read.
    expect(hand.m.role()).toBe('secondary');

    hand.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 3, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
    expect(hand.m.role()).toBe('primary');
    const afterGrant = hand.tick(3);
    expect(afterGrant.map((e) => e.kind)).toEqual(['appendEvent', 'readShardMap']);
    expect(one(afterGrant, 'appendEvent').entry).toMatchObject({ kind: 'lease_acquired', nodeId: 'm1', data: { epoch: 7, requestMs: 3 } });

    hand.m.step({ type: 'shardMap', requestId: one(afterGrant, 'readShardMap').requestId, atMs: 4, outcome: 'read', map: shardMap([null], [1]) });
    const promote = one(hand.tick(4), 'promote');
    expect(promote).toMatchObject({ generation: 1, shard: 0, coreappId: 'c1', expectedEpoch: 1, leaseEpoch: 7 });
    expect(only(hand.tick(5), 'notifyPromoted')).toEqual([]); // Not before the write is confirmed.

    hand.m.step({ type: 'promoteResult', requestId: promote.requestId, atMs: 6, outcome: 'won', epoch: 2 });
    const after = hand.tick(6);
    // The promotion is logged (persisted), the map is read afresh, and only then the coreapp is told.
    expect(after.map((e) => e.kind)).toEqual(['appendEvent', 'readShardMap', 'notifyPromoted']);
    expect(one(after, 'appendEvent').entry).toMatchObject({ kind: 'promoted', nodeId: 'c1', data: { shard: 0, epoch: 2, reason: 'unowned', persistMs: 2 } });
    expect(one(after, 'notifyPromoted')).toMatchObject({ coreappId: 'c1', generation: 1, shard: 0, epoch: 2, leaseEpoch: 7 });
    expect(only(hand.tick(7), 'promote')).toEqual([]);
  });

  it('a lost compare-and-set makes it re-read the map (ignoring a read already in flight) and never promotes twice', () => {
    const hand = new Hand();
    const promote = one(hand.bootPrimary([coreappNode('c1', 10), coreappNode('c2', 20)], shardMap([null], [1])), 'promote');
    expect(promote.coreappId).toBe('c1');
    const periodic = one(hand.tick(504), 'readShardMap'); // The regular re-read leaves before the loss is known.
    hand.m.step({ type: 'promoteResult', requestId: promote.requestId, atMs: 505, outcome: 'lost' });
    hand.m.step({ type: 'shardMap', requestId: periodic.requestId, atMs: 506, outcome: 'read', map: shardMap([null], [1]) });
    const afterLoss = hand.tick(506);
    expect(only(afterLoss, 'promote')).toEqual([]);
    expect(only(afterLoss, 'appendEvent').map((e) => e.entry.kind)).toEqual(['promotion_lost']);
    const reread = one(afterLoss, 'readShardMap');
    expect(reread.requestId).toBeGreaterThan(periodic.requestId);
    // Another master won the shard for c2 meanwhile; c2 answers as its owner.
    hand.m.step({ type: 'shardMap', requestId: reread.requestId, atMs: 507, outcome: 'read', map: shardMap(['c2'], [2]) });
    for (let t = 600; t <= 3_000; t += 100) hand.answerHeartbeats(hand.tick(t), t + 1, { c2: { generation: 1, shard: 0, epoch: 2 } });
    expect(only(hand.all, 'promote')).toHaveLength(1);
    expect(only(hand.all, 'notifyPromoted')).toEqual([]);
  });

  it('after a promotion of unknown outcome it decides nothing until the map is read again, then tells an owner it never told', () => {
    const hand = new Hand();
    const nodes = [coreappNode('c1', 10), coreappNode('c2', 20), coreappNode('c3', 30)];
    const first = hand.bootPrimary(nodes, shardMap([null, 'gone'], [1, 4]));
    const [p0, p1] = only(first, 'promote');
    expect([p0?.coreappId, p1?.coreappId]).toEqual(['c1', 'c2']);
    hand.m.step({ type: 'promoteResult', requestId: p0?.requestId ?? 0, atMs: 5, outcome: 'failed' });
    hand.m.step({ type: 'promoteResult', requestId: p1?.requestId ?? 0, atMs: 5, outcome: 'lost' });
    const reread = one(hand.tick(5), 'readShardMap');
    expect(only(hand.all, 'promote')).toHaveLength(2);
    // The failed write had landed: c1 owns shard 0. Shard 1 moved on too, still unowned.
    hand.m.step({ type: 'shardMap', requestId: reread.requestId, atMs: 6, outcome: 'read', map: shardMap(['c1', null], [2, 5]) });
    const next = hand.tick(6);
    expect(only(next, 'promote').map((p) => [p.shard, p.coreappId, p.expectedEpoch])).toEqual([[1, 'c2', 5]]);
    // c1 was never told (the result was lost); its next answer shows it does not know: it is told now.
    hand.answerHeartbeats(hand.tick(1_001), 1_002);
    expect(one(hand.tick(1_003), 'notifyPromoted')).toMatchObject({ coreappId: 'c1', shard: 0, epoch: 2 });
  });

  it('does not judge a coreapp it has not watched for unhealthy_interval, however long it has existed or what others say', () => {
    const hand = new Hand();
    const nodes: ClusterNode[] = [coreappNode('c1', 10), coreappNode('c2', 20), { id: 'm2', role: 'master', internalUrl: 'http://m2', startedAtMs: 0, lastSeenAtMs: 50_000 }];
    // Up to the promotion point, but c1 (the owner) never answers: only c2's heartbeats are answered.
    const first = hand.tick(0);
    hand.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
    let promotedAt: number | null = null;
    let watchStart: number | null = null;
    for (let t = 0; t <= 12_000; t += TICK) {
      const effects = t === 0 ? first : hand.tick(t);
      const nodesRead = only(effects, 'readNodes')[0];
      // The node list arrives only at 4 s (a slow database): heartbeats start then, not at construction.
      if (nodesRead !== undefined && t >= 4_000) hand.m.step({ type: 'nodes', requestId: nodesRead.requestId, atMs: t + 1, snapshot: { dbNowMs: 50_000 + t, nodes: nodes.map((n) => ({ ...n, lastSeenAtMs: 50_000 + t })) } });
      if (nodesRead !== undefined && t < 4_000) hand.m.step({ type: 'nodes', requestId: nodesRead.requestId, atMs: t + 1, snapshot: null });
      for (const read of only(effects, 'readShardMap')) hand.m.step({ type: 'shardMap', requestId: read.requestId, atMs: t + 1, outcome: 'read', map: shardMap(['c1'], [3]) });
      for (const hb of only(effects, 'sendHeartbeat')) {
        if (hb.coreappId === 'c1') watchStart ??= t;
        if (hb.coreappId === 'c2') hand.m.step({ type: 'heartbeatResult', requestId: hb.requestId, coreappId: 'c2', atMs: t + 1, outcome: 'answered', owns: null });
      }
      for (const view of only(effects, 'readPeerView')) {
        hand.m.step({ type: 'peerView', requestId: view.requestId, masterId: 'm2', atMs: t + 1, view: { masterId: 'm2', coreapps: [{ coreappId: 'c1', silenceMs: 600_000 }] } });
      }
      for (const lease of [...only(effects, 'renewLease'), ...only(effects, 'acquireLease')]) {
        hand.m.step({ type: 'leaseResult', requestId: lease.requestId, sentAtMs: t, atMs: t + 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 + t } });
      }
      if (promotedAt === null && only(effects, 'promote').length > 0) promotedAt = t;
    }
    expect(watchStart).toBe(4_100);
    expect(promotedAt).not.toBeNull();
    expect(promotedAt as number).toBeGreaterThanOrEqual((watchStart as number) + U);
    expect(promotedAt as number).toBeLessThanOrEqual((watchStart as number) + U + TICK);
    expect(one(hand.all, 'promote')).toMatchObject({ coreappId: 'c2', expectedEpoch: 3 });
  });

  it('logs the failover of an owner that was unhealthy when the promotion was planned, even if its verdict wavers before the write returns', () => {
    const hand = new Hand();
    const nodes: ClusterNode[] = [coreappNode('c1', 10), coreappNode('c2', 20), { id: 'm2', role: 'master', internalUrl: 'http://m2', startedAtMs: 0, lastSeenAtMs: 50_000 }];
    const first = hand.tick(0);
    hand.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
    let promote: Of<'promote'> | null = null;
    for (let t = 0; t <= 12_000; t += TICK) {
      const effects = t === 0 ? first : hand.tick(t);
      for (const read of only(effects, 'readNodes')) hand.m.step({ type: 'nodes', requestId: read.requestId, atMs: t + 1, snapshot: { dbNowMs: 50_000 + t, nodes: nodes.map((n) => ({ ...n, lastSeenAtMs: 50_000 + t })) } });
      for (const read of only(effects, 'readShardMap')) hand.m.step({ type: 'shardMap', requestId: read.requestId, atMs: t + 1, outcome: 'read', map: shardMap(['c1'], [3]) });
      for (const hb of only(effects, 'sendHeartbeat')) {
        if (hb.coreappId === 'c2') hand.m.step({ type: 'heartbeatResult', requestId: hb.requestId, coreappId: 'c2', atMs: t + 1, outcome: 'answered', owns: null });
      }
      // The other master agrees c1 is silent until the promotion is planned; then its views stop
      // coming (it is slow), so the agreement ages out and c1's verdict falls back to unknown.
      for (const view of only(effects, 'readPeerView')) {
        hand.m.step({ type: 'peerView', requestId: view.requestId, masterId: 'm2', atMs: t + 1, view: promote === null ? { masterId: 'm2', coreapps: [{ coreappId: 'c1', silenceMs: 600_000 }] } : null });
      }
      for (const lease of [...only(effects, 'renewLease'), ...only(effects, 'acquireLease')]) {
        hand.m.step({ type: 'leaseResult', requestId: lease.requestId, sentAtMs: t, atMs: t + 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 + t } });
      }
      promote ??= only(effects, 'promote')[0] ?? null;
      if (promote !== null && t === 12_000) {
        // The write returns late, after the wavering.
        hand.m.step({ type: 'promoteResult', requestId: promote.requestId, atMs: t + 1, outcome: 'won', epoch: 4 });
        hand.tick(t + 2);
      }
    }
    expect(promote).toMatchObject({ coreappId: 'c2', expectedEpoch: 3 });
    const logged = only(hand.all, 'appendEvent').map((e) => e.entry);
    const unhealthy = logged.find((e) => e.kind === 'coreapp_unhealthy');
    expect(unhealthy).toMatchObject({ nodeId: 'c1' });
    expect(logged.find((e) => e.kind === 'failover')).toMatchObject({ nodeId: 'c2', data: { shard: 0, from: 'c1', epoch: 4, failoverMs: 12_001 - (unhealthy?.atMs ?? 0) } });
  });

  it.each([
    ['writes again 3 s after the database returns: it is not failed over', 3_000, null],
    ['never writes again: failed over 2 × db_liveness_interval after the database returned', null, 18_000 + 10_000],
  ] as const)('the database is out of reach for 8 s (no node snapshot), the owner %s', (_name, writesAgainAfterMs, failedOverAfterMs) => {
    const hand = new Hand();
    const nodes: ClusterNode[] = [coreappNode('c1', 10), coreappNode('c2', 20)];
    const first = hand.tick(0);
    hand.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
    const OUT_FROM = 10_000;
    const BACK_AT = 18_000;
    let promotedAt: number | null = null;
    let c1LastSeen = 0;
    for (let t = 0; t <= 40_000; t += TICK) {
      const effects = t === 0 ? first : hand.tick(t);
      // c1 (the owner) touches its row until the outage and, in the first case, again a while after it.
      if (t < OUT_FROM || (writesAgainAfterMs !== null && t >= BACK_AT + writesAgainAfterMs)) c1LastSeen = t;
      for (const read of only(effects, 'readNodes')) {
        const out = t >= OUT_FROM && t < BACK_AT;
        const snapshot = out ? null : { dbNowMs: 50_000 + t, nodes: nodes.map((n) => ({ ...n, lastSeenAtMs: 50_000 + (n.id === 'c1' ? c1LastSeen : t) })) };
        hand.m.step({ type: 'nodes', requestId: read.requestId, atMs: t + 1, snapshot });
      }
      for (const read of only(effects, 'readShardMap')) hand.m.step({ type: 'shardMap', requestId: read.requestId, atMs: t + 1, outcome: 'read', map: shardMap(['c1'], [3]) });
      // Heartbeats are answered throughout: only the DB path can find c1 dead.
      hand.answerHeartbeats(effects, t + 1, { c1: { generation: 1, shard: 0, epoch: 3 } });
      for (const lease of [...only(effects, 'renewLease'), ...only(effects, 'acquireLease')]) {
        hand.m.step({ type: 'leaseResult', requestId: lease.requestId, sentAtMs: t, atMs: t + 1, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 + t } });
      }
      if (promotedAt === null && only(effects, 'promote').length > 0) promotedAt = t;
    }
    if (failedOverAfterMs === null) {
      expect(promotedAt).toBeNull();
      expect(only(hand.all, 'appendEvent').filter((e) => e.entry.kind === 'coreapp_unhealthy')).toEqual([]);
    } else {
      expect(promotedAt).toBeGreaterThan(failedOverAfterMs);
      expect(promotedAt).toBeLessThanOrEqual(failedOverAfterMs + 500 + TICK);
      expect(only(hand.all, 'appendEvent').find((e) => e.entry.kind === 'coreapp_unhealthy')?.entry).toMatchObject({ nodeId: 'c1', data: { db: 'dead', heartbeat: 'alive' } });
    }
  });

  it('reads the map again in every new tenure before it decides anything', () => {
    const hand = new Hand();
    const first = hand.tick(0);
    const grant = (requestId: number, sentAtMs: number, held: boolean, epoch: number) =>
      hand.m.step({ type: 'leaseResult', requestId, sentAtMs, atMs: sentAtMs + 1, lease: { held, holder: held ? 'm1' : 'm2', epoch, expiresAtMs: 0 } });
    hand.m.step({ type: 'nodes', requestId: one(first, 'readNodes').requestId, atMs: 1, snapshot: { dbNowMs: 50_000, nodes: [coreappNode('c1', 10)] } });
    grant(one(first, 'acquireLease').requestId, 0, true, 7);
    const read = one(hand.tick(2), 'readShardMap');
    hand.m.step({ type: 'shardMap', requestId: read.requestId, atMs: 3, outcome: 'read', map: shardMap([null], [1]) });
    expect(only(hand.tick(4), 'promote')).toEqual([]); // c1 has not answered yet.
    grant(one(hand.tick(1_000), 'renewLease').requestId, 1_000, false, 8); // Lost to m2…
    expect(hand.m.role()).toBe('secondary');
    const back = hand.tick(2_000);
    grant(one(back, 'acquireLease').requestId, 2_000, true, 9); // …and won back.
    const reread = one(hand.tick(2_001), 'readShardMap');
    hand.answerHeartbeats(back, 2_002); // c1 is a healthy candidate from now on.
    // The map read at 3 ms is young enough by age, but it belongs to the previous tenure.
    expect(only(hand.tick(2_003), 'promote')).toEqual([]);
    hand.m.step({ type: 'shardMap', requestId: reread.requestId, atMs: 2_004, outcome: 'read', map: shardMap(['gone'], [2]) });
    expect(one(hand.tick(2_005), 'promote')).toMatchObject({ coreappId: 'c1', expectedEpoch: 2, leaseEpoch: 9 });
  });

  it('releases the lease on stop and emits nothing afterwards', () => {
    const hand = new Hand();
    hand.bootPrimary([coreappNode('c1', 10)], shardMap([null], [1]));
    hand.m.step({ type: 'stop' });
    const last = hand.tick(10);
    expect(last.map((e) => e.kind)).toEqual(['appendEvent', 'releaseLease']);
    expect(one(last, 'appendEvent').entry.kind).toBe('lease_released');
    expect(hand.m.role()).toBe('stopped');
    expect(hand.tick(5_000)).toEqual([]);
  });
});

const WORLD: WorldOptions = { shards: 1, leaseTtlMs: 3_000, settings: SETTINGS, tickMs: TICK, latencyMs: { min: 1, max: 1 }, requestTimeoutMs: 500, falseFailoverWindowMs: 2 * U + 1_000 };

/** A cluster that has settled: the first master is primary and every shard has a serving owner. */
function settledWorld(masters: number, coreapps: number, options: Partial<WorldOptions> = {}): ControlPlaneWorld {
  const world = new ControlPlaneWorld({ ...WORLD, ...options });
  for (let i = 0; i < masters; i++) world.addMaster(i * 7_777_777 - 1_000_000);
  for (let i = 0; i < coreapps; i++) world.addCoreapp();
  world.advance(100);
  for (let i = 1; i < masters; i++) world.advance(37); // Distinct phases for the later masters' ticks.
  expect(world.runUntilTrue(() => world.unsettledReason() === null, world.nowMs + 10_000)).not.toBeNull();
  world.advance(2_000);
  return world;
}

function ownershipEffectsAfter(world: ControlPlaneWorld, masterId: string, afterMs: number): MasterEffect[] {
  return world.effectsOf(masterId).filter((e) => e.atMs > afterMs && OWNERSHIP.includes(e.effect.kind)).map((e) => e.effect);
}

describe('MasterMachine in a cluster (memory world, manual time)', () => {
  it('secondary masters never promote, demote or tell coreapps anything', () => {
    const world = settledWorld(3, 4, { shards: 2 });
    const [primary] = world.primaries();
    for (const coreappId of [world.ownerOf(0), world.ownerOf(1)]) world.crashCoreapp(coreappId as string);
    world.advance(3 * U);
    expect(world.unsettledReason()).toBeNull();
    for (const master of world.masters.values()) {
      if (master.id === primary?.id) expect(world.effectsOf(master.id, 'promote').length).toBe(4);
      else expect(world.effectsOf(master.id).filter((e) => OWNERSHIP.includes(e.effect.kind))).toEqual([]);
    }
  });

  it('fails a dead primary coreapp over within unhealthy_interval + one tick, and logs the failover with its timing', () => {
    const world = settledWorld(2, 3);
    const owner = world.ownerOf(0) as string;
    const crashedAt = world.nowMs;
    world.crashCoreapp(owner);
    const promotedAt = world.runUntilTrue(() => world.ownerOf(0) !== owner, crashedAt + 3 * U);
    expect(promotedAt).not.toBeNull();
    expect((promotedAt as number) - crashedAt).toBeLessThanOrEqual(U + TICK + 10);
    expect(world.runUntilTrue(() => world.unsettledReason() === null, world.nowMs + 1_000)).not.toBeNull();
    const [unhealthy] = world.logOf('coreapp_unhealthy');
    expect(unhealthy).toMatchObject({ nodeId: owner, data: { db: 'alive', heartbeat: 'dead' } });
    const [failover] = world.logOf('failover');
    expect(failover).toMatchObject({ data: { from: owner, shard: 0 } });
    expect(failover?.data['failoverMs']).toBeLessThanOrEqual(10);
    expect(world.logOf('demoted')).toEqual([expect.objectContaining({ nodeId: owner, data: expect.objectContaining({ reason: 'replaced' }) })]);
  });

  it.each([['the primary master'], ['the secondary master']])('does not fail over when only %s lost contact with the coreapp', (which) => {
    const world = settledWorld(2, 3);
    const owner = world.ownerOf(0) as string;
    const primary = world.primaries()[0]?.id as string;
    const secondary = [...world.masters.keys()].find((id) => id !== primary) as string;
    world.cutLink(which === 'the primary master' ? primary : secondary, owner);
    world.advance(4 * U);
    expect(world.ownerOf(0)).toBe(owner);
    expect(world.logOf('coreapp_unhealthy')).toEqual([]);
    // Both lose it (cut from the masters, still alive in the database): now it is failed over.
    world.cutLink(which === 'the primary master' ? secondary : primary, owner);
    expect(world.runUntilTrue(() => world.ownerOf(0) !== owner, world.nowMs + 2 * U)).not.toBeNull();
    expect(world.logOf('coreapp_unhealthy')[0]?.data).toMatchObject({ db: 'alive', heartbeat: 'dead' });
  });

  it('with a single master only the DB path fails a coreapp over, within 2 × db_liveness_interval + a read + a tick', () => {
    const world = settledWorld(1, 2);
    const owner = world.ownerOf(0) as string;
    const [master] = world.masters.keys();
    world.cutLink(master as string, owner);
    world.advance(5 * U);
    expect(world.ownerOf(0)).toBe(owner);
    const coreapp = world.coreapps.get(owner);
    if (coreapp === undefined) throw new Error('no owner');
    world.cutCoreappDb(owner);
    const lastTouch = coreapp.lastSeenAtMs;
    const promotedAt = world.runUntilTrue(() => world.ownerOf(0) !== owner, world.nowMs + 30_000);
    expect(promotedAt).not.toBeNull();
    expect((promotedAt as number) - lastTouch).toBeGreaterThan(2 * 5_000);
    expect((promotedAt as number) - lastTouch).toBeLessThanOrEqual(2 * 5_000 + 500 + TICK + 10);
    expect(world.logOf('coreapp_unhealthy')[0]?.data).toMatchObject({ db: 'dead', heartbeat: 'unknown' });
  });

  it('does not fail over at master start or takeover, nor after every master was paused longer than unhealthy_interval', () => {
    const world = settledWorld(2, 3);
    const owner = world.ownerOf(0) as string;
    const primary = world.primaries()[0]?.id as string;
    world.crashMaster(primary);
    world.addMaster(424_242); // A fresh master joins as the other takes over.
    world.advance(3 * U);
    for (const id of world.masters.keys()) world.pauseMaster(id);
    world.advance(3 * U);
    for (const id of world.masters.keys()) world.resumeMaster(id);
    world.advance(3 * U);
    expect(world.ownerOf(0)).toBe(owner);
    expect(world.logOf('coreapp_unhealthy')).toEqual([]);
    expect(world.logOf('lease_acquired').length).toBeGreaterThanOrEqual(2);
    expect(world.unsettledReason()).toBeNull();
  });

  it('fails nobody over after every master was paused for longer than unhealthy_interval but within the lease', () => {
    const world = settledWorld(2, 3, { settings: { heartbeat_interval: 0.1, unhealthy_interval: 0.5, db_liveness_interval: 5 } });
    const owner = world.ownerOf(0) as string;
    const primary = world.primaries()[0];
    for (const id of world.masters.keys()) world.pauseMaster(id);
    world.advance(1_200);
    for (const id of world.masters.keys()) world.resumeMaster(id);
    expect(primary?.machine.role()).toBe('primary'); // Still inside its lease: only its watching restarted.
    world.advance(3_000);
    expect(world.ownerOf(0)).toBe(owner);
    expect(world.logOf('coreapp_unhealthy')).toEqual([]);
  });

  it('waits unhealthy_interval of its own watching before failing over a silent owner at start', () => {
    const world = new ControlPlaneWorld(WORLD);
    const owner = world.addCoreapp();
    world.addCoreapp();
    world.map.assignments[0] = { shard: 0, owner: owner.id, epoch: 4 };
    owner.claim = { generation: 1, shard: 0, epoch: 4 };
    const start = world.nowMs;
    world.pauseCoreapp(owner.id); // Silent from the start, its node row still fresh for a while.
    owner.lastSeenAtMs = start + 60_000; // (and the DB path would call it alive for a long time)
    world.addMaster(0);
    world.addMaster(99_999);
    const promotedAt = world.runUntilTrue(() => world.ownerOf(0) !== owner.id, start + 4 * U);
    expect(promotedAt).not.toBeNull();
    expect((promotedAt as number) - start).toBeGreaterThanOrEqual(U);
    expect((promotedAt as number) - start).toBeLessThanOrEqual(U + 2 * TICK + 10);
  });

  it('steps down before the lease expires when renewals fail, and emits nothing ownership-related afterwards', () => {
    const world = settledWorld(2, 3);
    const primary = world.primaries()[0];
    if (primary === undefined) throw new Error('no primary');
    primary.dbCut = true;
    const cutAt = world.nowMs;
    const downAt = world.runUntilTrue(() => primary.machine.role() !== 'primary', cutAt + 5_000, 1);
    expect(downAt).not.toBeNull();
    expect(world.lease?.holder).toBe(primary.id);
    expect(world.lease?.expiresAtMs).toBeGreaterThan(downAt as number); // Before the store's expiry…
    expect((world.lease?.expiresAtMs ?? 0) - (downAt as number)).toBeGreaterThanOrEqual(500); // …by the margin (ttl / 6) or more.
    expect(world.logOf('lease_stepped_down')).toEqual([expect.objectContaining({ nodeId: primary.id })]);
    // Meanwhile the other master takes over and the owner dies: only the new primary acts.
    world.crashCoreapp(world.ownerOf(0) as string);
    world.advance(3 * U);
    expect(world.unsettledReason()).toBeNull();
    expect(ownershipEffectsAfter(world, primary.id, downAt as number)).toEqual([]);
    expect(world.primaries().map((m) => m.id)).not.toContain(primary.id);
  });

  it('with every master down the coreapps keep their shards; a master that returns handles the next failure', () => {
    const world = settledWorld(2, 3, { shards: 2 });
    const before = JSON.stringify(world.map);
    for (const id of world.masters.keys()) world.crashMaster(id);
    world.advance(30_000);
    expect(JSON.stringify(world.map)).toBe(before);
    expect(world.unsettledReason()).toBeNull();
    world.addMaster(5);
    world.advance(2_000);
    world.crashCoreapp(world.ownerOf(1) as string);
    expect(world.runUntilTrue(() => world.unsettledReason() === null, world.nowMs + 2 * U)).not.toBeNull();
  });

  it('applies settings changed at run time on the next tick: the heartbeat cadence at once, shorter thresholds phased in', () => {
    const world = settledWorld(2, 3);
    const primary = world.primaries()[0]?.id as string;
    const owner = world.ownerOf(0) as string;
    const changedAt = world.nowMs;
    // Every threshold shortened. The coreapps still touch their rows on the old 5 s cadence until
    // their next touch: a master that judged them by 2 × 1.5 s at once would fail them all over.
    world.changeSettings({ heartbeat_interval: 0.2, unhealthy_interval: 0.7, db_liveness_interval: 1.5 });
    world.advance(12_000);
    expect(world.logOf('coreapp_unhealthy')).toEqual([]);
    expect(world.ownerOf(0)).toBe(owner);
    const beats = world.effectsOf(primary, 'sendHeartbeat').filter((e) => e.atMs > changedAt + TICK + 10);
    const toOwner = beats.filter((e) => e.effect.kind === 'sendHeartbeat' && e.effect.coreappId === owner);
    const gaps = toOwner.slice(1).map((e, i) => e.atMs - (toOwner[i]?.atMs ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(200 + TICK);
    // Phased in: a dead owner is now failed over within the new unhealthy_interval + one tick.
    const crashedAt = world.nowMs;
    world.crashCoreapp(owner);
    const promotedAt = world.runUntilTrue(() => world.ownerOf(0) !== owner, crashedAt + 5_000);
    expect((promotedAt as number) - crashedAt).toBeLessThanOrEqual(700 + TICK + 10);
    expect(world.logOf('coreapp_unhealthy')).toHaveLength(1);
  });
});
