import { afterEach, describe, expect, it } from 'vitest';
import { onPremError, startApi, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

describe('POST /v1/contacts', () => {
  it('answers from the network in On-Prem shape (wa_id only for valid numbers)', async () => {
    h = await startApi();
    await h.createUser('alice');
    const token = await h.tokenFor('alice');
    const response = await h.request({
      method: 'POST',
      url: '/v1/contacts',
      token,
      payload: { blocking: 'wait', contacts: ['16315551000', '+1 631 555 1001', '123'], force_check: true },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().contacts).toEqual([
      { input: '16315551000', status: 'valid', wa_id: '16315551000' },
      { input: '+1 631 555 1001', status: 'valid', wa_id: '16315551001' },
      { input: '123', status: 'invalid' },
    ]);
    expect(h.upstream.calls).toEqual(['checkContacts 3']);
  });

  it.each([
    [{ contacts: [] }, 1009, 'contacts must have at least 1 items'],
    [{ contacts: Array.from({ length: 1001 }, () => '1') }, 1009, 'contacts must have at most 1000 items'],
    [{}, 1008, 'contacts is required'],
    [{ contacts: ['1', 2] }, 1009, 'contacts[1] must be a string'],
    [{ contacts: ['1'], blocking: 'later' }, 1009, 'blocking must be one of "wait", "no_wait"'],
    [{ contacts: ['1'], force_check: 'yes' }, 1009, 'force_check must be true or false'],
    [{ contacts: 'x' }, 1009, 'contacts must be an array'],
  ])('validates %j', async (payload, code, details) => {
    h = await startApi();
    const token = await h.tokenFor('admin');
    const response = await h.request({ method: 'POST', url: '/v1/contacts', token, payload });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response)).toMatchObject({ code, details });
    expect(h.upstream.calls).toEqual([]);
  });

  it('maps network failures: unreachable 500 / 1014, refusal 400 / 1009', async () => {
    h = await startApi();
    const token = await h.tokenFor('admin');
    h.upstream.mode = 'unreachable';
    const down = await h.request({ method: 'POST', url: '/v1/contacts', token, payload: { contacts: ['16315551000'] } });
    expect(down.statusCode).toBe(500);
    expect(onPremError(down).code).toBe(1014);
    h.upstream.mode = 'reject';
    const refused = await h.request({ method: 'POST', url: '/v1/contacts', token, payload: { contacts: ['16315551000'] } });
    expect(refused.statusCode).toBe(400);
    expect(onPremError(refused).code).toBe(1009);
  });

  it('needs a token', async () => {
    h = await startApi();
    expect((await h.request({ method: 'POST', url: '/v1/contacts', payload: { contacts: ['1'] } })).statusCode).toBe(401);
  });
});
