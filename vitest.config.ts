import { defineConfig } from 'vitest/config';

// Each folder of test/ is a project so that the fast suites run alone (`--project unit`) and the
// slow ones (real processes, real databases) can be chosen explicitly. Only TypeScript sources are
// collected: compiled output under dist/ is never a test.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', sequence: { groupOrder: 0 }, include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'contract',
          sequence: { groupOrder: 0 },
          include: ['test/contract/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'api',
          sequence: { groupOrder: 0 },
          include: ['test/api/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'coreapp',
          sequence: { groupOrder: 0 },
          include: ['test/coreapp/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 0 },
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          // Whole clusters of processes with timing bounds: one file at a time, after every other
          // project has finished, so they never share the two cores with another suite.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 240_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          // Fault injection on whole clusters of real processes (docs/faults.md): one file at a time,
          // after every other project; not part of `npm test` (run by `npm run test:faults`).
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          globalSetup: ['test/faults/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'cli',
          sequence: { groupOrder: 0 },
          include: ['test/cli/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // A real cluster and a real Chromium (Debian's /usr/bin/chromium): one file at a time, after the
          // other projects. Not in `npm test`'s list: run with `npm run test:browser`.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 300_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // The network simulator (src/sim): the upstream double every cluster test talks to.
          name: 'netsim',
          sequence: { groupOrder: 0 },
          include: ['test/sim/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          // The deterministic simulation of the control plane (docs/simulation.md): pure, seeded, CPU-bound.
          name: 'simulation',
          sequence: { groupOrder: 0 },
          include: ['test/simulation/**/*.test.ts'],
          testTimeout: 300_000,
        },
      },
    ],
  },
});
