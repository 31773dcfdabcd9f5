/**
 * The simulator's HTTP API for tests, operators and the gateway's registration calls. Built as a
 * Fastify instance that never listens by itself, so tests can use `inject()`; `startSim` listens and
 * adds the WebSocket upgrade. Every error body is On-Prem's `{"errors":[{"code","title","details"}]}`.
 * The routes are documented in docs/upstream-protocol.md ("HTTP API").
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ERRORS, type ErrorSpec } from '../core/errors.js';
import { simContactsCheckMax, simMessagesPageMax } from '../core/limits.js';
import { checkContacts } from './check-contacts.js';
import type { SimResult } from './sim-accounts.js';
import type { SimNetwork } from './sim-network.js';
import { SIM_PROTOCOL } from '../core/upstream-protocol.js';

type Body = Record<string, unknown>;

function bodyOf(body: unknown): Body {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {};
}

function sendError(reply: FastifyReply, spec: ErrorSpec, details: string): FastifyReply {
  return reply.code(spec.httpStatus).send({ errors: [{ code: spec.onPremCode, title: spec.title, details }] });
}

function answer<T>(reply: FastifyReply, result: SimResult<T>, status: number, render: (value: T) => unknown): FastifyReply {
  if (!result.ok) return sendError(reply, result.error, result.details);
  return reply.code(status).send(render(result.value));
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  return match?.[1] ?? null;
}

function integerParam(value: unknown, fallback: number): number | null {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** Builds the HTTP API over `network`; `now` is the simulator's clock. */
export function buildSimHttpApi(network: SimNetwork, now: () => number): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const spec = error.statusCode !== undefined && error.statusCode < 500 ? ERRORS.INVALID_REQUEST : ERRORS.GENERIC;
    return sendError(reply, spec, error.message);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, ERRORS.NOT_FOUND, `no route ${request.method} ${request.url}`));
  registerCheckerRoutes(app, network);
  registerAccountRoutes(app, network);
  app.post('/sim/inbound', async (request, reply) => {
    const { from, text, to } = bodyOf(request.body);
    return answer(reply, network.injectInbound(from, text, to, now()), 202, (inbound) => ({ inbound }));
  });
  app.post('/sim/contacts', async (request, reply) => {
    const { contacts } = bodyOf(request.body);
    if (!Array.isArray(contacts) || contacts.length === 0 || contacts.length > simContactsCheckMax || !contacts.every((c) => typeof c === 'string')) {
      return sendError(reply, ERRORS.PARAMETER_INVALID, `contacts must be an array of 1-${simContactsCheckMax} strings`);
    }
    return { contacts: checkContacts(contacts as string[], network.options.invalidSuffix) };
  });
  app.get('/sim/info', async () => ({
    simulator: 'shardgate-sim',
    protocol: SIM_PROTOCOL.version,
    ws_path: SIM_PROTOCOL.path,
    seed: network.options.seed,
    delivered_delay_ms: network.options.deliveredDelayMs,
    read_delay_ms: network.options.readDelayMs,
    invalid_suffix: network.options.invalidSuffix,
    inbound_rate_per_second: network.options.inboundRatePerSecond,
    conn_rate_per_second: network.options.connRatePerSecond,
    auto_reply: network.options.autoReply,
    redelivery_ms: network.options.redeliveryMs,
    contacts: network.contactList().length,
  }));
  return app;
}

function registerCheckerRoutes(app: FastifyInstance, network: SimNetwork): void {
  app.get('/sim/report', async () => network.report());
  app.post('/sim/reset', async () => {
    network.checker.reset();
    return { reset: true };
  });
  app.get('/sim/messages', async (request, reply) => {
    const query = bodyOf(request.query);
    const after = integerParam(query['after'], 0);
    const limit = integerParam(query['limit'], 1_000);
    if (after === null || limit === null || limit < 1 || limit > simMessagesPageMax) {
      return sendError(reply, ERRORS.PARAMETER_INVALID, `after must be a non-negative integer and limit 1-${simMessagesPageMax}`);
    }
    const page = network.checker.messagesPage(after, limit);
    return { ids: page.ids, arrived_at_ms: page.at_ms, shards: page.shards, next_after: page.next, total: page.total };
  });
  app.post('/sim/messages/missing', async (request, reply) => {
    const { ids } = bodyOf(request.body);
    if (!Array.isArray(ids) || ids.length > simMessagesPageMax || !ids.every((id) => typeof id === 'string')) {
      return sendError(reply, ERRORS.PARAMETER_INVALID, `ids must be an array of at most ${simMessagesPageMax} strings`);
    }
    return { checked: ids.length, missing: network.checker.missing(ids as string[]) };
  });
}

function registerAccountRoutes(app: FastifyInstance, network: SimNetwork): void {
  app.post('/sim/accounts', async (request, reply) => {
    const { cc, phone_number: phoneNumber } = bodyOf(request.body);
    const requested = network.accounts.requestCode(cc, phoneNumber);
    return answer(reply, requested, 202, ({ waId }) => ({ account: { wa_id: waId, code_sent: true } }));
  });
  app.get('/sim/accounts', async () => ({ accounts: network.accounts.list().map((a) => accountView(network, a.waId)) }));
  app.get<{ Params: { wa_id: string } }>('/sim/accounts/:wa_id', async (request, reply) => {
    const view = accountView(network, request.params.wa_id);
    return view === null ? sendError(reply, ERRORS.NOT_FOUND, `no account ${request.params.wa_id}`) : { account: view };
  });
  app.get<{ Params: { wa_id: string } }>('/sim/accounts/:wa_id/code', async (request, reply) => {
    const code = network.accounts.get(request.params.wa_id)?.pendingCode ?? null;
    return code === null ? sendError(reply, ERRORS.NOT_FOUND, `no pending registration code for ${request.params.wa_id}`) : { code };
  });
  app.post<{ Params: { wa_id: string } }>('/sim/accounts/:wa_id/verify', async (request, reply) => {
    const verified = network.verify(request.params.wa_id, bodyOf(request.body)['code']);
    return answer(reply, verified, 201, (v) => ({ account: { wa_id: v.waId, credentials: v.credentials, shards: v.shards } }));
  });
  app.post<{ Params: { wa_id: string } }>('/sim/accounts/:wa_id/shards', async (request, reply) => {
    const changed = network.setShards(request.params.wa_id, bearer(request.headers.authorization), bodyOf(request.body)['shards']);
    return answer(reply, changed, 200, (v) => ({ account: { wa_id: v.waId, shards: v.shards } }));
  });
}

function accountView(network: SimNetwork, waId: string): Record<string, unknown> | null {
  const account = network.accounts.get(waId);
  if (account === undefined) return null;
  return {
    wa_id: account.waId,
    registered: account.credentials !== null,
    code_pending: account.pendingCode !== null,
    shards: account.shards,
    epochs: account.slots.slice(0, account.shards).map((slot) => slot.epochMax),
    connected: account.slots.slice(0, account.shards).map((slot) => slot.holder !== null),
    receipts_pending: account.receiptsPending,
    inbound_unacked: account.inboundUnacked,
  };
}
