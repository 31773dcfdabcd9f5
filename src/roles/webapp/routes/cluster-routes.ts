/**
 * Cluster operations (admin): `POST /v1/cluster/shards/{shard}/handover` asks the coreapp that owns
 * the shard to hand it over gracefully — the planned handover of its SIGTERM path (drain, release the
 * map row under its epoch, the primary master promotes another coreapp) — while it stays in the
 * cluster as a secondary. Answers once the owner released the shard and the master named a new owner
 * (or the owner's bounded wait ran out: `to` is then null and the master goes on).
 */
import { ApiError } from '../api-errors.js';
import { ErrorResponse, HandoverResponse, ShardParams } from '../api-schemas.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

const bearer = [{ bearer: [] }];
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse };

export function registerClusterRoutes(app: ApiApp, ctx: WebappContext): void {
  app.post(
    '/v1/cluster/shards/:shard/handover',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Hand a shard over gracefully to another coreapp (admin; cluster only)',
        security: bearer,
        params: ShardParams,
        response: { 200: HandoverResponse, ...errors },
      },
      config: { auth: 'admin' },
    },
    async (request) => {
      const cluster = ctx.deps.cluster;
      if (cluster === undefined) {
        throw new ApiError('PARAMETER_INVALID', 'this single-process gateway runs one coreapp: there is no other coreapp to hand a shard over to (run a cluster: shardgate cluster up)');
      }
      const handover = await cluster.handOver(request.params.shard);
      ctx.routing.invalidate();
      return { handover, meta: ctx.meta };
    },
  );
}
