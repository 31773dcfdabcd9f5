import { describe, expect, it } from 'vitest';
import type { ClusterNode, OwnershipClaim, ShardMapView } from '../../../src/core/master/cluster-view.js';
import type { MasterEffect } from '../../../src/core/master/master-effects.js';
import { MasterMachine } from '../../../src/core/master/master-machine.js';
import { coreappNode, one, only, shardMap, type Kind, type Of } from './machine-helpers.js';

// heartbeat 1 s, unhealthy 5 s, DB liveness 5 s; the regular node-list / shard-map cadence is 500 ms.
const SETTINGS = { heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 };
const TICK = 100;
const DB_EPOCH_MS = 50_000;


/** What the fake runtime answers with: the store's node list and shard map, and the coreapps' claims. */
interface FakeCluster {
  nodes: ClusterNode[];
  map: ShardMapView;
  /** What each coreapp says it owns when heartbeated (absent: nothing). */
  owns: Record<string, OwnershipClaim | null>;
  /** Coreapps that never answer a heartbeat. */
  silent: Set<string>;
  /** Node reads fail (snapshot null) while set. */
  nodesReadFails: boolean;
}

/** Drives one machine by hand: every tick's effects are kept, with the time they were emitted. */
class Hand {
  readonly m = new MasterMachine({ masterId: 'm1', leaseTtlMs: 3_000, settings: SETTINGS });
  readonly all: { atMs: number; effect: MasterEffect }[] = [];
  /** The node lists stepped in, by the time they arrived. */
  readonly nodeLists: { atMs: number; ids: string[] | null }[] = [];

  tick(nowMs: number): MasterEffect[] {
    this.m.tick(nowMs);
    const effects = this.m.takeEffects();
    this.all.push(...effects.map((effect) => ({ atMs: nowMs, effect })));
    return effects;
  }

  effects<K extends Kind>(kind: K, afterMs = Number.NEGATIVE_INFINITY): Of<K>[] {
    return only(
      this.all.filter((e) => e.atMs > afterMs).map((e) => e.effect),
      kind,
    );
  }

  /**
   * Answers every request of `effects` at `atMs` as `cluster` says, the store clock moving with ours;
   * the lease is always granted. Promotions are left unanswered (in flight), so each shows once.
   */
  serve(effects: readonly MasterEffect[], atMs: number, cluster: FakeCluster): void {
    const dbNowMs = DB_EPOCH_MS + atMs;
    for (const e of effects) {
      switch (e.kind) {
        case 'readNodes': {
          const snapshot = cluster.nodesReadFails ? null : { dbNowMs, nodes: cluster.nodes.map((n) => ({ ...n, lastSeenAtMs: dbNowMs })) };
          this.nodeLists.push({ atMs, ids: snapshot === null ? null : snapshot.nodes.map((n) => n.id) });
          this.m.step({ type: 'nodes', requestId: e.requestId, atMs, snapshot });
          break;
        }
        case 'readShardMap':
          this.m.step({ type: 'shardMap', requestId: e.requestId, atMs, outcome: 'read', map: cluster.map });
          break;
        case 'sendHeartbeat':
          if (!cluster.silent.has(e.coreappId)) {
            this.m.step({ type: 'heartbeatResult', requestId: e.requestId, coreappId: e.coreappId, atMs, outcome: 'answered', owns: cluster.owns[e.coreappId] ?? null });
          }
          break;
        case 'acquireLease':
        case 'renewLease':
          this.m.step({ type: 'leaseResult', requestId: e.requestId, sentAtMs: atMs - 1, atMs, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: dbNowMs + 3_000 } });
          break;
        default:
          break;
      }
    }
  }

  /** Ticks every `TICK` ms over (fromMs, toMs], answering each tick's requests 1 ms later. */
  run(fromMs: number, toMs: number, cluster: FakeCluster): void {
    for (let t = fromMs + TICK; t <= toMs; t += TICK) this.serve(this.tick(t), t + 1, cluster);
  }

  /** Runs until `done` holds after a tick (checked after its requests were answered), or fails at `deadlineMs`. */
  runUntil(fromMs: number, deadlineMs: number, cluster: FakeCluster, done: () => boolean): number {
    for (let t = fromMs + TICK; t <= deadlineMs; t += TICK) {
      this.serve(this.tick(t), t + 1, cluster);
      if (done()) return t;
    }
    throw new Error(`not done by ${deadlineMs} ms`);
  }
}

function cluster(nodes: ClusterNode[], map: ShardMapView, owns: Record<string, OwnershipClaim | null> = {}): FakeCluster {
  return { nodes, map, owns, silent: new Set(), nodesReadFails: false };
}

/** Up to a primary with the lease, a node list, healthy answers and a map, ticking at 0..4 like master-machine.test.ts. */
function bootPrimary(hand: Hand, nodes: ClusterNode[], map: ShardMapView, owns: Record<string, OwnershipClaim | null> = {}): MasterEffect[] {
  const first = hand.tick(0);
  hand.m.step({ type: 'nodes', requestId: one(first, 'readNodes').requestId, atMs: 1, snapshot: { dbNowMs: DB_EPOCH_MS, nodes } });
  for (const hb of only(hand.tick(1), 'sendHeartbeat')) {
    hand.m.step({ type: 'heartbeatResult', requestId: hb.requestId, coreappId: hb.coreappId, atMs: 2, outcome: 'answered', owns: owns[hb.coreappId] ?? null });
  }
  hand.m.step({ type: 'leaseResult', requestId: one(first, 'acquireLease').requestId, sentAtMs: 0, atMs: 3, lease: { held: true, holder: 'm1', epoch: 7, expiresAtMs: 53_000 } });
  const read = one(hand.tick(3), 'readShardMap');
  hand.m.step({ type: 'shardMap', requestId: read.requestId, atMs: 4, outcome: 'read', map });
  return hand.tick(4);
}

const reads = (effects: readonly MasterEffect[]): Kind[] => effects.map((e) => e.kind).filter((k) => k === 'readNodes' || k === 'readShardMap');

describe('coreappLeaving: the node list and the shard map are read again at once', () => {
  it('a primary issues a fresh readNodes and readShardMap on the next tick, though the 500 ms cadence has not elapsed', () => {
    const hand = new Hand();
    const claim = { generation: 1, shard: 0, epoch: 3 };
    bootPrimary(hand, [coreappNode('c1', 10), coreappNode('c2', 20)], shardMap(['c1'], [3]), { c1: claim });
    expect(hand.m.role()).toBe('primary');
    // Nodes were read at 0 and the map at 3: nothing is due at 100 ms.
    expect(reads(hand.tick(100))).toEqual([]);

    hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    const after = hand.tick(101);
    expect(reads(after)).toEqual(['readNodes', 'readShardMap']);
    // Once, not on every tick: the regular cadence resumes from there.
    expect(reads(hand.tick(102))).toEqual([]);
    expect(reads(hand.tick(200))).toEqual([]);
  });

  it('re-reads even while a regular read is still in flight, and ignores that older read when it arrives', () => {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10), coreappNode('c2', 20)], shardMap([null], [1]));
    const first = hand.tick(0);
    hand.serve(first, 1, c);
    const second = hand.tick(100); // Primary now: the map is read; the coreapps are heartbeated (no answer yet).
    expect(reads(second)).toEqual(['readShardMap']);
    hand.serve(only(second, 'readShardMap'), 101, c);
    const inFlight = one(hand.tick(500), 'readNodes'); // The regular re-read, left unanswered for now.
    expect(reads(hand.tick(510))).toEqual([]);

    hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    const after = hand.tick(511);
    expect(reads(after)).toEqual(['readNodes', 'readShardMap']);
    const fresh = one(after, 'readNodes');
    expect(fresh.requestId).toBeGreaterThan(inFlight.requestId);

    // The older read arrives late, without c1 in it: it is not the read the machine waits for, so it
    // neither makes c1 forgotten nor stands in for the fresh one.
    hand.m.step({ type: 'nodes', requestId: inFlight.requestId, atMs: 512, snapshot: { dbNowMs: DB_EPOCH_MS + 512, nodes: [coreappNode('c2', 20)] } });
    expect(reads(hand.tick(513))).toEqual([]); // The fresh read is still awaited (not re-issued, not replaced).
    hand.serve(after, 514, c);
    hand.run(513, 4_000, c);
    // Both answer from now on; c1 (the longest-running) would be preferred, but it is leaving.
    expect(hand.effects('promote').map((p) => [p.shard, p.coreappId])).toEqual([[0, 'c2']]);
  });

  it('a secondary reads the node list again at once, but not the shard map', () => {
    const hand = new Hand();
    const first = hand.tick(0);
    expect(reads(first)).toEqual(['readNodes']);
    hand.m.step({ type: 'nodes', requestId: one(first, 'readNodes').requestId, atMs: 1, snapshot: { dbNowMs: DB_EPOCH_MS, nodes: [coreappNode('c1', 10)] } });
    expect(reads(hand.tick(100))).toEqual([]);
    hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    expect(hand.m.role()).toBe('secondary');
    expect(reads(hand.tick(101))).toEqual(['readNodes']);
  });
});

describe('coreappLeaving: a leaving coreapp is no promotion candidate', () => {
  /**
   * c1 (the longest-running, so the preferred candidate) owns shard 0 and hands it over: it releases
   * the shard (the map shows it unowned, epoch 4) and says it owns nothing, while still alive and in
   * the node list. c2 is healthy too.
   */
  function handover(announce: boolean): Hand {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10), coreappNode('c2', 20)], shardMap(['c1'], [3]), { c1: { generation: 1, shard: 0, epoch: 3 } });
    hand.run(-TICK, 2_000, c);
    expect(hand.m.role()).toBe('primary');
    expect(hand.effects('promote')).toEqual([]);

    if (announce) hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    // It drains; meanwhile it is still the owner and still healthy: it is not replaced.
    hand.run(2_000, 4_000, c);
    expect(hand.effects('promote')).toEqual([]);
    // It releases: first it stops claiming the shard (answered at least once)…
    c.owns = {};
    const heartbeatsBefore = hand.effects('sendHeartbeat').filter((h) => h.coreappId === 'c1').length;
    const t = hand.runUntil(4_000, 6_000, c, () => hand.effects('sendHeartbeat').filter((h) => h.coreappId === 'c1').length > heartbeatsBefore);
    // …then the map shows the shard without owner.
    c.map = shardMap([null], [4]);
    hand.run(t, t + 3_000, c);
    return hand;
  }

  it('without the announcement (control), the released shard goes to c1, the longest-running coreapp', () => {
    const promotes = handover(false).effects('promote');
    expect(promotes.map((p) => [p.shard, p.coreappId, p.expectedEpoch])).toEqual([[0, 'c1', 4]]);
  });

  it('after the announcement, the released shard goes to the other healthy coreapp', () => {
    const promotes = handover(true).effects('promote');
    expect(promotes.map((p) => [p.shard, p.coreappId, p.expectedEpoch])).toEqual([[0, 'c2', 4]]);
  });

  /** c1 is the only healthy coreapp: c2 is in the node list but never answers (so it is only `unknown`). */
  function onlyHealthy(announce: boolean): Hand {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10), coreappNode('c2', 5)], shardMap([null], [1]));
    c.silent.add('c2');
    if (announce) hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    hand.run(-TICK, 8_000, c);
    expect(hand.m.role()).toBe('primary');
    // Node lists kept arriving with c1 in them (it is still draining).
    expect(hand.nodeLists.length).toBeGreaterThan(10);
    expect(hand.nodeLists.every((l) => l.ids?.includes('c1') === true)).toBe(true);
    return hand;
  }

  it('without the announcement (control), the only healthy coreapp is promoted', () => {
    expect(onlyHealthy(false).effects('promote').map((p) => p.coreappId)).toEqual(['c1']);
  });

  it('when the leaving coreapp is the only healthy one, no promotion happens', () => {
    expect(onlyHealthy(true).effects('promote')).toEqual([]);
  });
});

describe('coreappLeaving: forgotten once it leaves the node list', () => {
  function leaveAndReturn(hand: Hand, c: FakeCluster, absentFromList: () => void): void {
    hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    hand.run(-TICK, 3_000, c);
    expect(hand.effects('promote')).toEqual([]);
    absentFromList();
    // At least one node read is answered while c1 is absent (or failing).
    const lists = hand.nodeLists.length;
    const t = hand.runUntil(3_000, 5_000, c, () => hand.nodeLists.length > lists);
    // c1 is back (same id), answers heartbeats, and the shard still has no owner.
    c.nodes = [coreappNode('c1', 10)];
    c.nodesReadFails = false;
    hand.run(t, t + 4_000, c);
  }

  it('a node list without it makes the master forget it: back under the same id, it is a candidate again', () => {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10)], shardMap([null], [1]));
    leaveAndReturn(hand, c, () => {
      c.nodes = [];
    });
    expect(hand.nodeLists.some((l) => l.ids !== null && l.ids.length === 0)).toBe(true);
    expect(hand.effects('promote').map((p) => [p.shard, p.coreappId])).toEqual([[0, 'c1']]);
  });

  it('a failed node read is no node list: it is still remembered as leaving', () => {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10)], shardMap([null], [1]));
    leaveAndReturn(hand, c, () => {
      c.nodesReadFails = true;
    });
    expect(hand.nodeLists.some((l) => l.ids === null)).toBe(true);
    expect(hand.effects('promote')).toEqual([]);
  });

  it('a node list that still has it keeps it leaving, whatever else left', () => {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10), coreappNode('c3', 30)], shardMap([null], [1]));
    c.silent.add('c3');
    leaveAndReturn(hand, c, () => {
      c.nodes = [coreappNode('c1', 10)]; // c3 left, c1 did not.
    });
    expect(hand.effects('promote')).toEqual([]);
  });
});

describe('coreappBack: a coreapp that handed a shard over and stays is a candidate again', () => {
  /** c1 (the only healthy coreapp) announced it was leaving, then that it stays; shard 0 has no owner. */
  function leaveThenBack(back: boolean): Hand {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10), coreappNode('c2', 5)], shardMap([null], [1]));
    c.silent.add('c2');
    hand.m.step({ type: 'coreappLeaving', coreappId: 'c1' });
    hand.run(-TICK, 4_000, c);
    expect(hand.effects('promote')).toEqual([]);
    if (back) hand.m.step({ type: 'coreappBack', coreappId: 'c1' });
    hand.run(4_000, 8_000, c);
    return hand;
  }

  it('without it (control), the leaving coreapp is never picked', () => {
    expect(leaveThenBack(false).effects('promote')).toEqual([]);
  });

  it('after it, the coreapp is promoted again', () => {
    expect(leaveThenBack(true).effects('promote', 4_000).map((p) => [p.shard, p.coreappId])).toEqual([[0, 'c1']]);
  });

  it('reads the node list and the shard map again at once', () => {
    const hand = new Hand();
    const c = cluster([coreappNode('c1', 10)], shardMap(['c1'], [1]), { c1: { generation: 1, shard: 0, epoch: 1 } });
    hand.run(-TICK, 2_000, c);
    hand.m.step({ type: 'coreappBack', coreappId: 'c1' });
    expect(reads(hand.tick(2_001))).toEqual(expect.arrayContaining(['readNodes', 'readShardMap']));
  });
});
