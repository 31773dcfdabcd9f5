/**
 * The faults project's global setup: starts test-results/faults.json empty and prints the table of
 * every scenario's summary line when the run ends.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { FAULTS_JSON, formatTable, readSummaries } from './fault-checker.js';
import { RESULTS_DIR } from './fault-cluster.js';

export default function setup(): () => void {
  const started = Date.now();
  mkdirSync(RESULTS_DIR, { recursive: true });
  rmSync(FAULTS_JSON, { force: true });
  return () => {
    const summaries = readSummaries();
    if (summaries.length === 0) return;
    process.stdout.write(`\nFault scenarios (${FAULTS_JSON}; run took ${Math.round((Date.now() - started) / 1_000)} s):\n${formatTable(summaries)}\n`);
  };
}
