/**
 * The webapp role (`shardgate webapp`): the public REST API of a cluster. It holds no upstream
 * connection. Messages are durable before the 201 (so no request fails while a shard fails over);
 * then the shard's primary coreapp gets a hint over the internal API (`ShardRouter`), which it
 * may miss without loss because coreapps also poll.
 *
 * `/v1/health` and `/v1/support` take the cluster form, read from the node registry, the lease and
 * the shard map (`readTopology`); `/v1/stats/db` is asked of the primary master.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { routingCacheMs } from '../../core/limits.js';
import { ClusterCallError, type ClusterTransport } from '../../ports/cluster-transport.js';
import type { ShardDispatch } from '../../ports/shard-dispatch.js';
import type { Stores } from '../../ports/stores.js';
import type { UpstreamAccounts } from '../../ports/upstream-client.js';
import type { InternalServer } from '../../adapters/http/internal-api.js';
import { monotonicMs, withDeadline } from '../gateway/bounded.js';
import { readTopology } from '../gateway/cluster-topology.js';
import { MASTER_LEASE } from '../gateway/gateway-node.js';
import { startNodeServer, type ClusterNodeOptions } from '../gateway/cluster-node.js';
import { SettingsWatcher } from '../gateway/settings-watcher.js';
import { ensureAdminUser } from './admin-user.js';
import { buildWebapp } from './build-webapp.js';
import { ApiError } from './api-errors.js';
import { DEFAULT_WEBAPP_OPTIONS, type ClusterHealthRole, type GatewayStatus, type HandoverResult, type WebappOptions } from './webapp-deps.js';

/** Internal calls made while answering a public request wait at most this long. */
const internalCallDeadlineMs = 1_000;
/** A shard-count change is waited for at most this long (it goes on converging afterwards). */
const shardChangeDeadlineMs = 120_000;
/** An admin handover: the owner's drain plus its bounded wait for the new owner. */
const handOverDeadlineMs = 30_000;

export interface WebappNodeOptions extends ClusterNodeOptions {
  readonly accounts: UpstreamAccounts;
  readonly version: string;
  readonly port: number;
  readonly adminPassword: string | null;
  readonly dbEngine: string;
  readonly webappOptions?: Partial<WebappOptions>;
  /** Registers more routes on the API before it listens (the composition root adds the dashboard). */
  readonly extendApi?: (app: FastifyInstance) => Promise<unknown>;
  /** With `--upstream cloud`: serve `/cloud/webhook` with these secrets. */
  readonly cloudWebhook?: { readonly appSecret: string; readonly verifyToken: string };
}

/**
 * Sends the dispatch hint to the primary coreapp of a shard: owners looked up in the shard map and
 * node registry (cached `routingCacheMs`, dropped when a coreapp answers "not primary" or does not
 * answer); at most one hint in flight per shard, with one more queued behind it however many messages
 * arrive meanwhile.
 */
export class ShardRouter implements ShardDispatch {
  readonly #stores: Stores;
  readonly #transport: ClusterTransport;
  readonly #logger: Logger;
  #owners: { readonly byShard: ReadonlyMap<number, string>; readonly atMs: number } | null = null;
  readonly #inFlight = new Set<number>();
  readonly #again = new Set<number>();

  constructor(stores: Stores, transport: ClusterTransport, logger: Logger) {
    this.#stores = stores;
    this.#transport = transport;
    this.#logger = logger;
  }

  notify(shard: number): void {
    if (this.#inFlight.has(shard)) {
      this.#again.add(shard);
      return;
    }
    this.#inFlight.add(shard);
    void this.#send(shard).finally(() => {
      this.#inFlight.delete(shard);
      if (this.#again.delete(shard)) this.notify(shard);
    });
  }

  /** Forget the owners (the map changed). */
  invalidate(): void {
    this.#owners = null;
  }

  async #send(shard: number): Promise<void> {
    try {
      const url = (await this.#ownersByShard()).get(shard);
      if (url === undefined) return; // No primary now (failover in progress): the message waits in the database.
      if ((await this.#transport.dispatch(url, shard)) === 'not_primary') this.invalidate();
    } catch (error) {
      this.invalidate();
      this.#logger.debug({ err: error, shard }, 'dispatch hint not delivered (the coreapp polls)');
    }
  }

  async #ownersByShard(): Promise<ReadonlyMap<number, string>> {
    const now = monotonicMs();
    if (this.#owners !== null && now - this.#owners.atMs < routingCacheMs) return this.#owners.byShard;
    const [map, nodes] = await Promise.all([this.#stores.shardMap.current(), this.#stores.nodes.list()]);
    const urls = new Map(nodes.nodes.map((n) => [n.id, n.internalUrl]));
    const byShard = new Map<number, string>();
    for (const a of map?.assignments ?? []) {
      const url = a.owner === null ? null : urls.get(a.owner);
      if (url) byShard.set(a.shard, url);
    }
    this.#owners = { byShard, atMs: now };
    return byShard;
  }
}

export class WebappNode {
  readonly #o: WebappNodeOptions;
  readonly #settings: SettingsWatcher;
  readonly #router: ShardRouter;
  #server: InternalServer | null = null;
  #api: FastifyInstance | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: WebappNodeOptions) {
    this.#o = options;
    this.#settings = new SettingsWatcher(options.stores.settings, 500);
    this.#router = new ShardRouter(options.stores, options.transport, options.logger.child({ component: 'router' }));
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get internalUrl(): string {
    if (this.#server === null) throw new Error('webapp not started');
    return this.#server.url;
  }

  async start(): Promise<{ apiUrl: string; admin: { username: string; password: string | null; created: boolean } }> {
    const { stores, clock, nodeId, logger } = this.#o;
    await this.#settings.start();
    const admin = await ensureAdminUser(stores, clock, this.#o.adminPassword);
    this.#server = await startNodeServer(this.#o, {
        settingsChanged: async () => {
          await this.#settings.refresh();
        },
        status: () => ({ node_id: nodeId, role: 'webapp' }),
    });
    await stores.nodes.register({ id: nodeId, role: 'webapp', hostname: this.#o.hostname, internalUrl: this.#server.url, status: 'serving' });
    this.#api = await buildWebapp({
      stores,
      clock,
      nodeId,
      version: this.#o.version,
      dispatch: this.#router,
      upstream: this.#o.accounts,
      gatewayStatus: (): GatewayStatus => 'disconnected',
      support: () => ({}),
      cluster: {
        health: () => this.#health(),
        support: () => this.#support(),
        dbStats: () => this.#dbStats(),
        settingsChanged: () => void this.#tellPrimaryMaster((url) => this.#o.transport.settingsChanged(url)),
        changeShards: async (shards) => {
          const master = await this.#primaryMasterUrl();
          if (master === null) throw new ClusterCallError('no primary master');
          await this.#o.transport.changeShards(master, shards, shardChangeDeadlineMs);
        },
        handOver: (shard) => this.#handOver(shard),
      },
      options: { ...DEFAULT_WEBAPP_OPTIONS, ...this.#o.webappOptions },
      logger: logger.child({ component: 'webapp' }),
      ...(this.#o.cloudWebhook === undefined ? {} : { cloudWebhook: this.#o.cloudWebhook }),
    });
    await this.#o.extendApi?.(this.#api);
    const address = await this.#api.listen({ host: this.#o.host, port: this.#o.port });
    this.#touch();
    return { apiUrl: address.replace('[::1]', 'localhost'), admin };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#api?.close();
    await this.#server?.close();
    this.#settings.stop();
    await this.#o.stores.nodes.remove(this.#o.nodeId).catch(() => {});
  }

  #touch(): void {
    if (this.#stopped) return;
    void this.#o.stores.nodes.touch(this.#o.nodeId, { status: 'serving' }).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not touch the node row'));
    this.#timer = setTimeout(() => this.#touch(), this.#settings.application().db_liveness_interval * 1_000);
  }

  async #health(): Promise<Record<string, { gateway_status: GatewayStatus; role: ClusterHealthRole }>> {
    const topology = await readTopology(this.#o.stores, this.#settings.application().db_liveness_interval);
    const health: Record<string, { gateway_status: GatewayStatus; role: ClusterHealthRole }> = {};
    for (const node of topology.nodes) {
      if (!node.alive || (node.role !== 'primary_master' && node.role !== 'secondary_master' && node.role !== 'coreapp')) continue;
      health[node.node_id] = { gateway_status: node.gateway_status, role: node.role };
    }
    return health;
  }

  async #support(): Promise<Record<string, Record<string, unknown>>> {
    const topology = await readTopology(this.#o.stores, this.#settings.application().db_liveness_interval);
    const account = this.#settings.account();
    const support: Record<string, Record<string, unknown>> = {};
    for (const node of topology.nodes) {
      if (!node.alive) continue;
      support[node.node_id] = {
        multi_connect: (topology.shards ?? 1) > 1,
        role: node.role,
        // On-Prem's shape: `[[owned, owned]]`, the primary master also owning the control shard -1.
        shards: node.shard !== null ? [[node.shard, node.shard]] : node.role === 'primary_master' ? [[-1, -1]] : [],
        epoch: node.epoch,
        gateway_status: node.gateway_status,
        hostname: node.hostname,
        heartbeat_age_ms: node.heartbeat_age_ms,
        db_engine: this.#o.dbEngine,
        debug_info: account?.state === 'registered' ? account.wa_id : 'unregistered',
        version: this.#o.version,
      };
    }
    return support;
  }

  /** Finds the shard's owner in the map and asks it (directly, over the internal API) to hand over. */
  async #handOver(shard: number): Promise<HandoverResult> {
    const map = await this.#o.stores.shardMap.current();
    const row = map?.assignments.find((a) => a.shard === shard);
    if (map === null || row === undefined) throw new ApiError('NOT_FOUND', `no shard ${shard}: the cluster has ${map?.generation.shards ?? 0} shard(s)`);
    if (map.generation.state !== 'active') throw new ApiError('PARAMETER_INVALID', 'the shard count is changing; hand over once it is done');
    if (row.owner === null) throw new ApiError('PARAMETER_INVALID', `shard ${shard} has no owner right now (failing over or starting); nothing to hand over`);
    const topology = await readTopology(this.#o.stores, this.#settings.application().db_liveness_interval);
    const owner = topology.nodes.find((n) => n.node_id === row.owner);
    if (owner?.internal_url == null) throw new ApiError('NOT_PRIMARY_COREAPP', `the owner of shard ${shard} (${row.owner}) is not registered; retry shortly`);
    // Without a live secondary the master would have nobody to promote but the owner itself.
    if (!topology.nodes.some((n) => n.role === 'coreapp' && n.alive && n.shard === null && n.node_id !== row.owner)) {
      throw new ApiError('PARAMETER_INVALID', `no secondary coreapp is alive to take shard ${shard} over; start another coreapp first`);
    }
    try {
      const answer = await this.#o.transport.handOver(owner.internal_url, { generation: row.generation, shard, epoch: row.epoch }, handOverDeadlineMs);
      return { shard, generation: row.generation, from: row.owner, to: answer.newOwner, released: answer.released, ms: answer.ms };
    } catch (error) {
      const why = error instanceof ClusterCallError ? (error.details ?? error.message) : (error as Error).message;
      throw new ApiError('NOT_PRIMARY_COREAPP', `the handover of shard ${shard} did not happen: ${why}; retry`, null, error);
    }
  }

  async #dbStats(): Promise<{ nodeId: string; stats: unknown } | null> {
    return this.#tellPrimaryMaster((url) => withDeadline(this.#o.transport.dbStats(url), internalCallDeadlineMs, 'db stats'));
  }

  async #primaryMasterUrl(): Promise<string | null> {
    const lease = await this.#o.stores.leases.read(MASTER_LEASE);
    if (lease?.held !== true || lease.holder === null) return null;
    const master = await this.#o.stores.nodes.get(lease.holder);
    return master?.internalUrl ?? null;
  }

  /** Calls the primary master's internal API; null when there is none or it does not answer. */
  async #tellPrimaryMaster<T>(call: (internalUrl: string) => Promise<T>): Promise<T | null> {
    try {
      const url = await this.#primaryMasterUrl();
      return url === null ? null : await call(url);
    } catch (error) {
      this.#o.logger.debug({ err: error }, 'the primary master did not answer');
      return null;
    }
  }
}
