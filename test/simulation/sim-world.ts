/**
 * The deterministic world of the control-plane simulation (docs/simulation.md): N masters, each a
 * `MasterMachine` behind a minimal runtime; M coreapps, each a small model that decides with the
 * coreapp's own ownership rules (`src/core/coreapp/ownership.ts`); one database (lease row, node
 * registry, shard map) applying the same pure rules as the memory stores (`decideAcquire`, …, the
 * epoch compare-and-set fenced on the lease); one upstream that accepts only the highest epoch per
 * shard; and a network between them that can delay, drop, reorder and cut.
 *
 * Every action runs at an exact world time in (time, sequence) order, and the only randomness is the
 * seeded `random` handed in, so a run is a pure function of its seed and its fault schedule. The
 * database clock is the world clock (authoritative for leases); every node has its own local clock
 * (origin, rate, jumps). After every action the invariants are checked; a broken one throws
 * `SimViolation` naming it.
 */
import { mapHoldsEpoch, claimOf, decidePromotion, demotionApplies, mapNamesOwner, mustRecheckOwnership, pauseRecheckMs, slowDecisionMs, type OwnershipFence, type ShardRows } from '../../src/core/coreapp/ownership.js';
import { decideAcquire, decideRelease, decideRenew, type LeaseRow } from '../../src/core/lease.js';
import { coreappPauseRecheckMs, dbLivenessMissesUnhealthy, masterSnapshotMaxAgeMs } from '../../src/core/limits.js';
import type { ClusterNode, ShardMapView } from '../../src/core/master/cluster-view.js';
import { controlIntervals, type ControlIntervals, type ControlSettings } from '../../src/core/master/control-intervals.js';
import type { HealthInput, HealthVerdict } from '../../src/core/master/coreapp-health.js';
import type { ClusterLogEntry, MasterEffect } from '../../src/core/master/master-effects.js';
import type { MasterEvent } from '../../src/core/master/master-events.js';
import { MasterMachine } from '../../src/core/master/master-machine.js';

export type InvariantId = 'I1' | 'I4' | 'I7' | 'I9' | 'agreement' | 'model';

export class SimViolation extends Error {
  constructor(
    readonly invariant: InvariantId,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
  }
}

export interface WorldOptions {
  readonly shards: number;
  readonly settings: ControlSettings;
  readonly leaseTtlMs: number;
  /** The master runtime ticks this often (local clock), and after every result. */
  readonly tickMs: number;
  /** A coreapp's worker takes a turn this often. */
  readonly pollMs: number;
  /** Store and peer requests without an answer are reported failed after this long. */
  readonly requestTimeoutMs: number;
  /** One-way latency in calm weather and in a storm; drop probability in each. */
  readonly calm: { readonly latencyMaxMs: number; readonly dropRate: number };
  readonly storm: { readonly latencyMaxMs: number; readonly dropRate: number };
  /** Test-only seam: the masters' health rule (the planted bug replaces it). */
  readonly evaluateHealth?: (input: HealthInput) => HealthVerdict;
}

export type NodeState = 'up' | 'paused' | 'crashed';

interface Clocked {
  /** Local clock = offsetMs + createdAtMs + (world − createdAtMs) × rate. */
  offsetMs: number;
  readonly createdAtMs: number;
  readonly rate: number;
  /** Clock jumps (world time, |size|), for the agreement checker's slack. */
  readonly jumps: { atMs: number; sizeMs: number }[];
}

export interface SimMaster extends Clocked {
  readonly id: string;
  readonly machine: MasterMachine;
  state: NodeState;
  dbCut: boolean;
  inbox: MasterEvent[];
  lastEpoch: number;
  /** Per coreapp: world times of the heartbeat answers delivered to this master in the last seconds. */
  readonly answersAt: Map<string, number[]>;
  /** Per coreapp: world (= store) time of the last node read that showed it dead by the DB path. */
  readonly lastDbDeadReadAt: Map<string, number>;
}

interface Worker {
  connId: number | null;
  /** A request in flight (one at a time), by id; a result for another id is stale. */
  op: { readonly id: number; readonly atMs: number } | null;
  needsRecheck: boolean;
}

interface Owned extends OwnershipFence {
  verified: boolean;
  readonly worker: Worker;
}

export interface SimCoreapp extends Clocked {
  readonly id: string;
  readonly startedAtMs: number;
  lastSeenAtMs: number;
  state: NodeState;
  dbCut: boolean;
  owned: Owned | null;
  /** What reached the process while it was paused: handled on resume, in arrival order. */
  inbox: (() => void)[];
  /** Ownership messages that arrived while a promotion was being verified: they run after it, in order. */
  queue: (() => void)[];
  verifying: boolean;
  lastTurnLocalMs: number | null;
}

interface UpstreamShard {
  epochMax: number;
  conn: { readonly coreappId: string; readonly epoch: number; readonly connId: number } | null;
}

export interface SimCounters {
  promotions: number;
  /** Promotions replacing an owner judged unhealthy (the log's `promoted` with reason `unhealthy`). */
  failovers: number;
  leaseEpochs: number;
  sendsAccepted: number;
  /** Sends that reached the upstream on a connection it had already replaced or closed: refused. */
  staleSends: number;
  /** Sends the upstream accepted while the database already held a newer epoch (the new owner not connected yet). */
  sendsUnderOlderDbEpoch: number;
  helloRefusedStale: number;
  ownershipsLost: number;
}

interface Action {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

const GENERATION = 1;

export class SimWorld {
  readonly options: WorldOptions;
  readonly intervals: ControlIntervals;
  nowMs = 0;
  lease: LeaseRow | null = null;
  readonly map: { shard: number; owner: string | null; epoch: number }[];
  readonly masters = new Map<string, SimMaster>();
  readonly coreapps = new Map<string, SimCoreapp>();
  /** Cut links (`a|b` with a < b) and how many faults cut each: overlapping faults heal one at a time. */
  readonly cuts = new Map<string, number>();
  stormUntilMs = Number.NEGATIVE_INFINITY;
  readonly counters: SimCounters = {
    promotions: 0, failovers: 0, leaseEpochs: 0, sendsAccepted: 0, staleSends: 0, sendsUnderOlderDbEpoch: 0, helloRefusedStale: 0, ownershipsLost: 0,
  };
  /** (shard:epoch) → owner, for every epoch a won compare-and-set wrote. */
  readonly written = new Map<string, string>();
  readonly primaryByEpoch = new Map<number, string>();
  readonly upstream: UpstreamShard[];
  /** Actions run so far (the "steps" after each of which the invariants were checked). */
  steps = 0;
  readonly #queue = new ActionQueue();
  #seq = 0;
  #names = 0;
  #nextId = 1;
  readonly #random: () => number;

  constructor(options: WorldOptions, random: () => number) {
    this.options = options;
    this.intervals = controlIntervals(options.settings);
    this.#random = random;
    this.map = Array.from({ length: options.shards }, (_, shard) => ({ shard, owner: null, epoch: 1 }));
    this.upstream = Array.from({ length: options.shards }, () => ({ epochMax: 0, conn: null }));
  }

  // ---- population and faults -----------------------------------------------------------------

  addMaster(offsetMs: number, rate: number): SimMaster {
    const id = `m${++this.#names}`;
    const machine = new MasterMachine({ masterId: id, leaseTtlMs: this.options.leaseTtlMs, settings: this.options.settings, evaluateHealth: this.options.evaluateHealth });
    const master: SimMaster = {
      id, machine, offsetMs, rate, createdAtMs: this.nowMs, jumps: [], state: 'up', dbCut: false, inbox: [], lastEpoch: 0, answersAt: new Map(), lastDbDeadReadAt: new Map(),
    };
    this.masters.set(id, master);
    this.#schedule(this.nowMs, () => this.#tickLoop(master));
    return master;
  }

  addCoreapp(offsetMs: number, rate: number): SimCoreapp {
    const id = `c${++this.#names}`;
    const coreapp: SimCoreapp = {
      id, offsetMs, rate, createdAtMs: this.nowMs, jumps: [], startedAtMs: this.nowMs, lastSeenAtMs: this.nowMs, state: 'up', dbCut: false, owned: null, inbox: [], queue: [], verifying: false, lastTurnLocalMs: null,
    };
    this.coreapps.set(id, coreapp);
    this.#schedule(this.nowMs, () => this.#touchLoop(coreapp));
    this.#schedule(this.nowMs, () => this.#turnLoop(coreapp));
    return coreapp;
  }

  localNow(node: Clocked): number {
    return node.offsetMs + node.createdAtMs + (this.nowMs - node.createdAtMs) * node.rate;
  }

  /** The node's local timers jump by `sizeMs` (NTP step, VM migration); the database clock does not. */
  jumpClock(node: Clocked, sizeMs: number): void {
    node.offsetMs += sizeMs;
    node.jumps.push({ atMs: this.nowMs, sizeMs: Math.abs(sizeMs) });
    if (node.jumps.length > 32) node.jumps.shift();
  }

  crashMaster(m: SimMaster): void {
    m.state = 'crashed';
  }

  pauseMaster(m: SimMaster): void {
    if (m.state === 'up') m.state = 'paused';
  }

  resumeMaster(m: SimMaster): void {
    if (m.state !== 'paused') return;
    m.state = 'up';
    const inbox = m.inbox;
    m.inbox = [];
    for (const event of inbox) m.machine.step(event);
    this.#tickNow(m);
  }

  crashCoreapp(c: SimCoreapp): void {
    if (c.state === 'crashed') return;
    c.state = 'crashed';
    // The process is gone: its upstream socket is reset, its queued requests die with it.
    const owned = c.owned;
    c.owned = null;
    c.inbox = [];
    c.queue = [];
    if (owned?.worker.connId != null) this.#closeUpstream(owned.shard, owned.worker.connId);
  }

  pauseCoreapp(c: SimCoreapp): void {
    if (c.state === 'up') c.state = 'paused';
  }

  resumeCoreapp(c: SimCoreapp): void {
    if (c.state !== 'paused') return;
    c.state = 'up';
    const inbox = c.inbox;
    c.inbox = [];
    for (const run of inbox) if (c.state === 'up') run();
    this.#turn(c);
  }

  cut(a: string, b: string, on = true): void {
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    const count = (this.cuts.get(key) ?? 0) + (on ? 1 : -1);
    if (count > 0) this.cuts.set(key, count);
    else this.cuts.delete(key);
  }

  isCut(a: string, b: string): boolean {
    return this.cuts.has(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  storm(untilMs: number): void {
    this.stormUntilMs = Math.max(this.stormUntilMs, untilMs);
  }

  // ---- running --------------------------------------------------------------------------------

  runUntil(untilMs: number): void {
    if (untilMs < this.nowMs) throw new Error(`the world clock cannot go back from ${this.nowMs} to ${untilMs}`);
    for (;;) {
      const next = this.#queue.peek();
      if (next === undefined || next.atMs > untilMs) break;
      this.#queue.pop();
      this.nowMs = next.atMs;
      next.run();
      this.steps++;
      this.checkInvariants();
    }
    this.nowMs = untilMs;
  }

  primaries(): SimMaster[] {
    return [...this.masters.values()].filter((m) => m.state !== 'crashed' && m.machine.role() === 'primary');
  }

  ownerOf(shard: number): string | null {
    return this.map[shard]?.owner ?? null;
  }

  /** Null when every shard has exactly one healthy primary: an up owner serving the map's epoch, connected upstream, and no stale belief elsewhere. */
  unsettledReason(): string | null {
    for (const row of this.map) {
      const owner = row.owner === null ? undefined : this.coreapps.get(row.owner);
      if (owner === undefined || owner.state !== 'up') return `shard ${row.shard} has no running owner (${row.owner})`;
      const o = owner.owned;
      if (o === null || !o.verified || o.shard !== row.shard || o.epoch !== row.epoch) return `shard ${row.shard}: owner ${owner.id} holds ${JSON.stringify(claimOf(o))}, map epoch ${row.epoch}`;
      const conn = this.upstream[row.shard]?.conn;
      if (conn?.coreappId !== owner.id || conn.epoch !== row.epoch) return `shard ${row.shard}: upstream connection ${JSON.stringify(conn)}, owner ${owner.id} epoch ${row.epoch}`;
    }
    for (const c of this.coreapps.values()) {
      const o = c.owned;
      if (c.state === 'up' && o !== null && !mapNamesOwner(this.#rows(), c.id, o)) return `${c.id} still holds ${JSON.stringify(claimOf(o))}`;
    }
    return null;
  }

  // ---- invariants -----------------------------------------------------------------------------

  /** Checked after every action. */
  checkInvariants(): void {
    // I1: per shard, at most one live coreapp believes it may send under the database's epoch.
    const believer: (string | undefined)[] = [];
    for (const c of this.coreapps.values()) {
      const o = c.owned;
      if (c.state === 'crashed' || o === null || !o.verified || o.epoch !== this.map[o.shard]?.epoch) continue;
      const other = believer[o.shard];
      if (other !== undefined) throw new SimViolation('I1', `at ${this.nowMs}: ${other} and ${c.id} both believe they may send for shard ${o.shard} under epoch ${o.epoch}`);
      believer[o.shard] = c.id;
    }
    // A coreapp owns at most one shard in the map.
    const owners = this.map.map((r) => r.owner).filter((o) => o !== null);
    if (new Set(owners).size !== owners.length) throw new SimViolation('I1', `at ${this.nowMs}: a coreapp owns two shards: ${JSON.stringify(this.map)}`);
  }

  /** A master that acts as primary holds a live lease under its epoch, alone; epochs only grow (I7). */
  #checkMaster(master: SimMaster): void {
    const epoch = master.machine.leaseEpoch();
    if (master.machine.role() !== 'primary' || epoch === null) return;
    const lease = this.lease;
    if (lease === null || lease.holder !== master.id || lease.epoch !== epoch || lease.expiresAtMs <= this.nowMs) {
      throw new SimViolation('I7', `at ${this.nowMs}: ${master.id} acts as primary (epoch ${epoch}) but the lease is ${JSON.stringify(lease)}`);
    }
    const holder = this.primaryByEpoch.get(epoch);
    if (holder !== undefined && holder !== master.id) throw new SimViolation('I7', `lease epoch ${epoch} had two primaries: ${holder} and ${master.id}`);
    if (holder === undefined) this.counters.leaseEpochs++;
    this.primaryByEpoch.set(epoch, master.id);
    if (epoch < master.lastEpoch) throw new SimViolation('I7', `${master.id}'s lease epoch went back from ${master.lastEpoch} to ${epoch}`);
    master.lastEpoch = epoch;
  }

  /** Ownership effects only from the lease holder; a coreapp told only of a written promotion; a replacement only when justified. */
  #checkEffect(master: SimMaster, effect: MasterEffect): void {
    if (effect.kind !== 'promote' && effect.kind !== 'notifyPromoted' && effect.kind !== 'demote') return;
    const lease = this.lease;
    if (master.machine.role() !== 'primary' || lease === null || lease.holder !== master.id || lease.expiresAtMs <= this.nowMs) {
      throw new SimViolation('I7', `at ${this.nowMs}: ${master.id} emitted ${effect.kind} without holding the lease`);
    }
    if (effect.kind === 'notifyPromoted' && this.written.get(`${effect.shard}:${effect.epoch}`) !== effect.coreappId) {
      throw new SimViolation('I4', `at ${this.nowMs}: ${master.id} told ${effect.coreappId} of shard ${effect.shard} epoch ${effect.epoch}, never written for it`);
    }
    if (effect.kind === 'promote') this.#checkReplacement(master, effect.shard, effect.expectedEpoch);
  }

  /**
   * A primary coreapp is replaced only on evidence: the DB path (a node read within the snapshot's
   * useful life showed its row untouched for K × db_liveness_interval), or the heartbeat path agreed by
   * two masters (this one and another each heard nothing from it for a stretch the machine's rule
   * implies). The stretches are the rule's, shortened by every slack the world allows (clock rates,
   * latency, recent clock jumps), so a correct machine never trips this; a machine that fails over on
   * one master's silence does.
   */
  #checkReplacement(p: SimMaster, shard: number, expectedEpoch: number): void {
    const replaced = this.written.get(`${shard}:${expectedEpoch}`);
    if (replaced === undefined) return; // The shard had no owner at that epoch.
    const t = this.nowMs;
    const { heartbeatMs: h, unhealthyMs: u } = p.machine.intervals();
    const lat = Math.max(this.options.calm.latencyMaxMs, this.options.storm.latencyMaxMs);
    const jP = this.#jumpSlack(p, t, h, lat);
    const dbWindowMs = masterSnapshotMaxAgeMs / 0.97 + this.options.requestTimeoutMs + jP;
    if ((p.lastDbDeadReadAt.get(replaced) ?? Number.NEGATIVE_INFINITY) >= t - dbWindowMs) return;
    const pSilent = !this.#heard(p, replaced, t - u / 1.03 + jP + 1, t);
    const viewNewestMs = t - h / 0.97 - jP - lat;
    const peerAgrees = [...this.masters.values()].some((q) => {
      if (q === p) return false;
      const spanMs = (u - h) / 1.03 - this.#jumpSlack(q, t, h, lat);
      if (spanMs <= t - viewNewestMs) return true; // The rule implies no stretch this short: nothing to check.
      return !this.#heard(q, replaced, t - spanMs, viewNewestMs);
    });
    if (pSilent && peerAgrees) return;
    throw new SimViolation(
      'agreement',
      `at ${t}: ${p.id} replaces ${replaced} on shard ${shard} (epoch ${expectedEpoch}) without DB-path death or two masters' agreement ` +
        `(own silence ${pSilent ? 'long enough' : 'too short'}; answers heard by others: ${[...this.masters.values()].filter((q) => q !== p).map((q) => `${q.id}@[${(q.answersAt.get(replaced) ?? []).slice(-4).join(',')}]`).join(', ')})`,
    );
  }

  /** Whether `m` got an answer from `coreappId` in (fromMs, toMs]. */
  #heard(m: SimMaster, coreappId: string, fromMs: number, toMs: number): boolean {
    return (m.answersAt.get(coreappId) ?? []).some((at) => at > fromMs && at <= toMs);
  }

  #recordAnswer(m: SimMaster, coreappId: string): void {
    const times = m.answersAt.get(coreappId) ?? [];
    times.push(this.nowMs);
    while (times.length > 0 && (times[0] as number) < this.nowMs - 10_000) times.shift();
    m.answersAt.set(coreappId, times);
  }

  /** Recent clock jumps make a machine's durations untrustworthy by their size, plus a heartbeat (an answer it may have ignored). */
  #jumpSlack(node: Clocked, t: number, h: number, lat: number): number {
    const recent = node.jumps.filter((j) => j.atMs >= t - 10_000);
    if (recent.length === 0) return 0;
    return recent.reduce((sum, j) => sum + j.sizeMs, 0) + h + 2 * lat;
  }

  // ---- the masters' runtime -------------------------------------------------------------------

  #tickLoop(master: SimMaster): void {
    if (master.state === 'crashed') return;
    if (master.state === 'up') this.#tickNow(master);
    this.#schedule(this.nowMs + this.options.tickMs / master.rate, () => this.#tickLoop(master));
  }

  #tickNow(master: SimMaster): void {
    master.machine.tick(this.localNow(master));
    this.#checkMaster(master);
    const batch = master.machine.takeEffects();
    for (const effect of batch) this.#checkEffect(master, effect);
    for (const effect of batch) this.#apply(master, effect);
  }

  /** Hands a result to the master, stamped on its clock on arrival; a paused master gets it on resume. */
  #deliver(master: SimMaster, result: MasterEvent): void {
    if (master.state === 'crashed') return;
    const event = 'atMs' in result ? ({ ...result, atMs: this.localNow(master) } as MasterEvent) : result;
    if (event.type === 'heartbeatResult' && event.outcome === 'answered') this.#recordAnswer(master, event.coreappId);
    if (master.state === 'paused') {
      master.inbox.push(event);
      return;
    }
    master.machine.step(event);
    this.#tickNow(master);
  }

  #weather(): { latencyMaxMs: number; dropRate: number } {
    return this.nowMs < this.stormUntilMs ? this.options.storm : this.options.calm;
  }

  #latency(): number {
    return 1 + Math.floor(this.#random() * this.#weather().latencyMaxMs);
  }

  #dropped(): boolean {
    return this.#random() < this.#weather().dropRate;
  }

  /**
   * A request from `master` to `far` (a node id, or 'db'): `handle` runs at the far end on arrival
   * (null: no answer) and its answer travels back; without an answer within `timeoutMs` (on the
   * master's clock) `failed` is delivered instead. Cuts are checked at each hop, so a partition
   * that starts mid-flight loses the message.
   */
  #rpc(master: SimMaster, far: string, timeoutMs: number, handle: () => MasterEvent | null, failed: () => MasterEvent): void {
    let settled = false;
    const sentMs = this.nowMs;
    const open = () => master.state !== 'crashed' && !this.isCut(master.id, far) && !(far === 'db' && master.dbCut);
    this.#schedule(sentMs + timeoutMs / master.rate - 1, () => {
      if (settled) return;
      settled = true;
      this.#deliver(master, failed());
    });
    if (!open() || this.#dropped()) return;
    this.#schedule(sentMs + this.#latency(), () => {
      if (!open()) return;
      const answer = handle();
      if (answer === null || this.#dropped()) return;
      this.#schedule(this.nowMs + this.#latency(), () => {
        if (settled || !open()) return;
        settled = true;
        this.#deliver(master, answer);
      });
    });
  }

  /** A one-way message from a master to a coreapp; a paused coreapp handles it on resume, in order. */
  #post(master: SimMaster, coreappId: string, handle: (c: SimCoreapp) => void): void {
    const c = this.coreapps.get(coreappId);
    if (c === undefined || this.isCut(master.id, coreappId) || this.#dropped()) return;
    this.#schedule(this.nowMs + this.#latency(), () => {
      if (c.state === 'crashed' || this.isCut(master.id, coreappId)) return;
      this.#toCoreapp(c, () => this.#enqueue(c, () => handle(c)));
    });
  }

  #apply(master: SimMaster, effect: MasterEffect): void {
    const at = () => this.localNow(master);
    const timeout = this.options.requestTimeoutMs;
    switch (effect.kind) {
      case 'acquireLease':
      case 'renewLease': {
        const sentAtMs = at();
        const decide = effect.kind === 'acquireLease' ? decideAcquire : decideRenew;
        return this.#rpc(
          master,
          'db',
          timeout,
          () => {
            const decision = decide(this.lease, master.id, this.nowMs, effect.ttlMs);
            if (decision.granted) this.#setLease(decision.row);
            const row = decision.row;
            return { type: 'leaseResult', requestId: effect.requestId, sentAtMs, atMs: 0, lease: { held: decision.granted && row.holder === master.id, holder: row.holder, epoch: row.epoch, expiresAtMs: row.expiresAtMs } };
          },
          () => ({ type: 'leaseResult', requestId: effect.requestId, sentAtMs, atMs: 0, lease: null }),
        );
      }
      case 'releaseLease':
        return this.#rpc(master, 'db', timeout, () => {
          const decision = decideRelease(this.lease, master.id, this.nowMs);
          if (decision.granted) this.#setLease(decision.row);
          return null;
        }, () => ({ type: 'nodes', requestId: -1, atMs: 0, snapshot: null }));
      case 'readNodes':
        return this.#rpc(
          master,
          'db',
          timeout,
          () => ({ type: 'nodes', requestId: effect.requestId, atMs: 0, snapshot: { dbNowMs: this.nowMs, nodes: this.#nodeRows(master) } }),
          () => ({ type: 'nodes', requestId: effect.requestId, atMs: 0, snapshot: null }),
        );
      case 'readShardMap':
        return this.#rpc(
          master,
          'db',
          timeout,
          () => ({ type: 'shardMap', requestId: effect.requestId, atMs: 0, outcome: 'read', map: this.#mapView() }),
          () => ({ type: 'shardMap', requestId: effect.requestId, atMs: 0, outcome: 'failed' }),
        );
      case 'promote':
        return this.#rpc(master, 'db', timeout, () => this.#compareAndSet(master, effect), () => ({ type: 'promoteResult', requestId: effect.requestId, atMs: 0, outcome: 'failed' }));
      case 'sendHeartbeat': {
        const c = this.coreapps.get(effect.coreappId);
        return this.#rpc(
          master,
          effect.coreappId,
          effect.timeoutMs,
          () => (c === undefined || c.state !== 'up' ? null : { type: 'heartbeatResult', requestId: effect.requestId, coreappId: c.id, atMs: 0, outcome: 'answered', owns: claimOf(c.owned) }),
          () => ({ type: 'heartbeatResult', requestId: effect.requestId, coreappId: effect.coreappId, atMs: 0, outcome: 'timedOut' }),
        );
      }
      case 'readPeerView': {
        const peer = this.masters.get(effect.masterId);
        return this.#rpc(
          master,
          effect.masterId,
          timeout,
          () => (peer === undefined || peer.state !== 'up' ? null : { type: 'peerView', requestId: effect.requestId, masterId: peer.id, atMs: 0, view: peer.machine.peerView(this.localNow(peer)) }),
          () => ({ type: 'peerView', requestId: effect.requestId, masterId: effect.masterId, atMs: 0, view: null }),
        );
      }
      case 'notifyPromoted':
        return this.#post(master, effect.coreappId, (c) => this.#onPromote(c, effect));
      case 'demote':
        return this.#post(master, effect.coreappId, (c) => {
          if (c.owned !== null && demotionApplies(c.owned, effect)) this.#lose(c, `demoted: ${effect.reason}`);
        });
      case 'appendEvent':
        return this.#onLog(effect.entry);
    }
  }

  #onLog(entry: ClusterLogEntry): void {
    if (entry.kind !== 'promoted') return;
    this.counters.promotions++;
    if (entry.data['reason'] === 'unhealthy') this.counters.failovers++;
  }

  // ---- the database ---------------------------------------------------------------------------

  #setLease(row: LeaseRow): void {
    if (this.lease !== null && row.epoch < this.lease.epoch) throw new SimViolation('I7', `lease epoch went back from ${this.lease.epoch} to ${row.epoch}`);
    this.lease = row;
  }

  /** The promotion write: compare-and-set on the shard's epoch, fenced on the lease in the same transaction. */
  #compareAndSet(master: SimMaster, effect: Extract<MasterEffect, { kind: 'promote' }>): MasterEvent {
    const row = this.map[effect.shard];
    const lease = this.lease;
    const leaseOk = lease !== null && lease.holder === master.id && lease.epoch === effect.leaseEpoch && lease.expiresAtMs > this.nowMs;
    if (row === undefined || effect.generation !== GENERATION || row.epoch !== effect.expectedEpoch || !leaseOk) {
      return { type: 'promoteResult', requestId: effect.requestId, atMs: 0, outcome: 'lost' };
    }
    row.owner = effect.coreappId;
    row.epoch += 1;
    this.written.set(`${row.shard}:${row.epoch}`, effect.coreappId);
    return { type: 'promoteResult', requestId: effect.requestId, atMs: 0, outcome: 'won', epoch: row.epoch };
  }

  #nodeRows(reader: SimMaster): ClusterNode[] {
    const rows: ClusterNode[] = [];
    const deadAfterMs = dbLivenessMissesUnhealthy * this.intervals.dbLivenessMs;
    for (const m of this.masters.values()) rows.push({ id: m.id, role: 'master', internalUrl: `http://${m.id}`, startedAtMs: m.createdAtMs, lastSeenAtMs: this.nowMs });
    for (const c of this.coreapps.values()) {
      rows.push({ id: c.id, role: 'coreapp', internalUrl: `http://${c.id}`, startedAtMs: c.startedAtMs, lastSeenAtMs: c.lastSeenAtMs });
      if (this.nowMs - c.lastSeenAtMs > deadAfterMs) reader.lastDbDeadReadAt.set(c.id, this.nowMs);
    }
    return rows;
  }

  #mapView(): ShardMapView {
    return { generation: GENERATION, shards: this.options.shards, state: 'active', assignments: this.map.map((a) => ({ ...a })) };
  }

  #rows(): ShardRows {
    return { generation: GENERATION, retired: false, assignments: this.map };
  }

  /** A coreapp's database request: `handle` runs at the store; `done` gets its answer, or null on a cut, loss or timeout. */
  #coreappDb<T>(c: SimCoreapp, handle: () => T, done: (answer: T | null) => void): void {
    let settled = false;
    const finish = (answer: T | null) => {
      if (settled || c.state === 'crashed') return;
      settled = true;
      this.#toCoreapp(c, () => done(answer));
    };
    this.#schedule(this.nowMs + this.options.requestTimeoutMs / c.rate, () => finish(null));
    if (c.dbCut || this.#dropped()) return;
    this.#schedule(this.nowMs + this.#latency(), () => {
      if (c.dbCut) return;
      const answer = handle();
      if (this.#dropped()) return;
      this.#schedule(this.nowMs + this.#latency(), () => {
        if (!c.dbCut) finish(answer);
      });
    });
  }

  // ---- the coreapps ---------------------------------------------------------------------------

  /** Ownership changes run one at a time: while a promotion is being verified, later ones wait. */
  #enqueue(c: SimCoreapp, work: () => void): void {
    if (c.verifying) c.queue.push(work);
    else work();
  }

  #drainQueue(c: SimCoreapp): void {
    while (c.state === 'up' && !c.verifying && c.queue.length > 0) (c.queue.shift() as () => void)();
  }

  /** The coreapp role's `#promote`: decide, then verify the map row before claiming anything. */
  #onPromote(c: SimCoreapp, offered: OwnershipFence): void {
    const decision = decidePromotion(c.owned, offered);
    if (decision === 'already' || decision === 'refuse') return;
    if (decision === 'replace') this.#lose(c, 'a newer ownership was offered');
    const owned: Owned = { generation: offered.generation, shard: offered.shard, epoch: offered.epoch, verified: false, worker: { connId: null, op: null, needsRecheck: false } };
    c.owned = owned;
    c.verifying = true;
    this.#coreappDb(c, () => mapNamesOwner(this.#rows(), c.id, owned), (named) => {
      c.verifying = false;
      if (c.owned === owned) {
        if (named === true) owned.verified = true;
        else c.owned = null;
      }
      this.#drainQueue(c);
    });
  }

  #lose(c: SimCoreapp, _reason: string): void {
    const owned = c.owned;
    if (owned === null) return;
    c.owned = null;
    this.counters.ownershipsLost++;
    if (owned.worker.connId !== null) this.#closeUpstream(owned.shard, owned.worker.connId);
  }

  #touchLoop(c: SimCoreapp): void {
    if (c.state === 'crashed') return;
    if (c.state === 'up' && !c.dbCut) {
      this.#schedule(this.nowMs + this.#latency(), () => {
        if (!c.dbCut && c.state !== 'crashed') c.lastSeenAtMs = this.nowMs;
      });
    }
    this.#schedule(this.nowMs + this.intervals.dbLivenessMs / c.rate, () => this.#touchLoop(c));
  }

  #turnLoop(c: SimCoreapp): void {
    if (c.state === 'crashed') return;
    if (c.state === 'up') this.#turn(c);
    this.#schedule(this.nowMs + this.options.pollMs / c.rate, () => this.#turnLoop(c));
  }

  /** One turn of the shard worker: after a pause look at the map first; connect under the fence; send; mark sent (fenced). */
  #turn(c: SimCoreapp): void {
    const local = this.localNow(c);
    const last = c.lastTurnLocalMs;
    c.lastTurnLocalMs = local;
    const owned = c.owned;
    if (owned === null || !owned.verified) return;
    const w = owned.worker;
    if (last !== null) {
      // A simulated node runs nothing while paused: all of a late turn is a stall of its loop.
      const lateMs = local - last - this.options.pollMs;
      const pauseMs = pauseRecheckMs(coreappPauseRecheckMs, this.intervals.heartbeatMs);
      if (mustRecheckOwnership(lateMs, lateMs, pauseMs, slowDecisionMs(pauseMs, this.intervals.dbLivenessMs))) w.needsRecheck = true;
    }
    // A request that never came back (lost frame, closed socket) is given up after the store timeout.
    if (w.op !== null && this.nowMs - w.op.atMs > this.options.requestTimeoutMs) w.op = null;
    if (w.op !== null) return;
    const op = { id: this.#nextId++, atMs: this.nowMs };
    const mine = (fn: () => void) => () => {
      if (c.owned !== owned || w.op?.id !== op.id) return;
      w.op = null;
      fn();
    };
    w.op = op;
    if (w.needsRecheck || w.connId === null) {
      return this.#coreappDb(c, () => mapHoldsEpoch(this.#rows(), owned), (holds) => mine(() => {
        if (holds === null) return; // No answer: try again next turn.
        if (!holds) return this.#lose(c, 'the shard map moved on');
        w.needsRecheck = false;
        if (w.connId === null) this.#hello(c, owned);
      })());
    }
    this.#send(c, owned, w.connId, mine);
  }

  #hello(c: SimCoreapp, owned: Owned): void {
    const w = owned.worker;
    const op = { id: this.#nextId++, atMs: this.nowMs };
    w.op = op;
    const connId = this.#nextId++;
    this.#schedule(this.nowMs + this.#latency(), () => {
      const up = this.upstream[owned.shard] as UpstreamShard;
      if (c.state === 'crashed') return;
      if (this.written.get(`${owned.shard}:${owned.epoch}`) !== c.id) throw new SimViolation('I4', `at ${this.nowMs}: ${c.id} connected for shard ${owned.shard} under epoch ${owned.epoch}, never written for it`);
      let accepted = false;
      if (owned.epoch < up.epochMax) {
        this.counters.helloRefusedStale++;
      } else {
        if (up.conn !== null) this.#replaced(up.conn.coreappId, owned.shard, up.conn.connId);
        up.conn = { coreappId: c.id, epoch: owned.epoch, connId };
        up.epochMax = owned.epoch;
        accepted = true;
      }
      this.#schedule(this.nowMs + this.#latency(), () => this.#toCoreapp(c, () => {
        if (c.owned !== owned || w.op?.id !== op.id) {
          if (accepted) this.#closeUpstream(owned.shard, connId);
          return;
        }
        w.op = null;
        if (!accepted) return this.#lose(c, 'hello refused: stale epoch');
        w.connId = connId;
      }));
    });
  }

  #send(c: SimCoreapp, owned: Owned, connId: number, mine: (fn: () => void) => () => void): void {
    this.#schedule(this.nowMs + this.#latency(), () => {
      const up = this.upstream[owned.shard] as UpstreamShard;
      if (up.conn?.connId !== connId) {
        // The socket was replaced or closed: the upstream refuses the frame (the real one never sees it).
        this.counters.staleSends++;
        return;
      }
      if (owned.epoch !== up.epochMax || this.written.get(`${owned.shard}:${owned.epoch}`) !== c.id) {
        throw new SimViolation('I4', `at ${this.nowMs}: upstream accepted a send by ${c.id} for shard ${owned.shard} under epoch ${owned.epoch} (highest ${up.epochMax})`);
      }
      this.counters.sendsAccepted++;
      if ((this.map[owned.shard]?.epoch ?? 0) > owned.epoch) this.counters.sendsUnderOlderDbEpoch++;
      this.#schedule(this.nowMs + this.#latency(), () => this.#toCoreapp(c, mine(() => {
        // markSent is fenced on the epoch: falling short means the shard moved on.
        const w = owned.worker;
        const op = { id: this.#nextId++, atMs: this.nowMs };
        w.op = op;
        this.#coreappDb(c, () => mapHoldsEpoch(this.#rows(), owned), (holds) => {
          if (c.owned !== owned || w.op?.id !== op.id) return;
          w.op = null;
          if (holds === false) this.#lose(c, 'markSent was fenced off');
        });
      })));
    });
  }

  /** An upstream message reaches the coreapp process (a paused one reads it on resume). */
  #toCoreapp(c: SimCoreapp, run: () => void): void {
    if (c.state === 'crashed') return;
    if (c.state === 'paused') c.inbox.push(run);
    else run();
  }

  #replaced(coreappId: string, shard: number, connId: number): void {
    const c = this.coreapps.get(coreappId);
    if (c === undefined) return;
    this.#schedule(this.nowMs + this.#latency(), () => this.#toCoreapp(c, () => {
      if (c.owned?.shard === shard && c.owned.worker.connId === connId) this.#lose(c, 'replaced upstream');
    }));
  }

  #closeUpstream(shard: number, connId: number): void {
    this.#schedule(this.nowMs + this.#latency(), () => {
      const up = this.upstream[shard] as UpstreamShard;
      if (up.conn?.connId === connId) up.conn = null;
    });
  }

  // ---- the queue ------------------------------------------------------------------------------

  #schedule(atMs: number, run: () => void): void {
    this.#queue.push({ atMs: Math.max(atMs, this.nowMs), seq: ++this.#seq, run });
  }
}

/** A binary heap of actions in (time, sequence) order: ties run in the order they were scheduled. */
class ActionQueue {
  readonly #heap: Action[] = [];

  peek(): Action | undefined {
    return this.#heap[0];
  }

  push(action: Action): void {
    const heap = this.#heap;
    heap.push(action);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Action, heap[parent] as Action)) break;
      [heap[i], heap[parent]] = [heap[parent] as Action, heap[i] as Action];
      i = parent;
    }
  }

  pop(): Action | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l] as Action, heap[m] as Action)) m = l;
      if (r < heap.length && before(heap[r] as Action, heap[m] as Action)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Action, heap[i] as Action];
      i = m;
    }
    return top;
  }
}

function before(a: Action, b: Action): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
