// `npm run bench [-- --quick] [-- --db <url>] [-- --soak]`: every benchmark scenario in one run, next
// to its baseline (a Fastify hello-world server loaded the same way: this machine's HTTP limit).
//
//   throughput  end-to-end messages/s (accepted by the API, acknowledged upstream, sent/delivered/read
//               webhooks received) for `shardgate start` and for `cluster up` with 1, 2, 4, 8 shards,
//               on SQLite and, with --db, on that PostgreSQL/MySQL server (a fresh database each)
//   latency     API p50/p99/max at 50 % of the measured end-to-end maximum of `shardgate start`
//   failover    kill -9s of the primary coreapp under load, default and fast intervals
//   false       full load with the fast intervals: any failover is a false one
//   handover    SIGTERM of the primary coreapp: gap without sends, failed requests
//   memory      RSS per process kind, idle and under load (from the throughput runs); --soak: 10 min
//
// Writes bench/results/bench-<time>.json, bench/results/latest.json, bench/results/summary.md and SVG
// charts; prints the summary. Exits 1 when a scenario fails or the simulator's checker reports a
// violation or a lost message (targets missed are reported, not failures: they are measurements).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argValue, baseline, root } from './lib.mjs';
import { failover, falseFailovers, handover, latency, soak, throughputCluster, throughputStart } from './scenarios.mjs';
import { renderSummary, throughputSvg, failoverSvg } from './report.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const db = argValue(argv, 'db', null);
const withSoak = argv.includes('--soak');
const known = new Set(['--quick', '--db', '--soak', db]);
const unknown = argv.filter((a) => !known.has(a));
if (unknown.length > 0) {
  console.error(`bench: unknown argument ${unknown[0]}; usage: npm run bench [-- --quick] [-- --db <postgres|mysql url>] [-- --soak]`);
  process.exit(2);
}
if (db !== null && !/^(postgres|postgresql|mysql):\/\//.test(db)) {
  console.error(`bench: --db must be a postgres:// or mysql:// URL (SQLite always runs), got ${db}`);
  process.exit(2);
}

const plan = quick
  ? { messages: 3_000, shards: [1, 2], latencyMs: 4_000, kills: 3, fastOnly: true, handovers: 2, falseMs: 8_000, baselineN: 5_000 }
  : { messages: 20_000, shards: [1, 2, 4, 8], latencyMs: 15_000, kills: 10, fastOnly: false, handovers: 5, falseMs: 30_000, baselineN: 20_000 };
const started = Date.now();
const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const results = { at: new Date().toISOString(), quick, db: db ? db.replace(/\/\/[^@]*@/, '//…@') : null, machine: { cores: (await import('node:os')).cpus().length, node: process.version }, baseline: null, throughput: [], latency: null, failover: [], false_failovers: null, handover: null, soak: null, failures: [] };

async function step(name, work) {
  log(`${name}…`);
  try {
    const value = await work();
    log(`${name}: ${JSON.stringify(value).slice(0, 300)}`);
    return value;
  } catch (error) {
    log(`${name} FAILED: ${error.stack ?? error}`);
    results.failures.push(`${name}: ${String(error.message ?? error).slice(0, 500)}`);
    return null;
  }
}

results.baseline = await step('baseline (Fastify hello-world POST, 64 connections)', () => baseline(plan.baselineN, 64));
const dbs = [null, ...(db ? [db] : [])];
for (const target of dbs) {
  const name = target ? new URL(target).protocol.replace(':', '') : 'sqlite';
  const t = await step(`throughput: shardgate start on ${name}`, () => throughputStart({ db: target, messages: plan.messages }));
  if (t) results.throughput.push(t);
  for (const shards of plan.shards) {
    const c = await step(`throughput: cluster up --shards ${shards} on ${name}`, () => throughputCluster({ shards, db: target, messages: plan.messages }));
    if (c) results.throughput.push(c);
  }
}
const startSqlite = results.throughput.find((t) => t.target === 'start' && t.dialect === 'sqlite');
if (startSqlite) {
  const rate = Math.max(50, Math.round(startSqlite.end_to_end_per_s / 2));
  results.latency = await step(`latency: shardgate start at ${rate} msg/s (50 % of ${startSqlite.end_to_end_per_s})`, () => latency({ rate, durationMs: plan.latencyMs }));
}
if (!plan.fastOnly) {
  const f = await step(`failover: ${plan.kills} kill -9s, default intervals`, () => failover({ kills: plan.kills, fast: false, onProgress: log }));
  if (f) results.failover.push(f);
}
const ff = await step(`failover: ${plan.kills} kill -9s, heartbeat 0.2 s / unhealthy 1 s`, () => failover({ kills: plan.kills, fast: true, onProgress: log }));
if (ff) results.failover.push(ff);
results.false_failovers = await step(`false failovers: ${plan.falseMs / 1000} s of full load, fast intervals`, () => falseFailovers({ durationMs: plan.falseMs }));
results.handover = await step(`planned handover: ${plan.handovers} SIGTERMs`, () => handover({ runs: plan.handovers, onProgress: log }));
if (withSoak) results.soak = await step('soak: 10 minutes at 500 msg/s on 2 shards', () => soak({ onProgress: log }));

const violations = [
  ...results.throughput.filter((t) => !t.checker.ok || t.accepted < t.messages).map((t) => `throughput ${t.target} ${t.dialect} ${t.shards}: checker ${JSON.stringify(t.checker)}, refused ${JSON.stringify(t.refused)}`),
  ...results.failover.filter((f) => !f.checker.ok).map((f) => `failover ${f.settings}: checker ${JSON.stringify(f.checker)}`),
  ...(results.handover && !results.handover.checker.ok ? ['handover: checker'] : []),
  ...(results.false_failovers && !results.false_failovers.checker.ok ? ['false failovers: checker'] : []),
];
results.violations = violations;
results.duration_s = Math.round((Date.now() - started) / 1000);

const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = results.at.replace(/[:.]/g, '-');
const summary = renderSummary(results);
writeFileSync(join(dir, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(dir, 'summary.md'), summary);
writeFileSync(join(dir, 'throughput.svg'), throughputSvg(results));
writeFileSync(join(dir, 'failover.svg'), failoverSvg(results));
console.log(`\n${summary}`);
console.log(`written: bench/results/bench-${stamp}.json, latest.json, summary.md, throughput.svg, failover.svg (${results.duration_s} s in all)`);
process.exit(results.failures.length === 0 && violations.length === 0 ? 0 : 1);
