/**
 * Health, support, stats and metrics (any authenticated user, as On-Prem's Bearer access):
 * `/v1/health` and `/v1/support` (single-instance form, or keyed by node id in a cluster), `/v1/stats/app`, `/v1/stats/db` and
 * `/v1/metrics`, the last three in On-Prem's JSON metric shape or Prometheus text
 * (`?format=prometheus`).
 */
import type { FastifyReply } from 'fastify';
import { dbStats } from '../../gateway/db-stats.js';
import { gauge, renderPrometheus, type OnPremMetrics } from '../api-metrics.js';
import { ErrorResponse, FormatQuery, HealthResponse, MetricsResponse, StatsResponse, SupportResponse } from '../api-schemas.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const bearer = [{ bearer: [] }];
const errors = { 400: ErrorResponse, 401: ErrorResponse };

function sendPrometheus(reply: FastifyReply, text: string): FastifyReply {
  return reply.type(PROMETHEUS_TYPE).send(text);
}

async function appStats(ctx: WebappContext): Promise<OnPremMetrics> {
  const callbacks = await ctx.deps.stores.callbacks.counts();
  return {
    callback_queue_size: gauge('Current callback queue size', callbacks.pending),
    endpoint_requests: await ctx.metrics.endpointRequests(),
  };
}

export function registerMonitoringRoutes(app: ApiApp, ctx: WebappContext): void {
  const { deps } = ctx;
  app.get(
    '/v1/health',
    { schema: { tags: ['monitoring'], summary: 'Gateway health (single-instance form; keyed by node id in a cluster)', security: bearer, response: { 200: HealthResponse, 401: ErrorResponse } }, config: { auth: 'user' } },
    async () => ({ health: deps.cluster ? await deps.cluster.health() : { gateway_status: deps.gatewayStatus() }, meta: ctx.meta }),
  );
  app.get(
    '/v1/support',
    { schema: { tags: ['monitoring'], summary: 'Support information about this node', security: bearer, response: { 200: SupportResponse, 401: ErrorResponse } }, config: { auth: 'user' } },
    async () => ({ support: deps.cluster ? await deps.cluster.support() : { ...deps.support(), node: deps.nodeId, version: deps.version }, meta: ctx.meta }),
  );
  app.get(
    '/v1/stats/app',
    { schema: { tags: ['monitoring'], summary: 'Application stats (callback queue, requests per endpoint)', security: bearer, querystring: FormatQuery, response: { 200: StatsResponse, ...errors } }, config: { auth: 'user' } },
    async (request, reply) => {
      const stats = await appStats(ctx);
      if (request.query.format === 'prometheus') return sendPrometheus(reply, renderPrometheus(stats, { node: deps.nodeId }));
      return { stats: { app: stats }, meta: ctx.meta };
    },
  );
  app.get(
    '/v1/stats/db',
    { schema: { tags: ['monitoring'], summary: 'Database stats, keyed by node', security: bearer, querystring: FormatQuery, response: { 200: StatsResponse, ...errors } }, config: { auth: 'user' } },
    async (request, reply) => {
      // In a cluster the primary master computes them (keyed by its node id); alone, this node does.
      const computed = (await deps.cluster?.dbStats()) ?? { nodeId: deps.nodeId, stats: await dbStats(ctx.deps.stores) };
      const stats = computed.stats as OnPremMetrics;
      if (request.query.format === 'prometheus') return sendPrometheus(reply, renderPrometheus(stats, { node: computed.nodeId }));
      return { stats: { db: { [computed.nodeId]: stats } }, meta: ctx.meta };
    },
  );
  app.get(
    '/v1/metrics',
    { schema: { tags: ['monitoring'], summary: 'Webapp metrics', security: bearer, querystring: FormatQuery, response: { 200: MetricsResponse, ...errors } }, config: { auth: 'user' } },
    async (request, reply) => {
      if (request.query.format === 'prometheus') return sendPrometheus(reply, await ctx.metrics.prometheus());
      return { metrics: await ctx.metrics.json(), meta: ctx.meta };
    },
  );
}
