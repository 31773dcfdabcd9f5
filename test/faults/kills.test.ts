/**
 * Fault scenarios: kill -9 of each role under steady load (SQLite and PostgreSQL), checked by the
 * fault checker (test/faults/support/fault-checker.ts): I1–I9 where observable.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { runScenario } from './support/scenario.js';

const TARGETS = SQL_TARGETS.filter((t) => t.name !== 'mysql');

for (const target of TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: kills`, () => {
    it('kill -9 the primary coreapp mid-burst: a secondary takes over, nothing lost or doubled', async () => {
      await runScenario(target, 'coreapp-kill9', { rate: 100, cluster: { masters: 2, coreapps: 3 } }, async ({ cluster, load, timing }) => {
        const primary = await cluster.primaryCoreapp();
        await load.waitForMore(100);
        const faultAtMs = await cluster.kill9(primary);
        await cluster.waitForPrimaries();
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.unhealthyMs + 2_000, failoversMax: 1 };
      });
    });

    it('kill -9 the primary master: the other master takes the lease; no failover, traffic goes on', async () => {
      await runScenario(target, 'master-kill9', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const master = await cluster.primaryMaster();
        const faultAtMs = await cluster.kill9(master);
        await waitFor('the other master to hold the lease', async () => (await cluster.topology()).lease?.holder !== master.nodeId && (await cluster.topology()).lease?.holder != null, 15_000, 50);
        await load.waitForMore(100);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.leaseTtlMs, failoversMax: 0 };
      });
    });

    it('kill -9 the webapp: the client retries with the same Idempotency-Key against the restarted webapp', async () => {
      await runScenario(target, 'webapp-kill9', { cluster: { masters: 2, coreapps: 2, webapps: 1 } }, async ({ cluster, load }) => {
        const webapp = cluster.node('webapp-1');
        const faultAtMs = await cluster.kill9(webapp);
        await cluster.launch(webapp);
        await load.waitForMore(100);
        // The webapp is the only way in: the shard idles while it is down, so the gap is measured, not bounded.
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: null, failoversMax: 0 };
      });
    });
  });
}
