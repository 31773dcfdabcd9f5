// End-to-end throughput of a local cluster by shard count, with the simulator's per-connection rate
// limit on: the reason multiconnect exists (one upstream connection per shard, each limited).
//
//   npm run bench:multiconnect [-- --shards 1,2,4,8] [--conn-rate 500] [--messages 6000] [--db <url>]
//
// For each shard count: `shardgate cluster up --shards N --coreapps N+1` (2 masters, a webapp, the
// simulator with `--conn-rate`), webhooks on, then the messages from this process over 64 keep-alive
// connections, timed from the first request to the last message taken by the network. Prints the
// messages/s per shard count and its ratio to the 1-shard figure; writes
// bench/results/multiconnect-throughput.json. Exits 1 on a checker violation or a lost message.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argValue, root } from './lib.mjs';
import { throughputCluster } from './scenarios.mjs';

const argv = process.argv.slice(2);
const settings = {
  shards: String(argValue(argv, 'shards', '1,2,4,8')).split(',').map(Number),
  connRate: Number(argValue(argv, 'conn-rate', 500)),
  messages: Number(argValue(argv, 'messages', argv.includes('--quick') ? 2_000 : 6_000)),
  db: argValue(argv, 'db', null),
};
const results = [];
for (const shards of settings.shards) {
  process.stdout.write(`shards ${shards}: ${settings.messages} messages at conn-rate ${settings.connRate}/s…\n`);
  const r = await throughputCluster({ shards, db: settings.db, messages: settings.messages, connRate: settings.connRate });
  results.push(r);
  process.stdout.write(`shards ${shards}: ${r.end_to_end_per_s} msg/s end to end (accepted ${r.accepted_per_s}/s), checker ${r.checker.ok ? 'ok' : 'VIOLATION'}\n`);
}
const base = results[0]?.end_to_end_per_s ?? 1;
console.log('\n| shards | coreapps | end-to-end msg/s | × 1 shard | accepted msg/s | checker |\n|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.shards} | ${r.shards + 1} | ${r.end_to_end_per_s} | ${(r.end_to_end_per_s / base).toFixed(2)} | ${r.accepted_per_s} | ${r.checker.ok ? 'clean' : 'VIOLATION'} |`);
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'multiconnect-throughput.json'), `${JSON.stringify({ settings, results }, null, 2)}\n`);
process.exit(results.every((r) => r.checker.ok && r.accepted === r.messages) ? 0 : 1);
