import { afterEach, describe, expect, it } from 'vitest';
import { pendingCountCacheMs } from '../../src/core/limits.js';
import { shardOf } from '../../src/core/shard-hash.js';
import type { StoredMessage } from '../../src/ports/message-store.js';
import { scopedIdempotencyKey } from '../../src/roles/webapp/routes/messages-routes.js';
import { onPremError, startApi, type ApiHarness } from './support/api-harness.js';
import { waitForValue } from '../support/wait-for.js';

let h: ApiHarness;
afterEach(async () => h?.close());

const text = (to: string, body = 'hello') => ({ to, type: 'text', text: { body } });

async function send(token: string, payload: unknown, headers: Record<string, string> = {}) {
  return h.request({ method: 'POST', url: '/v1/messages', token, payload: payload as object, headers });
}

async function stored(id: string): Promise<StoredMessage> {
  const message = await h.stores.messages.get(id);
  if (message === null) throw new Error(`message ${id} not stored`);
  return message;
}

describe('POST /v1/messages', () => {
  it('stores the message before notifying its shard and answering 201 with contacts and id', async () => {
    h = await startApi({ registeredShards: 4 });
    const token = await h.tokenFor('admin');
    const seenAtNotify: number[] = [];
    h.dispatch.onNotify = () => {
      void h.stores.messages.countByStatus().then((c) => seenAtNotify.push(c.accepted));
    };
    const response = await send(token, { ...text('+1 (631) 555-1234', 'Hi there'), preview_url: true, recipient_type: 'individual' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.contacts).toEqual([{ input: '+1 (631) 555-1234', wa_id: '16315551234' }]);
    const id = body.messages[0].id as string;
    expect(id).toMatch(/^gBEG[A-Za-z0-9_-]{24}$/);
    expect(body.meta).toEqual({ api_status: 'stable', version: '0.0.0-test' });
    const message = await stored(id);
    const shard = shardOf('16315551234', 4);
    expect(message).toMatchObject({ generation: 1, shard, recipient: '16315551234', status: 'accepted', idempotencyKey: null, createdAtMs: h.clock.nowMs() });
    expect(JSON.parse(message.payload)).toEqual({ type: 'text', text: { body: 'Hi there' }, preview_url: true });
    expect(h.dispatch.notified).toEqual([shard]);
    await Promise.resolve();
    expect(seenAtNotify).toEqual([1]);
  });

  it('routes every recipient to shardOf(wa_id, shards) of the current generation; type defaults to text', async () => {
    h = await startApi({ registeredShards: 8 });
    const token = await h.tokenFor('admin');
    for (let i = 0; i < 20; i++) {
      const to = `4915112345${String(i).padStart(3, '0')}`;
      const response = await send(token, { to, text: { body: `n${i}` } });
      expect(response.statusCode).toBe(201);
      expect((await stored(response.json().messages[0].id)).shard).toBe(shardOf(to, 8));
    }
    expect(new Set(h.dispatch.notified).size).toBeGreaterThan(1);
  });

  it('needs a registered account and a shard map (500 / 1011)', async () => {
    h = await startApi();
    const token = await h.tokenFor('admin');
    const unregistered = await send(token, text('16315551234'));
    expect(unregistered.statusCode).toBe(500);
    expect(onPremError(unregistered)).toMatchObject({ code: 1011, title: 'Service not ready' });
    expect(onPremError(unregistered).details).toMatch(/register the account first/);
    await h.register();
    expect((await send(token, text('16315551234'))).statusCode).toBe(201);
  });

  it('without a shard map yet: 1011 and nothing stored', async () => {
    h = await startApi();
    const token = await h.tokenFor('admin');
    const account = { state: 'registered', wa_id: '16315550000', cc: '1', phone_number: '6315550000', credentials: 'c', shards: 1, registered_at_ms: 0 };
    await h.stores.settings.set({ account }, 0);
    const response = await send(token, text('16315551234'));
    expect(response.statusCode).toBe(500);
    expect(onPremError(response)).toMatchObject({ code: 1011, details: 'the shard map is not initialised yet; retry shortly' });
    expect((await h.stores.messages.countByStatus()).accepted).toBe(0);
    expect(h.dispatch.notified).toEqual([]);
  });

  it.each([
    [{ to: '16315551234', type: 'image', image: { link: 'x' } }, 1009, 'unsupported message type "image": only "text" messages are supported'],
    [{ to: '16315551234', recipient_type: 'group', text: { body: 'x' } }, 1002, 'recipient_type "group" is not supported: only "individual"'],
    [{ to: '16315551234', text: { body: 'x'.repeat(4097) } }, 1001, 'text.body is longer than 4096 characters'],
    [{ to: '16315551234', type: 'text' }, 1008, 'text is required'],
    [{ to: '16315551234', text: {} }, 1008, 'text.body is required'],
    [{ text: { body: 'x' } }, 1008, 'to is required'],
    [{ to: 'not a number', text: { body: 'x' } }, 1009, 'to "not a number" is not a phone number or wa_id (digits, optionally with +, spaces, -, ( ) or .)'],
    [{ to: '123456789012345678901', text: { body: 'x' } }, 1009, /^to "123456789012345678901" is not a phone number/],
    [{ to: '', text: { body: 'x' } }, 1009, 'to must not be empty'],
    [{ to: 16315551234, text: { body: 'x' } }, 1009, 'to must be a string'],
    [{ to: '16315551234', text: { body: '' } }, 1009, 'text.body must not be empty'],
    [{ to: '16315551234', text: { body: 5 } }, 1009, 'text.body must be a string'],
    [{ to: '16315551234', text: 'hello' }, 1009, 'text must be a JSON object'],
    [{ to: '16315551234', text: { body: 'x' }, preview_url: 'yes' }, 1009, 'preview_url must be true or false'],
    [{ to: '16315551234', text: { body: 'x', preview_url: true } }, 1009, 'text.preview_url is not a known parameter'],
    [{ to: '16315551234', text: { body: 'x' }, ttl: 5 }, 1009, 'ttl is not a known parameter'],
  ])('validates %j → %i', async (payload, code, details) => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    const response = await send(token, payload);
    expect(response.statusCode).toBe(400);
    expect(onPremError(response).code).toBe(code);
    if (typeof details === 'string') expect(onPremError(response).details).toBe(details);
    else expect(onPremError(response).details).toMatch(details);
    expect((await h.stores.messages.countByStatus()).accepted).toBe(0);
  });

  it('accepts exactly 4096 characters (code points, so emoji count once)', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    expect((await send(token, text('16315551234', 'x'.repeat(4096)))).statusCode).toBe(201);
    expect((await send(token, text('16315551234', '😀'.repeat(4096)))).statusCode).toBe(201);
    expect(onPremError(await send(token, text('16315551234', '😀'.repeat(4097)))).code).toBe(1001);
  });

  it('still answers 201 when the dispatch hint fails (the message is stored; coreapps poll)', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    h.dispatch.throws = true;
    const response = await send(token, text('16315551234'));
    expect(response.statusCode).toBe(201);
    expect((await stored(response.json().messages[0].id)).status).toBe('accepted');
  });
});

describe('Idempotency-Key', () => {
  it('a retry with the same key returns the same id and stores one message, notified once', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    const first = await send(token, text('16315551234'), { 'idempotency-key': 'order-42' });
    const retry = await send(token, text('16315551234'), { 'idempotency-key': 'order-42' });
    // Documented: a different body under the same key still returns the first message.
    const changed = await send(token, text('16315559999', 'other'), { 'idempotency-key': 'order-42' });
    expect([first.statusCode, retry.statusCode, changed.statusCode]).toEqual([201, 201, 201]);
    const id = first.json().messages[0].id;
    expect(retry.json().messages[0].id).toBe(id);
    expect(changed.json().messages[0].id).toBe(id);
    expect(changed.json().contacts[0].wa_id).toBe('16315551234');
    expect((await h.stores.messages.countByStatus()).accepted).toBe(1);
    expect((await stored(id)).idempotencyKey).toBe('admin:order-42');
    expect(h.dispatch.notified).toHaveLength(1);
    const other = await send(token, text('16315551234'), { 'idempotency-key': 'order-43' });
    expect(other.json().messages[0].id).not.toBe(id);
  });

  it('is scoped per user', async () => {
    h = await startApi({ registeredShards: 1 });
    await h.createUser('alice');
    const admin = await h.tokenFor('admin');
    const alice = await h.tokenFor('alice');
    const a = await send(admin, text('16315551234'), { 'idempotency-key': 'same' });
    const b = await send(alice, text('16315551234'), { 'idempotency-key': 'same' });
    expect(a.json().messages[0].id).not.toBe(b.json().messages[0].id);
    expect((await h.stores.messages.countByStatus()).accepted).toBe(2);
  });

  it('keys up to 128 characters work for any username (long scoped keys are hashed); longer keys are 1009', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    const key = 'k'.repeat(128);
    const first = await send(token, text('16315551234'), { 'idempotency-key': key });
    const again = await send(token, text('16315551234'), { 'idempotency-key': key });
    expect(first.json().messages[0].id).toBe(again.json().messages[0].id);
    expect((await stored(first.json().messages[0].id)).idempotencyKey).toBe(scopedIdempotencyKey('admin', key));
    expect(scopedIdempotencyKey('admin', key)).toMatch(/^admin:sha256:[A-Za-z0-9_-]{43}$/);
    const tooLong = await send(token, text('16315551234'), { 'idempotency-key': 'k'.repeat(129) });
    expect(tooLong.statusCode).toBe(400);
    expect(onPremError(tooLong)).toMatchObject({ code: 1009, details: 'header idempotency-key must be at most 128 characters long' });
  });
});

describe('backlog bound', () => {
  it('answers 503 / 1016 with Retry-After at pendingMessagesMax, without storing; recovers once sends drain', async () => {
    h = await startApi({ registeredShards: 1, options: { pendingMessagesMax: 3 } });
    const token = await h.tokenFor('admin');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send(token, text('16315551234', `m${i}`))).json().messages[0].id);
    const refused = await send(token, text('16315551234', 'one too many'));
    expect(refused.statusCode).toBe(503);
    expect(onPremError(refused)).toMatchObject({ code: 1016, title: 'System overloaded' });
    expect(refused.headers['retry-after']).toBe('1');
    expect((await h.stores.messages.countByStatus()).accepted).toBe(3);
    for (const id of ids) await h.stores.messages.recordStatus(id, 'sent', h.clock.nowMs());
    // The count is cached for pendingCountCacheMs: still refused until it is read again.
    expect((await send(token, text('16315551234'))).statusCode).toBe(503);
    h.clock.advance(pendingCountCacheMs + 1);
    // Past the period the count is read again in the background; the request that started it is
    // still answered from the last count, the ones after it from the new one.
    expect((await send(token, text('16315551234'))).statusCode).toBe(503);
    await waitForValue(async () => (await send(token, text('16315551234'))).statusCode, (code) => code === 201, 'a send accepted once the new count landed');
    expect((await h.stores.messages.countByStatus()).accepted).toBe(1);
  });

  it('reads the count from the store at most once per cache period', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    const messages = h.stores.messages;
    let reads = 0;
    const original = messages.countByStatus.bind(messages);
    messages.countByStatus = async () => {
      reads++;
      return original();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(token, text('16315551234', `c${i}`))));
    expect(reads).toBe(1);
    h.clock.advance(pendingCountCacheMs + 1);
    for (let i = 0; i < 5; i++) await send(token, text('16315551234'));
    expect(reads).toBe(2);
  });
});

describe('PUT /v1/messages/{id}', () => {
  it('marks an inbound message read; unknown ids are 404 / 1006; only "read" is accepted', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await h.tokenFor('admin');
    await h.stores.inbound.insert({ id: 'ABGGFjFVU2AfAgo6V', shard: 0, sender: '16315551234', payload: '{}', receivedAtMs: 1 });
    const read = await h.request({ method: 'PUT', url: '/v1/messages/ABGGFjFVU2AfAgo6V', token, payload: { status: 'read' } });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ meta: { api_status: 'stable', version: '0.0.0-test' } });
    expect((await h.stores.inbound.get('ABGGFjFVU2AfAgo6V'))?.status).toBe('read');
    const unknown = await h.request({ method: 'PUT', url: '/v1/messages/nope', token, payload: { status: 'read' } });
    expect(unknown.statusCode).toBe(404);
    expect(onPremError(unknown)).toMatchObject({ code: 1006, details: 'no inbound message "nope"' });
    const delivered = await h.request({ method: 'PUT', url: '/v1/messages/ABGGFjFVU2AfAgo6V', token, payload: { status: 'delivered' } });
    expect(onPremError(delivered)).toMatchObject({ code: 1009, details: 'status "delivered" is not supported: only "read"' });
    expect(onPremError(await h.request({ method: 'PUT', url: '/v1/messages/ABGGFjFVU2AfAgo6V', token, payload: {} })).code).toBe(1008);
    expect((await h.request({ method: 'PUT', url: '/v1/messages/ABGGFjFVU2AfAgo6V', payload: { status: 'read' } })).statusCode).toBe(401);
  });
});
