import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_SETTINGS_KEY, accountFromStored } from '../../src/core/account.js';
import { onPremError, startApi, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

const number = { cc: '1', phone_number: '6315550000', method: 'sms' };

async function account() {
  return accountFromStored(await h.stores.settings.get(ACCOUNT_SETTINGS_KEY));
}

describe('POST /v1/account and /v1/account/verify', () => {
  it('registers in two steps: 202 code requested (pending), 201 verified (registered, 1 shard)', async () => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const requested = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: { ...number, cert: 'Y2VydA==' } });
    expect(requested.statusCode).toBe(202);
    expect(requested.json().account).toEqual([{ vname: null }]);
    expect(h.upstream.calls).toEqual(['requestCode 1 6315550000 sms']);
    expect(await account()).toMatchObject({ state: 'pending', wa_id: '16315550000', cc: '1', phone_number: '6315550000' });

    const verified = await h.request({ method: 'POST', url: '/v1/account/verify', token: admin, payload: { code: '123456' } });
    expect(verified.statusCode).toBe(201);
    expect(await account()).toMatchObject({ state: 'registered', wa_id: '16315550000', credentials: 'credentials-of-16315550000', shards: 1 });
    const shards = await h.request({ method: 'GET', url: '/v1/account/shards', token: admin });
    expect(shards.json()).toMatchObject({ account: { shards: 1 } });

    // The same number again: 201 without asking the network.
    const again = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: number });
    expect(again.statusCode).toBe(201);
    expect(h.upstream.calls).toHaveLength(2);
    // Another number while registered: refused.
    const other = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: { ...number, phone_number: '6315559999' } });
    expect(other.statusCode).toBe(400);
    expect(onPremError(other).details).toMatch(/already registered as 16315550000/);
  });

  it('maps a network refusal to 400 / 1009 and an unreachable network to 500 / 1014 (state unchanged)', async () => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    h.upstream.mode = 'unreachable';
    const down = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: number });
    expect(down.statusCode).toBe(500);
    expect(onPremError(down)).toMatchObject({ code: 1014, title: 'Internal error' });
    expect(onPremError(down).details).toMatch(/could not be reached.*retry later/);
    expect(await account()).toBeNull();
    h.upstream.mode = 'failing';
    const failing = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: number });
    expect(failing.statusCode).toBe(500);
    expect(onPremError(failing).code).toBe(1014);
    expect(failing.body).not.toContain('10.1.2.3');

    h.upstream.mode = 'ok';
    expect((await h.request({ method: 'POST', url: '/v1/account', token: admin, payload: number })).statusCode).toBe(202);
    const wrong = await h.request({ method: 'POST', url: '/v1/account/verify', token: admin, payload: { code: '000000' } });
    expect(wrong.statusCode).toBe(400);
    expect(onPremError(wrong)).toMatchObject({ code: 1009 });
    expect(onPremError(wrong).details).toMatch(/registration code is wrong/);
    expect((await account())?.state).toBe('pending');
  });

  it('verify without a pending registration is 400 / 1009; shards default to 1', async () => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const early = await h.request({ method: 'POST', url: '/v1/account/verify', token: admin, payload: { code: '123456' } });
    expect(onPremError(early)).toMatchObject({ code: 1009 });
    expect(onPremError(early).details).toMatch(/POST \/v1\/account first/);
    expect(h.upstream.calls).toEqual([]);
    expect((await h.request({ method: 'GET', url: '/v1/account/shards', token: admin })).json().account).toEqual({ shards: 1 });
  });

  it.each([
    [{ cc: '1', phone_number: '6315550000', method: 'fax' }, 1009, 'method must be one of "sms", "voice"'],
    [{ cc: '1', phone_number: '631-555', method: 'sms' }, 1009, 'phone_number has an invalid format'],
    [{ cc: '1234', phone_number: '6315550000', method: 'sms' }, 1009, 'cc has an invalid format'],
    [{ phone_number: '6315550000', method: 'sms' }, 1008, 'cc is required'],
    [{ cc: '1', phone_number: '6315550000', method: 'sms', vname: 'x' }, 1009, 'vname is not a known parameter'],
  ])('validates %j', async (payload, code, details) => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const response = await h.request({ method: 'POST', url: '/v1/account', token: admin, payload });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response)).toMatchObject({ code, details });
  });

  it('is admin only', async () => {
    h = await startApi();
    await h.createUser('alice');
    const alice = await h.tokenFor('alice');
    expect((await h.request({ method: 'POST', url: '/v1/account', token: alice, payload: number })).statusCode).toBe(403);
    expect((await h.request({ method: 'POST', url: '/v1/account/verify', token: alice, payload: { code: '1' } })).statusCode).toBe(403);
    expect((await h.request({ method: 'GET', url: '/v1/account/shards', token: alice })).statusCode).toBe(200);
    expect(h.upstream.calls).toEqual([]);
  });
});
