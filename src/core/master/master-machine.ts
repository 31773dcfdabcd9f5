/**
 * The master's whole decision loop as a pure state machine (docs/control-plane.md). Time arrives as
 * `tick(nowMs)` (the master's monotonic clock), results and snapshots as `step(event)`, and the
 * runtime executes `takeEffects()` in order. `step` only records facts (and may log them);
 * every decision — lease requests, reads, heartbeats, promotions, notifications — is made on a tick.
 *
 * Invariants:
 * - ownership effects (`promote`, `notifyPromoted`, `demote`) and peer-view fetches are emitted only
 *   while the lease keeper says primary, i.e. before `sentAt(last grant) + ttl − margin`, and only
 *   on a shard map read during the current tenure and no older than `masterSnapshotMaxAgeMs`;
 * - a coreapp is told of its promotion only after the promotion's compare-and-set was won
 *   (persist first, then send); a lost, failed or timed-out compare-and-set makes the map unusable
 *   until a read issued after it arrives (a read already in flight is ignored), so no decision is
 *   made on a map that may miss a write; a shard and a coreapp with a promotion in flight are not
 *   part of any other promotion, so a coreapp is never promoted twice;
 * - at most one request of each kind in flight (per coreapp for heartbeats, per master for peer
 *   views, per shard for promotions); every remembered collection is bounded by `limits.ts`;
 * - a tick gap longer than `pauseGapMs` — `masterTickGapMaxMs`, or half the unhealthy interval if
 *   shorter (a paused process) — discards this master's own heartbeat observations and the peer
 *   views: it must watch again before it can judge anyone. A shorter stall adds at most half an
 *   unhealthy interval to a silence, so the rest must still be real unanswered asking.
 */
import { DEFAULT_APPLICATION_SETTINGS } from '../app-settings.js';
import {
  masterEffectsQueuedMax,
  masterLeaseTtlMsDefault,
  masterNodesMax,
  masterSnapshotIntervalMs,
  masterSnapshotMaxAgeMs,
  masterStoreRequestTimeoutMs,
  masterTickGapMaxMs,
} from '../limits.js';
import { compareIds, type ClusterNode, type NodeSnapshot, type PeerView, type ShardMapView } from './cluster-view.js';
import { controlIntervals, PhasedIntervals, type ControlIntervals, type ControlSettings } from './control-intervals.js';
import { evaluateCoreappHealth, type HealthInput, type HealthVerdict } from './coreapp-health.js';
import { HeartbeatTracker, type FreshAnswer } from './heartbeat-tracker.js';
import { LeaseKeeper, type LeaseChange } from './lease-keeper.js';
import type { ClusterLogEntry, MasterEffect } from './master-effects.js';
import type { MasterEvent, NodesEvent, PromoteResultEvent, ShardMapEvent } from './master-events.js';
import { PeerViewBook } from './peer-view-book.js';
import {
  keptShards,
  planDemotions,
  planPromotions,
  staleClaimReason,
  type CoreappCandidate,
  type PlannedPromotion,
} from './promotion-policy.js';

export type MasterRole = 'primary' | 'secondary' | 'stopped';

export interface MasterMachineOptions {
  /** This master's node id (new per process start). */
  readonly masterId: string;
  /** The lease's time to live; `masterLeaseTtlMsDefault` unless a test or the operator says otherwise. */
  readonly leaseTtlMs?: number;
  /** The settings at start; later changes arrive as `settings` events. */
  readonly settings?: ControlSettings;
  /**
   * The health rule; `evaluateCoreappHealth` unless replaced. A seam for the deterministic simulation
   * only: it plants a known bug (e.g. failing over without the second master's agreement) to prove the
   * simulation finds it. The runtime never sets it, so no configuration can reach it.
   */
  readonly evaluateHealth?: (input: HealthInput) => HealthVerdict;
}

interface PendingRequest {
  readonly requestId: number;
  readonly issuedAtMs: number;
}

interface PendingPromotion extends PendingRequest {
  readonly plan: PlannedPromotion;
  readonly generation: number;
  /** Since when the replaced owner was unhealthy, as planned (its verdict may waver before the result: a peer view ages out). */
  readonly unhealthySinceMs: number | undefined;
}

/** A promotion persisted (compare-and-set won) whose coreapps are not told yet. */
interface PersistedPromotion {
  readonly plan: PlannedPromotion;
  readonly generation: number;
  readonly epoch: number;
}

interface Assessment {
  readonly candidates: CoreappCandidate[];
  readonly verdicts: Map<string, HealthVerdict>;
}

export class MasterMachine {
  readonly masterId: string;
  readonly #lease: LeaseKeeper;
  readonly #beats = new HeartbeatTracker();
  readonly #peers = new PeerViewBook();
  readonly #intervals: PhasedIntervals;
  readonly #evaluateHealth: (input: HealthInput) => HealthVerdict;
  /** Settings stepped in and not yet applied: they apply on the next tick. */
  #newSettings: ControlSettings | null = null;
  #effects: MasterEffect[] = [];
  #nextRequestId = 1;
  #lastTickMs: number | null = null;
  #stopRequested = false;
  #stopped = false;
  #nodes: { readonly snapshot: NodeSnapshot; readonly receivedAtMs: number } | null = null;
  /** Store clock: the first node snapshot after the latest gap longer than db_liveness_interval (null: none yet). */
  #dbWatchSinceMs: number | null = null;
  #nodesRead: PendingRequest | null = null;
  #nodesLastReadMs = Number.NEGATIVE_INFINITY;
  #map: { view: ShardMapView | null; readonly receivedAtMs: number; usable: boolean } | null = null;
  #mapRead: PendingRequest | null = null;
  #mapLastReadMs = Number.NEGATIVE_INFINITY;
  /** By shard; at most one per shard, so bounded by the shard count. */
  readonly #promotions = new Map<number, PendingPromotion>();
  #persisted: PersistedPromotion[] = [];
  /** Owners judged unhealthy, since when (master clock): the start of a failover's timing. */
  readonly #unhealthySince = new Map<string, number>();
  /** By shard: the epoch and time of the last `notifyPromoted`, to re-tell an owner at most once a heartbeat. */
  readonly #notified = new Map<number, { readonly epoch: number; readonly atMs: number }>();
  /** Coreapps handing over (planned): never candidates; forgotten once they leave the node list. */
  readonly #leaving = new Set<string>();
  /** Ownership decisions held (a shard-count change in progress). */
  #held = false;

  constructor(options: MasterMachineOptions) {
    this.masterId = options.masterId;
    this.#lease = new LeaseKeeper(options.leaseTtlMs ?? masterLeaseTtlMsDefault);
    this.#intervals = new PhasedIntervals(controlIntervals(options.settings ?? DEFAULT_APPLICATION_SETTINGS));
    this.#evaluateHealth = options.evaluateHealth ?? evaluateCoreappHealth;
  }

  role(): MasterRole {
    if (this.#stopped) return 'stopped';
    return this.#lease.isPrimary() ? 'primary' : 'secondary';
  }

  /** The lease epoch of the current tenure; null unless primary. */
  leaseEpoch(): number | null {
    return this.#stopped ? null : this.#lease.epoch();
  }

  /** The intervals in force at the last tick (a shortened threshold is phased in: see `PhasedIntervals`). */
  intervals(): ControlIntervals {
    return this.#intervals.at(this.#lastTickMs ?? 0);
  }

  /**
   * This master's heartbeat observations for the primary master (served on the internal API). Empty
   * when this master has not ticked for longer than `pauseGapMs`: a paused master's silences measure
   * its own pause, not the coreapps'.
   */
  peerView(nowMs: number): PeerView {
    const last = this.#lastTickMs;
    if (this.#stopped || last === null || nowMs - last > pauseGapMs(this.#intervals.at(last))) return { masterId: this.masterId, coreapps: [] };
    return this.#beats.view(this.masterId, Math.max(nowMs, last));
  }

  /** The effects decided since the last call, in the order they must be applied. */
  takeEffects(): MasterEffect[] {
    const effects = this.#effects;
    this.#effects = [];
    return effects;
  }

  /** Records a fact. Never decides: decisions wait for the next tick. */
  step(event: MasterEvent): void {
    if (this.#stopped) return;
    switch (event.type) {
      case 'leaseResult': {
        const change = this.#lease.onResult(event);
        if (change !== null) this.#onLeaseChange(change);
        return;
      }
      case 'nodes':
        return this.#onNodes(event);
      case 'shardMap':
        return this.#onShardMap(event);
      case 'heartbeatResult':
        return this.#beats.onResult(event);
      case 'peerView':
        return this.#peers.onResult(event);
      case 'promoteResult':
        return this.#onPromoteResult(event);
      case 'settings':
        this.#newSettings = event.settings;
        return;
      case 'coreappLeaving':
        if (this.#leaving.size < masterNodesMax) this.#leaving.add(event.coreappId);
        this.#nodesLastReadMs = Number.NEGATIVE_INFINITY;
        this.#nodesRead = null;
        this.#mapChanged(true);
        return;
      case 'coreappBack':
        this.#leaving.delete(event.coreappId);
        this.#nodesLastReadMs = Number.NEGATIVE_INFINITY;
        this.#nodesRead = null;
        this.#mapChanged(true);
        return;
      case 'hold':
        if (this.#held && !event.held) this.#mapChanged(false);
        this.#held = event.held;
        return;
      case 'stop':
        this.#stopRequested = true;
        return;
    }
  }

  /** Decides what to do at `nowMs` (master clock; a reading earlier than the last one counts as the last). */
  tick(nowMs: number): void {
    if (this.#stopped) return;
    const now = this.#advance(nowMs);
    if (this.#stopRequested) return this.#stop(now);
    if (this.#newSettings !== null) this.#intervals.change(controlIntervals(this.#newSettings), now);
    this.#newSettings = null;
    const intervals = this.#intervals.at(now);
    this.#leaseTick(now);
    this.#readTick(now);
    if (this.#lease.isPrimary() && !this.#held) this.#primaryTick(now, intervals);
    this.#heartbeatTick(now, intervals);
  }

  #advance(nowMs: number): number {
    const last = this.#lastTickMs;
    const now = last === null ? nowMs : Math.max(nowMs, last);
    if (last !== null && now - last > pauseGapMs(this.#intervals.at(last))) {
      // Paused: whatever was (not) heard during the gap says nothing about the coreapps.
      this.#beats.restart();
      this.#peers.clear();
    }
    this.#lastTickMs = now;
    return now;
  }

  #stop(now: number): void {
    if (this.#lease.isPrimary()) this.#log({ kind: 'lease_released', atMs: now, nodeId: this.masterId, data: { epoch: this.#lease.epoch() } });
    this.#lease.stepDown();
    this.#push({ kind: 'releaseLease' });
    this.#stopped = true;
  }

  #leaseTick(now: number): void {
    const change = this.#lease.expire(now);
    if (change !== null) this.#onLeaseChange(change);
    const due = this.#lease.due(now);
    if (due === null) return;
    const requestId = this.#requestId();
    this.#lease.issued(due, requestId, now);
    this.#push(due === 'renew' ? { kind: 'renewLease', requestId, ttlMs: this.#lease.ttlMs } : { kind: 'acquireLease', requestId, ttlMs: this.#lease.ttlMs });
  }

  #onLeaseChange(change: LeaseChange): void {
    this.#log({ kind: change.kind, atMs: change.atMs, nodeId: this.masterId, data: change.data });
    // A new tenure starts from a fresh map and fresh second opinions; an ended one tells no coreapp anything.
    if (this.#map !== null) this.#map.usable = false;
    this.#mapRead = null;
    this.#mapLastReadMs = Number.NEGATIVE_INFINITY;
    this.#peers.clear();
    this.#unhealthySince.clear();
    this.#notified.clear();
    this.#persisted = [];
  }

  #readTick(now: number): void {
    if (this.#readDue(this.#nodesRead, this.#nodesLastReadMs, now)) {
      this.#nodesRead = { requestId: this.#requestId(), issuedAtMs: now };
      this.#nodesLastReadMs = now;
      this.#push({ kind: 'readNodes', requestId: this.#nodesRead.requestId });
    }
    if (this.#lease.isPrimary() && this.#readDue(this.#mapRead, this.#mapLastReadMs, now)) {
      this.#mapRead = { requestId: this.#requestId(), issuedAtMs: now };
      this.#mapLastReadMs = now;
      this.#push({ kind: 'readShardMap', requestId: this.#mapRead.requestId });
    }
  }

  #readDue(pending: PendingRequest | null, lastMs: number, now: number): boolean {
    if (pending !== null && now - pending.issuedAtMs < masterStoreRequestTimeoutMs) return false;
    return now - lastMs >= masterSnapshotIntervalMs;
  }

  #heartbeatTick(now: number, intervals: ControlIntervals): void {
    for (const target of this.#beats.due(now, intervals.heartbeatMs)) {
      const requestId = this.#requestId();
      this.#beats.sent(target.coreappId, requestId, now);
      this.#push({ kind: 'sendHeartbeat', requestId, coreappId: target.coreappId, internalUrl: target.internalUrl, timeoutMs: intervals.heartbeatMs });
    }
  }

  #onNodes(event: NodesEvent): void {
    if (this.#nodesRead?.requestId !== event.requestId) return;
    this.#nodesRead = null;
    if (event.snapshot === null) return;
    const nodes = [...event.snapshot.nodes].sort((a, b) => compareIds(a.id, b.id)).slice(0, masterNodesMax);
    // No snapshot for longer than a liveness interval: the database was down or out of reach (for
    // the coreapps too, perhaps); their silence counts again from here (coreapp-health.ts).
    const previous = this.#nodes;
    if (previous !== null && event.atMs - previous.receivedAtMs > this.#intervals.at(event.atMs).dbLivenessMs) this.#dbWatchSinceMs = event.snapshot.dbNowMs;
    this.#nodes = { snapshot: { dbNowMs: event.snapshot.dbNowMs, nodes }, receivedAtMs: event.atMs };
    this.#beats.sync(nodes.filter((n) => n.role === 'coreapp'));
    for (const id of [...this.#leaving]) if (!nodes.some((n) => n.id === id)) this.#leaving.delete(id);
    this.#peers.sync(nodes.filter((n) => n.role === 'master' && n.id !== this.masterId));
  }

  #onShardMap(event: ShardMapEvent): void {
    if (this.#mapRead?.requestId !== event.requestId) return;
    this.#mapRead = null;
    if (event.outcome === 'failed') return;
    this.#map = { view: event.map, receivedAtMs: event.atMs, usable: true };
  }

  /** The map changed under us or we lost track of it: forget the read in flight and read again. */
  #mapChanged(usable: boolean): void {
    if (this.#map !== null) this.#map.usable &&= usable;
    this.#mapRead = null;
    this.#mapLastReadMs = Number.NEGATIVE_INFINITY;
  }

  #onPromoteResult(event: PromoteResultEvent): void {
    const pending = [...this.#promotions.values()].find((p) => p.requestId === event.requestId);
    if (pending === undefined) return;
    const { plan } = pending;
    this.#promotions.delete(plan.shard);
    if (event.outcome === 'won') return this.#applyWon(pending, event.epoch, event.atMs);
    // Lost, or unknown: nothing more is decided until a map read issued from now on shows the truth.
    this.#mapChanged(false);
    this.#log({ kind: 'promotion_lost', atMs: event.atMs, nodeId: plan.coreappId, data: { shard: plan.shard, expectedEpoch: plan.expectedEpoch, outcome: event.outcome } });
  }

  #applyWon(pending: PendingPromotion, epoch: number, atMs: number): void {
    const { plan, generation } = pending;
    const map = this.#map;
    if (map?.view != null && map.view.generation === generation) {
      const assignments = map.view.assignments.map((a) => (a.shard === plan.shard ? { shard: a.shard, owner: plan.coreappId, epoch } : a));
      map.view = { ...map.view, assignments };
    }
    this.#mapChanged(true);
    const base = { shard: plan.shard, generation, epoch };
    this.#log({ kind: 'promoted', atMs, nodeId: plan.coreappId, data: { ...base, reason: plan.reason, replaces: plan.replaces, persistMs: atMs - pending.issuedAtMs } });
    const since = pending.unhealthySinceMs;
    if (plan.reason === 'unhealthy' && plan.replaces !== null && since !== undefined) {
      this.#log({ kind: 'failover', atMs, nodeId: plan.coreappId, data: { ...base, from: plan.replaces, failoverMs: atMs - since } });
      this.#unhealthySince.delete(plan.replaces);
    }
    // Told on the next tick, and only if still primary then; otherwise the next primary re-tells it.
    if (this.#lease.isPrimary()) this.#persisted.push({ plan, generation, epoch });
  }

  #primaryTick(now: number, intervals: ControlIntervals): void {
    const leaseEpoch = this.#lease.epoch();
    if (leaseEpoch === null) return;
    for (const peer of this.#peers.due(now, intervals.heartbeatMs)) {
      const requestId = this.#requestId();
      this.#peers.sent(peer.masterId, requestId, now);
      this.#push({ kind: 'readPeerView', requestId, masterId: peer.masterId, internalUrl: peer.internalUrl });
    }
    this.#expirePromotions(now);
    const map = this.#usableMap(now);
    const nodes = this.#usableNodes(now);
    if (map === null || nodes === null) return;
    const assessment = this.#assess(now, intervals, nodes, map);
    this.#trackUnhealthy(now, map, assessment.verdicts);
    this.#promote(now, map, assessment.candidates, leaseEpoch);
    this.#tellPersisted(now, nodes, leaseEpoch);
    this.#answerClaims(now, intervals, map, nodes, assessment, leaseEpoch);
  }

  #expirePromotions(now: number): void {
    for (const promotion of [...this.#promotions.values()]) {
      if (now - promotion.issuedAtMs < masterStoreRequestTimeoutMs) continue;
      this.#promotions.delete(promotion.plan.shard);
      this.#mapChanged(false);
      this.#log({ kind: 'promotion_lost', atMs: now, nodeId: promotion.plan.coreappId, data: { shard: promotion.plan.shard, expectedEpoch: promotion.plan.expectedEpoch, outcome: 'timedOut' } });
    }
  }

  #usableMap(now: number): ShardMapView | null {
    const map = this.#map;
    if (map === null || !map.usable || map.view === null || map.view.state === 'retired') return null;
    return now - map.receivedAtMs <= masterSnapshotMaxAgeMs ? map.view : null;
  }

  #usableNodes(now: number): NodeSnapshot | null {
    const nodes = this.#nodes;
    return nodes !== null && now - nodes.receivedAtMs <= masterSnapshotMaxAgeMs ? nodes.snapshot : null;
  }

  /** Health of every coreapp in the node list, and of every owner (an owner absent from the list is dead). */
  #assess(now: number, intervals: ControlIntervals, nodes: NodeSnapshot, map: ShardMapView): Assessment {
    const verdict = (id: string, lastSeenAtMs: number | null): HealthVerdict =>
      this.#evaluateHealth({
        nowMs: now,
        intervals,
        db: { dbNowMs: nodes.dbNowMs, lastSeenAtMs, watchSinceMs: this.#dbWatchSinceMs },
        own: this.#beats.observation(id),
        peers: this.#peers.observations(id),
      });
    const candidates: CoreappCandidate[] = [];
    const verdicts = new Map<string, HealthVerdict>();
    for (const node of nodes.nodes) {
      if (node.role !== 'coreapp') continue;
      const v = verdict(node.id, node.lastSeenAtMs);
      verdicts.set(node.id, v);
      // A coreapp handing over stays judged (it still owns its shard until it releases it) but is never picked.
      const health = this.#leaving.has(node.id) && v.health === 'healthy' ? 'unknown' : v.health;
      candidates.push({ id: node.id, health, startedAtMs: node.startedAtMs, claim: this.#beats.claim(node.id) });
    }
    for (const row of map.assignments) {
      if (row.owner !== null && !verdicts.has(row.owner)) verdicts.set(row.owner, verdict(row.owner, null));
    }
    return { candidates, verdicts };
  }

  #trackUnhealthy(now: number, map: ShardMapView, verdicts: ReadonlyMap<string, HealthVerdict>): void {
    const owners = new Set<string>();
    for (const row of [...map.assignments].sort((a, b) => a.shard - b.shard)) {
      if (row.owner === null || owners.has(row.owner)) continue;
      owners.add(row.owner);
      const v = verdicts.get(row.owner);
      if (v?.health !== 'unhealthy') {
        this.#unhealthySince.delete(row.owner);
      } else if (!this.#unhealthySince.has(row.owner)) {
        this.#unhealthySince.set(row.owner, now);
        this.#log({ kind: 'coreapp_unhealthy', atMs: now, nodeId: row.owner, data: { shard: row.shard, epoch: row.epoch, db: v.db, heartbeat: v.heartbeat } });
      }
    }
    for (const id of [...this.#unhealthySince.keys()]) if (!owners.has(id)) this.#unhealthySince.delete(id);
  }

  #promote(now: number, map: ShardMapView, candidates: readonly CoreappCandidate[], leaseEpoch: number): void {
    const busyShards = new Set(this.#promotions.keys());
    const busyCoreapps = new Set([...this.#promotions.values()].map((p) => p.plan.coreappId));
    for (const plan of planPromotions({ map, coreapps: candidates, busyShards, busyCoreapps })) {
      const requestId = this.#requestId();
      const unhealthySinceMs = plan.replaces === null ? undefined : this.#unhealthySince.get(plan.replaces);
      this.#promotions.set(plan.shard, { requestId, issuedAtMs: now, plan, generation: map.generation, unhealthySinceMs });
      this.#push({ kind: 'promote', requestId, generation: map.generation, shard: plan.shard, coreappId: plan.coreappId, expectedEpoch: plan.expectedEpoch, leaseEpoch });
    }
  }

  /** After the compare-and-set: revoke the replaced owner's epoch, then tell the new owner. */
  #tellPersisted(now: number, nodes: NodeSnapshot, leaseEpoch: number): void {
    const persisted = this.#persisted;
    this.#persisted = [];
    for (const { plan, generation, epoch } of persisted) {
      if (plan.replaces !== null && plan.replaces !== plan.coreappId) {
        this.#demote(now, nodes, leaseEpoch, plan.replaces, { generation, shard: plan.shard, epoch: plan.expectedEpoch }, 'replaced');
      }
      this.#notify(now, nodes, leaseEpoch, plan.coreappId, { generation, shard: plan.shard, epoch });
    }
  }

  /**
   * Acts on what the coreapps said they own since the last tick: a claim the map contradicts is
   * revoked; an owner that does not claim its shard is told again (at most once a heartbeat interval).
   */
  #answerClaims(now: number, intervals: ControlIntervals, map: ShardMapView, nodes: NodeSnapshot, assessment: Assessment, leaseEpoch: number): void {
    const answers = this.#beats.takeFreshAnswers();
    const claims = answers.flatMap((a) => (a.claim === null ? [] : [{ coreappId: a.coreappId, claim: a.claim }]));
    for (const demotion of planDemotions(map, claims)) {
      this.#demote(now, nodes, leaseEpoch, demotion.coreappId, demotion.claim, demotion.reason);
    }
    const kept = keptShards(map, assessment.candidates);
    for (const answer of answers) {
      const row = map.assignments.find((a) => a.owner === answer.coreappId && kept.get(answer.coreappId) === a.shard);
      if (row === undefined || assessment.verdicts.get(answer.coreappId)?.health === 'unhealthy') continue;
      if (!this.#needsRetelling(map, answer, row.shard, row.epoch, intervals)) continue;
      this.#notify(now, nodes, leaseEpoch, answer.coreappId, { generation: map.generation, shard: row.shard, epoch: row.epoch });
    }
  }

  #needsRetelling(map: ShardMapView, answer: FreshAnswer, shard: number, epoch: number, intervals: ControlIntervals): boolean {
    const claim = answer.claim;
    // It claims its shard, or something newer than our map knows: nothing to tell.
    if (claim !== null && staleClaimReason(map, answer.coreappId, claim) === null) return false;
    const last = this.#notified.get(shard);
    return last === undefined || last.epoch !== epoch || answer.atMs >= last.atMs + intervals.heartbeatMs;
  }

  #notify(now: number, nodes: NodeSnapshot, leaseEpoch: number, coreappId: string, owned: { generation: number; shard: number; epoch: number }): void {
    const url = internalUrlOf(nodes, coreappId);
    if (url === null) return; // Unreachable: it will answer no heartbeat either, and be replaced.
    this.#notified.set(owned.shard, { epoch: owned.epoch, atMs: now });
    this.#push({ kind: 'notifyPromoted', coreappId, internalUrl: url, ...owned, leaseEpoch });
  }

  #demote(now: number, nodes: NodeSnapshot, leaseEpoch: number, coreappId: string, revoked: { generation: number; shard: number; epoch: number }, reason: string): void {
    const url = internalUrlOf(nodes, coreappId);
    if (url === null) return;
    this.#push({ kind: 'demote', coreappId, internalUrl: url, ...revoked, reason, leaseEpoch });
    this.#log({ kind: 'demoted', atMs: now, nodeId: coreappId, data: { ...revoked, reason } });
  }

  #log(entry: ClusterLogEntry): void {
    this.#push({ kind: 'appendEvent', entry });
  }

  #push(effect: MasterEffect): void {
    if (this.#effects.length >= masterEffectsQueuedMax) {
      throw new Error(`MasterMachine: ${masterEffectsQueuedMax} effects not taken; the runtime must call takeEffects() after every tick`);
    }
    this.#effects.push(effect);
  }

  #requestId(): number {
    return this.#nextRequestId++;
  }
}

/** Two ticks further apart than this mean the master was paused (see the class invariants). */
function pauseGapMs(intervals: ControlIntervals): number {
  return Math.min(masterTickGapMaxMs, intervals.unhealthyMs / 2);
}

function internalUrlOf(nodes: NodeSnapshot, id: string): string | null {
  return nodes.nodes.find((n: ClusterNode) => n.id === id)?.internalUrl ?? null;
}
