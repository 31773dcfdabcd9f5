// Does a failure stay in its shard? p99 send latency of the other shards before and after kill -9 of
// one shard's primary, next to the same comparison with no fault at all (the noise floor).
//
//   npm run build && node bench/shard-isolation.mjs [--runs 3] [--rate 100] [--window 10] [--warmup 15]
//                                                   [--db <postgres or mysql url>]
//
// Each run: `shardgate cluster up --shards 4 --coreapps 5` on SQLite (or a fresh database on the
// server of --db), `rate` messages/s to 200 recipients from this process, `warmup` seconds of
// traffic, then two adjacent windows of `window` seconds. In a *fault* run the primary of shard 2 is
// killed at the boundary; in a *control* run nothing happens. Latency = request start → arrival at
// the simulator, for messages of shards 0, 1, 3. Reports the after/before p99 ratio of each run and
// of all runs of a kind pooled (more samples, a steadier p99); writes bench/results/shard-isolation.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { freshDatabase } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { shardOf } = await import(join(root, 'dist/core/shard-hash.js'));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
};
const runs = Number(arg('runs', process.argv.includes('--quick') ? 1 : 3));
const rate = Number(arg('rate', 100));
const db = arg('db', null);
const WINDOW_MS = Number(arg('window', 10)) * 1_000;
const WARMUP_MS = Number(arg('warmup', 15)) * 1_000;
const ADMIN_PASSWORD = 'Bench-admin-Passw0rd!';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)); // pacing and the windows themselves, not synchronization

async function json(pool, method, path, headers = {}, body) {
  const response = await pool.request({ method, path, headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? JSON.parse(text) : {} };
}

function p99(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

async function runOne(fault) {
  const database = await freshDatabase(db);
  const dir = database.dir;
  const cluster = spawn(process.execPath, ['bin/shardgate.js', 'cluster', 'up', '--data', dir, '--database-url', database.url, '--port', '0', '--shards', '4', '--coreapps', '5', '--sim-args', '--receipt-delay-ms 20 --read-delay-ms 20'], {
    cwd: root,
    env: { ...process.env, SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, SHARDGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  cluster.stdout.on('data', (d) => (output += d));
  cluster.stderr.on('data', (d) => (output += d));
  try {
    for (let i = 0; !output.includes('Ctrl-C stops the cluster'); i++) {
      if (cluster.exitCode !== null || i > 6_000) throw new Error(`cluster up failed:\n${output}`);
      await sleep(20);
    }
    const file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    const api = new Pool(file.api_url, { connections: 16 });
    const sim = new Pool(file.sim.url, { connections: 2 });
    const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
    const token = (await json(api, 'POST', '/v1/users/login', { authorization: `Basic ${basic}` })).body.users[0].token;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const recipients = Array.from({ length: 200 }, (_, i) => String(16_315_560_000 + i));
    const sent = [];
    let errors = 0;
    let running = true;
    const started = Date.now();
    const loop = (async () => {
      for (let n = 0; running; n++) {
        const wait = started + (n * 1_000) / rate - Date.now();
        await (wait > 0 ? sleep(wait) : new Promise((resolve) => setImmediate(resolve))); // yield even when behind schedule
        const to = recipients[n % recipients.length];
        const record = { to, startedAtMs: Date.now(), id: null };
        sent.push(record);
        json(api, 'POST', '/v1/messages', headers, JSON.stringify({ to, type: 'text', text: { body: 'iso' } }))
          .then(({ status, body }) => (status === 201 ? (record.id = body.messages[0].id) : errors++))
          .catch(() => errors++);
      }
    })();
    // The victim is looked up during the warm-up, in both kinds of run: `cluster status` is a Node
    // process of its own, and its start-up at the boundary would cost the other shards CPU that the
    // kill does not.
    const status = JSON.parse(await new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/shardgate.js', 'cluster', 'status', '--data', dir], { cwd: root });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', () => resolve(out));
    }));
    const victim = status.nodes.find((n) => n.shard === 2 && n.gateway_status === 'connected');
    if (victim === undefined) throw new Error('no connected primary for shard 2');
    await sleep(Math.max(0, started + WARMUP_MS - Date.now()));
    const boundary = Date.now();
    if (fault) process.kill(victim.pid, 'SIGKILL');
    await sleep(WINDOW_MS + 2_000);
    running = false;
    await loop;
    await sleep(2_000);
    const arrived = new Map();
    for (let after = 0; ; ) {
      const page = (await json(sim, 'GET', `/sim/messages?after=${after}&limit=10000`)).body;
      page.ids.forEach((id, i) => arrived.set(id, page.arrived_at_ms[i]));
      if (page.next_after === null) break;
      after = page.next_after;
    }
    const others = (from, to) => sent.filter((s) => s.startedAtMs >= from && s.startedAtMs < to && shardOf(s.to, 4) !== 2 && arrived.has(s.id));
    const latencies = (from, to) => others(from, to).map((s) => arrived.get(s.id) - s.startedAtMs);
    // When the after window's slowest 1 % were sent, counted from the boundary (the kill): where the cost lies.
    const slowest = others(boundary, boundary + WINDOW_MS)
      .map((s) => ({ at_ms: s.startedAtMs - boundary, latency_ms: arrived.get(s.id) - s.startedAtMs }))
      .sort((a, b) => b.latency_ms - a.latency_ms)
      .slice(0, Math.ceil(latencies(boundary, boundary + WINDOW_MS).length / 100))
      .sort((a, b) => a.at_ms - b.at_ms);
    const beforeMs = latencies(boundary - WINDOW_MS, boundary);
    const afterMs = latencies(boundary, boundary + WINDOW_MS);
    const before = p99(beforeMs);
    const after = p99(afterMs);
    const report = (await json(sim, 'GET', '/sim/report')).body;
    await api.close();
    await sim.close();
    return { fault, before_p99_ms: before, after_p99_ms: after, ratio: Number((after / before).toFixed(2)), errors, checker_ok: report.ok, slowest_after: slowest, beforeMs, afterMs };
  } finally {
    cluster.kill('SIGINT');
    await new Promise((resolve) => (cluster.exitCode !== null ? resolve() : cluster.once('exit', resolve)));
    await database.drop();
  }
}

const results = [];
for (let i = 0; i < runs; i++) {
  for (const fault of [true, false]) {
    const r = await runOne(fault);
    results.push(r);
    console.log(`${fault ? 'fault  ' : 'control'} run ${i + 1}: other shards p99 ${r.before_p99_ms} ms → ${r.after_p99_ms} ms (×${r.ratio}), errors ${r.errors}, checker ${r.checker_ok ? 'ok' : 'VIOLATION'}`);
  }
}
const summary = (fault) => results.filter((r) => r.fault === fault).map((r) => r.ratio);
const pooled = (fault) => {
  const of = results.filter((r) => r.fault === fault);
  const before = p99(of.flatMap((r) => r.beforeMs));
  const after = p99(of.flatMap((r) => r.afterMs));
  return { before_p99_ms: before, after_p99_ms: after, ratio: Number((after / before).toFixed(2)), samples: of.reduce((n, r) => n + r.beforeMs.length + r.afterMs.length, 0) };
};
const pooledFault = pooled(true);
const pooledControl = pooled(false);
console.log(`\nafter/before p99 of the other shards — kill -9 of shard 2: ${summary(true).join(', ')}; no fault (noise floor): ${summary(false).join(', ')}`);
console.log(`pooled over the runs — kill -9: ${pooledFault.before_p99_ms} → ${pooledFault.after_p99_ms} ms (×${pooledFault.ratio}, ${pooledFault.samples} samples); no fault: ${pooledControl.before_p99_ms} → ${pooledControl.after_p99_ms} ms (×${pooledControl.ratio}, ${pooledControl.samples} samples)`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const stored = results.map(({ beforeMs: _b, afterMs: _a, ...rest }) => rest);
writeFileSync(join(root, 'bench', 'results', 'shard-isolation.json'), `${JSON.stringify({ runs, rate, window_s: WINDOW_MS / 1_000, warmup_s: WARMUP_MS / 1_000, dialect: db === null ? 'sqlite' : new URL(db).protocol.replace(/:$/, ''), results: stored, pooled: { fault: pooledFault, control: pooledControl } }, null, 2)}\n`);
process.exit(results.every((r) => r.errors === 0 && r.checker_ok) ? 0 : 1);
