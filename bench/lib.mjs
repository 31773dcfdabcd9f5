// Shared pieces of the benchmarks: child processes, polling with a deadline, HTTP load (closed loop
// and paced), the Fastify baseline, a webhook receiver, local clusters, fresh databases, RSS samples.
// The project must be built (`npm run bench` builds first); cluster internals are read through dist/.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Pool, request } from 'undici';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const ADMIN_PASSWORD = 'Bench-admin-Passw0rd!';
const dist = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);

/** Pacing of polls and of the load, never synchronization: every wait below has a deadline. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function argValue(argv, name, fallback) {
  const at = argv.indexOf(`--${name}`);
  return at < 0 ? fallback : argv[at + 1];
}

export async function waitUntil(what, probe, timeoutMs, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const children = new Set();
/** Every child still running is killed when the benchmark process exits, however it exits. */
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    // `cluster up` stops its own nodes on SIGINT; anything else still running is killed on exit.
    for (const c of children) c.kill('SIGINT');
    const exitWhenDone = setInterval(() => {
      if (children.size === 0) process.exit(130);
    }, 100);
    setTimeout(() => process.exit(130), 30_000).unref();
    exitWhenDone.unref();
  });
}

/** Starts `node <args>` in the project root with its output captured. */
export function startProcess(args, env = {}) {
  // BENCH_NODE_ARGS: extra node flags for every process started (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean) : [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env: { ...process.env, SHARDGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return {
    child,
    output: () => output,
    waitFor: (pattern, timeoutMs = 60_000) =>
      waitUntil(`${pattern} in the output of ${args.slice(0, 2).join(' ')}`, () => {
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${pattern}:\n${output.slice(-3000)}`);
        return output.match(pattern) ?? undefined;
      }, timeoutMs),
    stop: async (signal = 'SIGTERM', timeoutMs = 20_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function call(pool, method, path, headers = {}, body) {
  const response = await pool.request({ method, path, headers, body });
  const text = await response.body.text();
  let parsed = {};
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { text };
    }
  }
  return { status: response.statusCode, body: parsed };
}

/** Closed loop: `total` requests, `concurrency` in flight; `send(i)` resolves true on success. */
export async function closedLoop(total, concurrency, send) {
  let next = 0;
  let ok = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        if (await send(i)) ok++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: total / seconds, ok, seconds, startedAt: started };
}

/**
 * Open loop: `rate` requests per second for `durationMs`, each started on schedule whether or not
 * the previous ones finished (so a slow server shows as latency, not as a lower offered rate).
 * Returns every request's latency in ms and the failures.
 */
export async function pacedLoad(rate, durationMs, send) {
  const latencies = [];
  const failures = [];
  const inFlight = new Set();
  const started = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    await (wait > 1 ? sleep(wait) : new Promise((resolve) => setImmediate(resolve))); // yield even when behind schedule
    const t0 = performance.now();
    const p = send(i).then(
      (ok) => (ok ? latencies.push(performance.now() - t0) : failures.push(i)),
      (error) => failures.push(String(error)),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all([...inFlight]);
  return { latencies, failures, offered: total, seconds: (performance.now() - started) / 1000 };
}

export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function stats(values) {
  if (values.length === 0) return { n: 0, min: null, median: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted.at(-1) };
}

/** A plain Fastify hello-world POST server loaded like the gateway: this machine's HTTP limit. */
export async function baseline(total, concurrency) {
  const server = startProcess(['-e', `
    const app = require('fastify')();
    app.post('/v1/messages', async () => ({ messages: [{ id: 'x' }] }));
    app.listen({ port: 0, host: '127.0.0.1' }).then((a) => console.log('BASELINE ' + a));
  `]);
  const url = (await server.waitFor(/BASELINE (http:\/\/\S+)/))[1];
  const pool = new Pool(url, { connections: concurrency });
  const body = JSON.stringify({ to: '14155551000', type: 'text', text: { body: 'hello' } });
  const result = await closedLoop(total, concurrency, async () => (await call(pool, 'POST', '/v1/messages', { 'content-type': 'application/json' }, body)).status === 200);
  await pool.close();
  await server.stop('SIGKILL');
  return { req_per_s: Math.round(result.perSecond) };
}

/**
 * A webhook receiver counting deliveries (by event id, so redeliveries count once), on its own thread
 * (bench/webhook-receiver-thread.mjs) so that it does not slow the load generator's event loop.
 */
export async function webhookReceiver() {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL('./webhook-receiver-thread.mjs', import.meta.url), { workerData: { counters: counters.buffer } });
  const port = await new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m) => resolve(m.port));
  });
  const state = {
    get count() {
      return Atomics.load(counters, 0);
    },
    get deliveries() {
      return Atomics.load(counters, 1);
    },
  };
  return {
    state,
    url: `http://127.0.0.1:${port}/webhook`,
    close: async () => {
      const closed = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}

/**
 * A fresh database for one scenario: an SQLite file in a temporary directory, or a new database on
 * the PostgreSQL / MySQL server of `adminUrl` (dropped afterwards).
 */
export async function freshDatabase(adminUrl) {
  if (!adminUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-bench-'));
    return { url: `sqlite:${join(dir, 'bench.db')}`, dialect: 'sqlite', dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `shardgate_bench_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-bench-'));
  const url = new URL(adminUrl);
  if (url.protocol.startsWith('postgres')) {
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    url.pathname = `/${name}`;
    return {
      url: url.href, dialect: 'postgres', dir,
      drop: async () => {
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const mysql = await import('mysql2/promise');
  const admin = await mysql.createConnection(adminUrl);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url.pathname = `/${name}`;
  return {
    url: url.href, dialect: 'mysql', dir,
    drop: async () => {
      const c = await mysql.createConnection(adminUrl);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process in MB (from /proc), or null once it is gone. */
export function rssMb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** Samples the RSS of `pids` (name → pid) every `everyMs` until `stop()`; returns the maxima and series. */
export function rssSampler(pids, everyMs = 500) {
  const max = {};
  const series = [];
  const take = () => {
    const row = { at_ms: Date.now() };
    for (const [name, pid] of Object.entries(pids())) {
      const mb = rssMb(pid);
      if (mb === null) continue;
      row[name] = mb;
      max[name] = Math.max(max[name] ?? 0, mb);
    }
    series.push(row);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    max,
    series,
    stop: () => {
      clearInterval(timer);
      take();
      return { max, series };
    },
  };
}

/** Logs in as admin and returns JSON headers with the bearer token. */
export async function adminHeaders(pool) {
  const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
  const login = await call(pool, 'POST', '/v1/users/login', { authorization: `Basic ${basic}` });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { authorization: `Bearer ${login.body.users[0].token}`, 'content-type': 'application/json' };
}

export async function simReport(simUrl) {
  return (await (await request(`${simUrl}/sim/report`)).body.json());
}

/** The accepted ids the simulator has not received after waiting up to `timeoutMs` for them. */
export async function settledMissing(simUrl, ids, timeoutMs = 60_000) {
  let missing = [...ids];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    missing = await missingUpstream(simUrl, missing);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(200);
  }
}

/** The accepted ids the simulator never received. */
export async function missingUpstream(simUrl, ids) {
  const missing = [];
  for (let i = 0; i < ids.length; i += 1_000) {
    const r = await request(`${simUrl}/sim/messages/missing`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: ids.slice(i, i + 1_000) }) });
    missing.push(...(await r.body.json()).missing);
  }
  return missing;
}

/**
 * `shardgate cluster up` on a fresh database, logged in, every shard connected. Returns the cluster
 * file, an API pool, headers, the stores (event log, topology) and helpers to kill and replace nodes.
 */
export async function startCluster({ shards = 1, coreapps = shards + 1, masters = 2, db = null, simArgs = '--receipt-delay-ms 5 --read-delay-ms 5', concurrency = 64 } = {}) {
  const database = await freshDatabase(db);
  const proc = startProcess(
    ['bin/shardgate.js', 'cluster', 'up', '--data', database.dir, '--port', '0', '--database-url', database.url, '--masters', String(masters), '--coreapps', String(coreapps), '--shards', String(shards), '--sim-args', simArgs],
    { SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
  await proc.waitFor(/Ctrl-C stops the cluster/, 120_000);
  const file = JSON.parse(readFileSync(join(database.dir, 'cluster.json'), 'utf8'));
  const { openDatabase } = await dist('adapters/kysely/database.js');
  const { createKyselyStores } = await dist('adapters/kysely/kysely-stores.js');
  const { parseDatabaseUrl } = await dist('core/config.js');
  const { readTopology } = await dist('roles/gateway/cluster-topology.js');
  const stores = createKyselyStores(openDatabase(parseDatabaseUrl(database.url), { poolSize: 2 }));
  const api = new Pool(file.api_url, { connections: concurrency });
  const headers = await adminHeaders(api);
  const extra = [];
  const pids = new Map(file.nodes.map((n) => [n.name, n.pid]));
  const cluster = {
    file,
    api,
    headers,
    stores,
    pids,
    topology: () => readTopology(stores, 5),
    events: async (kind) => (await stores.events.latest(2_000)).filter((e) => kind === undefined || e.kind === kind),
    async waitConnected(n = shards, timeoutMs = 120_000) {
      await waitUntil(`${n} connected coreapps`, async () => {
        const t = await cluster.topology();
        const connected = t.nodes.filter((x) => x.gateway_status === 'connected');
        return connected.length === n && new Set(connected.map((x) => x.shard)).size === n;
      }, timeoutMs, 50);
    },
    /** The connected coreapp of `shard`. */
    async primaryOf(shard = 0, timeoutMs = 30_000, not = null) {
      return waitUntil(`a primary coreapp for shard ${shard}`, async () => {
        const t = await cluster.topology();
        const c = t.nodes.filter((x) => x.role === 'coreapp' && x.shard === shard && x.gateway_status === 'connected' && x.node_id !== not);
        return c.length === 1 ? c[0] : undefined;
      }, timeoutMs, 20);
    },
    pidOf(nodeId) {
      const named = file.nodes.find((n) => n.node_id === nodeId);
      if (named) return named.pid;
      const started = extra.find((e) => e.nodeId === nodeId);
      if (started) return started.proc.child.pid;
      throw new Error(`no pid for ${nodeId}`);
    },
    /** Starts another coreapp against the same database and simulator (cluster up restarts nothing). */
    async startCoreapp() {
      const p = startProcess(['bin/shardgate.js', 'coreapp', '--database-url', database.url, '--cluster-secret', file.cluster_secret, '--host', '127.0.0.1', '--internal-port', '0', '--upstream-url', file.sim.url]);
      const ready = JSON.parse((await p.waitFor(/SHARDGATE_READY (\{.*\})/, 60_000))[1]);
      extra.push({ nodeId: ready.node_id, proc: p });
      pids.set(`coreapp-x${extra.length}`, p.child.pid);
      return ready.node_id;
    },
    async stop() {
      await api.close().catch(() => {});
      for (const e of extra) await e.proc.stop('SIGKILL');
      await proc.stop('SIGINT', 30_000);
      await stores.close().catch(() => {});
      await database.drop().catch(() => {});
    },
  };
  try {
    await cluster.waitConnected(shards);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Points the account's webhooks at `url` (sent, delivered and read statuses on). */
export async function hookUp(api, headers, url) {
  const r = await call(api, 'PATCH', '/v1/settings/application', headers, JSON.stringify({ webhooks: { url, max_concurrent_requests: 24 } }));
  if (r.status !== 200) throw new Error(`PATCH webhooks: ${r.status} ${JSON.stringify(r.body)}`);
}

/** `n` valid recipients (the simulator fails numbers ending in 0000: they get no delivered/read). */
export function recipients(n, base = 16_315_600_001) {
  return Array.from({ length: n }, (_, i) => String(base + i)).filter((to) => !to.endsWith('0000'));
}

export function textMessage(to, i) {
  return JSON.stringify({ to, type: 'text', text: { body: `bench ${i}` } });
}
