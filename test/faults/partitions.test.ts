/**
 * Fault scenarios: network partitions — the primary coreapp cut from the database only (PostgreSQL),
 * from the masters only (heartbeat path dead, database path alive), and the primary master cut from
 * the database (PostgreSQL).
 *
 * Two ways to cut, the same scenarios and checks:
 * - the fault proxies (no privileges needed): each node's database path and each coreapp's internal
 *   API go through a proxy that is partitioned;
 * - network namespaces (`*-netns`), where the suite runs as root and `ip netns` works: every node in
 *   a namespace of its own, and a real link taken away (`support/netns-lab.ts`). Elsewhere those are
 *   skipped, and the reason is printed.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import type { FaultCluster, FaultNode } from './support/fault-cluster.js';
import { netnsSkipReason } from './support/netns-lab.js';
import { runScenario, type Timing } from './support/scenario.js';

const TARGETS = SQL_TARGETS.filter((t) => t.name !== 'mysql');
const NETNS_SKIP = netnsSkipReason();
if (NETNS_SKIP !== null) console.log(`partitions with network namespaces skipped: ${NETNS_SKIP}`);

/** How a variant cuts a node from the database, or a coreapp from the masters and webapps, and heals it. */
interface Partitioner {
  readonly name: string;
  readonly suffix: string;
  readonly netns: boolean;
  readonly skipReason: string | null;
  database(cluster: FaultCluster, node: FaultNode, cut: boolean): Promise<void>;
  controlPlane(cluster: FaultCluster, node: FaultNode, cut: boolean): Promise<void>;
}

const PARTITIONERS: readonly Partitioner[] = [
  {
    name: 'fault proxies',
    suffix: '',
    netns: false,
    skipReason: null,
    database: async (_c, node, cut) => (cut ? node.dbProxy?.partition() : node.dbProxy?.heal()),
    controlPlane: async (_c, node, cut) => (cut ? node.internalProxy?.partition() : node.internalProxy?.heal()),
  },
  {
    name: 'network namespaces',
    suffix: '-netns',
    netns: true,
    skipReason: NETNS_SKIP,
    database: async (cluster, node, cut) => (cut ? cluster.cut(node, 'db') : cluster.heal(node, 'db')),
    // The cluster network: masters and webapps cannot reach it; its database and upstream links work.
    controlPlane: async (cluster, node, cut) => (cut ? cluster.cut(node, 'cluster') : cluster.heal(node, 'cluster')),
  },
];

for (const p of PARTITIONERS) {
  for (const target of TARGETS) {
    const postgres = target.name === 'postgres';
    const cluster = { masters: 2, coreapps: 2, netns: p.netns };
    describe.skipIf(target.skipReason !== null || p.skipReason !== null)(`${target.name}: partitions (${p.name})`, () => {
      /** Cuts the primary coreapp one way until another primary runs; after the heal it is secondary (one failover). */
      const primaryCut = (scenario: string, path: 'database' | 'controlPlane', boundMs: (t: Timing) => number) =>
        runScenario(target, `${scenario}${p.suffix}`, { cluster }, async ({ cluster: c, load, timing }) => {
          const primary = await c.primaryCoreapp();
          const faultAtMs = Date.now();
          await p[path](c, primary, true);
          await waitFor('another primary', async () => (await c.waitForPrimaries(30_000)).get(0)?.node_id !== primary.nodeId, 30_000, 50);
          await load.waitForMore(50);
          await p[path](c, primary, false);
          return { affectedShard: 0, faultAtMs, unavailableMaxMs: boundMs(timing), failoversMax: 1 };
        });

      it.skipIf(!postgres)('cut the primary coreapp from the database only: the DB path fails it over; after the heal it is secondary', async () => {
        await primaryCut('coreapp-db-cut', 'database', (t) => t.dbDeadMs + 3_000);
      });

      it('cut the primary coreapp from the masters only (heartbeats dead, DB path alive): one failover, fenced', async () => {
        await primaryCut('coreapp-heartbeat-cut', 'controlPlane', (t) => t.unhealthyMs + 3_000);
      });

      it.skipIf(!postgres)('cut the primary master from the database: it steps down, the other master takes the lease, no failover', async () => {
        await runScenario(target, `master-db-cut${p.suffix}`, { cluster }, async ({ cluster: c, load, timing }) => {
          const master = await c.primaryMaster();
          const faultAtMs = Date.now();
          await p.database(c, master, true);
          await waitFor('the other master to hold the lease', async () => {
            const holder = (await c.topology()).lease?.holder;
            return holder != null && holder !== master.nodeId;
          }, 15_000, 50);
          await load.waitForMore(50);
          await p.database(c, master, false);
          await load.waitForMore(50);
          return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.leaseTtlMs, failoversMax: 0 };
        });
      });
    });
  }
}
