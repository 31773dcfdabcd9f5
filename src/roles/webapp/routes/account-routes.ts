/**
 * `/v1/account`: registration of the business number against the network, in On-Prem's two steps
 * (request a code → 202; verify it → 201), and the shard count. The account record lives in the
 * settings store under `account`; coreapps and the master pick it up from there.
 */
import { ACCOUNT_SETTINGS_KEY, accountFromStored, type AccountRecord } from '../../../core/account.js';
import { SHARD_COUNTS } from '../../../core/limits.js';
import { ClusterCallError } from '../../../ports/cluster-transport.js';
import type { Stores } from '../../../ports/stores.js';
import { ApiError } from '../api-errors.js';
import { AccountBody, AccountResponse, ErrorResponse, MetaOnlyResponse, SetShardsBody, ShardsResponse, VerifyBody } from '../api-schemas.js';
import { upstreamFailure } from '../upstream-failure.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 500: ErrorResponse };
const bearer = [{ bearer: [] }];

export async function readAccount(stores: Stores): Promise<AccountRecord | null> {
  return accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
}

export function registerAccountRoutes(app: ApiApp, ctx: WebappContext): void {
  const { stores, clock, upstream } = ctx.deps;
  app.post(
    '/v1/account',
    {
      schema: {
        tags: ['account'],
        summary: 'Request a registration code (admin): 202 when a code was sent, 201 when this number is already registered',
        security: bearer,
        body: AccountBody,
        response: { 201: AccountResponse, 202: AccountResponse, ...errors },
      },
      config: { auth: 'admin' },
    },
    async (request, reply) => {
      const { cc, phone_number: phoneNumber, method } = request.body;
      const account = await readAccount(stores);
      const answer = { account: [{ vname: null }], meta: ctx.meta };
      if (account?.state === 'registered') {
        if (account.cc === cc && account.phone_number === phoneNumber) return reply.code(201).send(answer);
        throw new ApiError('PARAMETER_INVALID', `this gateway is already registered as ${account.wa_id}; one installation serves one account`);
      }
      let waId: string;
      try {
        ({ waId } = await upstream.requestCode(cc, phoneNumber, method));
      } catch (error) {
        throw upstreamFailure(error, 'the registration code request');
      }
      const pending: AccountRecord = { state: 'pending', wa_id: waId, cc, phone_number: phoneNumber, requested_at_ms: clock.nowMs() };
      await stores.settings.set({ [ACCOUNT_SETTINGS_KEY]: pending }, clock.nowMs());
      ctx.routing.invalidate();
      return reply.code(202).send(answer);
    },
  );
  app.post(
    '/v1/account/verify',
    { schema: { tags: ['account'], summary: 'Verify the registration code (admin)', security: bearer, body: VerifyBody, response: { 201: MetaOnlyResponse, ...errors } }, config: { auth: 'admin' } },
    async (request, reply) => {
      const account = await readAccount(stores);
      if (account === null) throw new ApiError('PARAMETER_INVALID', 'no registration is in progress: request a code with POST /v1/account first');
      if (account.state === 'registered') throw new ApiError('PARAMETER_INVALID', `the account ${account.wa_id} is already registered`);
      let credentials: string;
      try {
        ({ credentials } = await upstream.verify(account.wa_id, request.body.code));
      } catch (error) {
        throw upstreamFailure(error, 'the registration code');
      }
      const nowMs = clock.nowMs();
      const registered: AccountRecord = {
        state: 'registered',
        wa_id: account.wa_id,
        cc: account.cc,
        phone_number: account.phone_number,
        credentials,
        shards: 1,
        registered_at_ms: nowMs,
      };
      await stores.settings.set({ [ACCOUNT_SETTINGS_KEY]: registered }, nowMs);
      ctx.routing.invalidate();
      return reply.code(201).send({ meta: ctx.meta });
    },
  );
  app.get(
    '/v1/account/shards',
    { schema: { tags: ['account'], summary: 'The shard count of the account (1 before registration)', security: bearer, response: { 200: ShardsResponse, 401: ErrorResponse } }, config: { auth: 'user' } },
    async () => {
      const account = await readAccount(stores);
      return { account: { shards: account?.state === 'registered' ? account.shards : 1 }, meta: ctx.meta };
    },
  );
  app.post(
    '/v1/account/shards',
    {
      schema: {
        tags: ['account'],
        summary: 'Change the shard count (admin): 201 once every new shard is served; messages keep flowing meanwhile',
        security: bearer,
        body: SetShardsBody,
        response: { 201: ShardsResponse, ...errors, 503: ErrorResponse },
      },
      config: { auth: 'admin' },
    },
    async (request, reply) => {
      const { cc, phone_number: phoneNumber, shards } = request.body;
      if (!(SHARD_COUNTS as readonly number[]).includes(shards)) {
        throw new ApiError('PARAMETER_INVALID', `shards ${shards} is not allowed: one of ${SHARD_COUNTS.join(', ')}`);
      }
      const account = await readAccount(stores);
      if (account?.state !== 'registered') throw new ApiError('PARAMETER_INVALID', 'no account is registered: register it first (POST /v1/account, then POST /v1/account/verify)');
      if (account.cc !== cc || account.phone_number !== phoneNumber) {
        throw new ApiError('PARAMETER_INVALID', `cc and phone_number must name the registered account (${account.wa_id})`);
      }
      const cluster = ctx.deps.cluster;
      if (cluster === undefined) {
        // One process runs one coreapp, and one coreapp owns at most one shard.
        if (shards !== 1) throw new ApiError('PARAMETER_INVALID', `${shards} shards need ${shards} coreapps; this single-process gateway runs one (run a cluster: shardgate cluster up --shards ${shards})`);
        return reply.code(201).send({ account: { shards: 1 }, meta: ctx.meta });
      }
      try {
        await cluster.changeShards(shards);
      } catch (error) {
        if (error instanceof ClusterCallError && error.statusCode === 409) throw new ApiError('PARAMETER_INVALID', error.details ?? error.message, null, error);
        if (error instanceof ClusterCallError && (error.statusCode === 503 || error.statusCode === null) && error.details === null) {
          throw new ApiError('NOT_PRIMARY_MASTER', 'no primary master answered; retry shortly', null, error);
        }
        const why = error instanceof ClusterCallError ? (error.details ?? error.message) : (error as Error).message;
        throw new ApiError('NOT_PRIMARY_MASTER', `the shard-count change did not complete: ${why}; retry to finish it`, null, error);
      }
      ctx.routing.invalidate();
      return reply.code(201).send({ account: { shards }, meta: ctx.meta });
    },
  );
}
