/**
 * The internal cluster API over HTTP (DESIGN.md §5): the server side (`startInternalServer`, routes
 * for whichever handlers a role provides) and the client side (`HttpClusterTransport`). Both live in
 * this one file so the paths and shapes cannot drift apart.
 *
 * Every request carries `Authorization: Bearer <cluster secret>`; anything else gets 401 before a
 * handler runs (compared in constant time). The internal API listens on its own port, never on the
 * public one. Every client call has a deadline.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Agent, request } from 'undici';
import { isWildcardHost } from '../../core/config.js';
import type { OwnershipClaim, PeerView } from '../../core/master/cluster-view.js';
import {
  ClusterCallError,
  NotOwnerError,
  NotPrimaryMasterError,
  ShardChangeRefusedError,
  type ClusterTransport,
  type DemoteMessage,
  type DispatchOutcome,
  type HandOverAnswer,
  type HeartbeatAnswer,
  type OwnershipMessage,
  type PromoteMessage,
} from '../../ports/cluster-transport.js';

export const INTERNAL_PATHS = {
  heartbeat: '/internal/heartbeat',
  promote: '/internal/promote',
  demote: '/internal/demote',
  dispatch: '/internal/dispatch',
  peerView: '/internal/peer-view',
  settingsChanged: '/internal/settings-changed',
  coreappLeaving: '/internal/coreapp-leaving',
  coreappBack: '/internal/coreapp-back',
  handOver: '/internal/hand-over',
  dbStats: '/internal/stats/db',
  status: '/internal/status',
  shards: '/internal/shards',
} as const;

/** What a node says about itself on `GET /internal/status` (for `cluster status` and the dashboard). */
export interface NodeStatusAnswer {
  readonly node_id: string;
  readonly role: string;
  readonly [key: string]: unknown;
}

/** The handlers a role provides; a route exists only for the handlers given. */
export interface InternalHandlers {
  heartbeat?(): HeartbeatAnswer;
  promote?(message: PromoteMessage): Promise<void> | void;
  demote?(message: DemoteMessage): Promise<void> | void;
  dispatch?(shard: number): DispatchOutcome;
  peerView?(): PeerView;
  settingsChanged?(): Promise<void> | void;
  coreappLeaving?(coreappId: string): void;
  coreappBack?(coreappId: string): void;
  /** Hand the shard over gracefully (a coreapp); throws `NotOwnerError` unless it owns exactly that. */
  handOver?(ownership: OwnershipMessage): Promise<HandOverAnswer>;
  dbStats?(): Promise<{ readonly nodeId: string; readonly stats: unknown }>;
  status?(): NodeStatusAnswer | Promise<NodeStatusAnswer>;
  /** Change the shard count (the primary master); throws `ShardChangeRefusedError` / `NotPrimaryMasterError`. */
  changeShards?(shards: number): Promise<{ readonly shards: number; readonly generation: number; readonly ms: number }>;
}

export interface InternalServerOptions {
  readonly host: string;
  /** The address other nodes reach this one at (registered in the node registry); default `host`. */
  readonly advertiseHost?: string;
  /**
   * The port other nodes reach this one at; default the port it listens on. Differs behind a port
   * mapping (NAT, a container runtime, a TCP proxy such as the fault-injection suite's).
   */
  readonly advertisePort?: number;
  readonly port: number;
  readonly secret: string;
  readonly handlers: InternalHandlers;
}

export interface InternalServer {
  /** `http://host:port` as other nodes reach it. */
  readonly url: string;
  close(): Promise<void>;
}

/** Hashing both sides first makes the comparison constant-time whatever the lengths. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function secretMatches(request: FastifyRequest, expected: Buffer): boolean {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice('Bearer '.length)), expected);
}

function nonNegativeInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function ownershipFrom(body: unknown): { generation: number; shard: number; epoch: number } | null {
  if (typeof body !== 'object' || body === null) return null;
  const { generation, shard, epoch } = body as Record<string, unknown>;
  return nonNegativeInt(generation) && nonNegativeInt(shard) && nonNegativeInt(epoch) ? { generation, shard, epoch } : null;
}

const BAD_REQUEST = { error: 'bad_request' } as const;

export async function startInternalServer(options: InternalServerOptions): Promise<InternalServer> {
  const expected = digest(options.secret);
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024, keepAliveTimeout: 65_000 });
  app.addHook('onRequest', async (request, reply) => {
    if (!secretMatches(request, expected)) return reply.code(401).send({ error: 'unauthorized' });
  });
  const h = options.handlers;
  if (h.heartbeat) {
    const heartbeat = h.heartbeat.bind(h);
    app.get(INTERNAL_PATHS.heartbeat, async () => {
      const answer = heartbeat();
      return { node_id: answer.nodeId, owns: answer.owns };
    });
  }
  if (h.promote) {
    const promote = h.promote.bind(h);
    app.post(INTERNAL_PATHS.promote, async (request, reply) => {
      const owned = ownershipFrom(request.body);
      const leaseEpoch = (request.body as Record<string, unknown> | null)?.['lease_epoch'];
      if (owned === null || !nonNegativeInt(leaseEpoch)) return reply.code(400).send(BAD_REQUEST);
      await promote({ ...owned, leaseEpoch });
      return reply.code(202).send({ ok: true });
    });
  }
  if (h.demote) {
    const demote = h.demote.bind(h);
    app.post(INTERNAL_PATHS.demote, async (request, reply) => {
      const owned = ownershipFrom(request.body);
      const reason = (request.body as Record<string, unknown> | null)?.['reason'];
      if (owned === null || typeof reason !== 'string') return reply.code(400).send(BAD_REQUEST);
      await demote({ ...owned, reason: reason.slice(0, 100) });
      return { ok: true };
    });
  }
  if (h.dispatch) {
    const dispatch = h.dispatch.bind(h);
    app.post(INTERNAL_PATHS.dispatch, async (request, reply) => {
      const shard = (request.body as Record<string, unknown> | null)?.['shard'];
      if (!nonNegativeInt(shard)) return reply.code(400).send(BAD_REQUEST);
      const outcome = dispatch(shard);
      return reply.code(outcome === 'accepted' ? 202 : 409).send({ outcome });
    });
  }
  if (h.peerView) {
    const peerView = h.peerView.bind(h);
    app.get(INTERNAL_PATHS.peerView, async () => {
      const view = peerView();
      return { master_id: view.masterId, coreapps: view.coreapps.map((c) => ({ coreapp_id: c.coreappId, silence_ms: c.silenceMs })) };
    });
  }
  if (h.settingsChanged) {
    const settingsChanged = h.settingsChanged.bind(h);
    app.post(INTERNAL_PATHS.settingsChanged, async () => {
      await settingsChanged();
      return { ok: true };
    });
  }
  if (h.coreappLeaving) {
    const leaving = h.coreappLeaving.bind(h);
    app.post(INTERNAL_PATHS.coreappLeaving, async (request, reply) => {
      const id = (request.body as Record<string, unknown> | null)?.['coreapp_id'];
      if (typeof id !== 'string' || id.length === 0 || id.length > 200) return reply.code(400).send(BAD_REQUEST);
      leaving(id);
      return { ok: true };
    });
  }
  if (h.coreappBack) {
    const back = h.coreappBack.bind(h);
    app.post(INTERNAL_PATHS.coreappBack, async (request, reply) => {
      const id = (request.body as Record<string, unknown> | null)?.['coreapp_id'];
      if (typeof id !== 'string' || id.length === 0 || id.length > 200) return reply.code(400).send(BAD_REQUEST);
      back(id);
      return { ok: true };
    });
  }
  if (h.handOver) {
    const handOver = h.handOver.bind(h);
    app.post(INTERNAL_PATHS.handOver, async (request, reply) => {
      const owned = ownershipFrom(request.body);
      if (owned === null) return reply.code(400).send(BAD_REQUEST);
      try {
        const answer = await handOver(owned);
        return { released: answer.released, new_owner: answer.newOwner, ms: answer.ms };
      } catch (error) {
        if (error instanceof NotOwnerError) return reply.code(409).send({ error: 'not_owner', details: error.message });
        return reply.code(500).send({ error: 'failed', details: (error as Error).message });
      }
    });
  }
  if (h.dbStats) {
    const dbStats = h.dbStats.bind(h);
    app.get(INTERNAL_PATHS.dbStats, async () => {
      const { nodeId, stats } = await dbStats();
      return { node_id: nodeId, stats };
    });
  }
  if (h.status) {
    const status = h.status.bind(h);
    app.get(INTERNAL_PATHS.status, async () => status());
  }
  if (h.changeShards) {
    const changeShards = h.changeShards.bind(h);
    app.post(INTERNAL_PATHS.shards, async (request, reply) => {
      const shards = (request.body as Record<string, unknown> | null)?.['shards'];
      if (!nonNegativeInt(shards)) return reply.code(400).send(BAD_REQUEST);
      try {
        return await changeShards(shards);
      } catch (error) {
        const details = (error as Error).message;
        if (error instanceof ShardChangeRefusedError) return reply.code(409).send({ error: 'refused', details });
        if (error instanceof NotPrimaryMasterError) return reply.code(503).send({ error: 'not_primary_master', details });
        return reply.code(500).send({ error: 'failed', details });
      }
    });
  }
  const address = await app.listen({ host: options.host, port: options.port });
  const port = options.advertisePort ?? (app.server.address() as { port: number }).port;
  const advertised = options.advertiseHost ?? (isWildcardHost(options.host) ? '127.0.0.1' : options.host);
  const host = advertised.includes(':') ? `[${advertised}]` : advertised;
  return { url: address.startsWith('http') ? `http://${host}:${port}` : address, close: () => app.close() };
}

/** Client side: one keep-alive connection pool for every internal call of this process. */
export class HttpClusterTransport implements ClusterTransport {
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, connections: 8, pipelining: 1 });

  /** `timeoutMs` bounds every call that does not name its own deadline. */
  constructor(secret: string, timeoutMs = 2_000) {
    this.#secret = secret;
    this.#timeoutMs = timeoutMs;
  }

  async heartbeat(internalUrl: string, timeoutMs: number): Promise<HeartbeatAnswer> {
    const body = (await this.#call('GET', internalUrl, INTERNAL_PATHS.heartbeat, undefined, timeoutMs)) as { node_id?: unknown; owns?: unknown };
    if (typeof body.node_id !== 'string') throw new ClusterCallError(`heartbeat of ${internalUrl}: malformed answer`);
    if (body.owns === null || body.owns === undefined) return { nodeId: body.node_id, owns: null };
    // A garbled claim must not read as "owns nothing" (that would make the coreapp a candidate).
    const owns: OwnershipClaim | null = ownershipFrom(body.owns);
    if (owns === null) throw new ClusterCallError(`heartbeat of ${internalUrl}: malformed ownership claim`);
    return { nodeId: body.node_id, owns };
  }

  async promote(internalUrl: string, message: PromoteMessage): Promise<void> {
    await this.#call('POST', internalUrl, INTERNAL_PATHS.promote, {
      generation: message.generation,
      shard: message.shard,
      epoch: message.epoch,
      lease_epoch: message.leaseEpoch,
    });
  }

  async demote(internalUrl: string, message: DemoteMessage): Promise<void> {
    await this.#call('POST', internalUrl, INTERNAL_PATHS.demote, { generation: message.generation, shard: message.shard, epoch: message.epoch, reason: message.reason });
  }

  async dispatch(internalUrl: string, shard: number): Promise<DispatchOutcome> {
    const body = (await this.#call('POST', internalUrl, INTERNAL_PATHS.dispatch, { shard }, this.#timeoutMs, [409])) as { outcome?: unknown };
    return body.outcome === 'accepted' ? 'accepted' : 'not_primary';
  }

  async peerView(internalUrl: string, timeoutMs: number): Promise<PeerView> {
    const body = (await this.#call('GET', internalUrl, INTERNAL_PATHS.peerView, undefined, timeoutMs)) as { master_id?: unknown; coreapps?: unknown };
    if (typeof body.master_id !== 'string' || !Array.isArray(body.coreapps)) throw new ClusterCallError(`peer view of ${internalUrl}: malformed answer`);
    const coreapps = body.coreapps.flatMap((c: unknown) => {
      const { coreapp_id: id, silence_ms: silence } = (c ?? {}) as Record<string, unknown>;
      return typeof id === 'string' && typeof silence === 'number' && Number.isFinite(silence) && silence >= 0 ? [{ coreappId: id, silenceMs: silence }] : [];
    });
    return { masterId: body.master_id, coreapps };
  }

  async settingsChanged(internalUrl: string): Promise<void> {
    await this.#call('POST', internalUrl, INTERNAL_PATHS.settingsChanged, {});
  }

  async coreappLeaving(internalUrl: string, coreappId: string): Promise<void> {
    await this.#call('POST', internalUrl, INTERNAL_PATHS.coreappLeaving, { coreapp_id: coreappId });
  }

  async coreappBack(internalUrl: string, coreappId: string): Promise<void> {
    await this.#call('POST', internalUrl, INTERNAL_PATHS.coreappBack, { coreapp_id: coreappId });
  }

  async handOver(internalUrl: string, ownership: OwnershipMessage, timeoutMs: number): Promise<HandOverAnswer> {
    const body = (await this.#call('POST', internalUrl, INTERNAL_PATHS.handOver, { generation: ownership.generation, shard: ownership.shard, epoch: ownership.epoch }, timeoutMs)) as Record<string, unknown>;
    return { released: body['released'] === true, newOwner: typeof body['new_owner'] === 'string' ? body['new_owner'] : null, ms: Number(body['ms']) };
  }

  async dbStats(internalUrl: string): Promise<{ nodeId: string; stats: unknown }> {
    const body = (await this.#call('GET', internalUrl, INTERNAL_PATHS.dbStats)) as { node_id?: unknown; stats?: unknown };
    if (typeof body.node_id !== 'string') throw new ClusterCallError(`db stats of ${internalUrl}: malformed answer`);
    return { nodeId: body.node_id, stats: body.stats };
  }

  async status(internalUrl: string, timeoutMs = this.#timeoutMs): Promise<NodeStatusAnswer> {
    return (await this.#call('GET', internalUrl, INTERNAL_PATHS.status, undefined, timeoutMs)) as NodeStatusAnswer;
  }

  async changeShards(internalUrl: string, shards: number, timeoutMs: number): Promise<{ shards: number; generation: number; ms: number }> {
    const body = (await this.#call('POST', internalUrl, INTERNAL_PATHS.shards, { shards }, timeoutMs)) as { shards?: unknown; generation?: unknown; ms?: unknown };
    return { shards: Number(body.shards), generation: Number(body.generation), ms: Number(body.ms) };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #call(method: 'GET' | 'POST', base: string, path: string, body?: unknown, timeoutMs = this.#timeoutMs, alsoOk: readonly number[] = []): Promise<unknown> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await request(`${base}${path}`, {
        method,
        dispatcher: this.#agent,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: { authorization: `Bearer ${this.#secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.body.text();
      if (response.statusCode >= 300 && !alsoOk.includes(response.statusCode)) {
        let details: string | null = null;
        try {
          const parsed = JSON.parse(text) as { details?: unknown };
          details = typeof parsed.details === 'string' ? parsed.details : null;
        } catch {
          // Not JSON: no details.
        }
        throw new ClusterCallError(`${method} ${base}${path}: HTTP ${response.statusCode}${details ? `: ${details}` : ''}`, response.statusCode, details);
      }
      return text.length === 0 ? {} : (JSON.parse(text) as unknown);
    } catch (error) {
      if (error instanceof ClusterCallError) throw error;
      throw new ClusterCallError(`${method} ${base}${path}: ${signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message}`);
    }
  }
}
