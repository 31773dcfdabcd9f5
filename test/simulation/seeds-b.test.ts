// The second half of the CI seed budget (see sim-suite.ts).
import { defineSeedShare } from './sim-suite.js';

defineSeedShare({ name: 'seeds B', fixedFrom: 260, fixedCount: 260, randomCount: 2, failoversMin: 5_000, replays: false });
