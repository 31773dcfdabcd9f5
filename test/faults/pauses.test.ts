/**
 * Fault scenarios: processes paused (SIGSTOP) past their deadlines and resumed (SIGCONT) — the zombie
 * primary coreapp and the zombie primary master — under steady load, checked by the fault checker.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { simReport } from './support/fault-checker.js';
import { runScenario } from './support/scenario.js';

const TARGETS = SQL_TARGETS.filter((t) => t.name !== 'mysql');

for (const target of TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: pauses`, () => {
    it('SIGSTOP the primary coreapp longer than unhealthy_interval, then SIGCONT: the zombie sends nothing and becomes secondary', async () => {
      await runScenario(target, 'coreapp-sigstop', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing, webhook }) => {
        const primary = await cluster.primaryCoreapp();
        if (target.name === 'sqlite') {
          // SQLite has one write lock per file and a stopped process keeps what it holds: paused inside
          // a write it would freeze every writer (docs/operations.md). So on SQLite the pause lands on
          // a quiet coreapp — requests drained, receipts settled, webhooks delivered — and the load
          // resumes at once.
          load.pause();
          await waitFor('the requests in flight answered', () => load.history.every((o) => o.result !== null), 30_000, 20);
          await waitFor('the receipts settled', async () => {
            const r = (await simReport(cluster)) as unknown as { receipts_pending: number; receipts_scheduled: number };
            return r.receipts_pending === 0 && r.receipts_scheduled === 0;
          }, 15_000, 20);
          await waitFor('every webhook delivered', () => load.ok.every((o) => (webhook.statuses.get(o.id as string) ?? []).includes('read')), 15_000, 20);
          // Its periodic liveness write is its last write while idle: stop it right after one.
          const seenAt = async (): Promise<number> => (await cluster.stores.nodes.list()).nodes.find((n) => n.id === primary.nodeId)?.lastSeenAtMs ?? 0;
          const before = await seenAt();
          await waitFor('a fresh liveness write', async () => (await seenAt()) > before, 2 * timing.dbDeadMs, 10);
        }
        const faultAtMs = cluster.signal(primary, 'SIGSTOP');
        load.resume();
        const successor = await waitFor('another primary', async () => {
          const p = await cluster.waitForPrimaries(30_000);
          return p.get(0)?.node_id !== primary.nodeId ? p.get(0) : undefined;
        }, 30_000, 50);
        await waitFor('the pause to outlast 2 × unhealthy_interval', () => Date.now() - faultAtMs >= 2 * timing.unhealthyMs, 4 * timing.unhealthyMs, 50);
        cluster.signal(primary, 'SIGCONT');
        await load.waitForMore(50);
        await waitFor('the resumed coreapp to be secondary', async () => {
          const node = (await cluster.topology()).nodes.find((n) => n.node_id === primary.nodeId);
          return node !== undefined && node.shard === null && node.gateway_status === 'disconnected';
        }, 15_000, 50);
        if (successor.node_id === primary.nodeId) throw new Error('the paused coreapp is still primary');
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.unhealthyMs + 5_000, failoversMax: 1 };
      });
    });

    it('SIGSTOP the primary master longer than its lease, then SIGCONT: one primary master per epoch, no failover', async () => {
      await runScenario(target, 'master-sigstop', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const master = await cluster.primaryMaster();
        const faultAtMs = cluster.signal(master, 'SIGSTOP');
        await waitFor('the other master to hold the lease', async () => {
          const holder = (await cluster.topology()).lease?.holder;
          return holder != null && holder !== master.nodeId;
        }, 15_000, 50);
        await waitFor('the pause to outlast the lease by 2 s', () => Date.now() - faultAtMs >= timing.leaseTtlMs + 2_000, 10_000, 50);
        cluster.signal(master, 'SIGCONT');
        await load.waitForMore(100);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.leaseTtlMs, failoversMax: 0 };
      });
    });
  });
}
