// Throughput of the network simulator: it must sustain at least 20,000 sends/s with receipts over 8 connections.
//
//   npm run build && node bench/sim-throughput.mjs [--duration-ms 10000] [--connections 8]
//       [--batch 100] [--window 5000] [--receipt-delay-ms 50] [--read-delay-ms 100] [--target 20000]
//
// The simulator runs in its own process (`node dist/cli/main.js sim`), so the load client does not
// share its event loop; the load client is src/sim/sim-load-client.ts (compiled to dist/). Each
// connection is one shard of an 8-shard account, sending batches to recipients of its shard and
// acknowledging every status. A message counts against a connection's window (--window) until its
// `read` status arrives, so the sender never outruns the receipts: the rate measured is one the whole
// pipeline (send → ack → delivered → read → ack) sustains, not a burst that leaves receipts owed. Prints sends/s, acks/s, receipts/s and the checker's report, writes
// bench/results/sim-throughput.json, and exits 1 when the report shows a violation, a receipt is
// still owed after the drain, or the send rate is below --target.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { fetch } from 'undici';
import { SimLoadClient } from '../dist/sim/sim-load-client.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function flag(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

const settings = {
  durationMs: flag('duration-ms', 10_000),
  connections: flag('connections', 8),
  batch: flag('batch', 100),
  window: flag('window', 5_000),
  receiptDelayMs: flag('receipt-delay-ms', 50),
  readDelayMs: flag('read-delay-ms', 100),
  target: flag('target', 20_000),
  seed: flag('seed', 1),
};
const SHARDS = [1, 2, 4, 8, 16, 32].find((n) => n >= settings.connections);
if (SHARDS === undefined) throw new Error('--connections must be at most 32');
const ACCOUNT = '15550009999';
const CREDENTIALS = 'bench-credentials';

/** Starts `shardgate sim` on a free port; resolves with its URLs and the child process. */
async function startSimProcess() {
  const child = spawn(process.execPath, [
    'dist/cli/main.js', 'sim', '--port', '0', '--seed', String(settings.seed),
    '--account', `${ACCOUNT}:${CREDENTIALS}`, '--shards', String(SHARDS),
    '--receipt-delay-ms', String(settings.receiptDelayMs), '--read-delay-ms', String(settings.readDelayMs),
  ], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const deadline = performance.now() + 10_000;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => { output += chunk; });
  while (performance.now() < deadline) {
    const match = /listening on (http:\/\/\S+) \(coreapps connect to (ws:\/\/\S+)\)/.exec(output);
    if (match) return { child, url: match[1], wsUrl: match[2] };
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`the simulator did not start:\n${output}`);
}

/** CPU seconds used so far by process `pid` (user + system), from /proc. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function report(url) {
  const response = await fetch(`${url}/sim/report`);
  return response.json();
}

function totals(clients) {
  const sum = { sent: 0, acked: 0, accepted: 0, statuses: 0 };
  for (const c of clients) {
    const s = c.stats;
    sum.sent += s.sent;
    sum.acked += Object.values(s.acks).reduce((a, b) => a + b, 0);
    sum.accepted += s.acks.sent;
    sum.statuses += s.statuses.delivered + s.statuses.read + s.statuses.failed;
  }
  return sum;
}

async function main() {
  const sim = await startSimProcess();
  const clients = [];
  try {
    for (let shard = 0; shard < settings.connections; shard += 1) {
      const client = new SimLoadClient({
        wsUrl: sim.wsUrl, account: ACCOUNT, credentials: CREDENTIALS, shard, shards: SHARDS, epoch: 1,
        recipients: SimLoadClient.recipientsFor(shard, SHARDS, 1_000, settings.seed * 100 + shard),
        batchMessages: settings.batch, windowMessages: settings.window, idPrefix: `b${shard}-`,
      });
      await client.connect();
      clients.push(client);
    }
    const cpu0 = cpuSeconds(sim.child.pid);
    const t0 = performance.now();
    for (const client of clients) client.start();
    let last = totals(clients);
    let lastAt = t0;
    while (settings.durationMs - (performance.now() - t0) >= 1) {
      await sleep(Math.min(1_000, settings.durationMs - (performance.now() - t0)));
      const now = performance.now();
      const t = totals(clients);
      const seconds = (now - lastAt) / 1000;
      if (seconds < 0.05) continue;
      console.log(`  ${((now - t0) / 1000).toFixed(1)} s: ${Math.round((t.accepted - last.accepted) / seconds)} sends/s, ${Math.round((t.statuses - last.statuses) / seconds)} receipts/s`);
      last = t;
      lastAt = now;
    }
    const measured = totals(clients);
    const elapsedS = (performance.now() - t0) / 1000;
    const simCpuS = cpuSeconds(sim.child.pid) - cpu0;
    await Promise.all(clients.map((client) => client.stop()));
    // Drain: every accepted message owes a delivered and a read status; wait (bounded) for all.
    const drainDeadline = performance.now() + 30_000;
    let final = await report(sim.url);
    while ((final.receipts_pending > 0 || final.inbound_unacked > 0) && performance.now() < drainDeadline) {
      await sleep(50);
      final = await report(sim.url);
    }
    const after = totals(clients);
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      settings: { ...settings, shards: SHARDS },
      elapsed_s: Number(elapsedS.toFixed(3)),
      sends_per_s: Math.round(measured.accepted / elapsedS),
      acks_per_s: Math.round(measured.acked / elapsedS),
      receipts_per_s: Math.round(measured.statuses / elapsedS),
      sim_cpu_percent: Number(((simCpuS / elapsedS) * 100).toFixed(1)),
      totals: { sent: after.sent, acked: after.acked, accepted: after.accepted, statuses_received: after.statuses },
      report: { ...final, per_shard: undefined },
    };
    const expectedStatuses = after.accepted * (settings.readDelayMs >= 0 ? 2 : 1);
    const failures = [];
    if (!final.ok) failures.push(`the checker reports ${final.violations_total} violations`);
    if (final.receipts_pending !== 0) failures.push(`${final.receipts_pending} receipts still pending after the drain`);
    if (after.statuses !== expectedStatuses) failures.push(`received ${after.statuses} statuses, expected ${expectedStatuses}`);
    if (final.messages_unique !== after.accepted) failures.push(`sim counted ${final.messages_unique} unique messages, client got ${after.accepted} sent acks`);
    if (result.sends_per_s < settings.target) failures.push(`${result.sends_per_s} sends/s is below the target ${settings.target}`);
    result.failures = failures;
    mkdirSync(`${root}/bench/results`, { recursive: true });
    writeFileSync(`${root}/bench/results/sim-throughput.json`, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.log(`\nsim throughput: ${result.sends_per_s} sends/s, ${result.acks_per_s} acks/s, ${result.receipts_per_s} receipts/s over ${settings.connections} connections (sim CPU ${result.sim_cpu_percent}%)`);
    if (failures.length > 0) {
      console.error(`FAILED: ${failures.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    sim.child.kill('SIGTERM');
    await new Promise((resolve) => (sim.child.exitCode !== null ? resolve() : sim.child.once('exit', resolve)));
  }
}

await main();
