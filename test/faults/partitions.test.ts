/**
 * Fault scenarios: network partitions made with the fault proxies (no privileges needed) — the
 * primary coreapp cut from the database only (PostgreSQL), from the masters only (heartbeat path
 * dead, database path alive), and the primary master cut from the database (PostgreSQL).
 *
 * The network-namespace variant (each node in its own `ip netns`) is not implemented: the proxies
 * give the same partitions without root; see docs/faults.md.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { runScenario } from './support/scenario.js';

const TARGETS = SQL_TARGETS.filter((t) => t.name !== 'mysql');

for (const target of TARGETS) {
  const postgres = target.name === 'postgres';
  describe.skipIf(target.skipReason !== null)(`${target.name}: partitions`, () => {
    it.skipIf(!postgres)('cut the primary coreapp from the database only: the DB path fails it over; after the heal it is secondary', async () => {
      await runScenario(target, 'coreapp-db-cut', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const primary = await cluster.primaryCoreapp();
        const faultAtMs = Date.now();
        await primary.dbProxy?.partition();
        await waitFor('another primary', async () => (await cluster.waitForPrimaries(30_000)).get(0)?.node_id !== primary.nodeId, 30_000, 50);
        await load.waitForMore(50);
        await primary.dbProxy?.heal();
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.dbDeadMs + 3_000, failoversMax: 1 };
      });
    });

    it('cut the primary coreapp from the masters only (heartbeats dead, DB path alive): one failover, fenced', async () => {
      await runScenario(target, 'coreapp-heartbeat-cut', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const primary = await cluster.primaryCoreapp();
        const faultAtMs = Date.now();
        await primary.internalProxy?.partition();
        await waitFor('another primary', async () => (await cluster.waitForPrimaries(30_000)).get(0)?.node_id !== primary.nodeId, 30_000, 50);
        await load.waitForMore(50);
        await primary.internalProxy?.heal();
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.unhealthyMs + 3_000, failoversMax: 1 };
      });
    });

    it.skipIf(!postgres)('cut the primary master from the database: it steps down, the other master takes the lease, no failover', async () => {
      await runScenario(target, 'master-db-cut', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const master = await cluster.primaryMaster();
        const faultAtMs = Date.now();
        await master.dbProxy?.partition();
        await waitFor('the other master to hold the lease', async () => {
          const holder = (await cluster.topology()).lease?.holder;
          return holder != null && holder !== master.nodeId;
        }, 15_000, 50);
        await load.waitForMore(50);
        await master.dbProxy?.heal();
        await load.waitForMore(50);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.leaseTtlMs, failoversMax: 0 };
      });
    });
  });
}
