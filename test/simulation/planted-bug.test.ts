/**
 * The simulation must bite: with a planted bug — a master fails a coreapp over on its own silence,
 * without a second master's agreement — some seed of the CI budget must break an invariant. The seeds
 * are tried in the CI order; the first one that finds it is printed.
 */
import { expect, it } from 'vitest';
import { describeFault, runScenario, scenarioOf, shrinkFailure } from './sim-run.js';
import { fixedSeeds, seedPlan } from './sim-seeds.js';

it('finds a promotion without the two-master agreement within the CI seed budget', () => {
  const replay = process.env['SEED'];
  if (replay !== undefined && replay !== '' && process.env['SIM_PLANTED_BUG'] !== '1') return;
  const plan = seedPlan(fixedSeeds(0, 520), 0);
  const seeds = plan.seeds;
  for (const seed of seeds) {
    const scenario = scenarioOf(seed);
    const result = runScenario(scenario, { skipAgreement: true, keep: plan.keep });
    if (result.violation === null) continue;
    const shrunk = shrinkFailure(scenario, { skipAgreement: true }, result.violation.invariant);
    console.log(
      [
        `planted bug (no two-master agreement) found by seed ${seed} (${seed - (seeds[0] ?? 0) + 1} of ${seeds.length} seeds tried): ${result.violation.message}`,
        `shortest failing schedule (${shrunk.faults.length} of ${scenario.faults.length} faults): ${shrunk.violation.message}`,
        ...shrunk.faults.map((f) => `  ${describeFault(f)}`),
        `replay: SIM_PLANTED_BUG=1 SEED=${seed} SIM_KEEP=${shrunk.keep.join(',')} npm run test:sim`,
      ].join('\n'),
    );
    expect(result.violation.invariant).toBe('agreement');
    return;
  }
  expect.fail(`the planted bug went unnoticed by ${seeds.length} seeds`);
});
