// The first half of the CI seed budget (see sim-suite.ts); it also runs a replay (`SEED=<n>`).
import { defineSeedShare } from './sim-suite.js';

defineSeedShare({ name: 'seeds A', fixedFrom: 0, fixedCount: 260, randomCount: 2, failoversMin: 5_000, replays: true });
