import { afterEach, describe, expect, it } from 'vitest';
import { NODE_ID, onPremError, startApi, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

async function userToken(): Promise<string> {
  await h.createUser('alice');
  return h.tokenFor('alice');
}

describe('health and support', () => {
  it('GET /v1/health: single-instance form, any user, 401 without a token', async () => {
    h = await startApi();
    const token = await userToken();
    h.gatewayStatus = 'unregistered';
    const response = await h.request({ method: 'GET', url: '/v1/health', token });
    expect(response.json()).toEqual({ health: { gateway_status: 'unregistered' }, meta: { api_status: 'stable', version: '0.0.0-test' } });
    h.gatewayStatus = 'connected';
    expect((await h.request({ method: 'GET', url: '/v1/health', token })).json().health.gateway_status).toBe('connected');
    expect((await h.request({ method: 'GET', url: '/v1/health' })).statusCode).toBe(401);
  });

  it('GET /v1/support merges the node fields', async () => {
    h = await startApi();
    const token = await userToken();
    const support = (await h.request({ method: 'GET', url: '/v1/support', token })).json().support;
    expect(support).toEqual({ db_engine: 'MEMORY', multi_connect: false, node: NODE_ID, version: '0.0.0-test' });
  });
});

describe('stats', () => {
  it('GET /v1/stats/app: callback queue size and requests per endpoint and result', async () => {
    h = await startApi();
    const token = await userToken();
    await h.stores.callbacks.enqueue({ eventId: 'e1', shard: 0, contact: '1', kind: 'status', payload: '{}', createdAtMs: 0 });
    await h.request({ method: 'GET', url: '/v1/health', token });
    await h.request({ method: 'GET', url: '/v1/health' });
    await h.request({ method: 'GET', url: '/v1/users/bobby', token });
    const app = (await h.request({ method: 'GET', url: '/v1/stats/app', token })).json().stats.app;
    expect(app.callback_queue_size).toEqual({ type: 'gauge', help: 'Current callback queue size', data: [{ value: 1 }] });
    expect(app.endpoint_requests.type).toBe('counter');
    const count = (endpoint: string, result: string) =>
      app.endpoint_requests.data.find((d: { labels: Record<string, string> }) => d.labels['endpoint'] === endpoint && d.labels['result'] === result)?.value;
    expect(count('GET_v1_health', '200')).toBe(1);
    expect(count('GET_v1_health', '401')).toBe(1);
    expect(count('GET_v1_users_{username}', '403')).toBe(1);
    expect(count('POST_v1_users_login', '200')).toBe(1);
    const text = (await h.request({ method: 'GET', url: '/v1/stats/app?format=prometheus', token })).body;
    expect(text).toContain(`callback_queue_size{node="${NODE_ID}"} 1`);
    expect(text).toContain(`endpoint_requests{node="${NODE_ID}",endpoint="GET_v1_health",result="200"} 1`);
  });

  it('GET /v1/stats/db: On-Prem db_* gauges keyed by node, JSON and Prometheus', async () => {
    h = await startApi({ registeredShards: 1 });
    const token = await userToken();
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await h.request({ method: 'POST', url: '/v1/messages', token, payload: { to: '16315551234', text: { body: 'x' } } })).json().messages[0].id);
    await h.stores.messages.recordStatus(sent[0], 'delivered', 1);
    const db = (await h.request({ method: 'GET', url: '/v1/stats/db', token })).json().stats.db;
    expect(Object.keys(db)).toEqual([NODE_ID]);
    const stats = db[NODE_ID];
    expect(stats.db_pending_messages.data).toEqual([{ value: 2 }]);
    expect(stats.db_message_receipts.data).toEqual([{ value: 1 }]);
    expect(stats.db_pending_callbacks.data).toEqual([{ value: 0 }]);
    expect(stats.db_messages.data).toContainEqual({ labels: { status: 'accepted' }, value: 2 });
    const prom = await h.request({ method: 'GET', url: '/v1/stats/db?format=prometheus', token });
    expect(prom.headers['content-type']).toMatch(/^text\/plain/);
    expect(prom.body).toContain('# TYPE db_pending_messages gauge');
    expect(prom.body).toContain(`db_pending_messages{node="${NODE_ID}"} 2`);
    expect(prom.body).toContain(`db_messages{node="${NODE_ID}",status="delivered"} 1`);
    const bad = await h.request({ method: 'GET', url: '/v1/stats/db?format=xml', token });
    expect(onPremError(bad)).toMatchObject({ code: 1009, details: 'query.format must be one of "json", "prometheus"' });
  });
});

describe('GET /v1/metrics', () => {
  it('JSON in On-Prem shape and Prometheus text, from a registry of its own per instance', async () => {
    h = await startApi();
    const token = await userToken();
    h.clock.advance(90_000);
    await h.request({ method: 'GET', url: '/v1/health', token });
    const metrics = (await h.request({ method: 'GET', url: '/v1/metrics', token })).json().metrics;
    expect(metrics.web_uptime).toEqual({ type: 'gauge', help: 'Number of seconds since web server has started', data: [{ labels: { node: NODE_ID }, value: 90 }] });
    expect(metrics.api_requests.data).toContainEqual({ labels: { node: NODE_ID, method: 'GET_v1_health', result: '200' }, value: 1 });
    expect(metrics.api_requests_duration_ms_sum.type).toBe('counter');
    const prom = await h.request({ method: 'GET', url: '/v1/metrics?format=prometheus', token });
    expect(prom.statusCode).toBe(200);
    expect(prom.headers['content-type']).toMatch(/^text\/plain/);
    expect(prom.body).toContain('# TYPE api_requests counter');
    expect(prom.body).toContain(`api_requests{node="${NODE_ID}",method="GET_v1_health",result="200"} 1`);
    expect(prom.body).toContain('api_requests_duration_ms_bucket{');

    // A second webapp in the same process counts on its own (no global registry).
    const other = await startApi();
    const otherToken = await other.tokenFor('admin');
    const otherMetrics = (await other.request({ method: 'GET', url: '/v1/metrics', token: otherToken })).json().metrics;
    expect(otherMetrics.api_requests.data.find((d: { labels: Record<string, string> }) => d.labels['method'] === 'GET_v1_health')).toBeUndefined();
    await other.close();
  });

  it('counts refusals by protection', async () => {
    h = await startApi();
    for (let i = 0; i < 6; i++) await h.login('admin', 'Wrong-pass1');
    await h.createUser('monitor');
    const token = await h.tokenFor('monitor');
    const prom = (await h.request({ method: 'GET', url: '/v1/metrics?format=prometheus', token })).body;
    expect(prom).toContain(`api_login_failures{node="${NODE_ID}"} 5`);
    expect(prom).toContain(`api_requests_refused{node="${NODE_ID}",reason="login_throttle"} 1`);
  });
});

describe('/docs', () => {
  it('serves the OpenAPI document generated from the route schemas', async () => {
    h = await startApi();
    const response = await h.request({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('0.0.0-test');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/v1/account',
        '/v1/account/shards',
        '/v1/account/verify',
        '/v1/cluster/shards/{shard}/handover',
        '/v1/contacts',
        '/v1/health',
        '/v1/messages',
        '/v1/messages/{id}',
        '/v1/metrics',
        '/v1/settings/application',
        '/v1/stats/app',
        '/v1/stats/db',
        '/v1/support',
        '/v1/users',
        '/v1/users/login',
        '/v1/users/logout',
        '/v1/users/{username}',
      ].sort(),
    );
    const send = doc.paths['/v1/messages'].post;
    expect(send.requestBody.content['application/json'].schema.properties.text.properties.body.maxLength).toBe(4096);
    expect(send.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key' }));
    expect(Object.keys(doc.paths['/v1/settings/application']).sort()).toEqual(['delete', 'get', 'patch']);
  });

  it('serves the UI with its assets locally (no CDN)', async () => {
    h = await startApi();
    const page = await h.request({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    const assets = [...page.body.matchAll(/(?:href|src)="\.\/(static\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) expect((await h.request({ method: 'GET', url: `/docs/${asset}` })).statusCode).toBe(200);
    const init = await h.request({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('validatorUrl: null');
  });
});
