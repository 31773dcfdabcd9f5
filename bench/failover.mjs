// `npm run bench:failover [-- --runs 5]`: runs the HA scenarios of test/cluster/failover.test.ts
// (real processes, real signals) several times and prints min / median / max per scenario and
// database. SQLite always; PostgreSQL and MySQL when SHARDGATE_TEST_POSTGRES_URL /
// SHARDGATE_TEST_MYSQL_URL are set. Raw lines go to bench/results/failover-<time>.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = process.argv.indexOf('--runs');
const runs = at >= 0 ? Number(process.argv[at + 1]) : 5;
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  console.error('bench/failover.mjs: --runs must be an integer from 1 to 50');
  process.exit(2);
}
const samples = new Map();
let failures = 0;
for (let run = 1; run <= runs; run++) {
  const started = Date.now();
  const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'cluster', 'test/cluster/failover.test.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    failures++;
    console.error(`run ${run}: the suite failed (exit ${result.status}); its output:\n${(result.stdout + result.stderr).slice(-4000)}`);
  }
  let lines = 0;
  for (const match of result.stdout.matchAll(/^FAILOVER (\S+) (\S+) (\d+)$/gm)) {
    const key = `${match[1]} ${match[2]}`;
    samples.set(key, [...(samples.get(key) ?? []), Number(match[3])]);
    lines++;
  }
  console.log(`run ${run}/${runs}: ${lines} measurements in ${Math.round((Date.now() - started) / 1000)} s`);
}
const rows = [...samples.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, values]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const [scenario, db] = key.split(' ');
  return { scenario, db, runs: sorted.length, min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted.at(-1), samples: values };
});
console.log('\n| scenario | db | runs | min ms | median ms | max ms |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.scenario} | ${r.db} | ${r.runs} | ${r.min} | ${r.median} | ${r.max} |`);
mkdirSync(`${root}/bench/results`, { recursive: true });
writeFileSync(`${root}/bench/results/failover-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, `${JSON.stringify({ runs, failures, rows }, null, 2)}\n`);
process.exit(failures === 0 ? 0 : 1);
