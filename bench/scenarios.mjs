// The benchmark scenarios of `npm run bench` (bench/run.mjs). Each starts what it measures, checks
// the simulator's report (a violation or a lost message fails the scenario) and returns plain figures.
import { request, Pool } from 'undici';
import {
  ADMIN_PASSWORD, call, settledMissing, closedLoop, freshDatabase, hookUp, missingUpstream, adminHeaders, pacedLoad, percentile,
  recipients, rssMb, rssSampler, simReport, sleep, startCluster, startProcess, stats, textMessage, waitUntil, webhookReceiver,
} from './lib.mjs';

function checkerOf(report, missing) {
  return {
    ok: report.ok && missing === 0,
    messages_unique: report.messages_unique,
    duplicates_absorbed: report.duplicates,
    stale_epoch_sends: report.stale_epoch_sends,
    misrouted: report.misrouted,
    order_violations: report.order_violations,
    max_connections_per_shard: report.max_connections_per_shard,
    missing,
  };
}

/**
 * Sends `messages` over `concurrency` keep-alive connections, then waits until the network has every
 * accepted message and the receiver every sent/delivered/read webhook. Returns the rates.
 */
async function drive({ api, headers, simUrl, hooks, messages, concurrency, to }) {
  const accepted = [];
  const refusals = new Map();
  const load = await closedLoop(messages, concurrency, async (i) => {
    const r = await call(api, 'POST', '/v1/messages', headers, textMessage(to[i % to.length], i));
    if (r.status === 201) {
      accepted.push(r.body.messages[0].id);
      return true;
    }
    const key = `${r.status} ${r.body.errors?.[0]?.code ?? ''}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
    return false;
  });
  await waitUntil('every accepted message upstream', async () => (await simReport(simUrl)).messages_unique >= accepted.length, 300_000, 20);
  const endToEndS = (performance.now() - load.startedAt) / 1000;
  const expectedHooks = accepted.length * 3;
  await waitUntil(`${expectedHooks} webhooks (have ${hooks.state.count})`, () => hooks.state.count >= expectedHooks, 300_000, 20);
  const hooksS = (performance.now() - load.startedAt) / 1000;
  const report = await simReport(simUrl);
  const missing = (await missingUpstream(simUrl, accepted)).length;
  return {
    messages,
    accepted: accepted.length,
    refused: Object.fromEntries(refusals),
    accepted_per_s: Math.round(load.perSecond),
    end_to_end_per_s: Math.round(accepted.length / endToEndS),
    webhooks_per_s: Math.round(hooks.state.count / hooksS),
    webhooks: hooks.state.count,
    checker: checkerOf(report, missing),
  };
}

/** `shardgate start` (one process) with the simulator in its own process. */
export async function startGateway({ db = null } = {}) {
  const sim = startProcess(['bin/shardgate.js', 'sim', '--port', '0', '--receipt-delay-ms', '5', '--read-delay-ms', '5']);
  const simUrl = (await sim.waitFor(/listening on (http:\/\/\S+)/))[1];
  const database = await freshDatabase(db);
  const gateway = startProcess(['bin/shardgate.js', 'start', '--port', '0', '--data', database.dir, '--upstream-url', simUrl, '--database-url', database.url], { SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const apiUrl = (await gateway.waitFor(/API\s+(http:\/\/\S+)/))[1];
  const api = new Pool(apiUrl, { connections: 64 });
  const headers = await adminHeaders(api);
  const business = { cc: '1', phone_number: '6505550142' };
  await call(api, 'POST', '/v1/account', headers, JSON.stringify({ ...business, method: 'sms' }));
  const code = (await (await request(`${simUrl}/sim/accounts/16505550142/code`)).body.json()).code;
  const verified = await call(api, 'POST', '/v1/account/verify', headers, JSON.stringify({ code }));
  if (verified.status >= 300) throw new Error(`verify: ${verified.status} ${JSON.stringify(verified.body)}`);
  return {
    api, headers, simUrl, database, pid: gateway.child.pid, simPid: sim.child.pid,
    async stop() {
      await api.close().catch(() => {});
      await gateway.stop('SIGTERM');
      await sim.stop('SIGTERM');
      await database.drop().catch(() => {});
    },
  };
}

/** End-to-end throughput of `shardgate start`, with RSS of the gateway idle and under load. */
export async function throughputStart({ db = null, messages = 20_000, concurrency = 64 } = {}) {
  const g = await startGateway({ db });
  const hooks = await webhookReceiver();
  try {
    await hookUp(g.api, g.headers, hooks.url);
    const idle = rssMb(g.pid);
    const sampler = rssSampler(() => ({ gateway: g.pid, sim: g.simPid }));
    const r = await drive({ api: g.api, headers: g.headers, simUrl: g.simUrl, hooks, messages, concurrency, to: recipients(1_000) });
    const { max } = sampler.stop();
    return { target: 'start', dialect: g.database.dialect, shards: 1, ...r, rss_mb: { gateway: { idle, load_max: max.gateway ?? null } } };
  } finally {
    await hooks.close();
    await g.stop();
  }
}

function rssByKind(cluster) {
  return () => {
    const out = {};
    for (const [name, pid] of cluster.pids) out[name] = pid;
    return out;
  };
}

function kindOf(name) {
  return name.replace(/-x?\d+$/, '');
}

function rssSummary(idle, max) {
  const out = {};
  for (const [name, mb] of Object.entries(max)) {
    const kind = kindOf(name);
    const entry = (out[kind] ??= { idle_max: 0, load_max: 0 });
    entry.load_max = Math.max(entry.load_max, mb);
    entry.idle_max = Math.max(entry.idle_max, idle[name] ?? 0);
  }
  return out;
}

/** End-to-end throughput of a local cluster with `shards` shards (no per-connection limit). */
export async function throughputCluster({ shards, db = null, messages = 20_000, concurrency = 64, connRate = 0 } = {}) {
  const simArgs = `--receipt-delay-ms 5 --read-delay-ms 5${connRate > 0 ? ` --conn-rate ${connRate}` : ''}`;
  const cluster = await startCluster({ shards, db, simArgs, concurrency });
  const hooks = await webhookReceiver();
  try {
    await hookUp(cluster.api, cluster.headers, hooks.url);
    const idle = Object.fromEntries([...cluster.pids].map(([name, pid]) => [name, rssMb(pid)]));
    const sampler = rssSampler(rssByKind(cluster));
    const r = await drive({ api: cluster.api, headers: cluster.headers, simUrl: cluster.file.sim.url, hooks, messages, concurrency, to: recipients(5_000) });
    const { max } = sampler.stop();
    return { target: 'cluster', dialect: db ? new URL(db).protocol.replace(/:$/, '').replace(/ql$/, '') : 'sqlite', shards, conn_rate: connRate, ...r, rss_mb: rssSummary(idle, max) };
  } finally {
    await hooks.close();
    await cluster.stop();
  }
}

/** API latency of `shardgate start` under a paced load of `rate` messages/s. */
export async function latency({ rate, durationMs = 10_000 } = {}) {
  const g = await startGateway();
  const hooks = await webhookReceiver();
  try {
    await hookUp(g.api, g.headers, hooks.url);
    const to = recipients(1_000);
    // A short warm-up at the same rate (JIT, caches, connections), not measured.
    await pacedLoad(rate, 1_500, async (i) => (await call(g.api, 'POST', '/v1/messages', g.headers, textMessage(to[i % to.length], i))).status === 201);
    const r = await pacedLoad(rate, durationMs, async (i) => (await call(g.api, 'POST', '/v1/messages', g.headers, textMessage(to[i % to.length], i))).status === 201);
    const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
    return {
      target: 'start', dialect: 'sqlite', rate_per_s: rate, requests: r.offered, failures: r.failures.length,
      p50_ms: round(percentile(r.latencies, 50)), p99_ms: round(percentile(r.latencies, 99)), max_ms: round(Math.max(...r.latencies)),
    };
  } finally {
    await hooks.close();
    await g.stop();
  }
}

/** A paced client against a cluster: every answer recorded. */
function steadyClient(cluster, rate) {
  const to = recipients(200, 16_315_700_000);
  const state = { accepted: [], errors: [], running: true };
  const done = (async () => {
    const started = performance.now();
    for (let i = 0; state.running; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      await (wait > 1 ? sleep(wait) : new Promise((resolve) => setImmediate(resolve))); // yield even when behind schedule
      void call(cluster.api, 'POST', '/v1/messages', cluster.headers, textMessage(to[i % to.length], i)).then(
        (r) => (r.status === 201 ? state.accepted.push(r.body.messages[0].id) : state.errors.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)),
        (e) => state.errors.push(String(e)),
      );
    }
  })();
  return { state, stop: async () => { state.running = false; await done; await sleep(200); } };
}

/**
 * Sets the failure-detection intervals and waits until every master judges by them: a shortened
 * `unhealthy_interval` is phased in over one old interval (docs/control-plane.md), so a kill right
 * after the change would be detected by the old threshold.
 */
async function setIntervals(cluster, heartbeat, unhealthy) {
  const r = await call(cluster.api, 'PATCH', '/v1/settings/application', cluster.headers, JSON.stringify({ heartbeat_interval: heartbeat, unhealthy_interval: unhealthy }));
  if (r.status !== 200) throw new Error(`PATCH intervals: ${r.status} ${JSON.stringify(r.body)}`);
  const { HttpClusterTransport } = await import(new URL('../dist/adapters/http/internal-api.js', import.meta.url).href);
  const transport = new HttpClusterTransport(cluster.file.cluster_secret);
  try {
    const masters = cluster.file.nodes.filter((n) => n.role === 'master');
    await waitUntil('the new intervals in force on every master', async () => {
      const answers = await Promise.all(masters.map((m) => transport.status(m.internal_url).catch(() => null)));
      return answers.every((a) => a !== null && a.heartbeat_ms === Math.round(heartbeat * 1000) && a.unhealthy_ms === Math.round(unhealthy * 1000)) || undefined;
    }, 30_000, 50);
  } finally {
    await transport.close();
  }
}

/** The first send of shard 0 under an epoch that began after `afterMs`, as the simulator saw it. */
function successorFirstSend(cluster, afterMs, timeoutMs) {
  return waitUntil('a send by the successor', async () => {
    const report = await simReport(cluster.file.sim.url);
    return report.per_shard.find((s) => s.shard === 0)?.epochs.find((e) => e.first_send_at_ms > afterMs);
  }, timeoutMs, 10);
}

/**
 * `kills` kill -9s of the primary coreapp of shard 0 under a steady client; after each, a fresh
 * coreapp replaces the dead one. Measures the time from the kill to the successor's first send as
 * the simulator saw it; counts failovers the event log shows beyond the kills (false failovers).
 */
export async function failover({ kills = 10, fast = false, rate = 100, db = null, onProgress = () => {} } = {}) {
  const cluster = await startCluster({ shards: 1, coreapps: 3, db });
  const client = steadyClient(cluster, rate);
  const times = [];
  try {
    if (fast) await setIntervals(cluster, 0.2, 1);
    for (let k = 0; k < kills; k++) {
      const before = await cluster.primaryOf(0);
      const killedAt = Date.now();
      process.kill(cluster.pidOf(before.node_id), 'SIGKILL');
      const first = await successorFirstSend(cluster, killedAt, 60_000);
      times.push(first.first_send_at_ms - killedAt);
      onProgress(`kill ${k + 1}/${kills}: ${first.first_send_at_ms - killedAt} ms`);
      await cluster.startCoreapp();
      await cluster.primaryOf(0, 30_000);
    }
    await client.stop();
    const failovers = (await cluster.events('failover')).length;
    const missing = (await settledMissing(cluster.file.sim.url, client.state.accepted)).length;
    const report = await simReport(cluster.file.sim.url);
    return {
      settings: fast ? 'heartbeat 0.2 s / unhealthy 1 s' : 'defaults (heartbeat 1 s / unhealthy 5 s)',
      rate_per_s: rate, kills, failover_ms: stats(times), samples_ms: times,
      false_failovers: Math.max(0, failovers - kills), api_errors: client.state.errors.length, accepted: client.state.accepted.length,
      checker: checkerOf(report, missing),
    };
  } finally {
    if (client.state.running) await client.stop();
    await cluster.stop();
  }
}

/** Full closed-loop load for `durationMs` with the fast settings: any failover is a false one. */
export async function falseFailovers({ durationMs = 30_000, concurrency = 64, db = null } = {}) {
  const cluster = await startCluster({ shards: 1, coreapps: 3, db, concurrency });
  try {
    await setIntervals(cluster, 0.2, 1);
    const to = recipients(1_000);
    const accepted = [];
    let errors = 0;
    const until = Date.now() + durationMs;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let i = 0; Date.now() < until; i++) {
        const r = await call(cluster.api, 'POST', '/v1/messages', cluster.headers, textMessage(to[i % to.length], i));
        if (r.status === 201) accepted.push(r.body.messages[0].id);
        else errors++;
      }
    }));
    await waitUntil('every accepted message upstream', async () => (await simReport(cluster.file.sim.url)).messages_unique >= accepted.length, 300_000, 50);
    const unhealthy = (await cluster.events('coreapp_unhealthy')).length;
    const failovers = (await cluster.events('failover')).length;
    const missing = (await settledMissing(cluster.file.sim.url, accepted)).length;
    return {
      settings: 'heartbeat 0.2 s / unhealthy 1 s', duration_s: durationMs / 1000, accepted: accepted.length,
      accepted_per_s: Math.round(accepted.length / (durationMs / 1000)), api_errors: errors,
      false_failovers: failovers, coreapp_unhealthy_events: unhealthy, checker: checkerOf(await simReport(cluster.file.sim.url), missing),
    };
  } finally {
    await cluster.stop();
  }
}

/** SIGTERM of the primary coreapp under a steady client: the gap without sends, failed requests. */
export async function handover({ runs = 5, rate = 100, db = null, onProgress = () => {} } = {}) {
  const cluster = await startCluster({ shards: 1, coreapps: 3, db });
  const client = steadyClient(cluster, rate);
  const gaps = [];
  try {
    await sleep(1_000); // traffic flowing before the first handover (pacing)
    for (let k = 0; k < runs; k++) {
      const before = await cluster.primaryOf(0);
      const termAt = Date.now();
      process.kill(cluster.pidOf(before.node_id), 'SIGTERM');
      const first = await successorFirstSend(cluster, termAt, 30_000);
      const report = await simReport(cluster.file.sim.url);
      const old = report.per_shard.find((s) => s.shard === 0)?.epochs.find((e) => e.node === before.node_id);
      const gap = first.first_send_at_ms - Math.max(old?.last_send_at_ms ?? termAt, 0);
      gaps.push(gap);
      onProgress(`handover ${k + 1}/${runs}: ${gap} ms without sends`);
      await cluster.startCoreapp();
      await sleep(1_000); // traffic on the new primary before the next handover (pacing)
    }
    await client.stop();
    const missing = (await settledMissing(cluster.file.sim.url, client.state.accepted)).length;
    return {
      runs, rate_per_s: rate, gap_ms: stats(gaps), samples_ms: gaps, failed_requests: client.state.errors.length,
      failovers: (await cluster.events('failover')).length, checker: checkerOf(await simReport(cluster.file.sim.url), missing),
    };
  } finally {
    if (client.state.running) await client.stop();
    await cluster.stop();
  }
}

/** A cluster under a steady load for `durationMs`, sampling every process's RSS; the trend per kind. */
export async function soak({ durationMs = 600_000, rate = 500, shards = 2, onProgress = () => {} } = {}) {
  const cluster = await startCluster({ shards });
  const hooks = await webhookReceiver();
  try {
    await hookUp(cluster.api, cluster.headers, hooks.url);
    const client = steadyClient(cluster, rate);
    const sampler = rssSampler(rssByKind(cluster), 5_000);
    const until = Date.now() + durationMs;
    while (Date.now() < until) {
      await sleep(Math.min(30_000, until - Date.now()));
      onProgress(`soak: ${Math.round((durationMs - (until - Date.now())) / 1000)} s of ${durationMs / 1000} s, ${client.state.accepted.length} accepted`);
    }
    await client.stop();
    const { series } = sampler.stop();
    const missing = (await settledMissing(cluster.file.sim.url, client.state.accepted)).length;
    const trend = {};
    for (const name of cluster.pids.keys()) {
      const points = series.filter((r) => r[name] !== undefined).map((r) => [r.at_ms, r[name]]);
      // Growth over the second half (the first half includes warm-up), as a least-squares slope.
      const half = points.slice(Math.floor(points.length / 2));
      const kind = kindOf(name);
      const slope = slopePerMinute(half);
      const entry = (trend[kind] ??= { first_mb: 0, last_mb: 0, max_mb: 0, slope_mb_per_min_max: -Infinity });
      entry.first_mb = Math.max(entry.first_mb, points[0]?.[1] ?? 0);
      entry.last_mb = Math.max(entry.last_mb, points.at(-1)?.[1] ?? 0);
      entry.max_mb = Math.max(entry.max_mb, ...points.map((p) => p[1]));
      entry.slope_mb_per_min_max = Math.max(entry.slope_mb_per_min_max, Math.round(slope * 100) / 100);
    }
    return { duration_s: durationMs / 1000, rate_per_s: rate, shards, accepted: client.state.accepted.length, api_errors: client.state.errors.length, rss: trend, checker: checkerOf(await simReport(cluster.file.sim.url), missing) };
  } finally {
    await hooks.close();
    await cluster.stop();
  }
}

function slopePerMinute(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}
