/**
 * The coreapp role (`shardgate coreapp`). It starts secondary and decides nothing about its own
 * promotion: the primary master tells it (`promote`), it verifies the shard-map row itself, then runs
 * a `ShardWorker` for that one shard (one upstream connection under the shard's epoch; it re-sends
 * every unacknowledged message first) and delivers that shard's webhooks.
 *
 * - It answers heartbeats with what it believes it owns, and touches its node row every
 *   `db_liveness_interval` (at once when its state changes).
 * - It never owns two shards: a promotion for another shard while it serves one is refused.
 * - It stops serving when demoted (for its ownership or an older one), when its worker loses the
 *   shard (replaced upstream, stale epoch, fenced write, map moved after a pause), or on shutdown.
 * - Planned handover (`handOver()`, on SIGTERM): it tells the primary master it is leaving, drains,
 *   releases its shard in the map (a fenced compare-and-set), deregisters and tells the master again,
 *   so a secondary is promoted at once.
 */
import type { Stores } from '../../ports/stores.js';
import { NotOwnerError, type DemoteMessage, type HandOverAnswer, type HeartbeatAnswer, type OwnershipMessage, type PromoteMessage } from '../../ports/cluster-transport.js';
import type { ShardMap } from '../../ports/shard-map-store.js';
import type { UpstreamClient } from '../../ports/upstream-client.js';
import type { InternalServer } from '../../adapters/http/internal-api.js';
import { monotonicMs } from '../gateway/bounded.js';
import { MASTER_LEASE } from '../gateway/gateway-node.js';
import { startNodeServer, type ClusterNodeOptions } from '../gateway/cluster-node.js';
import { SettingsWatcher } from '../gateway/settings-watcher.js';
import { claimOf, decidePromotion, demotionApplies, mapNamesOwner } from '../../core/coreapp/ownership.js';
import { shardRows } from './shard-rows.js';
import { ShardWorker } from './shard-worker.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { withDatabaseClock } from './database-clock.js';

/** An admin handover waits this long for the master to name a new owner before it answers. */
const handOverWaitMs = 15_000;
const handOverPollMs = 100;

export interface CoreappNodeOptions extends ClusterNodeOptions {
  readonly upstream: UpstreamClient;
}

interface Ownership {
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
  /** `verifying` until the map row checked out; `waiting` while no account is registered; then `serving`. */
  state: 'verifying' | 'waiting' | 'serving';
  worker: ShardWorker | null;
}

export type CoreappStatus = 'connected' | 'connecting' | 'disconnected';

export class CoreappNode {
  readonly #o: CoreappNodeOptions;
  readonly #settings: SettingsWatcher;
  readonly #dispatcher: WebhookDispatcher;
  #server: InternalServer | null = null;
  #owned: Ownership | null = null;
  /** Ownership changes run one at a time, in arrival order. */
  #ops: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #leaving = false;
  #stopped = false;
  #nextTouchAtMs = 0;
  #lastReported = '';
  readonly #pipelineStores: Stores;

  constructor(options: CoreappNodeOptions) {
    this.#o = options;
    this.#settings = new SettingsWatcher(options.stores.settings, 500);
    // The pipeline's stores read the database clock through a measured offset (no query per transaction).
    this.#pipelineStores = withDatabaseClock(options.stores);
    this.#dispatcher = new WebhookDispatcher({
      stores: this.#pipelineStores,
      shards: () => (this.#owned?.state === 'serving' ? [this.#owned.shard] : []),
      settings: () => this.#settings.application(),
      logger: options.logger.child({ component: 'webhooks' }),
    });
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get internalUrl(): string {
    if (this.#server === null) throw new Error('coreapp not started');
    return this.#server.url;
  }

  async start(): Promise<void> {
    const { stores, nodeId } = this.#o;
    await this.#settings.start();
    this.#server = await startNodeServer(this.#o, {
        heartbeat: () => this.heartbeat(),
        promote: (message) => this.promote(message),
        demote: (message) => this.demote(message),
        dispatch: (shard) => {
          const owned = this.#owned;
          if (owned === null || owned.shard !== shard || owned.worker === null || this.#leaving) return 'not_primary';
          owned.worker.notify();
          return 'accepted';
        },
        settingsChanged: async () => {
          await this.#settings.refresh();
        },
        handOver: (ownership) => this.handOverShard(ownership),
        status: () => ({ node_id: nodeId, role: 'coreapp', gateway_status: this.status(), owns: this.heartbeat().owns, leaving: this.#leaving }),
    });
    await stores.nodes.register({ id: nodeId, role: 'coreapp', hostname: this.#o.hostname, internalUrl: this.#server.url, status: 'disconnected' });
    this.#settings.onChange(() => {
      this.#dispatcher.notify();
      this.#enqueue(() => this.#startWorkerIfReady());
    });
    this.#dispatcher.start();
    this.#supervise();
  }

  /** What this coreapp believes it owns: only a verified ownership is claimed. */
  heartbeat(): HeartbeatAnswer {
    const owned = this.#owned;
    const owns = claimOf(owned === null ? null : { generation: owned.generation, shard: owned.shard, epoch: owned.epoch, verified: owned.state !== 'verifying' });
    return { nodeId: this.#o.nodeId, owns };
  }

  status(): CoreappStatus {
    const worker = this.#owned?.worker;
    return worker == null ? 'disconnected' : worker.status();
  }

  /** The master promoted this coreapp: verify, then serve (answered at once; the work runs in order). */
  promote(message: PromoteMessage): void {
    this.#enqueue(() => this.#promote(message));
  }

  /** Resolves once the demotion took effect (the worker drained and stopped), so a caller can wait for it. */
  demote(message: DemoteMessage): Promise<void> {
    return this.#enqueue(() => this.#demote(message));
  }

  async #promote(message: PromoteMessage): Promise<void> {
    const { logger } = this.#o;
    if (this.#leaving || this.#stopped) return;
    const owned = this.#owned;
    const decision = decidePromotion(owned, message);
    if (decision === 'already') return; // Told again.
    if (decision === 'refuse') {
      logger.warn({ owned: owned === null ? null : describe(owned), offered: message }, 'refused a promotion: this coreapp already owns a shard');
      return;
    }
    if (decision === 'replace') await this.#release('a newer ownership was offered');
    const next: Ownership = { generation: message.generation, shard: message.shard, epoch: message.epoch, state: 'verifying', worker: null };
    this.#owned = next;
    const map = await this.#o.stores.shardMap.current().catch(() => null);
    if (map === null || !ownsRow(map, this.#o.nodeId, message)) {
      logger.warn({ offered: message }, 'refused a promotion the shard map does not show');
      this.#owned = null;
      return;
    }
    next.state = 'waiting';
    logger.info({ ...message }, 'promoted: primary coreapp of the shard');
    await this.#startWorkerIfReady(map);
  }

  async #startWorkerIfReady(knownMap?: ShardMap): Promise<void> {
    const owned = this.#owned;
    if (owned === null || owned.state !== 'waiting' || this.#leaving) return;
    const account = this.#settings.account();
    if (account === null || account.state !== 'registered') return; // Started when an account is registered.
    const map = knownMap ?? (await this.#o.stores.shardMap.current());
    if (map === null || !ownsRow(map, this.#o.nodeId, owned)) {
      this.#o.logger.warn({ owned: describe(owned) }, 'the shard map no longer names this coreapp; not serving');
      this.#owned = null;
      this.#report();
      return;
    }
    const worker = new ShardWorker({
      stores: this.#pipelineStores,
      upstream: this.#o.upstream,
      account: { waId: account.wa_id, credentials: account.credentials },
      fence: { generation: owned.generation, shard: owned.shard, shards: map.generation.shards, epoch: owned.epoch },
      nodeId: this.#o.nodeId,
      settings: () => this.#settings.application(),
      logger: this.#o.logger.child({ component: 'shard-worker', shard: owned.shard }),
      onCallbacks: () => this.#dispatcher.notify(),
    });
    owned.worker = worker;
    owned.state = 'serving';
    void worker.lost.then(({ reason }) => {
      this.#enqueue(async () => {
        if (this.#owned?.worker !== worker) return;
        this.#o.logger.warn({ owned: describe(owned), reason }, 'lost the shard; secondary again');
        await this.#release(reason);
      });
    });
    await worker.start();
    this.#dispatcher.notify();
    this.#report();
  }

  async #demote(message: DemoteMessage): Promise<void> {
    const owned = this.#owned;
    if (owned === null || !demotionApplies(owned, message)) return;
    this.#o.logger.warn({ owned: describe(owned), reason: message.reason }, 'demoted by the primary master');
    await this.#release(`demoted: ${message.reason}`);
  }

  /** Stops serving the owned shard (in-flight sends finish or stay durable); secondary again. */
  async #release(reason: string): Promise<void> {
    const owned = this.#owned;
    if (owned === null) return;
    this.#owned = null;
    await owned.worker?.stop();
    this.#o.logger.info({ owned: describe(owned), reason }, 'stopped serving the shard');
    this.#report();
  }

  /**
   * Planned handover (SIGTERM): the shard goes to a secondary without waiting for a failover. Returns
   * when this coreapp serves nothing more and has left the cluster.
   */
  async handOver(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    await this.#tellMaster('leaving');
    await this.#drainAndRelease(monotonicMs(), 'shutdown');
    await this.#o.stores.nodes.remove(this.#o.nodeId).catch(() => {});
    await this.#tellMaster('leaving');
    await this.stop();
  }

  /**
   * Hands one shard over on an admin's request (`POST /v1/cluster/shards/{shard}/handover`) and stays
   * in the cluster: the same steps as the SIGTERM path (tell the master, drain, release the row under
   * its epoch, tell the master again), then it waits — bounded — for the master to promote another
   * coreapp, and tells the master it is a candidate again. Throws `NotOwnerError` unless it holds
   * exactly `ownership` (the caller's view was stale).
   */
  async handOverShard(ownership: OwnershipMessage): Promise<HandOverAnswer> {
    const owned = this.#owned;
    if (this.#leaving || this.#stopped || owned === null || owned.generation !== ownership.generation || owned.shard !== ownership.shard || owned.epoch !== ownership.epoch) {
      throw new NotOwnerError(`${this.#o.nodeId} does not own generation ${ownership.generation} shard ${ownership.shard} epoch ${ownership.epoch}`);
    }
    const startedAt = monotonicMs();
    this.#leaving = true;
    try {
      await this.#tellMaster('leaving');
      const released = await this.#drainAndRelease(startedAt, 'admin');
      await this.#tellMaster('leaving');
      const newOwner = released ? await this.#waitForNewOwner(ownership) : null;
      return { released, newOwner, ms: Math.round(monotonicMs() - startedAt) };
    } finally {
      this.#leaving = false;
      this.#report();
      await this.#tellMaster('back');
    }
  }

  /** Stops the worker (in-flight sends finish or stay durable) and releases the row; true if released. */
  async #drainAndRelease(startedAt: number, reason: 'shutdown' | 'admin'): Promise<boolean> {
    let released = false;
    await this.#enqueue(async () => {
      const owned = this.#owned;
      this.#owned = null;
      if (owned === null) return;
      await owned.worker?.stop();
      if (owned.state === 'serving' || owned.state === 'waiting') {
        released = (await this.#o.stores.shardMap.assign(owned.generation, owned.shard, null, owned.epoch, this.#o.clock.nowMs()).catch(() => null)) !== null;
        const ms = Math.round(monotonicMs() - startedAt);
        this.#o.logger.info({ owned: describe(owned), released, ms }, 'handed the shard over');
        // On the timeline (the dashboard), next to the promotion that follows; best effort.
        const data = { shard: owned.shard, epoch: owned.epoch, generation: owned.generation, released, ms, reason };
        await this.#o.stores.events.append({ atMs: this.#o.clock.nowMs(), kind: 'handed_over', nodeId: this.#o.nodeId, data }).catch(() => {});
      }
      this.#report();
    });
    return released;
  }

  /** The shard's new owner once the map names one (polled, bounded by `handOverWaitMs`), else null. */
  async #waitForNewOwner(ownership: OwnershipMessage): Promise<string | null> {
    const deadline = monotonicMs() + handOverWaitMs;
    while (!this.#stopped && monotonicMs() < deadline) {
      const map = await this.#o.stores.shardMap.current().catch(() => null);
      const row = map?.assignments.find((a) => a.shard === ownership.shard);
      if (map !== null && map !== undefined && map.generation.generation !== ownership.generation) return null;
      if (row?.owner != null && row.owner !== this.#o.nodeId) return row.owner;
      await new Promise((resolve) => setTimeout(resolve, handOverPollMs));
    }
    return null;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#enqueue(() => this.#release('shutting down'));
    await this.#dispatcher.stop();
    this.#settings.stop();
    await this.#server?.close();
    await this.#o.stores.nodes.remove(this.#o.nodeId).catch(() => {});
  }

  /** Tells the primary master this coreapp is leaving (no candidate) or back (a candidate again). */
  async #tellMaster(what: 'leaving' | 'back'): Promise<void> {
    try {
      const lease = await this.#o.stores.leases.read(MASTER_LEASE);
      if (lease?.held !== true || lease.holder === null) return;
      const master = await this.#o.stores.nodes.get(lease.holder);
      if (!master?.internalUrl) return;
      if (what === 'leaving') await this.#o.transport.coreappLeaving(master.internalUrl, this.#o.nodeId);
      else await this.#o.transport.coreappBack(master.internalUrl, this.#o.nodeId);
    } catch (error) {
      // No master to tell: the handover then completes by the usual failover path.
      this.#o.logger.warn({ err: error, what }, 'could not tell the primary master of the handover');
    }
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(work).catch((error: unknown) => this.#o.logger.error({ err: error }, 'ownership change failed'));
    this.#ops = run;
    return run;
  }

  /** Touches the node row every `db_liveness_interval`, and at once when the state it reports changed. */
  #supervise(): void {
    if (this.#stopped) return;
    const now = monotonicMs();
    const reported = this.#reportKey();
    if (now >= this.#nextTouchAtMs || reported !== this.#lastReported) {
      this.#nextTouchAtMs = now + this.#settings.application().db_liveness_interval * 1_000;
      this.#lastReported = reported;
      const owned = this.#owned;
      void this.#o.stores.nodes
        .touch(this.#o.nodeId, { status: this.status(), shard: owned?.state === 'serving' ? owned.shard : null })
        .catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not touch the node row'));
    }
    this.#timer = setTimeout(() => this.#supervise(), 100);
  }

  #reportKey(): string {
    const owned = this.#owned;
    return `${this.status()}:${owned?.state === 'serving' ? owned.shard : '-'}`;
  }

  #report(): void {
    this.#lastReported = '';
  }
}

function ownsRow(map: ShardMap, nodeId: string, owned: { generation: number; shard: number; epoch: number }): boolean {
  return mapNamesOwner(shardRows(map), nodeId, owned);
}

function describe(owned: Ownership): string {
  return `generation ${owned.generation} shard ${owned.shard} epoch ${owned.epoch}`;
}
