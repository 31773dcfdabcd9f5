/**
 * One CI share of the simulation: a range of fixed seeds plus a few random ones, every one run with
 * the invariants checked after every step. The shares are separate test files so that vitest runs
 * them on both cores; each asserts its part of the failover budget.
 */
import { expect, it } from 'vitest';
import { plantedBugFromEnv } from './sim-run.js';
import type { SimCounters } from './sim-world.js';
import { fixedSeeds, runSeedOrExplain, seedPlan } from './sim-seeds.js';

export interface SuiteShare {
  readonly name: string;
  readonly fixedFrom: number;
  readonly fixedCount: number;
  readonly randomCount: number;
  /** Failovers this share must simulate (the shares together: ≥ 10,000 per CI run). */
  readonly failoversMin: number;
  /** Under `SEED=<n>` only the share that owns the replay runs it. */
  readonly replays: boolean;
}

export function defineSeedShare(share: SuiteShare): void {
  it(`${share.name}: every invariant holds after every step, and every shard settles once the faults stop`, () => {
    const plan = seedPlan(fixedSeeds(share.fixedFrom, share.fixedCount), share.randomCount);
    if (plan.replay && !share.replays) return;
    // `SIM_PLANTED_BUG=…` runs the share with a planted bug: a deliberately broken build, to see a failure report.
    const plantedBug = plantedBugFromEnv();
    const startedAt = performance.now();
    const totals: SimCounters = { promotions: 0, failovers: 0, leaseEpochs: 0, sendsAccepted: 0, staleSends: 0, sendsUnderOlderDbEpoch: 0, helloRefusedStale: 0, ownershipsLost: 0 };
    let steps = 0;
    const random = plan.seeds.slice(share.fixedCount);
    if (!plan.replay) console.log(`${share.name}: fixed seeds ${share.fixedFrom}..${share.fixedFrom + share.fixedCount - 1}, random seeds ${random.join(', ')} (replay one with SEED=<n> npm run test:sim)`);
    for (const seed of plan.seeds) {
      const result = runSeedOrExplain(seed, { keep: plan.keep, plantedBug });
      steps += result.steps;
      for (const key of Object.keys(totals) as (keyof SimCounters)[]) totals[key] += result.counters[key];
    }
    const seconds = ((performance.now() - startedAt) / 1_000).toFixed(1);
    console.log(`${share.name}: ${plan.seeds.length} seeds, ${steps} steps checked, ${totals.failovers} failovers, ${totals.promotions} promotions, ` +
      `${totals.leaseEpochs} lease epochs, ${totals.sendsAccepted} sends accepted, ${totals.staleSends} stale sends refused by the upstream, ` +
      `${totals.sendsUnderOlderDbEpoch} sends before the new owner connected, ${totals.ownershipsLost} ownerships lost, in ${seconds} s`);
    if (!plan.replay) expect(totals.failovers, `${share.name}: simulated failovers`).toBeGreaterThanOrEqual(share.failoversMin);
  });
}
