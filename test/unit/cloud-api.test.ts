/**
 * The pure pieces of the Cloud API adapter: On-Prem → Cloud message translation, Cloud error →
 * On-Prem error and what the sender does, webhook parsing with stable event ids and buckets, and the
 * token bucket with its rate-limit pause.
 */
import { describe, expect, it } from 'vitest';
import { parseCloudConfig } from '../../src/core/cloud-config.js';
import { ConfigError } from '../../src/core/config.js';
import { classifyCloudError, onPremStatusError } from '../../src/core/cloud-errors.js';
import { toCloudMessage } from '../../src/core/cloud-message.js';
import { bucketsOfShard, cloudEventBucket, parseCloudWebhook } from '../../src/core/cloud-webhook.js';
import { shardCountMax, SHARD_COUNTS } from '../../src/core/limits.js';
import { shardOf } from '../../src/core/shard-hash.js';
import { SendRateLimit } from '../../src/core/send-rate-limit.js';

describe('toCloudMessage', () => {
  it('adds messaging_product, recipient_type, to and our id as biz_opaque_callback_data; moves preview_url into text', () => {
    expect(toCloudMessage({ type: 'text', preview_url: true, text: { body: 'see https://example.com' } }, '16315551000', 'gBG-1')).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16315551000',
      type: 'text',
      text: { preview_url: true, body: 'see https://example.com' },
      biz_opaque_callback_data: 'gBG-1',
    });
  });

  it('passes other message types and context through, defaults type to text, drops routing fields from the content', () => {
    const template = { name: 'hello_world', language: { code: 'en_US' }, components: [] };
    expect(toCloudMessage({ type: 'template', template, context: { message_id: 'x' }, to: '999', recipient_type: 'group' }, '16315551000', 'id-2')).toEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315551000', type: 'template', template, context: { message_id: 'x' }, biz_opaque_callback_data: 'id-2',
    });
    expect(toCloudMessage({ text: { body: 'hi' } }, '1', 'id-3')).toMatchObject({ type: 'text', text: { body: 'hi' } });
    expect(toCloudMessage({ type: 'text', text: { body: 'hi', preview_url: false }, preview_url: true }, '1', 'id-4')['text']).toEqual({ body: 'hi', preview_url: false });
  });

  it('refuses an id Cloud cannot carry back', () => {
    expect(() => toCloudMessage({ type: 'text', text: { body: 'x' } }, '1', 'x'.repeat(513))).toThrow(/512/);
  });
});

describe('classifyCloudError', () => {
  it.each([
    [400, 131026, 'permanent', 1013],
    [400, 131047, 'permanent', 470],
    [400, 131048, 'permanent', 471],
    [400, 131051, 'permanent', 501],
    [400, 130472, 'permanent', 472],
    [400, 131009, 'permanent', 1009],
    [400, 131021, 'permanent', 1021],
    [400, 131031, 'permanent', 1031],
    [400, 100, 'permanent', 1009],
    [404, 132001, 'permanent', 2001],
    [400, 135000, 'permanent', 1000],
    [429, 130429, 'rate_limited', 429],
    [400, 131056, 'rate_limited', 1000],
    [400, 80007, 'rate_limited', 1000],
    [503, 131057, 'rate_limited', 1000],
    [500, 131000, 'transient', 1000],
    [503, 131016, 'transient', 1000],
    [500, 2, 'transient', 1000],
    [502, null, 'transient', 1000],
    [0, null, 'transient', 1000],
    [401, 190, 'auth', 1000],
    [403, 200, 'auth', 1000],
    [403, 10, 'auth', 1000],
  ] as const)('HTTP %i code %s → %s (On-Prem %i)', (http, code, kind, onPrem) => {
    const classified = classifyCloudError(http, code, 'the message', 'the details');
    expect(classified.kind).toBe(kind);
    expect(classified.error.code).toBe(onPrem);
    expect(classified.error.details).toContain('the details');
    expect(classified.error.details).toContain(String(code ?? `HTTP ${http}`));
  });

  it('maps the errors of a failed status with the same table', () => {
    expect(onPremStatusError(131047, 'Re-engagement message', 'more than 24 hours')).toEqual({
      code: 470, title: 'Re-engagement message', details: 'Cloud API error 131047: Re-engagement message — more than 24 hours',
    });
    expect(onPremStatusError(999999, 'odd', '')).toMatchObject({ code: 1000, title: 'Generic error' });
  });
});

describe('parseCloudWebhook', () => {
  const envelope = (value: Record<string, unknown>) => ({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '106540352242922' }, ...value } }] }] });

  it('takes statuses and inbound messages apart with stable event ids', () => {
    const parsed = parseCloudWebhook(envelope({
      contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
      messages: [{ from: '16505551234', id: 'wamid.IN1', timestamp: '1749416383', type: 'text', text: { body: 'Another color?' } }],
      statuses: [
        { id: 'wamid.OUT1', status: 'delivered', timestamp: '1749416400', recipient_id: '16315551000', biz_opaque_callback_data: 'gBG-1' },
        { id: 'wamid.OUT2', status: 'failed', timestamp: 1749416401, recipient_id: '16315551001', errors: [{ code: 131026, title: 'Message undeliverable', error_data: { details: 'not on WhatsApp' } }] },
      ],
    }));
    expect(parsed.skipped).toBe(0);
    expect(parsed.events).toEqual([
      { kind: 'status', eventId: 'status:wamid.OUT1:delivered', wamid: 'wamid.OUT1', status: 'delivered', recipientId: '16315551000', timestamp: '1749416400', opaque: 'gBG-1', errors: [] },
      { kind: 'status', eventId: 'status:wamid.OUT2:failed', wamid: 'wamid.OUT2', status: 'failed', recipientId: '16315551001', timestamp: '1749416401', opaque: null, errors: [{ code: 131026, title: 'Message undeliverable', details: 'not on WhatsApp' }] },
      { kind: 'message', eventId: 'message:wamid.IN1', wamid: 'wamid.IN1', from: '16505551234', timestamp: '1749416383', type: 'text', text: 'Another color?', name: 'Sheena Nelson' },
    ]);
  });

  it('skips what it does not understand and never throws', () => {
    expect(parseCloudWebhook(null)).toEqual({ events: [], skipped: 0 });
    expect(parseCloudWebhook({ entry: 'x' })).toEqual({ events: [], skipped: 0 });
    const parsed = parseCloudWebhook(envelope({ statuses: [{ id: 'w', status: 'bogus', recipient_id: '1' }, { id: 'w', status: 'sent', recipient_id: 'abc' }, 7], messages: [{ id: 'x' }] }));
    expect(parsed).toEqual({ events: [], skipped: 4 });
  });

  it('a bucket gives the contact\'s shard for every shard count', () => {
    for (const waId of ['16315551000', '16315551001', '491701234567', '5511987654321']) {
      const bucket = cloudEventBucket(waId);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(shardCountMax);
      for (const shards of SHARD_COUNTS) {
        expect(bucket % shards).toBe(shardOf(waId, shards));
        expect(bucketsOfShard(shardOf(waId, shards), shards)).toContain(bucket);
      }
    }
    expect(bucketsOfShard(1, 4)).toEqual([1, 5, 9, 13, 17, 21, 25, 29]);
  });
});

describe('SendRateLimit', () => {
  it('gives a burst, then one token per 1/rate seconds', () => {
    const bucket = new SendRateLimit(20, 2, 0, 100, 1_000);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(50);
    expect(bucket.take(49)).toBeGreaterThan(0);
    expect(bucket.take(50)).toBe(0);
  });

  it('pauses after a rate-limit answer, doubling up to the bound, and resets after a success', () => {
    const bucket = new SendRateLimit(1_000, 10, 0, 100, 300);
    expect(bucket.rateLimited(0)).toBe(100);
    expect(bucket.take(50)).toBe(50);
    // Answers to sends already in flight during the pause do not lengthen it.
    expect(bucket.rateLimited(60)).toBe(40);
    expect(bucket.rateLimited(100)).toBe(200);
    expect(bucket.rateLimited(300)).toBe(300);
    expect(bucket.rateLimited(600)).toBe(300);
    expect(bucket.take(899)).toBe(1);
    expect(bucket.take(900)).toBe(0);
    bucket.succeeded();
    expect(bucket.rateLimited(1_000)).toBe(100);
  });
});

describe('parseCloudConfig', () => {
  const base = { SHARDGATE_CLOUD_PHONE_NUMBER_ID: '106540352242922', SHARDGATE_CLOUD_ACCESS_TOKEN: 'tok-1', SHARDGATE_CLOUD_APP_SECRET: 'app-1', SHARDGATE_CLOUD_VERIFY_TOKEN: 'ver-1' };
  const files: Record<string, string> = { '/run/secrets/token': 'tok-from-file\n' };
  const read = (path: string): string => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return content;
  };

  it('reads the settings with their defaults', () => {
    expect(parseCloudConfig(base, read)).toEqual({
      phoneNumberId: '106540352242922', accessToken: 'tok-1', accessTokenFile: null, appSecret: 'app-1', verifyToken: 'ver-1',
      apiVersion: 'v21.0', baseUrl: 'https://graph.facebook.com', ratePerSecond: 80,
    });
  });

  it('takes a secret from a file, and the overrides', () => {
    const { SHARDGATE_CLOUD_ACCESS_TOKEN: _t, ...rest } = base;
    expect(parseCloudConfig({ ...rest, SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: '/run/secrets/token', SHARDGATE_CLOUD_API_VERSION: 'v23.0', SHARDGATE_CLOUD_BASE_URL: 'http://127.0.0.1:9/graph/', SHARDGATE_CLOUD_RATE_PER_SECOND: '1000' }, read)).toMatchObject({
      accessToken: 'tok-from-file', accessTokenFile: '/run/secrets/token', apiVersion: 'v23.0', baseUrl: 'http://127.0.0.1:9/graph', ratePerSecond: 1000,
    });
  });

  it.each([
    [{ SHARDGATE_CLOUD_PHONE_NUMBER_ID: undefined }, /missing SHARDGATE_CLOUD_PHONE_NUMBER_ID/],
    [{ SHARDGATE_CLOUD_PHONE_NUMBER_ID: '+1 650' }, /digits only/],
    [{ SHARDGATE_CLOUD_APP_SECRET: '' }, /missing SHARDGATE_CLOUD_APP_SECRET \(or SHARDGATE_CLOUD_APP_SECRET_FILE\)/],
    [{ SHARDGATE_CLOUD_VERIFY_TOKEN_FILE: '/run/secrets/token' }, /SHARDGATE_CLOUD_VERIFY_TOKEN and SHARDGATE_CLOUD_VERIFY_TOKEN_FILE: allowed: one of them/],
    [{ SHARDGATE_CLOUD_ACCESS_TOKEN: undefined, SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: '/nope' }, /SHARDGATE_CLOUD_ACCESS_TOKEN_FILE=\/nope: ENOENT/],
    [{ SHARDGATE_CLOUD_API_VERSION: 'latest' }, /SHARDGATE_CLOUD_API_VERSION=latest/],
    [{ SHARDGATE_CLOUD_BASE_URL: 'graph.facebook.com' }, /SHARDGATE_CLOUD_BASE_URL/],
    [{ SHARDGATE_CLOUD_RATE_PER_SECOND: '0' }, /from 1 to 1000/],
    [{ SHARDGATE_CLOUD_RATE_PER_SECOND: '1001' }, /from 1 to 1000/],
  ])('refuses %j naming the setting, never a secret', (over, message) => {
    let error: unknown;
    try {
      parseCloudConfig({ ...base, ...over }, read);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    for (const secret of ['tok-1', 'app-1', 'ver-1', 'tok-from-file']) expect((error as Error).message).not.toContain(secret);
  });
});
