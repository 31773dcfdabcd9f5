import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_APPLICATION_SETTINGS, settingsFromStored } from '../../src/core/app-settings.js';
import { onPremError, startApi, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

const url = '/v1/settings/application';

async function admin(): Promise<string> {
  h = await startApi();
  return h.tokenFor('admin');
}

describe('/v1/settings/application', () => {
  it('GET shows the defaults in On-Prem shape, with wa_id once registered', async () => {
    const token = await admin();
    const response = await h.request({ method: 'GET', url, token });
    expect(response.statusCode).toBe(200);
    const application = response.json().settings.application;
    expect(application).toMatchObject({
      callback_persist: true,
      callback_backoff_delay_ms: 3000,
      max_callback_backoff_delay_ms: 900000,
      wa_id: null,
      webhooks: { url: null, max_concurrent_requests: 6, message: { sent: true, delivered: true, read: true }, secret_configured: false },
    });
    await h.register();
    expect((await h.request({ method: 'GET', url, token })).json().settings.application.wa_id).toBe('16315550000');
  });

  it('PATCH changes only the given fields and stores the whole result', async () => {
    const token = await admin();
    const first = await h.request({ method: 'PATCH', url, token, payload: { webhooks: { url: 'https://hooks.example/wa', message: { read: false } } } });
    expect(first.statusCode).toBe(200);
    const second = await h.request({ method: 'PATCH', url, token, payload: { callback_backoff_delay_ms: '5000', heartbeat_interval: 2, unhealthy_interval: 10 } });
    expect(second.statusCode).toBe(200);
    const application = second.json().settings.application;
    expect(application.webhooks).toMatchObject({ url: 'https://hooks.example/wa', message: { sent: true, delivered: true, read: false } });
    expect(application).toMatchObject({ callback_backoff_delay_ms: 5000, heartbeat_interval: 2, unhealthy_interval: 10, callback_persist: true });
    const storedSettings = settingsFromStored(await h.stores.settings.get('application'));
    expect(storedSettings.webhooks.url).toBe('https://hooks.example/wa');
    expect(storedSettings.callback_backoff_delay_ms).toBe(5000);
    expect((await h.request({ method: 'GET', url, token })).json().settings.application).toEqual(application);
  });

  it('the webhook secret is stored but never returned', async () => {
    const token = await admin();
    const secret = 'a-very-long-webhook-secret';
    const response = await h.request({ method: 'PATCH', url, token, payload: { webhooks: { secret } } });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(secret);
    expect(response.json().settings.application.webhooks.secret_configured).toBe(true);
    const got = await h.request({ method: 'GET', url, token });
    expect(got.body).not.toContain(secret);
    expect(got.json().settings.application.webhooks).not.toHaveProperty('secret');
    expect(settingsFromStored(await h.stores.settings.get('application')).webhooks.secret).toBe(secret);
  });

  it.each([
    [{ heartbeat_interval: 10 }, 'unhealthy_interval must be at least 3 × heartbeat_interval (30 s)'],
    [{ callback_backoff_delay_ms: 1000, max_callback_backoff_delay_ms: 500 }, 'max_callback_backoff_delay_ms must be at least callback_backoff_delay_ms'],
    [{ webhooks: { max_concurrent_requests: 7 } }, 'webhooks.max_concurrent_requests must be one of 6, 12, 18, 24'],
    [{ webhooks: { url: 'ftp://x' } }, 'webhooks.url must use https (or http)'],
    [{ webhooks: { url: 5 } }, 'webhooks.url must be a string or null'],
    [{ webhooks: { secret: 'short' } }, 'webhooks.secret must be a string of 16 to 256 characters'],
    [{ callback_persist: 'yes' }, 'callback_persist must be true or false'],
    [{ log_level: 'loud' }, 'log_level must be one of "error", "warn", "info", "debug"'],
    [{ garbagecollector_enable: { media: true } }, 'garbagecollector_enable is not a known parameter'],
    [{ webhooks: { message: { failed: true } } }, 'webhooks.message.failed is not a known parameter'],
    [{ heartbeat_interval: 'soon' }, 'heartbeat_interval must be a number from 0.1 to 60'],
  ])('PATCH %j → 400 / 1009, nothing changed', async (payload, details) => {
    const token = await admin();
    const response = await h.request({ method: 'PATCH', url, token, payload });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response)).toMatchObject({ code: 1009, details });
    expect(await h.stores.settings.get('application')).toBeUndefined();
  });

  it('DELETE resets to the defaults', async () => {
    const token = await admin();
    await h.request({ method: 'PATCH', url, token, payload: { callback_persist: false, webhooks: { url: 'https://x.example' } } });
    const reset = await h.request({ method: 'DELETE', url, token });
    expect(reset.statusCode).toBe(200);
    expect(reset.json().settings.application).toMatchObject({ callback_persist: true, webhooks: { url: null } });
    expect(settingsFromStored(await h.stores.settings.get('application'))).toEqual(DEFAULT_APPLICATION_SETTINGS);
  });

  it('is admin only', async () => {
    h = await startApi();
    await h.createUser('alice');
    const token = await h.tokenFor('alice');
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const response = await h.request({ method, url, token, ...(method === 'PATCH' ? { payload: { callback_persist: false } } : {}) });
      expect(response.statusCode).toBe(403);
      expect(onPremError(response).code).toBe(1005);
    }
    expect(await h.stores.settings.get('application')).toBeUndefined();
  });
});
