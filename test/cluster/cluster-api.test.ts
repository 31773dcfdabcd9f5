/**
 * The cluster as an operator sees it, on real processes: `/v1/health` and `/v1/support` in the
 * cluster form, `/v1/stats/db` from the primary master, settings changed at run time reaching every
 * master within one heartbeat (and a shorter `unhealthy_interval` then failing a coreapp over faster),
 * the event log, and the internal API refusing calls without the cluster secret.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClusterTransport } from '../../src/adapters/http/internal-api.js';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { killAll } from '../e2e/processes.js';
import { expectNoLoss, Load, withCluster } from './support/cluster.js';

afterAll(() => killAll());

const sqlite = SQL_TARGETS.find((t) => t.name === 'sqlite');
if (sqlite === undefined) throw new Error('no sqlite target');

describe('sqlite: the cluster API', () => {
  it('health, support and stats in the cluster form; settings at run time; the event log; the internal API needs the secret', async () => {
    await withCluster(sqlite, { masters: 2, coreapps: 3 }, async (cluster) => {
      const primary = await cluster.waitForPrimary();
      const primaryMaster = await cluster.primaryMaster();

      const health = await waitFor('health with every node', async () => {
        const { status, body } = await cluster.api('GET', '/v1/health');
        expect(status).toBe(200);
        const nodes = body['health'] as Record<string, { gateway_status: string; role: string }>;
        return Object.keys(nodes).length === 5 ? nodes : undefined;
      }, 15_000, 100);
      const roles = Object.values(health).map((n) => `${n.role}:${n.gateway_status}`).sort();
      expect(roles).toEqual(['coreapp:connected', 'coreapp:disconnected', 'coreapp:disconnected', 'primary_master:disconnected', 'secondary_master:disconnected']);
      expect(health[primary.node_id]).toEqual({ gateway_status: 'connected', role: 'coreapp' });
      expect(health[primaryMaster.node_id]?.role).toBe('primary_master');

      const support = (await cluster.api('GET', '/v1/support')).body['support'] as Record<string, { shards: number[][]; role: string }>;
      expect(support[primary.node_id]?.shards).toEqual([[0, 0]]);
      expect(support[primaryMaster.node_id]?.shards).toEqual([[-1, -1]]);
      const others = Object.entries(support).filter(([id, s]) => id !== primary.node_id && s.role === 'coreapp');
      for (const [, s] of others) expect(s.shards).toEqual([]);

      const stats = (await cluster.api('GET', '/v1/stats/db')).body['stats'] as { db: Record<string, unknown> };
      expect(Object.keys(stats.db)).toEqual([primaryMaster.node_id]);

      // The internal API: no secret, or a wrong one, is refused.
      const coreappUrl = cluster.node(cluster.nameOf(primary.node_id)).internal_url;
      expect((await fetch(`${coreappUrl}/internal/heartbeat`)).status).toBe(401);
      expect((await fetch(`${coreappUrl}/internal/heartbeat`, { headers: { authorization: 'Bearer not-the-cluster-secret' } })).status).toBe(401);
      const transport = new HttpClusterTransport(cluster.file.cluster_secret);
      try {
        expect((await transport.heartbeat(coreappUrl, 1_000)).owns).toMatchObject({ shard: 0 });

        // Settings at run time: every master applies a new heartbeat interval within one (old) heartbeat.
        const masters = cluster.file.nodes.filter((n) => n.role === 'master');
        const patchedAt = Date.now();
        const patch = await cluster.api('PATCH', '/v1/settings/application', { heartbeat_interval: 0.2, unhealthy_interval: 1 });
        expect(patch.status, JSON.stringify(patch.body)).toBe(200);
        await waitFor('every master on the new heartbeat interval', async () => {
          const answers = await Promise.all(masters.map((m) => transport.status(m.internal_url)));
          return answers.every((a) => a['heartbeat_ms'] === 200);
        }, 5_000, 10);
        const appliedMs = Date.now() - patchedAt;
        process.stdout.write(`SETTINGS heartbeat_interval applied on every master in ${appliedMs} ms\n`);
        expect(appliedMs).toBeLessThanOrEqual(1_000);
        // The shorter threshold is phased in (the old one stays the floor for one old interval).
        await waitFor('the 1 s unhealthy interval in force on every master', async () => {
          const answers = await Promise.all(masters.map((m) => transport.status(m.internal_url)));
          return answers.every((a) => a['unhealthy_ms'] === 1_000);
        }, 10_000, 50);
      } finally {
        await transport.close();
      }

      const load = new Load(cluster, 50);
      load.start();
      await load.waitForMore(25);
      const killedAt = cluster.kill9(cluster.nameOf(primary.node_id));
      const first = await waitFor('a send by a new primary', () => cluster.firstSendAfter(killedAt), 15_000, 20);
      const ms = first.first_send_at_ms - killedAt;
      process.stdout.write(`FAILOVER coreapp-kill9-unhealthy-1s sqlite ${ms}\n`);
      expect(ms).toBeLessThanOrEqual(1_000 + 1_000);
      await load.waitForMore(50);
      await load.stop();
      expect(load.errors.slice(0, 5), `${load.errors.length} API errors`).toEqual([]);
      await expectNoLoss(cluster, load.accepted);

      // Every lease change, promotion and failover is in the event log, with its timing.
      const kinds = new Set((await cluster.events()).map((e) => e.kind));
      for (const kind of ['lease_acquired', 'promoted', 'coreapp_unhealthy', 'failover', 'demoted']) expect(kinds, kind).toContain(kind);
      const failover = (await cluster.events('failover'))[0];
      expect(failover?.data['from']).toBe(primary.node_id);
      expect(typeof failover?.data['failoverMs']).toBe('number');
      const promoted = await cluster.events('promoted');
      expect(promoted.every((e) => typeof e.data['persistMs'] === 'number')).toBe(true);
    });
  });
});
