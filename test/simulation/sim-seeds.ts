/**
 * Which seeds a test run plays: `SEED=<n>` replays exactly one (with `SIM_KEEP=<i,j,…>`, only those
 * faults of its schedule: a shrunk one); otherwise the fixed CI list plus `SIM_RANDOM_SEEDS` random
 * ones (printed). A failing seed is printed with its shrunk schedule and the command that replays it.
 */
import { describeFault, runScenario, scenarioOf, shrinkFailure, type RunOptions, type RunResult } from './sim-run.js';

export interface SeedPlan {
  readonly seeds: readonly number[];
  readonly replay: boolean;
  readonly keep: ReadonlySet<number> | undefined;
}

/** The fixed seeds every CI run plays: 0..count-1, so that a regression on any of them is found every time. */
export function fixedSeeds(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

export function seedPlan(fixed: readonly number[], randomCount: number): SeedPlan {
  const fromEnv = process.env['SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0) throw new Error(`SEED must be a non-negative integer, got ${fromEnv}`);
    const keepEnv = process.env['SIM_KEEP'];
    const keep = keepEnv === undefined || keepEnv === '' ? undefined : new Set(keepEnv.split(',').map(Number));
    return { seeds: [n >>> 0], replay: true, keep };
  }
  const random = Array.from({ length: randomCount }, () => Math.floor(Math.random() * 2 ** 31));
  return { seeds: [...fixed, ...random], replay: false, keep: undefined };
}

/** Runs one seed; on a violation, shrinks it and throws an error that says how to replay it. */
export function runSeedOrExplain(seed: number, options: RunOptions): RunResult {
  const scenario = scenarioOf(seed);
  const result = runScenario(scenario, options);
  if (result.violation === null) return result;
  const shrunk = shrinkFailure(scenario, { plantedBug: options.plantedBug }, result.violation.invariant);
  const env = options.plantedBug === undefined ? '' : `SIM_PLANTED_BUG=${options.plantedBug} `;
  const lines = [
    `simulation seed ${seed} broke ${result.violation.invariant}: ${result.violation.message}`,
    `cluster: ${scenario.masters} masters, ${scenario.shards} shards, ${scenario.coreapps} coreapps, settings ${JSON.stringify(scenario.settings)}`,
    `shortest failing schedule found (${shrunk.faults.length} of ${scenario.faults.length} faults, ${shrunk.runs} runs): ${shrunk.violation.message}`,
    ...shrunk.faults.map((f) => `  ${describeFault(f)}`),
    `replay: ${env}SEED=${seed} npm run test:sim    (the shrunk schedule: ${env}SEED=${seed} SIM_KEEP=${shrunk.keep.join(',')} npm run test:sim)`,
  ];
  throw new Error(lines.join('\n'));
}
