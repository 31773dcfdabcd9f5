/**
 * The simulation must bite: with a planted bug, some seed of the CI budget must break an invariant.
 * The seeds are tried in the CI order; the first one that finds it is printed with its shrunk schedule.
 * The bugs (`PLANTED_BUGS`) go in through `MasterMachine`'s test-only health-rule seam:
 * - `no-agreement`: a master fails a coreapp over on its own silence, without a second master;
 * - `impatient`: two masters agree, but on half of `unhealthy_interval`.
 */
import { describe, expect, it } from 'vitest';
import { describeFault, PLANTED_BUGS, plantedBugFromEnv, runScenario, scenarioOf, shrinkFailure, type PlantedBug } from './sim-run.js';
import { fixedSeeds, seedPlan } from './sim-seeds.js';

describe('planted bugs are found within the CI seed budget', () => {
  for (const bug of Object.keys(PLANTED_BUGS) as PlantedBug[]) {
    it(`finds "${bug}"`, () => {
      const replaying = process.env['SEED'] !== undefined && process.env['SEED'] !== '';
      if (replaying && plantedBugFromEnv() !== bug) return;
      const plan = seedPlan(fixedSeeds(0, 520), 0);
      for (const [tried, seed] of plan.seeds.entries()) {
        const scenario = scenarioOf(seed);
        const result = runScenario(scenario, { plantedBug: bug, keep: plan.keep });
        if (result.violation === null) continue;
        const shrunk = shrinkFailure(scenario, { plantedBug: bug }, result.violation.invariant);
        console.log(
          [
            `planted bug "${bug}" found by seed ${seed} (${tried + 1} of ${plan.seeds.length} seeds tried): ${result.violation.message}`,
            `shortest failing schedule (${shrunk.faults.length} of ${scenario.faults.length} faults): ${shrunk.violation.message}`,
            ...shrunk.faults.map((f) => `  ${describeFault(f)}`),
            `replay: SIM_PLANTED_BUG=${bug} SEED=${seed} SIM_KEEP=${shrunk.keep.join(',')} npm run test:sim`,
          ].join('\n'),
        );
        expect(result.violation.invariant).toBe('agreement');
        return;
      }
      expect.fail(`the planted bug "${bug}" went unnoticed by ${plan.seeds.length} seeds`);
    });
  }
});
