/**
 * The harness bites: the same scenarios on deliberately broken builds (src/adapters/unsafe-test-faults.ts)
 * must FAIL the checker — fencing disabled with I1 or I4, durable accept disabled with I2. Each
 * failure's report is printed (it is the proof), and the run's line in faults.json says FAIL.
 */
import { describe, expect, it } from 'vitest';
import { SQL_TARGETS } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';
import { runScenario } from './support/scenario.js';

const sqlite = SQL_TARGETS.find((t) => t.name === 'sqlite');
if (sqlite === undefined) throw new Error('no sqlite target');

function broken(fault: string): Record<string, string> {
  return { NODE_ENV: 'test', SHARDGATE_UNSAFE_TEST_FAULTS: fault };
}

async function failureOf(run: Promise<unknown>): Promise<string> {
  const error = await run.then(() => null, (e: unknown) => e as Error);
  if (error === null) throw new Error('the broken build passed the checker: the harness does not bite');
  const message = (error.cause as Error | undefined)?.message ?? error.message;
  process.stdout.write(`\n--- checker output on the broken build ---\n${message}\n`);
  return message;
}

describe('sqlite: deliberately broken builds fail the checker', () => {
  it('fencing disabled (no epoch raise on promotion, no ownership re-check): the masters-only cut fails with I1 or I4', async () => {
    // Whether the two owners' sends cross a replacement is a race: up to two runs are the budget.
    let message = '';
    for (let run = 1; run <= 2 && !/I4 no stale-epoch send|I1 one connection per shard/.test(message); run += 1) {
      if (run > 1) process.stdout.write('broken-no-fencing: the first run broke no I1/I4; running it again\n');
      message = await failureOf(
      runScenario(sqlite, 'broken-no-fencing', { cluster: { masters: 2, coreapps: 2, env: broken('no-fencing') } }, async ({ cluster, load, timing }) => {
        const primary = await cluster.primaryCoreapp();
        const faultAtMs = Date.now();
        await primary.internalProxy?.partition();
        await waitFor('another primary', async () => (await cluster.topology()).nodes.some((n) => n.shard === 0 && n.node_id !== primary.nodeId), 30_000, 50);
        // Ten seconds in which both believe they own the shard (the master cannot demote the old one).
        await load.waitForMore(500);
        await primary.internalProxy?.heal();
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: timing.unhealthyMs + 3_000, failoversMax: 1 };
      }),
      );
    }
    expect(message).toMatch(/I4 no stale-epoch send|I1 one connection per shard/);
  });

  it('durable accept disabled (201 before the write): kill -9 the webapp fails with I2', async () => {
    const message = await failureOf(
      runScenario(sqlite, 'broken-no-durable-accept', { cluster: { masters: 2, coreapps: 2, env: broken('no-durable-accept') } }, async ({ cluster, load }) => {
        const webapp = cluster.node('webapp-1');
        await load.waitForMore(100);
        const faultAtMs = await cluster.kill9(webapp);
        await cluster.launch(webapp);
        await load.waitForMore(50);
        return { affectedShard: 0, faultAtMs, unavailableMaxMs: null, failoversMax: 0 };
      }),
    );
    expect(message).toMatch(/I2 no loss/);
  });
});
