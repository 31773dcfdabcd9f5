/**
 * A tiny discrete-event world for the master machine: one store (lease row, node registry, shard map,
 * on the world's clock = the store clock), masters that each run a MasterMachine through a minimal
 * runtime, and coreapps that touch their node row, answer heartbeats and follow promote/demote the
 * way the coreapp role must (verify the row before claiming, revoke only older epochs).
 *
 * Everything is an action at an exact world time, run in (time, sequence) order, so a run is a pure
 * function of its inputs and of the random source. Each master has its own clock offset: a machine
 * that mixed its clock with the store's would fail here. Safety invariants are checked as the world
 * runs and throw `WorldViolation` at once.
 */
import { decideAcquire, decideRelease, decideRenew, type LeaseRow } from '../../../src/core/lease.js';
import type { ClusterNode, OwnershipClaim, ShardMapView } from '../../../src/core/master/cluster-view.js';
import { controlIntervals, type ControlSettings } from '../../../src/core/master/control-intervals.js';
import type { ClusterLogEntry, MasterEffect } from '../../../src/core/master/master-effects.js';
import type { MasterEvent } from '../../../src/core/master/master-events.js';
import { MasterMachine } from '../../../src/core/master/master-machine.js';

export class WorldViolation extends Error {}

export interface WorldOptions {
  readonly shards: number;
  readonly leaseTtlMs: number;
  readonly settings: ControlSettings;
  /** The runtime ticks every master this often (and after every delivered result). */
  readonly tickMs: number;
  /** One-way delay of every request and of every answer: fixed, or drawn by the world's `random`. */
  readonly latencyMs: { readonly min: number; readonly max: number };
  /** A store request with no answer is reported failed after this long (the runtime's own timeout). */
  readonly requestTimeoutMs: number;
  /** Random source for latencies and drops; a constant is fine for scripted tests. */
  readonly random?: () => number;
  /** Probability that a request's answer is lost (the request may still have been applied). */
  readonly dropRate?: number;
  /** Probability that a batch of effects leaves late (a pause between the decision and the I/O), and how late. */
  readonly lateBatch?: { readonly rate: number; readonly maxMs: number };
  /**
   * When set, failing over a coreapp that has had no trouble at all (up, not paused, reachable from
   * every master, touching its row) for this long is a violation: a false failover.
   */
  readonly falseFailoverWindowMs?: number;
}

export type NodeState = 'up' | 'paused' | 'crashed';

export interface WorldMaster {
  readonly id: string;
  /** Its clock reads `offsetMs + createdAtMs + (now − createdAtMs) × rate`: its own origin and rate. */
  readonly offsetMs: number;
  readonly createdAtMs: number;
  readonly rate: number;
  machine: MasterMachine;
  state: NodeState;
  dbCut: boolean;
  inbox: MasterEvent[];
  lastEpoch: number;
}

export interface WorldCoreapp {
  readonly id: string;
  readonly url: string;
  readonly startedAtMs: number;
  lastSeenAtMs: number;
  state: NodeState;
  dbCut: boolean;
  claim: OwnershipClaim | null;
  /** The last moment it had trouble (Infinity while it has): paused, crashed, cut from the DB or from two masters. */
  troubleUntilMs: number;
}

interface Action {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

export class ControlPlaneWorld {
  readonly options: WorldOptions;
  nowMs: number;
  lease: LeaseRow | null = null;
  map: { generation: number; shards: number; assignments: { shard: number; owner: string | null; epoch: number }[] };
  readonly masters = new Map<string, WorldMaster>();
  readonly coreapps = new Map<string, WorldCoreapp>();
  readonly cutLinks = new Set<string>();
  readonly log: { readonly atMs: number; readonly masterId: string; readonly entry: ClusterLogEntry }[] = [];
  readonly effects: { readonly atMs: number; readonly masterId: string; readonly effect: MasterEffect }[] = [];
  /** Every lease epoch a master acted as primary under, and by whom. */
  readonly primaryByEpoch = new Map<number, string>();
  /** Every (generation:shard:epoch) → owner ever written by a won compare-and-set. */
  readonly written = new Map<string, string>();
  settings: ControlSettings;
  #queue: Action[] = [];
  #seq = 0;
  #names = 0;
  readonly #random: () => number;

  constructor(options: WorldOptions, startMs = 1_000_000) {
    this.options = options;
    this.nowMs = startMs;
    this.settings = options.settings;
    this.#random = options.random ?? (() => 0.5);
    const assignments = Array.from({ length: options.shards }, (_, shard) => ({ shard, owner: null, epoch: 1 }));
    this.map = { generation: 1, shards: options.shards, assignments };
  }

  // ---- population -------------------------------------------------------------------------------

  /** A master whose clock is `offsetMs` off the store's and runs at `rate` (1.01: 1 % fast). */
  addMaster(offsetMs = 0, rate = 1): WorldMaster {
    const id = `master-${++this.#names}`;
    const machine = new MasterMachine({ masterId: id, leaseTtlMs: this.options.leaseTtlMs, settings: this.settings });
    const master: WorldMaster = { id, offsetMs, createdAtMs: this.nowMs, rate, machine, state: 'up', dbCut: false, inbox: [], lastEpoch: 0 };
    this.masters.set(id, master);
    this.#schedule(this.nowMs, () => this.#tickLoop(master));
    return master;
  }

  addCoreapp(id = `coreapp-${++this.#names}`): WorldCoreapp {
    const coreapp: WorldCoreapp = { id, url: `http://${id}`, startedAtMs: this.nowMs, lastSeenAtMs: this.nowMs, state: 'up', dbCut: false, claim: null, troubleUntilMs: this.nowMs };
    this.coreapps.set(id, coreapp);
    this.#schedule(this.nowMs, () => this.#touchLoop(coreapp));
    return coreapp;
  }

  localNow(master: WorldMaster): number {
    return master.offsetMs + master.createdAtMs + (this.nowMs - master.createdAtMs) * master.rate;
  }

  crashMaster(id: string): void {
    this.#master(id).state = 'crashed';
  }

  pauseMaster(id: string): void {
    const master = this.#master(id);
    if (master.state === 'up') master.state = 'paused';
  }

  resumeMaster(id: string): void {
    const master = this.#master(id);
    if (master.state !== 'paused') return;
    master.state = 'up';
    const inbox = master.inbox;
    master.inbox = [];
    for (const event of inbox) master.machine.step(event);
    this.#tickNow(master);
  }

  crashCoreapp(id: string): void {
    this.#coreapp(id).state = 'crashed';
    this.#noteTrouble(id);
  }

  pauseCoreapp(id: string): void {
    const coreapp = this.#coreapp(id);
    if (coreapp.state === 'up') coreapp.state = 'paused';
    this.#noteTrouble(id);
  }

  /** Cuts (or heals) a coreapp's connection to the store: its liveness touches stop. */
  cutCoreappDb(id: string, cut = true): void {
    this.#coreapp(id).dbCut = cut;
    this.#noteTrouble(id);
  }

  /** A coreapp waking from a pause fires its overdue liveness touch and re-checks its ownership before it would send again. */
  resumeCoreapp(id: string): void {
    const coreapp = this.#coreapp(id);
    if (coreapp.state !== 'paused') return;
    coreapp.state = 'up';
    if (!coreapp.dbCut) coreapp.lastSeenAtMs = this.nowMs;
    if (coreapp.claim !== null && !this.#claimCurrent(coreapp.id, coreapp.claim)) coreapp.claim = null;
    this.#noteTrouble(id);
  }

  cutLink(masterId: string, coreappId: string, cut = true): void {
    if (cut) this.cutLinks.add(`${masterId}|${coreappId}`);
    else this.cutLinks.delete(`${masterId}|${coreappId}`);
    if (this.coreapps.has(coreappId)) this.#noteTrouble(coreappId);
  }

  /**
   * Trouble that may justify a failover: down or paused, cut from the store, or cut from two masters
   * at once. Cut from one master only is no trouble: the heartbeat path needs two masters to agree.
   */
  #noteTrouble(coreappId: string): void {
    const c = this.#coreapp(coreappId);
    const cutFrom = [...this.cutLinks].filter((link) => link.endsWith(`|${coreappId}`)).length;
    if (c.state !== 'up' || c.dbCut || cutFrom >= 2) c.troubleUntilMs = Number.POSITIVE_INFINITY;
    else if (c.troubleUntilMs === Number.POSITIVE_INFINITY) c.troubleUntilMs = this.nowMs;
  }

  /** The runtime's settings watcher hands the new settings to every running master; coreapps follow too. */
  changeSettings(settings: ControlSettings): void {
    this.settings = settings;
    for (const master of this.masters.values()) {
      if (master.state === 'crashed') continue;
      if (master.state === 'paused') master.inbox.push({ type: 'settings', settings });
      else master.machine.step({ type: 'settings', settings });
    }
  }

  // ---- running ----------------------------------------------------------------------------------

  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.#queue[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.#queue.shift();
      this.nowMs = next.atMs;
      next.run();
    }
    this.nowMs = untilMs;
  }

  advance(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  /** Runs until `done()` holds (checked every `stepMs`) or `deadlineMs` passes; returns when it held, or null. */
  runUntilTrue(done: () => boolean, deadlineMs: number, stepMs = 10): number | null {
    while (this.nowMs < deadlineMs) {
      if (done()) return this.nowMs;
      this.advance(stepMs);
    }
    return done() ? this.nowMs : null;
  }

  // ---- views for assertions ---------------------------------------------------------------------

  primaries(): WorldMaster[] {
    return [...this.masters.values()].filter((m) => m.state !== 'crashed' && m.machine.role() === 'primary');
  }

  ownerOf(shard: number): string | null {
    return this.map.assignments.find((a) => a.shard === shard)?.owner ?? null;
  }

  /** Null when every shard has an up owner that claims it, and no up coreapp claims anything stale. */
  unsettledReason(): string | null {
    for (const row of this.map.assignments) {
      const owner = row.owner === null ? undefined : this.coreapps.get(row.owner);
      if (owner === undefined || owner.state !== 'up') return `shard ${row.shard} has no running owner (${row.owner})`;
      const c = owner.claim;
      if (c === null || c.generation !== this.map.generation || c.shard !== row.shard || c.epoch !== row.epoch) {
        return `shard ${row.shard}: owner ${owner.id} claims ${JSON.stringify(c)}, map epoch ${row.epoch}`;
      }
    }
    for (const coreapp of this.coreapps.values()) {
      if (coreapp.state === 'up' && coreapp.claim !== null && !this.#claimCurrent(coreapp.id, coreapp.claim)) {
        return `${coreapp.id} still claims ${JSON.stringify(coreapp.claim)}`;
      }
    }
    return null;
  }

  effectsOf(masterId: string, kind?: MasterEffect['kind']): { atMs: number; effect: MasterEffect }[] {
    return this.effects.filter((e) => e.masterId === masterId && (kind === undefined || e.effect.kind === kind));
  }

  logOf(kind: ClusterLogEntry['kind']): ClusterLogEntry[] {
    return this.log.filter((l) => l.entry.kind === kind).map((l) => l.entry);
  }

  // ---- the masters' runtime ---------------------------------------------------------------------

  #tickLoop(master: WorldMaster): void {
    if (master.state === 'crashed') return;
    if (master.state === 'up') this.#tickNow(master);
    this.#schedule(this.nowMs + this.options.tickMs, () => this.#tickLoop(master));
  }

  #tickNow(master: WorldMaster): void {
    master.machine.tick(this.localNow(master));
    this.#checkMaster(master);
    const batch = master.machine.takeEffects();
    if (batch.length === 0) return;
    const late = this.options.lateBatch;
    const lagMs = late !== undefined && this.#random() < late.rate ? Math.floor(this.#random() * late.maxMs) : 0;
    for (const effect of batch) {
      this.#checkEffect(master, effect);
      this.effects.push({ atMs: this.nowMs, masterId: master.id, effect });
    }
    const apply = () => {
      if (master.state === 'crashed') return;
      for (const effect of batch) this.#apply(master, effect);
    };
    if (lagMs === 0) apply();
    else this.#schedule(this.nowMs + lagMs, apply);
  }

  /** Hands a result to the master; its `atMs` is stamped here, on the master's clock, when it arrives. */
  #deliver(master: WorldMaster, result: MasterEvent): void {
    if (master.state === 'crashed') return;
    const event = 'atMs' in result ? ({ ...result, atMs: this.localNow(master) } as MasterEvent) : result;
    if (master.state === 'paused') {
      master.inbox.push(event);
      return;
    }
    master.machine.step(event);
    this.#tickNow(master);
  }

  #latency(): number {
    const { min, max } = this.options.latencyMs;
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  /** A store round trip: `decide` runs at the store at arrival; the answer (or a failure) comes back later. */
  #storeCall(master: WorldMaster, decide: () => MasterEvent | null, failed: (() => MasterEvent) | null): void {
    const fail = (fromMs: number) => {
      if (failed !== null) this.#schedule(fromMs + this.options.requestTimeoutMs, () => this.#deliver(master, failed()));
    };
    if (master.dbCut) return fail(this.nowMs);
    const sentMs = this.nowMs;
    const there = sentMs + this.#latency();
    const lost = this.#random() < (this.options.dropRate ?? 0);
    this.#schedule(there, () => {
      if (master.dbCut) return fail(sentMs);
      const answer = decide();
      if (answer === null) return;
      if (lost) fail(sentMs);
      else this.#schedule(this.nowMs + this.#latency(), () => this.#deliver(master, answer));
    });
  }

  #apply(master: WorldMaster, effect: MasterEffect): void {
    const at = () => this.localNow(master);
    switch (effect.kind) {
      case 'acquireLease':
      case 'renewLease': {
        const sentAtMs = at();
        const decideLease = effect.kind === 'acquireLease' ? decideAcquire : decideRenew;
        return this.#storeCall(
          master,
          () => {
            const decision = decideLease(this.lease, master.id, this.nowMs, effect.ttlMs);
            if (decision.granted) this.#setLease(decision.row);
            const row = decision.row;
            const lease = { held: decision.granted && row.holder === master.id, holder: row.holder, epoch: row.epoch, expiresAtMs: row.expiresAtMs };
            return { type: 'leaseResult', requestId: effect.requestId, sentAtMs, atMs: 0, lease };
          },
          () => ({ type: 'leaseResult', requestId: effect.requestId, sentAtMs, atMs: at(), lease: null }),
        );
      }
      case 'releaseLease':
        return this.#storeCall(master, () => {
          const decision = decideRelease(this.lease, master.id, this.nowMs);
          if (decision.granted) this.#setLease(decision.row);
          return null;
        }, null);
      case 'readNodes':
        return this.#storeCall(
          master,
          () => ({ type: 'nodes', requestId: effect.requestId, atMs: 0, snapshot: { dbNowMs: this.nowMs, nodes: this.#nodeRows() } }),
          () => ({ type: 'nodes', requestId: effect.requestId, atMs: at(), snapshot: null }),
        );
      case 'readShardMap':
        return this.#storeCall(
          master,
          () => ({ type: 'shardMap', requestId: effect.requestId, atMs: 0, outcome: 'read', map: this.#mapView() }),
          () => ({ type: 'shardMap', requestId: effect.requestId, atMs: at(), outcome: 'failed' }),
        );
      case 'promote':
        return this.#storeCall(
          master,
          () => this.#compareAndSet(master, effect),
          () => ({ type: 'promoteResult', requestId: effect.requestId, atMs: at(), outcome: 'failed' }),
        );
      case 'sendHeartbeat':
        return this.#heartbeat(master, effect);
      case 'readPeerView':
        return this.#peerView(master, effect);
      case 'notifyPromoted':
        return this.#toCoreapp(master, effect.coreappId, (c) => {
          const claim = { generation: effect.generation, shard: effect.shard, epoch: effect.epoch };
          if (this.#claimCurrent(c.id, claim)) c.claim = claim; // The coreapp verifies the row first.
        });
      case 'demote':
        return this.#toCoreapp(master, effect.coreappId, (c) => {
          const mine = c.claim;
          if (mine !== null && mine.generation === effect.generation && mine.shard === effect.shard && mine.epoch <= effect.epoch) c.claim = null;
        });
      case 'appendEvent':
        this.log.push({ atMs: this.nowMs, masterId: master.id, entry: effect.entry });
        return this.#checkFailover(effect.entry);
    }
  }

  /** The promotion write: a compare-and-set on the shard's epoch, fenced on the master lease in the same transaction. */
  #compareAndSet(master: WorldMaster, effect: Extract<MasterEffect, { kind: 'promote' }>): MasterEvent {
    const row = this.map.assignments.find((a) => a.shard === effect.shard);
    const lease = this.lease;
    const leaseOk = lease !== null && lease.holder === master.id && lease.epoch === effect.leaseEpoch && lease.expiresAtMs > this.nowMs;
    if (row === undefined || effect.generation !== this.map.generation || row.epoch !== effect.expectedEpoch || !leaseOk) {
      return { type: 'promoteResult', requestId: effect.requestId, atMs: 0, outcome: 'lost' };
    }
    row.owner = effect.coreappId;
    row.epoch += 1;
    this.written.set(`${this.map.generation}:${row.shard}:${row.epoch}`, effect.coreappId);
    const owned = this.map.assignments.filter((a) => a.owner === effect.coreappId).map((a) => a.shard);
    if (owned.length > 1) throw new WorldViolation(`at ${this.nowMs}: ${effect.coreappId} owns shards ${owned.join(',')} after ${master.id}'s promotion`);
    return { type: 'promoteResult', requestId: effect.requestId, atMs: 0, outcome: 'won', epoch: row.epoch };
  }

  #heartbeat(master: WorldMaster, effect: Extract<MasterEffect, { kind: 'sendHeartbeat' }>): void {
    const sentAt = this.nowMs;
    const timedOut = (): MasterEvent => ({ type: 'heartbeatResult', requestId: effect.requestId, coreappId: effect.coreappId, atMs: this.localNow(master), outcome: 'timedOut' });
    const coreapp = this.coreapps.get(effect.coreappId);
    const there = sentAt + this.#latency();
    const back = there + this.#latency();
    const reachable = coreapp !== undefined && !this.cutLinks.has(`${master.id}|${effect.coreappId}`) && this.#random() >= (this.options.dropRate ?? 0);
    if (!reachable || back - sentAt > effect.timeoutMs) {
      this.#schedule(sentAt + effect.timeoutMs, () => this.#deliver(master, timedOut()));
      return;
    }
    this.#schedule(there, () => {
      if (coreapp.state !== 'up') return this.#schedule(sentAt + effect.timeoutMs, () => this.#deliver(master, timedOut()));
      const owns = coreapp.claim;
      this.#schedule(back, () => this.#deliver(master, { type: 'heartbeatResult', requestId: effect.requestId, coreappId: coreapp.id, atMs: this.localNow(master), outcome: 'answered', owns }));
    });
  }

  #peerView(master: WorldMaster, effect: Extract<MasterEffect, { kind: 'readPeerView' }>): void {
    const failed = (): MasterEvent => ({ type: 'peerView', requestId: effect.requestId, masterId: effect.masterId, atMs: this.localNow(master), view: null });
    const peer = this.masters.get(effect.masterId);
    const there = this.nowMs + this.#latency();
    this.#schedule(there, () => {
      if (peer === undefined || peer.state !== 'up') return this.#schedule(there + this.options.requestTimeoutMs, () => this.#deliver(master, failed()));
      const view = peer.machine.peerView(this.localNow(peer));
      this.#schedule(this.nowMs + this.#latency(), () => this.#deliver(master, { type: 'peerView', requestId: effect.requestId, masterId: peer.id, atMs: this.localNow(master), view }));
    });
  }

  #toCoreapp(master: WorldMaster, coreappId: string, handle: (c: WorldCoreapp) => void): void {
    const coreapp = this.coreapps.get(coreappId);
    if (coreapp === undefined || this.cutLinks.has(`${master.id}|${coreappId}`)) return;
    this.#schedule(this.nowMs + this.#latency(), () => {
      if (coreapp.state === 'up') handle(coreapp);
    });
  }

  // ---- the store --------------------------------------------------------------------------------

  #nodeRows(): ClusterNode[] {
    const rows: ClusterNode[] = [];
    for (const m of this.masters.values()) rows.push({ id: m.id, role: 'master', internalUrl: `http://${m.id}`, startedAtMs: 0, lastSeenAtMs: this.nowMs });
    for (const c of this.coreapps.values()) rows.push({ id: c.id, role: 'coreapp', internalUrl: c.url, startedAtMs: c.startedAtMs, lastSeenAtMs: c.lastSeenAtMs });
    return rows;
  }

  #mapView(): ShardMapView {
    return { generation: this.map.generation, shards: this.map.shards, state: 'active', assignments: this.map.assignments.map((a) => ({ ...a })) };
  }

  #claimCurrent(coreappId: string, claim: OwnershipClaim): boolean {
    const row = this.map.assignments.find((a) => a.shard === claim.shard);
    return claim.generation === this.map.generation && row !== undefined && row.owner === coreappId && row.epoch === claim.epoch;
  }

  #touchLoop(coreapp: WorldCoreapp): void {
    if (coreapp.state === 'crashed') return;
    if (coreapp.state === 'up' && !coreapp.dbCut) coreapp.lastSeenAtMs = this.nowMs;
    this.#schedule(this.nowMs + controlIntervals(this.settings).dbLivenessMs, () => this.#touchLoop(coreapp));
  }

  // ---- invariants -------------------------------------------------------------------------------

  #setLease(row: LeaseRow): void {
    if (this.lease !== null && row.epoch < this.lease.epoch) throw new WorldViolation(`lease epoch went back from ${this.lease.epoch} to ${row.epoch}`);
    this.lease = row;
  }

  /** A master that acts as primary holds a live lease under the epoch it believes, and it alone ever had that epoch. */
  #checkMaster(master: WorldMaster): void {
    const epoch = master.machine.leaseEpoch();
    if (master.machine.role() !== 'primary' || epoch === null) return;
    const lease = this.lease;
    if (lease === null || lease.holder !== master.id || lease.epoch !== epoch || lease.expiresAtMs <= this.nowMs) {
      throw new WorldViolation(`at ${this.nowMs}: ${master.id} acts as primary (epoch ${epoch}) but the lease is ${JSON.stringify(lease)}`);
    }
    const holder = this.primaryByEpoch.get(epoch);
    if (holder !== undefined && holder !== master.id) throw new WorldViolation(`lease epoch ${epoch} had two primaries: ${holder} and ${master.id}`);
    this.primaryByEpoch.set(epoch, master.id);
    if (epoch < master.lastEpoch) throw new WorldViolation(`${master.id}'s lease epoch went back from ${master.lastEpoch} to ${epoch}`);
    master.lastEpoch = epoch;
  }

  /** A failover of a coreapp without any trouble for `falseFailoverWindowMs` is a false failover. */
  #checkFailover(entry: ClusterLogEntry): void {
    const windowMs = this.options.falseFailoverWindowMs;
    if (windowMs === undefined || entry.kind !== 'promoted' || entry.data['reason'] !== 'unhealthy') return;
    const replaced = this.coreapps.get(String(entry.data['replaces']));
    if (replaced === undefined) return;
    const calmSince = Math.max(replaced.troubleUntilMs, replaced.startedAtMs);
    if (this.nowMs - calmSince >= windowMs) {
      throw new WorldViolation(`at ${this.nowMs}: false failover of ${replaced.id}, without trouble for ${this.nowMs - calmSince} ms`);
    }
  }

  /** Ownership effects come only from a master holding the lease; a coreapp is told only of a written promotion. */
  #checkEffect(master: WorldMaster, effect: MasterEffect): void {
    if (effect.kind !== 'promote' && effect.kind !== 'notifyPromoted' && effect.kind !== 'demote' && effect.kind !== 'readPeerView') return;
    const lease = this.lease;
    if (master.machine.role() !== 'primary' || lease === null || lease.holder !== master.id || lease.expiresAtMs <= this.nowMs) {
      throw new WorldViolation(`at ${this.nowMs}: ${master.id} emitted ${effect.kind} without holding the lease`);
    }
    if (effect.kind === 'notifyPromoted' && this.written.get(`${effect.generation}:${effect.shard}:${effect.epoch}`) !== effect.coreappId) {
      throw new WorldViolation(`at ${this.nowMs}: ${master.id} told ${effect.coreappId} of shard ${effect.shard} epoch ${effect.epoch}, never written`);
    }
  }

  #schedule(atMs: number, run: () => void): void {
    const action = { atMs, seq: ++this.#seq, run };
    // Insert in (time, sequence) order; queues stay small, so a linear search from the end is enough.
    let i = this.#queue.length;
    while (i > 0 && (this.#queue[i - 1] as Action).atMs > atMs) i--;
    this.#queue.splice(i, 0, action);
  }

  #master(id: string): WorldMaster {
    const master = this.masters.get(id);
    if (master === undefined) throw new Error(`no master ${id}`);
    return master;
  }

  #coreapp(id: string): WorldCoreapp {
    const coreapp = this.coreapps.get(id);
    if (coreapp === undefined) throw new Error(`no coreapp ${id}`);
    return coreapp;
  }
}
