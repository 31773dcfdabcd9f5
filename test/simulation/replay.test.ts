/**
 * A seed is a replay: the same seed (and the same kept faults) gives the same run, step for step —
 * otherwise `SEED=<n>` would not reproduce a failure.
 */
import { expect, it } from 'vitest';
import { runScenario, scenarioOf } from './sim-run.js';

it('runs a seed identically twice, whole or shrunk', () => {
  if (process.env['SEED'] !== undefined && process.env['SEED'] !== '') return;
  const scenario = scenarioOf(3);
  expect(runScenario(scenario)).toEqual(runScenario(scenarioOf(3)));
  const keep = new Set(scenario.faults.filter((f) => f.index % 3 === 0).map((f) => f.index));
  const shrunk = runScenario(scenario, { keep });
  expect(shrunk).toEqual(runScenario(scenario, { keep }));
  expect(shrunk.faultsPlayed).toBeLessThan(runScenario(scenario).faultsPlayed);
});
