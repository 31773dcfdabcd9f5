/**
 * One gateway process doing the duties of all three roles (`shardgate start`): the master's (hold the
 * master lease, keep the shard map, promote a coreapp per shard — here always itself), the primary
 * coreapp's (a ShardWorker per owned shard, the webhook dispatcher) and the webapp's (the REST API).
 * It composes the same components the cluster roles use; only the promotion policy is trivial.
 *
 * Supervision runs on ticks: renew the lease, make sure every shard of the current generation is
 * assigned to this node under a fresh epoch, (re)start a ShardWorker whose ownership was lost.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { masterLeaseRenewDivisor, masterLeaseStepDownMarginDivisor, masterLeaseTtlMsDefault, tokenCleanupIntervalMs } from '../../core/limits.js';
import type { Clock } from '../../ports/clock.js';
import type { ShardMap } from '../../ports/shard-map-store.js';
import type { Stores } from '../../ports/stores.js';
import type { UpstreamAccounts, UpstreamClient } from '../../ports/upstream-client.js';
import { ShardWorker } from '../coreapp/shard-worker.js';
import { WebhookDispatcher } from '../coreapp/webhook-dispatcher.js';
import { withDatabaseClock } from '../coreapp/database-clock.js';
import { ensureAdminUser } from '../webapp/admin-user.js';
import { buildWebapp } from '../webapp/build-webapp.js';
import { DEFAULT_WEBAPP_OPTIONS, type WebappOptions } from '../webapp/webapp-deps.js';
import { SettingsWatcher } from './settings-watcher.js';

export const MASTER_LEASE = 'master';

export interface GatewayNodeOptions {
  readonly stores: Stores;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly version: string;
  readonly upstream: UpstreamClient;
  readonly accounts: UpstreamAccounts;
  readonly host: string;
  readonly port: number;
  readonly adminPassword: string | null;
  readonly webappOptions?: Partial<WebappOptions>;
  /** With `--upstream cloud`: serve `/cloud/webhook` with these secrets. */
  readonly cloudWebhook?: { readonly appSecret: string; readonly verifyToken: string };
  readonly logger: Logger;
  /** `sqlite`, `postgres` or `mysql`, for `/v1/support`. */
  readonly dbEngine: string;
  readonly leaseTtlMs?: number;
  readonly superviseIntervalMs?: number;
  /** Registers more routes on the API before it listens (the composition root adds the dashboard). */
  readonly extendApi?: (app: FastifyInstance) => Promise<unknown>;
}

interface OwnedShard {
  readonly worker: ShardWorker;
  readonly epoch: number;
  readonly generation: number;
  lost: boolean;
}

export interface GatewayStarted {
  readonly apiUrl: string;
  readonly admin: { readonly username: string; readonly password: string | null; readonly created: boolean };
}

export class GatewayNode {
  readonly #o: GatewayNodeOptions;
  readonly #settings: SettingsWatcher;
  readonly #owned = new Map<number, OwnedShard>();
  readonly #dispatcher: WebhookDispatcher;
  #webapp: FastifyInstance | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> = Promise.resolve();
  #stopping = false;
  #failuresInARow = 0;
  #nextAttemptAtMs = 0;
  #nextTokenCleanupAtMs = 0;
  #nextLeaseAtMs = 0;
  #leaseHeldUntilMs = 0;
  #nextTouchAtMs = 0;
  readonly #pipelineStores: Stores;

  constructor(options: GatewayNodeOptions) {
    this.#o = options;
    this.#settings = new SettingsWatcher(options.stores.settings, 500);
    // The pipeline's stores read the database clock through a measured offset (no query per transaction).
    this.#pipelineStores = withDatabaseClock(options.stores);
    this.#dispatcher = new WebhookDispatcher({
      stores: this.#pipelineStores,
      shards: () => [...this.#owned.keys()],
      settings: () => this.#settings.application(),
      logger: options.logger.child({ component: 'webhooks' }),
    });
  }

  async start(): Promise<GatewayStarted> {
    const { stores, clock, nodeId, logger } = this.#o;
    await stores.nodes.register({ id: nodeId, role: 'single', hostname: nodeId.split(':')[0] ?? nodeId, internalUrl: null, status: 'starting' });
    await this.#settings.start();
    const admin = await ensureAdminUser(stores, clock, this.#o.adminPassword);
    this.#webapp = await buildWebapp({
      stores,
      clock,
      nodeId,
      version: this.#o.version,
      dispatch: { notify: (shard) => this.#owned.get(shard)?.worker.notify() },
      upstream: this.#o.accounts,
      gatewayStatus: () => this.gatewayStatus(),
      support: () => this.#support(),
      options: { ...DEFAULT_WEBAPP_OPTIONS, ...this.#o.webappOptions },
      logger: logger.child({ component: 'webapp' }),
      ...(this.#o.cloudWebhook === undefined ? {} : { cloudWebhook: this.#o.cloudWebhook }),
    });
    await this.#o.extendApi?.(this.#webapp);
    await this.#tick();
    this.#dispatcher.start();
    this.#settings.onChange(() => this.#dispatcher.notify());
    this.#schedule();
    const address = await this.#webapp.listen({ host: this.#o.host, port: this.#o.port });
    return { apiUrl: address.replace('[::1]', 'localhost'), admin };
  }

  /** Stops taking requests, lets in-flight sends finish (or stay durable), releases what it holds. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#ticking;
    await this.#webapp?.close();
    await Promise.all([...this.#owned.values()].map((o) => o.worker.stop()));
    await this.#dispatcher.stop();
    this.#settings.stop();
    await this.#o.stores.leases.release(MASTER_LEASE, this.#o.nodeId).catch(() => {});
    await this.#o.stores.nodes.remove(this.#o.nodeId).catch(() => {});
  }

  gatewayStatus(): 'connected' | 'connecting' | 'disconnected' | 'uninitialized' | 'unregistered' {
    const account = this.#settings.account();
    if (account === null || account.state !== 'registered') return 'unregistered';
    const statuses = [...this.#owned.values()].map((o) => (o.lost ? 'disconnected' : o.worker.status()));
    if (statuses.length === 0) return 'connecting';
    if (statuses.every((s) => s === 'connected')) return 'connected';
    return statuses.includes('connecting') ? 'connecting' : 'disconnected';
  }

  #support(): Record<string, unknown> {
    const account = this.#settings.account();
    return {
      multi_connect: false,
      role: 'primary_master',
      db_engine: this.#o.dbEngine,
      debug_info: account?.state === 'registered' ? account.wa_id : 'unregistered',
      shards: [...this.#owned.entries()].map(([shard, o]) => ({ shard, epoch: o.epoch, generation: o.generation, status: o.lost ? 'disconnected' : o.worker.status() })),
    };
  }

  #schedule(): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.#tick().catch((error: unknown) => this.#o.logger.error({ err: error }, 'supervision tick failed'));
      void this.#ticking.finally(() => this.#schedule());
    }, this.#o.superviseIntervalMs ?? 250);
  }

  async #tick(): Promise<void> {
    const { stores, clock } = this.#o;
    await this.#keepLease();
    await this.#touchNode();
    if (clock.nowMs() >= this.#leaseHeldUntilMs || this.#stopping) return;
    await this.#cleanUpTokens();
    const account = this.#settings.account();
    // The shard map exists from the first moment, so messages accepted before the account's first
    // connection simply wait in the database for their shard.
    const map = (await stores.shardMap.current()) ?? (await stores.shardMap.initialize(account?.state === 'registered' ? account.shards : 1, clock.nowMs()));
    if (account === null || account.state !== 'registered') return;
    if (clock.nowMs() < this.#nextAttemptAtMs) return;
    try {
      await this.#ensureShards(map, account.wa_id, account.credentials);
      this.#failuresInARow = 0;
    } catch (error) {
      // Upstream unreachable or refusing: try again with a growing, bounded delay.
      this.#failuresInARow++;
      this.#nextAttemptAtMs = this.#o.clock.nowMs() + Math.min(250 * 2 ** this.#failuresInARow, 5_000);
      this.#o.logger.warn({ err: error }, 'could not take ownership of the shards; retrying');
    }
  }

  /**
   * Renews the master lease every TTL/`masterLeaseRenewDivisor` (contending on every tick while
   * another node holds it), and counts it as held only until its TTL, less a margin, measured from
   * when the request was sent — so this node stops acting before the lease can have run out.
   */
  async #keepLease(): Promise<void> {
    const { stores, clock, nodeId } = this.#o;
    const sentAtMs = clock.nowMs();
    if (sentAtMs < this.#nextLeaseAtMs) return;
    const ttlMs = this.#o.leaseTtlMs ?? masterLeaseTtlMsDefault;
    const lease = await stores.leases.acquire(MASTER_LEASE, nodeId, ttlMs);
    this.#leaseHeldUntilMs = lease.held ? sentAtMs + ttlMs - ttlMs / masterLeaseStepDownMarginDivisor : 0;
    this.#nextLeaseAtMs = lease.held ? sentAtMs + ttlMs / masterLeaseRenewDivisor : 0;
  }

  /** DB-based liveness: the node's row is touched once per `db_liveness_interval`, not on every tick. */
  async #touchNode(): Promise<void> {
    const now = this.#o.clock.nowMs();
    if (now < this.#nextTouchAtMs) return;
    this.#nextTouchAtMs = now + this.#settings.application().db_liveness_interval * 1_000;
    await this.#o.stores.nodes.touch(this.#o.nodeId, { status: this.gatewayStatus() });
  }

  /** The token table would otherwise grow by one row per login forever. */
  async #cleanUpTokens(): Promise<void> {
    const now = this.#o.clock.nowMs();
    if (now < this.#nextTokenCleanupAtMs) return;
    this.#nextTokenCleanupAtMs = now + tokenCleanupIntervalMs;
    const deleted = await this.#o.stores.users.deleteDeadTokens(now);
    if (deleted > 0) this.#o.logger.info({ deleted }, 'deleted expired and revoked API tokens');
  }

  /** Every shard of the current generation gets a live ShardWorker of this node under a fresh epoch. */
  async #ensureShards(map: ShardMap, waId: string, credentials: string): Promise<void> {
    const { stores, clock, nodeId } = this.#o;
    for (const assignment of map.assignments) {
      const owned = this.#owned.get(assignment.shard);
      if (owned !== undefined && !owned.lost && owned.epoch === assignment.epoch && owned.generation === assignment.generation) continue;
      if (owned !== undefined) {
        await owned.worker.stop();
        this.#owned.delete(assignment.shard);
      }
      const assigned = await stores.shardMap.assign(assignment.generation, assignment.shard, nodeId, assignment.epoch, clock.nowMs());
      if (assigned === null) continue; // Someone else moved the epoch; look again next tick.
      await stores.events.append({ atMs: clock.nowMs(), kind: 'promoted', nodeId, data: { shard: assigned.shard, epoch: assigned.epoch, generation: assigned.generation } });
      const worker = new ShardWorker({
        stores: this.#pipelineStores,
        upstream: this.#o.upstream,
        account: { waId, credentials },
        fence: { generation: assigned.generation, shard: assigned.shard, shards: map.generation.shards, epoch: assigned.epoch },
        nodeId,
        settings: () => this.#settings.application(),
        logger: this.#o.logger.child({ component: 'coreapp' }),
        onCallbacks: () => this.#dispatcher.notify(),
      });
      const entry: OwnedShard = { worker, epoch: assigned.epoch, generation: assigned.generation, lost: false };
      await worker.start();
      this.#owned.set(assigned.shard, entry);
      void worker.lost.then(({ reason }) => {
        entry.lost = true;
        this.#o.logger.warn({ shard: assigned.shard, epoch: assigned.epoch, reason }, 'lost ownership of the shard');
      });
      this.#dispatcher.notify();
    }
  }
}
