/**
 * `/v1/messages`: the durable accept. A text message is validated, routed to its shard
 * (`shardOf(wa_id, shards)` of the current shard-map generation), inserted as `accepted`, and only
 * after the insert resolved is the shard's primary coreapp told and the client answered 201 — so a
 * 201 always names a stored message. `Idempotency-Key` (scoped per user) makes a retry return the
 * first message's id without a second row. A full backlog is 503 / 1016 with `Retry-After`.
 */
import type { NewMessage, StoredMessage } from '../../../ports/message-store.js';
import { GenerationRetiredError, QueueFullError } from '../message-insert-batcher.js';
import { createHash } from 'node:crypto';
import { idempotencyKeyLengthMax, overloadedRetryAfterSeconds, textBodyLengthMax } from '../../../core/limits.js';
import { normaliseWaId, shardOf } from '../../../core/shard-hash.js';
import { ApiError, quote } from '../api-errors.js';
import { newMessageId } from '../api-tokens.js';
import { ErrorResponse, IdempotencyHeaders, MarkReadBody, MessageIdParams, MetaOnlyResponse, SendMessageBody, SendMessageResponse } from '../api-schemas.js';
import { quoted } from '../validation-errors.js';
import { callerOf, type ApiApp, type WebappContext } from '../webapp-context.js';

const bearer = [{ bearer: [] }];
/** A send routed on a generation retired meanwhile is routed again, at most this many times in all. */
const routeAttemptsMax = 3;

const sendRules = {
  fieldsFirst: ['type', 'recipient_type'],
  fieldRules: {
    type: { error: 'PARAMETER_INVALID', details: (v: unknown) => `unsupported message type ${quoted(v)}: only "text" messages are supported` },
    recipient_type: { error: 'INVALID_RECIPIENT_TYPE', details: (v: unknown) => `recipient_type ${quoted(v)} is not supported: only "individual"` },
    'text.body': { error: 'MESSAGE_TOO_LONG', keywords: ['maxLength'], details: () => `text.body is longer than ${textBodyLengthMax} characters` },
  },
} as const;

/**
 * The key stored for a client's Idempotency-Key: `<username>:<key>`, so two users never collide. When
 * that is longer than the column, the key part is replaced by its SHA-256 (`<username>:sha256:<b64>`).
 */
export function scopedIdempotencyKey(username: string, key: string): string {
  const plain = `${username}:${key}`;
  if (plain.length <= idempotencyKeyLengthMax) return plain;
  return `${username}:sha256:${createHash('sha256').update(key).digest('base64url')}`;
}

export function registerMessageRoutes(app: ApiApp, ctx: WebappContext): void {
  const { stores, clock, options } = ctx.deps;
  app.post(
    '/v1/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send a text message: 201 once it is stored',
        security: bearer,
        headers: IdempotencyHeaders,
        body: SendMessageBody,
        response: { 201: SendMessageResponse, 400: ErrorResponse, 401: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse },
      },
      config: { auth: 'user', ...sendRules },
    },
    async (request, reply) => {
      const { to, text, preview_url: previewUrl } = request.body;
      const waId = normaliseWaId(to);
      if (waId === null) throw new ApiError('PARAMETER_INVALID', `to ${quote(to)} is not a phone number or wa_id (digits, optionally with +, spaces, -, ( ) or .)`);
      const pending = await ctx.backlog.pending();
      if (pending >= options.pendingMessagesMax) {
        ctx.metrics.refused('backlog');
        throw new ApiError('OVERLOADED', `${pending} messages wait to be sent (bound ${options.pendingMessagesMax}); retry later`, overloadedRetryAfterSeconds);
      }
      const key = request.headers['idempotency-key'];
      const id = newMessageId();
      const payload = JSON.stringify({ type: 'text', text: { body: text.body }, preview_url: previewUrl ?? false });
      const idempotencyKey = key === undefined ? null : scopedIdempotencyKey(callerOf(request).username, key);
      let stored: { message: StoredMessage; created: boolean } | null = null;
      // Routed on the current generation; if a shard-count change retired it meanwhile, route again.
      for (let attempt = 1; stored === null; attempt++) {
        const { account, map } = await ctx.routing.get();
        if (account?.state !== 'registered') {
          throw new ApiError('SERVICE_NOT_READY', 'no account is registered: register the account first (POST /v1/account, then POST /v1/account/verify)');
        }
        if (map === null) throw new ApiError('SERVICE_NOT_READY', 'the shard map is not initialised yet; retry shortly');
        try {
          stored = await insertOrOverloaded(ctx, {
            id,
            generation: map.generation.generation,
            shard: shardOf(waId, map.generation.shards),
            recipient: waId,
            payload,
            idempotencyKey,
            createdAtMs: clock.nowMs(),
          });
        } catch (error) {
          if (!(error instanceof GenerationRetiredError) || attempt >= routeAttemptsMax) throw error;
          ctx.routing.invalidate();
        }
      }
      const { message, created } = stored;
      if (created) {
        ctx.backlog.noteAccepted();
        notify(ctx, request.log, message.shard);
      }
      return reply.code(201).send({ contacts: [{ input: to, wa_id: message.recipient }], messages: [{ id: message.id }], meta: ctx.meta });
    },
  );
  app.put(
    '/v1/messages/:id',
    {
      schema: { tags: ['messages'], summary: 'Mark an inbound message as read', security: bearer, params: MessageIdParams, body: MarkReadBody, response: { 200: MetaOnlyResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse } },
      config: { auth: 'user', fieldRules: { status: { error: 'PARAMETER_INVALID', details: (v: unknown) => `status ${quoted(v)} is not supported: only "read"` } } },
    },
    async (request) => {
      if (!(await stores.inbound.markRead(request.params.id))) throw new ApiError('NOT_FOUND', `no inbound message ${quote(request.params.id)}`);
      return { meta: ctx.meta };
    },
  );
}

/** Inserts through the group commit; a full commit queue is back-pressure (503 / 1016), not a failure. */
async function insertOrOverloaded(ctx: WebappContext, message: NewMessage): Promise<{ message: StoredMessage; created: boolean }> {
  try {
    return await ctx.inserts.insert(message);
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    ctx.metrics.refused('backlog');
    throw new ApiError('OVERLOADED', `${error.message}; retry later`, overloadedRetryAfterSeconds);
  }
}

/** The dispatch is a hint (coreapps also poll): its failure must not fail a stored message. */
function notify(ctx: WebappContext, log: { warn(obj: object, msg: string): void }, shard: number): void {
  try {
    ctx.deps.dispatch.notify(shard);
  } catch (error) {
    log.warn({ err: error, shard }, 'shard dispatch failed; the coreapp will find the message when it polls');
  }
}
