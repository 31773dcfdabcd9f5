/**
 * Fault scenarios on the database path of every node (PostgreSQL: each node reaches it through a
 * fault proxy of its own). SQLite is a file, not a network service: these scenarios do not apply.
 *
 * "Restart the database" is made with the proxies, not with `pg_ctlcluster … restart`: the
 * PostgreSQL server of this machine is shared with other suites, which a real restart would break.
 * Every node's connections are reset and new ones refused for 3 s — what clients see of a fast
 * restart — then the path heals.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import type { FaultCluster } from './support/fault-cluster.js';
import { runScenario } from './support/scenario.js';

const postgres = SQL_TARGETS.find((t) => t.name === 'postgres');
if (postgres === undefined) throw new Error('no postgres target');

async function everyDbProxy(cluster: FaultCluster, action: (p: NonNullable<FaultCluster['nodes'][number]['dbProxy']>) => Promise<void>): Promise<void> {
  await Promise.all(cluster.nodes.map((n) => (n.dbProxy === null ? Promise.resolve() : action(n.dbProxy))));
}

describe.skipIf(postgres.skipReason !== null)('postgres: database faults', () => {
  it('the database goes away for 3 s (every connection reset, new ones refused), then returns: no loss, no failed request', async () => {
    await runScenario(postgres, 'db-restart', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load }) => {
      const faultAtMs = Date.now();
      await everyDbProxy(cluster, async (p) => {
        await p.drop();
        await p.cut();
      });
      await waitFor('3 s of database outage', () => Date.now() - faultAtMs >= 3_000, 5_000, 20);
      await everyDbProxy(cluster, (p) => p.heal());
      await load.waitForMore(100, 60_000);
      return { affectedShard: 0, faultAtMs, unavailableMaxMs: 15_000, failoversMax: 0 };
    });
  });

  it('500 ms of added database latency for 30 s: traffic slows, no false failover', async () => {
    await runScenario(postgres, 'db-latency-500ms', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load }) => {
      const faultAtMs = Date.now();
      await everyDbProxy(cluster, (p) => p.latency(500, 0));
      await waitFor('30 s of added latency', () => Date.now() - faultAtMs >= 30_000, 40_000, 50);
      await everyDbProxy(cluster, (p) => p.heal());
      await load.waitForMore(50);
      return { affectedShard: 0, faultAtMs, unavailableMaxMs: 5_000, failoversMax: 0 };
    });
  });
});
