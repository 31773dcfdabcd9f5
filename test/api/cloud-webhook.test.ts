/**
 * `/cloud/webhook`: Meta's verification handshake, the signature over the raw body (a bad or missing
 * signature is 401 and stores nothing), and storage in the inbox de-duplicated by event id (a
 * replayed webhook stores nothing new), keyed by the contact's bucket.
 */
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cloudEventBucket } from '../../src/core/cloud-webhook.js';
import { startApi, type ApiHarness } from './support/api-harness.js';

const APP_SECRET = 'app-secret-for-tests-0123456789';
const VERIFY_TOKEN = 'verify-me-please';

function sign(body: string, secret = APP_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function statusWebhook(statuses: { id: string; status: string; recipient_id: string }[]): string {
  const value = { messaging_product: 'whatsapp', metadata: { phone_number_id: '106540352242922' }, statuses: statuses.map((s) => ({ ...s, timestamp: '1749416400', biz_opaque_callback_data: 'gBG-1' })) };
  // Spacing a JSON re-serialisation would not keep: the signature must be over these exact bytes.
  return `{ "object": "whatsapp_business_account", "entry": [ { "id": "1", "changes": [ { "field": "messages", "value": ${JSON.stringify(value, null, 1)} } ] } ] }`;
}

describe('Cloud API webhook', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await startApi({ cloudWebhook: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN } });
  });
  afterEach(async () => api.close());

  it('echoes the challenge when the verify token matches, 403 otherwise', async () => {
    const ok = await api.request({ method: 'GET', url: `/cloud/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444` });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    for (const query of [`hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1`, `hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`, `hub.mode=subscribe&hub.challenge=1`]) {
      const refused = await api.request({ method: 'GET', url: `/cloud/webhook?${query}` });
      expect(refused.statusCode, query).toBe(403);
      expect(refused.body).not.toContain('1158201444');
    }
  });

  it('refuses a bad, missing or re-serialised signature with 401 and stores nothing', async () => {
    const body = statusWebhook([{ id: 'wamid.A', status: 'delivered', recipient_id: '16315551000' }]);
    const attempts: Record<string, string | undefined> = {
      missing: undefined,
      'wrong secret': sign(body, 'another-secret'),
      'not sha256': sign(body).replace('sha256=', 'sha1='),
      'signature of the re-serialised JSON': sign(JSON.stringify(JSON.parse(body))),
      garbage: 'sha256=zz',
    };
    for (const [what, signature] of Object.entries(attempts)) {
      const response = await api.request({
        method: 'POST',
        url: '/cloud/webhook',
        headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }) },
        payload: body,
      });
      expect(response.statusCode, what).toBe(401);
    }
    expect(await api.stores.cloud.countEvents()).toBe(0);
  });

  it('stores each event once, keyed by the contact bucket, and answers 200 only after; a replay stores nothing new', async () => {
    const body = statusWebhook([
      { id: 'wamid.A', status: 'sent', recipient_id: '16315551000' },
      { id: 'wamid.A', status: 'delivered', recipient_id: '16315551000' },
      { id: 'wamid.B', status: 'read', recipient_id: '16315551001' },
    ]);
    const post = () => api.request({ method: 'POST', url: '/cloud/webhook', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }, payload: body });
    const first = await post();
    expect(first.statusCode).toBe(200);
    expect(await api.stores.cloud.countEvents()).toBe(3);
    const replay = await post();
    expect(replay.statusCode).toBe(200);
    expect(await api.stores.cloud.countEvents()).toBe(3);
    const a = await api.stores.cloud.pendingEvents([cloudEventBucket('16315551000')], 10);
    expect(a.map((e) => e.eventId)).toEqual(['status:wamid.A:sent', 'status:wamid.A:delivered']);
    expect(JSON.parse(a[1]!.payload)).toMatchObject({ kind: 'status', wamid: 'wamid.A', status: 'delivered', recipientId: '16315551000', opaque: 'gBG-1' });
  });

  it('needs no bearer token, and other routes still parse JSON bodies as before', async () => {
    const token = await api.tokenFor('admin');
    const response = await api.request({ method: 'POST', url: '/v1/contacts', token, payload: { contacts: ['+16315551000'] } });
    expect(response.statusCode).toBe(200);
  });
});
