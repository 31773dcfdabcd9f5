// End-to-end throughput of a local cluster by shard count, with the simulator's per-connection rate
// limit on: the reason multiconnect exists (one upstream connection per shard, each limited).
//
//   npm run build && node bench/multiconnect-throughput.mjs [--shards 1,2,4,8] [--conn-rate 500] [--messages 6000] [--concurrency 64] [--db <url>]
//
// For each shard count: `shardgate cluster up --shards N --coreapps N+1` (2 masters, a webapp, the
// simulator with `--conn-rate`), then N messages to 5,000 recipients from this process over keep-alive
// connections, timed from the first request to the last message taken by the network. Reports
// messages/s per shard count and its ratio to the 1-shard figure, and the checker's verdict; writes
// bench/results/multiconnect-throughput.json. Exits 1 on a violation or a lost message.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
};
const settings = {
  shards: String(arg('shards', '1,2,4,8')).split(',').map(Number),
  connRate: Number(arg('conn-rate', 500)),
  messages: Number(arg('messages', process.argv.includes('--quick') ? 2_000 : 6_000)),
  concurrency: Number(arg('concurrency', 64)),
  db: arg('db', null),
};
const ADMIN_PASSWORD = 'Bench-admin-Passw0rd!';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)); // pacing of polls, not synchronization

async function waitUntil(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function json(pool, method, path, headers = {}, body) {
  const response = await pool.request({ method, path, headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? JSON.parse(text) : {} };
}

async function runOne(shards) {
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-mc-bench-'));
  const args = ['bin/shardgate.js', 'cluster', 'up', '--data', dir, '--port', '0', '--shards', String(shards), '--coreapps', String(shards + 1), '--sim-args', `--conn-rate ${settings.connRate} --receipt-delay-ms 20 --read-delay-ms 20`];
  if (settings.db) args.push('--database-url', settings.db);
  const cluster = spawn(process.execPath, args, { cwd: root, env: { ...process.env, SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, SHARDGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  cluster.stdout.on('data', (d) => (output += d));
  cluster.stderr.on('data', (d) => (output += d));
  try {
    await waitUntil('the cluster', () => {
      if (cluster.exitCode !== null) throw new Error(`cluster up exited:\n${output}`);
      return output.includes('Ctrl-C stops the cluster');
    }, 120_000);
    const file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    const api = new Pool(file.api_url, { connections: settings.concurrency, pipelining: 1 });
    const sim = new Pool(file.sim.url, { connections: 2 });
    const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
    const token = (await json(api, 'POST', '/v1/users/login', { authorization: `Basic ${basic}` })).body.users[0].token;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await waitUntil(`${shards} connected coreapps`, async () => {
      const health = (await json(api, 'GET', '/v1/health', headers)).body.health ?? {};
      return Object.values(health).filter((n) => n.gateway_status === 'connected').length === shards;
    }, 60_000);
    const recipients = Array.from({ length: 5_000 }, (_, i) => String(16_315_600_000 + i));
    const accepted = [];
    let errors = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (next < settings.messages) {
          const i = next++;
          const { status, body } = await json(api, 'POST', '/v1/messages', headers, JSON.stringify({ to: recipients[i % recipients.length], type: 'text', text: { body: `bench ${i}` } }));
          if (status === 201) accepted.push(body.messages[0].id);
          else errors++;
        }
      }),
    );
    const acceptedMs = performance.now() - started;
    await waitUntil('every message upstream', async () => (await json(sim, 'GET', '/sim/report')).body.messages_unique >= accepted.length, 300_000);
    const endToEndMs = performance.now() - started;
    const report = (await json(sim, 'GET', '/sim/report')).body;
    const missing = [];
    for (let i = 0; i < accepted.length; i += 1_000) {
      missing.push(...(await json(sim, 'POST', '/sim/messages/missing', { 'content-type': 'application/json' }, JSON.stringify({ ids: accepted.slice(i, i + 1_000) }))).body.missing);
    }
    await api.close();
    await sim.close();
    return {
      shards,
      messages: accepted.length,
      errors,
      accepted_per_s: Math.round(accepted.length / (acceptedMs / 1_000)),
      end_to_end_per_s: Math.round(accepted.length / (endToEndMs / 1_000)),
      rate_limited_sends: report.activity?.sends_rate_limited ?? null,
      checker_ok: report.ok,
      missing: missing.length,
      max_connections_per_shard: report.max_connections_per_shard,
    };
  } finally {
    cluster.kill('SIGINT');
    await new Promise((resolve) => (cluster.exitCode !== null ? resolve() : cluster.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const shards of settings.shards) {
  process.stdout.write(`shards ${shards}: running ${settings.messages} messages at conn-rate ${settings.connRate}/s…\n`);
  const result = await runOne(shards);
  results.push(result);
  process.stdout.write(`shards ${shards}: ${result.end_to_end_per_s} msg/s end to end (accepted ${result.accepted_per_s}/s), checker ${result.checker_ok ? 'ok' : 'VIOLATION'}, missing ${result.missing}\n`);
}
const base = results[0]?.end_to_end_per_s ?? 1;
console.log('\n| shards | coreapps | end-to-end msg/s | × 1 shard | accepted msg/s | rate-limited sends | checker |\n|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.shards} | ${r.shards + 1} | ${r.end_to_end_per_s} | ${(r.end_to_end_per_s / base).toFixed(2)} | ${r.accepted_per_s} | ${r.rate_limited_sends} | ${r.checker_ok && r.missing === 0 ? 'clean' : 'VIOLATION'} |`);
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'multiconnect-throughput.json'), `${JSON.stringify({ settings, results }, null, 2)}\n`);
process.exit(results.every((r) => r.checker_ok && r.missing === 0 && r.errors === 0) ? 0 : 1);
