// `npm run bench`: every benchmark in turn (the project must be built). `--quick` shortens each.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
const passThrough = process.argv.slice(2);
const benches = [
  ['bench/gateway-throughput.mjs', passThrough],
  ['bench/sim-throughput.mjs', quick ? ['--duration-ms', '3000'] : []],
  ['bench/multiconnect-throughput.mjs', quick ? ['--quick'] : []],
];
let failed = 0;
for (const [script, args] of benches) {
  console.log(`\n== ${script} ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
