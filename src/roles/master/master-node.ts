/**
 * The master role (`shardgate master`): the I/O shell around the pure `MasterMachine`
 * (docs/control-plane.md). It ticks the machine on a monotonic clock, performs its effects against
 * the stores and the internal API, and steps the results back in. Around the machine it does the
 * primary master's other duties, each gated on holding the lease: create the shard map, clean up
 * expired tokens and long-dead node rows, broadcast setting changes to every node, answer
 * `/v1/stats/db`.
 *
 * Rules it keeps (the runtime requirements of docs/control-plane.md):
 * - `tick` after every stepped result and at least every `masterTickIntervalMsMax`;
 * - effects of one batch start in order; every call has a deadline and reports its failure;
 * - `promote` is one statement fenced on the lease (holder, epoch, unexpired by the DB clock) and the
 *   shard's epoch;
 * - a lease request's `sentAtMs` is read just before it leaves.
 */
import type { ApplicationSettings } from '../../core/app-settings.js';
import { accountFromStored, ACCOUNT_SETTINGS_KEY } from '../../core/account.js';
import {
  dbLivenessMissesUnhealthy,
  masterLeaseTtlMsDefault,
  masterStoreRequestTimeoutMs,
  masterTickIntervalMsMax,
  tokenCleanupIntervalMs,
  type ShardCount,
} from '../../core/limits.js';
import type { NodeSnapshot, ShardMapView } from '../../core/master/cluster-view.js';
import type { ClusterLogEntry, MasterEffect } from '../../core/master/master-effects.js';
import { MasterMachine, type MasterRole } from '../../core/master/master-machine.js';
import type { ShardMap } from '../../ports/shard-map-store.js';
import type { UpstreamAccounts } from '../../ports/upstream-client.js';
import type { InternalServer } from '../../adapters/http/internal-api.js';
import { monotonicMs, withDeadline } from '../gateway/bounded.js';
import { dbStats } from '../gateway/db-stats.js';
import { MASTER_LEASE } from '../gateway/gateway-node.js';
import { startNodeServer, type ClusterNodeOptions } from '../gateway/cluster-node.js';
import { SettingsWatcher } from '../gateway/settings-watcher.js';
import { ShardCountChange } from './shard-count-change.js';

/** Node rows not touched for this long are deleted by the primary master (their process is gone). */
const deadNodeRowRetentionMs = 10 * 60_000;
/** How often the primary master looks for such rows. */
const deadNodeSweepIntervalMs = 60_000;
/** Settings are polled this often by the master (the broadcaster); other nodes poll more slowly as a backstop. */
const masterSettingsPollMs = 200;

export interface MasterNodeOptions extends ClusterNodeOptions {
  readonly leaseTtlMs?: number;
  /** The network's account API, for shard-count changes; null: this master cannot run one. */
  readonly accounts?: UpstreamAccounts | null;
}

export class MasterNode {
  readonly #o: MasterNodeOptions;
  readonly #machine: MasterMachine;
  readonly #settings: SettingsWatcher;
  #server: InternalServer | null = null;
  #timer: NodeJS.Timeout | null = null;
  #kicked = false;
  #stopping = false;
  #lastRole: MasterRole = 'secondary';
  #nodes: NodeSnapshot | null = null;
  #nextTouchAtMs = 0;
  #nextTokenCleanupAtMs = 0;
  #nextNodeSweepAtMs = 0;
  #duty: Promise<void> = Promise.resolve();
  #dutyRunning = false;
  readonly #shardChange: ShardCountChange;
  /** The generation state of the last map read: a `changing` one is activated by the duties once served. */
  #mapChanging = false;

  constructor(options: MasterNodeOptions) {
    this.#o = options;
    this.#settings = new SettingsWatcher(options.stores.settings, masterSettingsPollMs);
    this.#machine = new MasterMachine({ masterId: options.nodeId, leaseTtlMs: options.leaseTtlMs ?? masterLeaseTtlMsDefault });
    this.#shardChange = new ShardCountChange({
      stores: options.stores,
      clock: options.clock,
      transport: options.transport,
      accounts: options.accounts ?? null,
      logger: options.logger.child({ component: 'shard-change' }),
      isPrimary: () => this.#machine.role() === 'primary',
      dbLivenessIntervalS: () => this.#settings.application().db_liveness_interval,
      hold: (held) => {
        this.#machine.step({ type: 'hold', held });
        this.#kick();
      },
    });
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  role(): MasterRole {
    return this.#machine.role();
  }

  get internalUrl(): string {
    if (this.#server === null) throw new Error('master not started');
    return this.#server.url;
  }

  async start(): Promise<void> {
    const { stores, nodeId } = this.#o;
    await this.#settings.start();
    this.#machine.step({ type: 'settings', settings: this.#settings.application() });
    this.#settings.onChange(() => this.#onSettingsChanged());
    this.#server = await startNodeServer(this.#o, {
        peerView: () => this.#machine.peerView(monotonicMs()),
        settingsChanged: async () => {
          await this.#settings.refresh();
        },
        coreappLeaving: (coreappId) => {
          this.#machine.step({ type: 'coreappLeaving', coreappId });
          this.#kick();
        },
        coreappBack: (coreappId) => {
          this.#machine.step({ type: 'coreappBack', coreappId });
          this.#kick();
        },
        dbStats: async () => ({ nodeId, stats: await dbStats(stores) }),
        changeShards: (shards) => this.#shardChange.change(shards),
        status: () => {
          const intervals = this.#machine.intervals();
          return {
            node_id: nodeId,
            role: this.#machine.role() === 'primary' ? 'primary_master' : 'secondary_master',
            lease_epoch: this.#machine.leaseEpoch(),
            // The intervals in force (a shortened threshold is phased in: docs/control-plane.md).
            heartbeat_ms: intervals.heartbeatMs,
            unhealthy_ms: intervals.unhealthyMs,
            db_liveness_ms: intervals.dbLivenessMs,
          };
        },
    });
    await stores.nodes.register({ id: nodeId, role: 'master', hostname: this.#o.hostname, internalUrl: this.#server.url, status: 'secondary_master' });
    this.#loop();
  }

  /** Releases the lease (so a secondary takes over at once), deregisters, closes the internal API. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#machine.step({ type: 'stop' });
    this.#machine.tick(monotonicMs());
    await Promise.allSettled(this.#machine.takeEffects().map((e) => this.#apply(e)));
    await this.#duty;
    this.#settings.stop();
    await this.#server?.close();
    await this.#o.stores.nodes.remove(this.#o.nodeId).catch(() => {});
  }

  #loop(): void {
    if (this.#stopping) return;
    this.#tick();
    this.#timer = setTimeout(() => this.#loop(), Math.min(50, masterTickIntervalMsMax));
  }

  /** A result arrived: decide on it soon (once per turn of the event loop, however many arrived). */
  #kick(): void {
    if (this.#kicked || this.#stopping) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      this.#tick();
    });
  }

  #tick(): void {
    if (this.#stopping) return;
    const now = monotonicMs();
    try {
      this.#machine.tick(now);
    } catch (error) {
      this.#o.logger.fatal({ err: error }, 'master machine failed');
      throw error;
    }
    for (const effect of this.#machine.takeEffects()) void this.#apply(effect);
    const role = this.#machine.role();
    if (role !== this.#lastRole) {
      this.#lastRole = role;
      this.#nextTouchAtMs = 0;
      this.#o.logger.info({ role, leaseEpoch: this.#machine.leaseEpoch() }, role === 'primary' ? 'became primary master' : 'now secondary master');
    }
    this.#runDuties(now);
  }

  async #apply(effect: MasterEffect): Promise<void> {
    const { stores, transport, logger } = this.#o;
    const m = this.#machine;
    const step = (event: Parameters<MasterMachine['step']>[0]) => {
      m.step(event);
      this.#kick();
    };
    switch (effect.kind) {
      case 'acquireLease':
      case 'renewLease': {
        const sentAtMs = monotonicMs();
        const call = effect.kind === 'acquireLease' ? stores.leases.acquire(MASTER_LEASE, this.#o.nodeId, effect.ttlMs) : stores.leases.renew(MASTER_LEASE, this.#o.nodeId, effect.ttlMs);
        const lease = await withDeadline(call, effect.ttlMs / 3, 'lease request').catch((error: unknown) => {
          logger.warn({ err: error }, 'lease request failed');
          return null;
        });
        step({
          type: 'leaseResult',
          requestId: effect.requestId,
          sentAtMs,
          atMs: monotonicMs(),
          lease: lease === null ? null : { held: lease.held, holder: lease.holder, epoch: lease.epoch, expiresAtMs: lease.expiresAtMs },
        });
        return;
      }
      case 'releaseLease':
        await stores.leases.release(MASTER_LEASE, this.#o.nodeId).catch(() => {});
        return;
      case 'readNodes': {
        const snapshot = await this.#readNodes().catch((error: unknown) => {
          logger.warn({ err: error }, 'could not read the node list');
          return null;
        });
        if (snapshot !== null) this.#nodes = snapshot;
        step({ type: 'nodes', requestId: effect.requestId, atMs: monotonicMs(), snapshot });
        return;
      }
      case 'readShardMap': {
        try {
          const map = await withDeadline(this.#readOrCreateMap(), masterStoreRequestTimeoutMs, 'shard map read');
          step({ type: 'shardMap', requestId: effect.requestId, atMs: monotonicMs(), outcome: 'read', map: map === null ? null : toView(map) });
        } catch (error) {
          logger.warn({ err: error }, 'could not read the shard map');
          step({ type: 'shardMap', requestId: effect.requestId, atMs: monotonicMs(), outcome: 'failed' });
        }
        return;
      }
      case 'readPeerView': {
        const view = await transport.peerView(effect.internalUrl, this.#machine.intervals().heartbeatMs).catch(() => null);
        step({ type: 'peerView', requestId: effect.requestId, masterId: effect.masterId, atMs: monotonicMs(), view: view?.masterId === effect.masterId ? view : null });
        return;
      }
      case 'sendHeartbeat': {
        const started = monotonicMs();
        try {
          const answer = await transport.heartbeat(effect.internalUrl, effect.timeoutMs);
          if (answer.nodeId !== effect.coreappId) throw new Error(`another node (${answer.nodeId}) answers at ${effect.internalUrl}`);
          step({ type: 'heartbeatResult', requestId: effect.requestId, coreappId: effect.coreappId, atMs: monotonicMs(), outcome: 'answered', owns: answer.owns });
        } catch {
          const outcome = monotonicMs() - started >= effect.timeoutMs ? 'timedOut' : 'failed';
          step({ type: 'heartbeatResult', requestId: effect.requestId, coreappId: effect.coreappId, atMs: monotonicMs(), outcome });
        }
        return;
      }
      case 'promote': {
        const fence = { name: MASTER_LEASE, holder: this.#o.nodeId, epoch: effect.leaseEpoch };
        try {
          const assigned = await withDeadline(
            stores.shardMap.assign(effect.generation, effect.shard, effect.coreappId, effect.expectedEpoch, this.#o.clock.nowMs(), fence),
            masterStoreRequestTimeoutMs,
            'promotion',
          );
          step(
            assigned === null
              ? { type: 'promoteResult', requestId: effect.requestId, atMs: monotonicMs(), outcome: 'lost' }
              : { type: 'promoteResult', requestId: effect.requestId, atMs: monotonicMs(), outcome: 'won', epoch: assigned.epoch },
          );
        } catch (error) {
          logger.warn({ err: error, shard: effect.shard }, 'promotion write failed; its outcome is unknown');
          step({ type: 'promoteResult', requestId: effect.requestId, atMs: monotonicMs(), outcome: 'failed' });
        }
        return;
      }
      case 'notifyPromoted':
        await transport
          .promote(effect.internalUrl, { generation: effect.generation, shard: effect.shard, epoch: effect.epoch, leaseEpoch: effect.leaseEpoch })
          .catch((error: unknown) => logger.warn({ err: error, coreapp: effect.coreappId }, 'could not tell a coreapp of its promotion (it is told again)'));
        return;
      case 'demote':
        await transport
          .demote(effect.internalUrl, { generation: effect.generation, shard: effect.shard, epoch: effect.epoch, reason: effect.reason })
          .catch((error: unknown) => logger.warn({ err: error, coreapp: effect.coreappId }, 'could not tell a coreapp of its demotion'));
        return;
      case 'appendEvent':
        await this.#appendEvent(effect.entry);
        return;
    }
  }

  async #readNodes(): Promise<NodeSnapshot> {
    const list = await withDeadline(this.#o.stores.nodes.list(), masterStoreRequestTimeoutMs, 'node list read');
    return {
      dbNowMs: list.nowMs,
      nodes: list.nodes.map((n) => ({ id: n.id, role: n.role, internalUrl: n.internalUrl, startedAtMs: n.startedAtMs, lastSeenAtMs: n.lastSeenAtMs })),
    };
  }

  /** The machine decides nothing before the map exists: the primary creates it (with the account's shard count). */
  async #readOrCreateMap(): Promise<ShardMap | null> {
    const { stores, clock } = this.#o;
    const map = await stores.shardMap.current();
    this.#mapChanging = map?.generation.state === 'changing';
    // A generation being changed to is shown to the machine only once its messages were moved.
    if (map !== null && this.#machine.role() === 'primary' && !(await this.#shardChange.prepare(map))) {
      throw new Error(`generation ${map.generation.generation} is not prepared yet`);
    }
    if (map !== null || this.#machine.role() !== 'primary') return map;
    const account = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
    const shards: ShardCount = account?.state === 'registered' ? account.shards : 1;
    const created = await stores.shardMap.initialize(shards, clock.nowMs());
    this.#o.logger.info({ shards, generation: created.generation.generation }, 'created the shard map');
    return created;
  }

  async #appendEvent(entry: ClusterLogEntry): Promise<void> {
    const { stores, logger } = this.#o;
    logger.info({ event: entry.kind, node: entry.nodeId, ...entry.data }, `cluster event: ${entry.kind}`);
    try {
      await stores.events.append({ atMs: await stores.nowMs(), kind: entry.kind, nodeId: entry.nodeId, data: { ...entry.data, master: this.#o.nodeId, master_clock_ms: Math.round(entry.atMs) } });
    } catch (error) {
      logger.warn({ err: error, event: entry.kind }, 'could not write to the event log');
    }
  }

  /** Liveness, and the primary's housekeeping; one at a time, never blocking the tick. */
  #runDuties(now: number): void {
    if (this.#dutyRunning) return;
    this.#dutyRunning = true;
    this.#duty = this.#duties(now)
      .catch((error: unknown) => this.#o.logger.warn({ err: error }, 'master duty failed'))
      .finally(() => {
        this.#dutyRunning = false;
      });
  }

  async #duties(now: number): Promise<void> {
    const { stores, nodeId, clock, logger } = this.#o;
    const primary = this.#machine.role() === 'primary';
    if (now >= this.#nextTouchAtMs) {
      this.#nextTouchAtMs = now + this.#settings.application().db_liveness_interval * 1_000;
      await stores.nodes.touch(nodeId, { status: primary ? 'primary_master' : 'secondary_master' });
    }
    if (!primary) return;
    if (this.#mapChanging) {
      const map = await stores.shardMap.current();
      if (map !== null && (await this.#shardChange.activateIfServed(map))) this.#mapChanging = false;
    }
    if (now >= this.#nextTokenCleanupAtMs) {
      this.#nextTokenCleanupAtMs = now + tokenCleanupIntervalMs;
      const deleted = await stores.users.deleteDeadTokens(clock.nowMs());
      if (deleted > 0) logger.info({ deleted }, 'deleted expired and revoked API tokens');
    }
    if (now >= this.#nextNodeSweepAtMs) {
      this.#nextNodeSweepAtMs = now + deadNodeSweepIntervalMs;
      const list = await stores.nodes.list();
      const retentionMs = Math.max(deadNodeRowRetentionMs, dbLivenessMissesUnhealthy * this.#settings.application().db_liveness_interval * 1_000);
      for (const node of list.nodes) {
        if (list.nowMs - node.lastSeenAtMs > retentionMs && (await stores.nodes.remove(node.id))) logger.info({ node: node.id }, 'removed the row of a node gone for good');
      }
    }
  }

  #onSettingsChanged(): void {
    const settings: ApplicationSettings = this.#settings.application();
    this.#machine.step({ type: 'settings', settings });
    this.#kick();
    if (this.#machine.role() !== 'primary') return;
    // The primary broadcasts: every node re-reads the settings now instead of at its next poll.
    const targets = (this.#nodes?.nodes ?? []).filter((n) => n.id !== this.#o.nodeId && n.internalUrl !== null);
    for (const node of targets) {
      this.#o.transport.settingsChanged(node.internalUrl as string).catch((error: unknown) => this.#o.logger.debug({ err: error, node: node.id }, 'settings broadcast missed a node (it polls)'));
    }
  }
}

function toView(map: ShardMap): ShardMapView {
  return {
    generation: map.generation.generation,
    shards: map.generation.shards,
    state: map.generation.state,
    assignments: map.assignments.map((a) => ({ shard: a.shard, owner: a.owner, epoch: a.epoch })),
  };
}

