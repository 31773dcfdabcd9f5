import { SeededRandom } from '../../src/core/seeded-random.js';

/**
 * Seeded randomness for tests: `SEED=<n>` replays a run. The seed is printed when a test using it
 * fails (register it with `onTestFailed`).
 */
export function testSeed(): number {
  const fromEnv = process.env['SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n)) throw new Error(`SEED must be an integer, got ${fromEnv}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** A seeded PRNG for test schedules (the core's mulberry32). Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
