// Throughput of `shardgate start` (one process: webapp + coreapp + master on SQLite), end to end.
//
//   npm run build && node bench/gateway-throughput.mjs [--messages 20000] [--concurrency 64] [--db <url>]
//
// Three processes besides this one: the simulator (`shardgate sim`, receipts on), the gateway
// (`shardgate start --upstream-url …`), and a Fastify hello-world baseline loaded the same way first,
// so every figure is also a ratio to this machine's HTTP limit. The load comes from this process over
// keep-alive connections (undici Pool). Webhooks for sent, delivered and read go to a receiver here.
// Reports: accepted/s (201s from the API), end-to-end/s (acknowledged upstream), webhooks/s, the
// checker's verdict; writes bench/results/gateway-throughput.json. Exits 1 on a checker violation or
// a lost message.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
};
const settings = {
  messages: Number(arg('messages', process.argv.includes('--quick') ? 5_000 : 20_000)),
  concurrency: Number(arg('concurrency', 64)),
  db: arg('db', null),
};
const ADMIN_PASSWORD = 'Bench-admin-Passw0rd!';
const children = [];

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, SHARDGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return {
    child,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = () => {
          const m = output.match(pattern);
          if (m) return resolve(m);
          if (child.exitCode !== null || Date.now() > deadline) return reject(new Error(`no ${pattern} in output:\n${output}`));
          setTimeout(poll, 20);
        };
        poll();
      }),
  };
}

async function call(pool, method, path, headers, body) {
  const response = await pool.request({ method, path, headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? JSON.parse(text) : {} };
}

/** Sends `total` requests with `concurrency` in flight; returns requests/s and the 201/200 count. */
async function load(total, concurrency, send) {
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
  return { perSecond: total / seconds, ok, seconds };
}

async function baseline() {
  const server = start(['-e', `
    const app = require('fastify')();
    app.post('/v1/messages', async () => ({ messages: [{ id: 'x' }] }));
    app.listen({ port: 0, host: '127.0.0.1' }).then((a) => console.log('BASELINE ' + a));
  `]);
  const url = (await server.waitFor(/BASELINE (http:\/\/\S+)/))[1];
  const pool = new Pool(url, { connections: settings.concurrency });
  const body = JSON.stringify({ to: '14155551000', type: 'text', text: { body: 'hello' } });
  const result = await load(settings.messages, settings.concurrency, async () => (await call(pool, 'POST', '/v1/messages', { 'content-type': 'application/json' }, body)).status === 200);
  await pool.close();
  server.child.kill('SIGKILL');
  return result;
}

async function main() {
  console.log(`gateway throughput: ${settings.messages} messages, ${settings.concurrency} in flight${settings.db ? `, db ${settings.db}` : ', SQLite'}`);
  const base = await baseline();
  console.log(`baseline (Fastify hello-world POST): ${base.perSecond.toFixed(0)} req/s`);

  const hooks = { count: 0 };
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooks.count++;
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${receiver.address().port}/webhook`;

  const sim = start(['bin/shardgate.js', 'sim', '--port', '0', '--receipt-delay-ms', '5', '--read-delay-ms', '5']);
  const simUrl = (await sim.waitFor(/listening on (http:\/\/\S+)/))[1];
  const data = mkdtempSync(join(tmpdir(), 'shardgate-bench-'));
  const gatewayEnv = { SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...(settings.db ? { SHARDGATE_DATABASE_URL: settings.db } : {}) };
  const gateway = start(['bin/shardgate.js', 'start', '--port', '0', '--data', data, '--upstream-url', simUrl], gatewayEnv);
  const api = (await gateway.waitFor(/API\s+(http:\/\/\S+)/))[1];
  const pool = new Pool(api, { connections: settings.concurrency });
  const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
  const token = (await call(pool, 'POST', '/v1/users/login', { authorization: `Basic ${basic}` })).body.users[0].token;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const business = { cc: '1', phone_number: '6505550142' };
  await call(pool, 'POST', '/v1/account', headers, JSON.stringify({ ...business, method: 'sms' }));
  const code = (await (await request(`${simUrl}/sim/accounts/16505550142/code`)).body.json()).code;
  await call(pool, 'POST', '/v1/account/verify', headers, JSON.stringify({ code }));
  await call(pool, 'PATCH', '/v1/settings/application', headers, JSON.stringify({ webhooks: { url: webhookUrl, max_concurrent_requests: 24 } }));

  const recipients = Array.from({ length: 1_000 }, (_, i) => `1415555${String(1000 + i)}`);
  const firstSend = performance.now();
  const refusals = new Map();
  const accepted = await load(settings.messages, settings.concurrency, async (i) => {
    const body = JSON.stringify({ to: recipients[i % recipients.length], type: 'text', text: { body: `bench ${i}` } });
    const answer = await call(pool, 'POST', '/v1/messages', headers, body);
    if (answer.status !== 201) {
      const key = `${answer.status} ${answer.body.errors?.[0]?.code ?? ''} ${answer.body.errors?.[0]?.details ?? ''}`;
      refusals.set(key, (refusals.get(key) ?? 0) + 1);
    }
    return answer.status === 201;
  });
  for (const [what, count] of refusals) console.log(`  refused ${count}×: ${what}`);
  console.log(`accepted: ${accepted.perSecond.toFixed(0)} messages/s (${accepted.ok} of ${settings.messages} answered 201)`);

  let report;
  for (;;) {
    report = await (await request(`${simUrl}/sim/report`)).body.json();
    if (report.messages_unique >= accepted.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const endToEndSeconds = (performance.now() - firstSend) / 1000;
  const endToEnd = report.messages_unique / endToEndSeconds;
  const expectedHooks = accepted.ok * 3;
  const hooksDeadline = Date.now() + 120_000;
  while (hooks.count < expectedHooks && Date.now() < hooksDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const webhookSeconds = (performance.now() - firstSend) / 1000;
  console.log(`end to end: ${endToEnd.toFixed(0)} messages/s acknowledged upstream (${report.messages_unique} unique, ${report.duplicates} re-sends)`);
  console.log(`webhooks: ${hooks.count} of ${expectedHooks} (sent+delivered+read) in ${webhookSeconds.toFixed(1)} s = ${(hooks.count / webhookSeconds).toFixed(0)}/s`);
  console.log(`ratio to baseline: accepted ${(accepted.perSecond / base.perSecond).toFixed(2)}, end to end ${(endToEnd / base.perSecond).toFixed(2)}`);
  console.log(`checker: ok=${report.ok} misrouted=${report.misrouted} stale_epoch_sends=${report.stale_epoch_sends} order_violations=${report.order_violations}`);

  const result = {
    at: new Date().toISOString(),
    settings,
    baseline_req_per_s: Math.round(base.perSecond),
    accepted_per_s: Math.round(accepted.perSecond),
    end_to_end_per_s: Math.round(endToEnd),
    webhooks_received: hooks.count,
    webhooks_expected: expectedHooks,
    checker: { ok: report.ok, messages_unique: report.messages_unique, duplicates: report.duplicates, misrouted: report.misrouted, order_violations: report.order_violations },
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/gateway-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  await pool.close();
  receiver.close();
  rmSync(data, { recursive: true, force: true });
  const failed = !report.ok || report.messages_unique < accepted.ok || accepted.ok < settings.messages || hooks.count < expectedHooks;
  return failed ? 1 : 0;
}

main()
  .then((code) => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(code);
  })
  .catch((error) => {
    console.error(error);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  });
