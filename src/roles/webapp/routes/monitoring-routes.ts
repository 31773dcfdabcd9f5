/**
 * Health, support, stats and metrics (any authenticated user, as On-Prem's Bearer access):
 * `/v1/health` (single-instance form), `/v1/support`, `/v1/stats/app`, `/v1/stats/db` and
 * `/v1/metrics`, the last three in On-Prem's JSON metric shape or Prometheus text
 * (`?format=prometheus`).
 */
import type { FastifyReply } from 'fastify';
import { gauge, renderPrometheus, type OnPremMetric, type OnPremMetrics } from '../api-metrics.js';
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

async function dbStats(ctx: WebappContext): Promise<OnPremMetrics> {
  const { messages, callbacks } = ctx.deps.stores;
  const [byStatus, callbackCounts] = await Promise.all([messages.countByStatus(), callbacks.counts()]);
  const dbMessages: OnPremMetric = {
    type: 'gauge',
    help: 'Current number of messages in DB',
    data: Object.entries(byStatus).map(([status, value]) => ({ labels: { status }, value })),
  };
  return {
    db_message_receipts: gauge('Current number of message receipts in DB', byStatus.delivered + byStatus.read),
    db_messages: dbMessages,
    db_pending_callbacks: gauge('Current number of pending callbacks in DB', callbackCounts.pending),
    db_pending_messages: gauge('Current number of pending messages in DB', byStatus.accepted),
    db_dead_callbacks: gauge('Callbacks given up on (kept for inspection)', callbackCounts.dead),
  };
}

export function registerMonitoringRoutes(app: ApiApp, ctx: WebappContext): void {
  const { deps } = ctx;
  app.get(
    '/v1/health',
    { schema: { tags: ['monitoring'], summary: 'Gateway health (single-instance form)', security: bearer, response: { 200: HealthResponse, 401: ErrorResponse } }, config: { auth: 'user' } },
    async () => ({ health: { gateway_status: deps.gatewayStatus() }, meta: ctx.meta }),
  );
  app.get(
    '/v1/support',
    { schema: { tags: ['monitoring'], summary: 'Support information about this node', security: bearer, response: { 200: SupportResponse, 401: ErrorResponse } }, config: { auth: 'user' } },
    async () => ({ support: { ...deps.support(), node: deps.nodeId, version: deps.version }, meta: ctx.meta }),
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
      const stats = await dbStats(ctx);
      if (request.query.format === 'prometheus') return sendPrometheus(reply, renderPrometheus(stats, { node: deps.nodeId }));
      return { stats: { db: { [deps.nodeId]: stats } }, meta: ctx.meta };
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
