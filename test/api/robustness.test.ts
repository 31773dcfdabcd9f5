import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WEBAPP_OPTIONS, assertWebappOptions } from '../../src/roles/webapp/webapp-deps.js';
import { basic, ADMIN_PASSWORD, onPremError, startApi, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

const json = { 'content-type': 'application/json' };

async function ready(options = {}): Promise<string> {
  h = await startApi({ registeredShards: 1, options });
  return h.tokenFor('admin');
}

describe('malformed requests are a precise 4xx in On-Prem form', () => {
  it('bad JSON: 400 / 1025 with the parser position', async () => {
    const token = await ready();
    const response = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload: '{"to": "1",' });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response).code).toBe(1025);
    expect(onPremError(response).details).toMatch(/^the request body is not valid JSON: .*position/);
  });

  it.each([
    ['"a string"', 'the request body must be a JSON object'],
    ['[1, 2]', 'the request body must be a JSON object'],
    ['42', 'the request body must be a JSON object'],
    ['{"__proto__": {"admin": true}}', 'the request body is not valid JSON: the key "__proto__" is not allowed'],
    ['{"constructor": {"prototype": {}}}', 'the request body is not valid JSON: the key "constructor" is not allowed'],
  ])('body %s → 1025', async (payload, details) => {
    const token = await ready();
    const response = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response)).toMatchObject({ code: 1025, details });
  });

  it('wrong or missing Content-Type: 400 / 1025 naming it', async () => {
    const token = await ready();
    const form = await h.request({ method: 'POST', url: '/v1/messages', token, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'to=1' });
    expect(form.statusCode).toBe(400);
    expect(onPremError(form)).toMatchObject({ code: 1025, details: 'Content-Type "application/x-www-form-urlencoded" is not supported: send application/json' });
    const none = await h.request({ method: 'POST', url: '/v1/messages', token, payload: '{"to":"1"}' });
    expect(onPremError(none)).toMatchObject({ code: 1025, details: 'a request body needs the header Content-Type: application/json' });
    const charset = await h.request({ method: 'POST', url: '/v1/messages', token, headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '{"to":"16315551234","text":{"body":"x"}}' });
    expect(charset.statusCode).toBe(201);
  });

  it('an empty JSON body counts as no body (login with Content-Type and nothing else)', async () => {
    h = await startApi();
    const response = await h.request({ method: 'POST', url: '/v1/users/login', headers: { ...json, authorization: basic('admin', ADMIN_PASSWORD) }, payload: '' });
    expect(response.statusCode).toBe(200);
    const token = response.json().users[0].token;
    const send = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload: '   ' });
    expect(onPremError(send)).toMatchObject({ code: 1008, details: 'to is required' });
  });

  it('oversized bodies: 413 with an On-Prem body (authentication is checked first)', async () => {
    const token = await ready({ bodyLimitBytes: 4_096 });
    const payload = JSON.stringify({ to: '16315551234', text: { body: 'x'.repeat(5_000) } });
    const big = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload });
    expect(big.statusCode).toBe(413);
    expect(onPremError(big)).toEqual({ code: 1025, title: 'Invalid Request', details: 'the request body is larger than 4096 bytes' });
    expect((await h.request({ method: 'POST', url: '/v1/messages', headers: json, payload })).statusCode).toBe(401);
  });

  it('deeply nested JSON is refused, not a crash', async () => {
    const token = await ready();
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const response = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload: deep });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    const nestedObject = `{"to":"1","text":${'{"body":'.repeat(50_000)}"x"${'}'.repeat(50_000)}}`;
    const nested = await h.request({ method: 'POST', url: '/v1/messages', token, headers: json, payload: nestedObject });
    expect(nested.statusCode).toBe(400);
  });

  it('unknown routes and methods: 404 / 1006; bad URLs: 400 / 1025', async () => {
    h = await startApi();
    const unknown = await h.request({ method: 'GET', url: '/v1/nothing?x=1' });
    expect(unknown.statusCode).toBe(404);
    expect(onPremError(unknown)).toEqual({ code: 1006, title: 'Resource not found', details: 'no endpoint GET "/v1/nothing"' });
    expect((await h.request({ method: 'DELETE', url: '/v1/messages' })).statusCode).toBe(404);
    const badUrl = await h.request({ method: 'GET', url: '/v1/users/%E0%A4%A' });
    expect(badUrl.statusCode).toBe(400);
    expect(onPremError(badUrl).code).toBe(1025);
  });

  it('HEAD on a protected GET route needs the token too', async () => {
    const token = await ready();
    expect((await h.request({ method: 'HEAD', url: '/v1/settings/application' })).statusCode).toBe(401);
    expect((await h.request({ method: 'HEAD', url: '/v1/settings/application', token })).statusCode).toBe(200);
  });

  it('unknown query parameters are accepted (clients send ?retry=1)', async () => {
    const token = await ready();
    const response = await h.request({ method: 'POST', url: '/v1/messages?retry=1', token, payload: { to: '16315551234', text: { body: 'x' } } });
    expect(response.statusCode).toBe(201);
  });

  it('a failing store is a 500 / 1014 without internals, and the next request works', async () => {
    const token = await ready();
    const messages = h.stores.messages;
    const insert = messages.insert.bind(messages);
    messages.insert = async () => {
      throw new Error('SQLITE_IOERR: disk I/O error at /secret/path');
    };
    const failed = await h.request({ method: 'POST', url: '/v1/messages', token, payload: { to: '16315551234', text: { body: 'x' } } });
    expect(failed.statusCode).toBe(500);
    expect(onPremError(failed)).toEqual({ code: 1014, title: 'Internal error', details: 'an internal error occurred; the request may be retried' });
    expect(h.dispatch.notified).toEqual([]);
    messages.insert = insert;
    expect((await h.request({ method: 'POST', url: '/v1/messages', token, payload: { to: '16315551234', text: { body: 'x' } } })).statusCode).toBe(201);
  });
});

describe('per-user rate limit', () => {
  it('is off by default', async () => {
    const token = await ready();
    for (let i = 0; i < 50; i++) expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(200);
  });

  it('answers 429 / 1015 with Retry-After beyond the rate, per user, and refills with time', async () => {
    const token = await ready({ requestsPerSecondPerUser: 2 });
    await h.createUser('alice');
    const alice = await h.tokenFor('alice');
    expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(200);
    expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(200);
    const limited = await h.request({ method: 'GET', url: '/v1/health', token });
    expect(limited.statusCode).toBe(429);
    expect(onPremError(limited).code).toBe(1015);
    expect(limited.headers['retry-after']).toBe('1');
    expect((await h.request({ method: 'GET', url: '/v1/health', token: alice })).statusCode).toBe(200);
    h.clock.advance(500);
    expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(200);
    expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(429);
  });
});

describe('WebappOptions', () => {
  it('are checked against limits.ts when the webapp is built', () => {
    expect(() => assertWebappOptions(DEFAULT_WEBAPP_OPTIONS)).not.toThrow();
    expect(DEFAULT_WEBAPP_OPTIONS).toMatchObject({ tokenTtlMs: 7 * 24 * 3_600_000, requestsPerSecondPerUser: null });
    expect(() => assertWebappOptions({ ...DEFAULT_WEBAPP_OPTIONS, pendingMessagesMax: 0 })).toThrow(/pendingMessagesMax/);
    expect(() => assertWebappOptions({ ...DEFAULT_WEBAPP_OPTIONS, bodyLimitBytes: 10 })).toThrow(/bodyLimitBytes/);
    expect(() => assertWebappOptions({ ...DEFAULT_WEBAPP_OPTIONS, requestsPerSecondPerUser: -1 })).toThrow(/requestsPerSecondPerUser/);
  });
});
