/**
 * The WhatsApp Cloud API webhook (docs/cloud-api.md): where Meta posts statuses and inbound
 * messages when Shardgate runs with `--upstream cloud`.
 *
 * - `GET /cloud/webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: Meta's verification
 *   handshake. The challenge is echoed (200, text) when the verify token matches; 403 otherwise.
 * - `POST /cloud/webhook`: the body is verified first — `X-Hub-Signature-256: sha256=<hex>` must be
 *   the HMAC-SHA256 of the raw body bytes with the app secret (compared in constant time) — else 401
 *   and nothing is stored. Then every status and message is stored in the inbox (de-duplicated by
 *   event id, keyed by its contact's bucket) and only then is the webhook answered 200: an event
 *   answered 200 is durable. The primary coreapp of the contact's shard reads it from there and
 *   delivers the On-Prem webhook. A database failure answers 500, so Meta retries.
 *
 * The routes live in their own plugin: they read the body as raw bytes (the signature covers the
 * bytes, not a re-serialised JSON), and they take no bearer token (Meta cannot send one).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { cloudEventBucket, cloudEventContact, parseCloudWebhook } from '../../../core/cloud-webhook.js';
import { cloudWebhookBodyBytesMax, cloudWebhookEventsMax, storeBatchSizeMax } from '../../../core/limits.js';
import type { NewCloudEvent } from '../../../ports/cloud-store.js';
import type { ApiApp, WebappContext } from '../webapp-context.js';

export interface CloudWebhookSecrets {
  readonly appSecret: string;
  readonly verifyToken: string;
}

export const CLOUD_WEBHOOK_PATH = '/cloud/webhook';

export function registerCloudWebhookRoutes(app: ApiApp, ctx: WebappContext, secrets: CloudWebhookSecrets): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: cloudWebhookBodyBytesMax }, (_request, body, done) => done(null, body));

  app.get(CLOUD_WEBHOOK_PATH, { schema: { hide: true }, config: { auth: 'none' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const challenge = query['hub.challenge'];
    if (query['hub.mode'] === 'subscribe' && typeof query['hub.verify_token'] === 'string' && sameText(query['hub.verify_token'], secrets.verifyToken) && typeof challenge === 'string') {
      return reply.code(200).type('text/plain').send(challenge);
    }
    return reply.code(403).type('text/plain').send('verification failed');
  });

  app.post(CLOUD_WEBHOOK_PATH, { schema: { hide: true }, config: { auth: 'none' } }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    if (!validSignature(raw, request.headers['x-hub-signature-256'], secrets.appSecret)) {
      return reply.code(401).send({ error: 'invalid X-Hub-Signature-256' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // Signed but not JSON: nothing Meta could resend better; acknowledge so it is not retried for days.
      request.log.warn('a signed Cloud webhook body that is not JSON; ignored');
      return reply.code(200).send('EVENT_RECEIVED');
    }
    const parsed = parseCloudWebhook(body);
    if (parsed.events.length > cloudWebhookEventsMax) return reply.code(413).send({ error: `more than ${cloudWebhookEventsMax} events in one webhook` });
    const now = ctx.deps.clock.nowMs();
    const events: NewCloudEvent[] = parsed.events.map((event) => {
      const contact = cloudEventContact(event);
      return { eventId: event.eventId, bucket: cloudEventBucket(contact), contact, payload: JSON.stringify(event), receivedAtMs: now };
    });
    for (let i = 0; i < events.length; i += storeBatchSizeMax) await ctx.deps.stores.cloud.insertEvents(events.slice(i, i + storeBatchSizeMax));
    return reply.code(200).type('text/plain').send('EVENT_RECEIVED');
  });
}

/** `sha256=<hex>` of HMAC-SHA256(secret, raw), compared in constant time. */
function validSignature(raw: Buffer, header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
