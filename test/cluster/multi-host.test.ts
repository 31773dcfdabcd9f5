/**
 * Nothing assumes one host: every role runs as its own process on its own loopback address
 * (127.0.0.2 … 127.0.0.7) against PostgreSQL, started the way docs/operations.md tells an operator
 * to — `shardgate sim`, `shardgate master`, `shardgate coreapp`, `shardgate webapp`, each with
 * `--host <its address>`, the database URL and the cluster secret. The nodes must register and
 * reach each other on those addresses, serve traffic, and fail a coreapp over.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SETTINGS_KEY } from '../../src/core/account.js';
import { readTopology } from '../../src/roles/gateway/cluster-topology.js';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { killAll, shardgate, type Proc } from '../e2e/processes.js';

afterAll(() => killAll());

const postgres = SQL_TARGETS.find((t) => t.name === 'postgres');
if (postgres === undefined) throw new Error('no postgres target');

const WA_ID = '16505550177';
const ADMIN_PASSWORD = 'Multi-host-Passw0rd!';

async function ready(proc: Proc): Promise<{ node_id: string; internal_url: string; api_url: string | null }> {
  const match = await proc.waitForOutput(/SHARDGATE_READY (\{.*\})/, 60_000);
  return JSON.parse(match[1] as string) as { node_id: string; internal_url: string; api_url: string | null };
}

describe.skipIf(postgres.skipReason !== null)('postgres: roles on separate hosts', () => {
  it('sim, 2 masters, 2 coreapps and a webapp on distinct loopback addresses serve and fail over', async () => {
    const instance = await postgres.create();
    try {
      const url = instance.location?.dialect === 'postgres' ? instance.location.url : '';
      const secret = randomBytes(16).toString('hex');
      const credentials = randomBytes(16).toString('hex');
      await instance.stores.settings.set(
        { [ACCOUNT_SETTINGS_KEY]: { state: 'registered', wa_id: WA_ID, cc: '1', phone_number: '6505550177', credentials, shards: 1, registered_at_ms: Date.now() } },
        Date.now(),
      );
      const env = { SHARDGATE_DATABASE_URL: url, SHARDGATE_CLUSTER_SECRET: secret, SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, SHARDGATE_LOG_LEVEL: 'info' };
      const sim = shardgate(['sim', '--host', '127.0.0.2', '--port', '0', '--account', `${WA_ID}:${credentials}`, '--receipt-delay-ms', '5', '--read-delay-ms', '5']);
      const simUrl = (await sim.waitForOutput(/listening on (http:\/\/\S+)/))[1] as string;
      expect(simUrl).toMatch(/^http:\/\/127\.0\.0\.2:/);
      const masters = ['127.0.0.3', '127.0.0.4'].map((host) => shardgate(['master', '--host', host, '--internal-port', '0'], env));
      const masterIds = await Promise.all(masters.map(ready));
      const coreapps = ['127.0.0.5', '127.0.0.6'].map((host) => shardgate(['coreapp', '--host', host, '--internal-port', '0', '--upstream-url', simUrl], env));
      const webapp = shardgate(['webapp', '--host', '127.0.0.7', '--port', '0', '--internal-port', '0', '--upstream-url', simUrl], env);
      const coreappIds = await Promise.all(coreapps.map(ready));
      const web = await ready(webapp);
      expect(web.api_url).toMatch(/^http:\/\/127\.0\.0\.7:/);

      // Each node registered the address it listens on, and the others reach it there.
      const topology = await readTopology(instance.stores, 5);
      const hostOf = (id: string) => new URL(topology.nodes.find((n) => n.node_id === id)?.internal_url ?? 'http://none').hostname;
      expect(masterIds.map((m) => hostOf(m.node_id))).toEqual(['127.0.0.3', '127.0.0.4']);
      expect(coreappIds.map((c) => hostOf(c.node_id))).toEqual(['127.0.0.5', '127.0.0.6']);
      expect(hostOf(web.node_id)).toBe('127.0.0.7');

      const primary = await waitFor('a connected primary coreapp', async () => (await readTopology(instance.stores, 5)).nodes.find((n) => n.gateway_status === 'connected'), 30_000, 50);
      const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
      const login = (await (await fetch(`${web.api_url}/v1/users/login`, { method: 'POST', headers: { authorization: `Basic ${basic}` } })).json()) as { users: { token: string }[] };
      const token = login.users[0]?.token as string;
      const send = async (i: number) => {
        const response = await fetch(`${web.api_url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: `1631555${String(2000 + (i % 7))}`, type: 'text', text: { body: `m${i}` } }),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { messages: { id: string }[] }).messages[0]?.id as string;
      };
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await send(i));
      const missing = async () => ((await (await fetch(`${simUrl}/sim/messages/missing`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) })).json()) as { missing: string[] }).missing;
      await waitFor('the first 20 messages upstream', async () => (await missing()).length === 0, 15_000, 50);

      // Kill -9 the primary: the other coreapp, on its own address, takes over; nothing is lost.
      const index = coreappIds.findIndex((c) => c.node_id === primary.node_id);
      await coreapps[index]?.kill9();
      for (let i = 20; i < 40; i++) ids.push(await send(i));
      const next = await waitFor('the other coreapp connected', async () =>
        (await readTopology(instance.stores, 5)).nodes.find((n) => n.gateway_status === 'connected' && n.node_id !== primary.node_id), 30_000, 50);
      expect(hostOf(next.node_id)).toBe(index === 0 ? '127.0.0.6' : '127.0.0.5');
      await waitFor('all 40 messages upstream', async () => (await missing()).length === 0, 30_000, 50);
      const report = (await (await fetch(`${simUrl}/sim/report`)).json()) as { ok: boolean; max_connections_per_shard: number; stale_epoch_sends: number };
      expect(report).toMatchObject({ ok: true, max_connections_per_shard: 1, stale_epoch_sends: 0 });
      for (const p of [webapp, ...coreapps, ...masters, sim]) await p.stop('SIGTERM');
    } finally {
      killAll();
      await instance.dispose();
    }
  });
});
