/**
 * Fault scenarios around operations: every master down for 30 s, the webhook endpoint down for 60 s,
 * a shard-count change with a coreapp killed in the middle, and a rolling restart of every node.
 */
import { describe, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { runScenario } from './support/scenario.js';

const TARGETS = SQL_TARGETS.filter((t) => t.name !== 'mysql');
/**
 * 40 recipients: enough that every shard of 4 gets traffic. None ends in 0000: the simulator fails
 * those (`--invalid-suffix`), and a failed message has no sent/delivered/read webhooks.
 */
const MANY = Array.from({ length: 40 }, (_, i) => String(16_315_560_001 + i));

for (const target of TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: operations`, () => {
    it('kill every master for 30 s: traffic goes on; restarted masters take over without a failover', async () => {
      await runScenario(target, 'all-masters-down-30s', { cluster: { masters: 2, coreapps: 2 } }, async ({ cluster, load, timing }) => {
        const masters = cluster.nodes.filter((n) => n.role === 'master');
        const faultAtMs = Date.now();
        for (const m of masters) await cluster.kill9(m);
        await waitFor('30 s without a master', () => Date.now() - faultAtMs >= 30_000, 40_000, 50);
        for (const m of masters) await cluster.launch(m);
        await cluster.primaryMaster();
        await load.waitForMore(50);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.leaseTtlMs, failoversMax: 0 };
      });
    });

    it('webhook endpoint down for 60 s: every status arrives afterwards, in order per contact', async () => {
      await runScenario(target, 'webhook-down-60s', { cluster: { masters: 2, coreapps: 2 } }, async ({ load, webhook }) => {
        const faultAtMs = Date.now();
        await webhook.down();
        await waitFor('60 s without the webhook endpoint', () => Date.now() - faultAtMs >= 60_000, 70_000, 50);
        await webhook.up();
        await load.waitForMore(50);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: 3_000, failoversMax: 0 };
      });
    });

    it('shard count 2 → 4 under load with a primary coreapp killed in the middle: no loss, order kept', async () => {
      await runScenario(target, 'shard-change-kill9', { cluster: { masters: 2, coreapps: 5, shards: 2 }, recipients: MANY }, async ({ cluster, load }) => {
        const before = await cluster.primaryCoreapp(0);
        const sinceSeq = Math.max(0, ...(await cluster.events()).map((e) => e.seq));
        const faultAtMs = Date.now();
        const change = cluster.api('POST', '/v1/account/shards', { cc: '1', phone_number: '6505550100', shards: 4 });
        await waitFor('the shard-count change to begin', async () => (await cluster.events()).some((e) => e.seq > sinceSeq && e.kind === 'shards_changing'), 30_000, 10);
        await cluster.kill9(before);
        const answer = await change;
        if (answer.status < 200 || answer.status > 299) {
          // A change interrupted by the kill may be refused with a retryable error: the operator retries.
          const retried = await cluster.api('POST', '/v1/account/shards', { cc: '1', phone_number: '6505550100', shards: 4 });
          if (retried.status < 200 || retried.status > 299) throw new Error(`shard-count change failed: ${answer.status} ${JSON.stringify(answer.body)}; retry ${retried.status} ${JSON.stringify(retried.body)}`);
        }
        await cluster.waitForPrimaries(60_000, 4);
        await load.waitForMore(200);
        return { affectedShard: null, faultAtMs, unavailableMaxMs: null, failoversMax: 1 };
      });
    });

    it('rolling restart of every node, one at a time: zero failed requests', async () => {
      await runScenario(target, 'rolling-restart', { cluster: { masters: 2, coreapps: 2, webapps: 2 } }, async ({ cluster, load }) => {
        const faultAtMs = Date.now();
        const primaryCoreapp = await cluster.primaryCoreapp();
        const primaryMaster = await cluster.primaryMaster();
        const order = [
          ...cluster.nodes.filter((n) => n.role === 'coreapp' && n !== primaryCoreapp),
          primaryCoreapp,
          ...cluster.nodes.filter((n) => n.role === 'master' && n !== primaryMaster),
          primaryMaster,
          ...cluster.nodes.filter((n) => n.role === 'webapp'),
        ];
        for (const node of order) {
          await cluster.terminate(node);
          await cluster.launch(node);
          await cluster.waitForPrimaries();
          await cluster.primaryMaster();
          await load.waitForMore(25);
        }
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: 3_000, failoversMax: 0 };
      });
    });
  });
}
