// The simulator's HTTP API through Fastify's inject(): registration, shard-count change, inbound,
// checker endpoints, and On-Prem error bodies. No sockets.
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simContactsCheckMax, simMessagesPageMax, simVerifyAttemptsMax } from '../../src/core/limits.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { buildSimHttpApi } from '../../src/sim/sim-http-api.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { resolveSimOptions } from '../../src/sim/sim-options.js';
import { FakePeer, SEED, message, printSeedOnFailure, recipientOn } from './sim-test-support.js';

const ACCOUNT = '15550001111';

describe('sim HTTP API', () => {
  let network: SimNetwork;
  let app: FastifyInstance;
  const now = 1_700_000_000_000;

  beforeEach(() => {
    printSeedOnFailure();
    network = new SimNetwork(resolveSimOptions({ seed: SEED, accounts: [{ waId: ACCOUNT, credentials: 'secret', shards: 2 }] }, SEED), now);
    app = buildSimHttpApi(network, () => now);
  });

  afterEach(async () => {
    await app.close();
  });

  it('registers an account: request a code, read it, verify it, get credentials', async () => {
    const requested = await app.inject({ method: 'POST', url: '/sim/accounts', payload: { cc: '44', phone_number: '7700900123' } });
    expect(requested.statusCode).toBe(202);
    expect(requested.json()).toEqual({ account: { wa_id: '447700900123', code_sent: true } });
    const { code } = (await app.inject({ method: 'GET', url: '/sim/accounts/447700900123/code' })).json<{ code: string }>();
    expect(code).toMatch(/^[0-9]{6}$/);
    const verified = await app.inject({ method: 'POST', url: '/sim/accounts/447700900123/verify', payload: { code } });
    expect(verified.statusCode).toBe(201);
    expect(verified.json()).toMatchObject({ account: { wa_id: '447700900123', shards: 1 } });
    expect(verified.json<{ account: { credentials: string } }>().account.credentials).toMatch(/^[0-9a-f]{32}$/);
    const view = await app.inject({ method: 'GET', url: '/sim/accounts/447700900123' });
    expect(view.json()).toMatchObject({ account: { registered: true, code_pending: false, shards: 1 } });
    expect(JSON.stringify(view.json())).not.toContain('credentials');
  });

  it('withdraws a code after too many wrong attempts', async () => {
    await app.inject({ method: 'POST', url: '/sim/accounts', payload: { cc: '1', phone_number: '5550003333' } });
    for (let i = 0; i < simVerifyAttemptsMax; i += 1) {
      const wrong = await app.inject({ method: 'POST', url: '/sim/accounts/15550003333/verify', payload: { code: 'x' } });
      expect(wrong.statusCode).toBe(401);
    }
    expect((await app.inject({ method: 'GET', url: '/sim/accounts/15550003333/code' })).statusCode).toBe(404);
  });

  it('answers errors in the On-Prem shape', async () => {
    const bad = await app.inject({ method: 'POST', url: '/sim/accounts', payload: { cc: '+1', phone_number: '555' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ errors: [{ code: 1009, title: 'Parameter value is not valid', details: 'cc must be 1-3 digits' }] });
    const missing = await app.inject({ method: 'GET', url: '/sim/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ errors: { code: number }[] }>().errors[0]?.code).toBe(1006);
    const malformed = await app.inject({ method: 'POST', url: '/sim/inbound', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ errors: { code: number }[] }>().errors[0]?.code).toBe(1025);
  });

  it('changes the shard count only with the account’s credentials', async () => {
    const url = `/sim/accounts/${ACCOUNT}/shards`;
    expect((await app.inject({ method: 'POST', url, payload: { shards: 4 } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { authorization: 'Bearer nope' }, payload: { shards: 4 } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { authorization: 'Bearer secret' }, payload: { shards: 3 } })).statusCode).toBe(400);
    const changed = await app.inject({ method: 'POST', url, headers: { authorization: 'Bearer secret' }, payload: { shards: 4 } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ account: { wa_id: ACCOUNT, shards: 4 } });
    expect(network.accounts.get(ACCOUNT)?.shards).toBe(4);
  });

  it('takes inbound messages on demand', async () => {
    const random = new SeededRandom(SEED);
    const from = recipientOn(random, 1, 2);
    const created = await app.inject({ method: 'POST', url: '/sim/inbound', payload: { from, text: 'hello' } });
    expect(created.statusCode).toBe(202);
    expect(created.json()).toMatchObject({ inbound: { account: ACCOUNT, shard: 1, event: 1 } });
    expect((await app.inject({ method: 'POST', url: '/sim/inbound', payload: { from: 'x', text: 'hello' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/sim/inbound', payload: { from, text: 'hi', to: '1999' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sim/report' })).json()).toMatchObject({ inbound_unacked: 1 });
  });

  it('pages received message ids, names missing ones, and resets the checker', async () => {
    const random = new SeededRandom(SEED);
    const peer = new FakePeer();
    const conn = network.connect(peer, now);
    network.receive(conn, JSON.stringify({ type: 'hello', protocol: 1, account: ACCOUNT, credentials: 'secret', shard: 0, shards: 2, epoch: 1 }), now);
    const to = recipientOn(random, 0, 2);
    network.receive(conn, JSON.stringify({ type: 'send', epoch: 1, messages: [1, 2, 3].map((i) => message(`m${i}`, to, i)) }), now);
    const page = await app.inject({ method: 'GET', url: '/sim/messages?after=0&limit=2' });
    const t = Math.round(now);
    expect(page.json()).toEqual({ ids: ['m1', 'm2'], arrived_at_ms: [t, t], shards: [0, 0], next_after: 2, total: 3 });
    const rest = await app.inject({ method: 'GET', url: '/sim/messages?after=2' });
    expect(rest.json()).toEqual({ ids: ['m3'], arrived_at_ms: [t], shards: [0], next_after: null, total: 3 });
    expect((await app.inject({ method: 'GET', url: `/sim/messages?limit=${simMessagesPageMax + 1}` })).statusCode).toBe(400);
    const missing = await app.inject({ method: 'POST', url: '/sim/messages/missing', payload: { ids: ['m2', 'lost'] } });
    expect(missing.json()).toEqual({ checked: 2, missing: ['lost'] });
    expect((await app.inject({ method: 'POST', url: '/sim/reset' })).json()).toEqual({ reset: true });
    expect((await app.inject({ method: 'GET', url: '/sim/report' })).json()).toMatchObject({ ok: true, messages_unique: 0, max_connections_per_shard: 1 });
  });

  it('checks contacts: normalised digits are valid unless the invalid-number rule rejects them', async () => {
    const inputs = ['+1 (631) 555-1234', '16315550000', 'abc', '', '123456789012345678901', '7'];
    const checked = await app.inject({ method: 'POST', url: '/sim/contacts', payload: { contacts: inputs } });
    expect(checked.statusCode).toBe(200);
    expect(checked.json()).toEqual({
      contacts: [
        { input: '+1 (631) 555-1234', status: 'valid', wa_id: '16315551234' },
        { input: '16315550000', status: 'invalid' },
        { input: 'abc', status: 'invalid' },
        { input: '', status: 'invalid' },
        { input: '123456789012345678901', status: 'invalid' },
        { input: '7', status: 'valid', wa_id: '7' },
      ],
    });
    for (const payload of [{}, { contacts: [] }, { contacts: [1] }, { contacts: Array.from({ length: simContactsCheckMax + 1 }, () => '1') }]) {
      const bad = await app.inject({ method: 'POST', url: '/sim/contacts', payload });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ errors: { code: number }[] }>().errors[0]?.code).toBe(1009);
    }
  });

  it('describes itself', async () => {
    const info = (await app.inject({ method: 'GET', url: '/sim/info' })).json();
    expect(info).toMatchObject({ protocol: 1, ws_path: '/upstream', seed: SEED, invalid_suffix: '0000' });
  });
});
