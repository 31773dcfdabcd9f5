// The simulator over real sockets: startSim on an ephemeral port, raw WebSocket clients, the HTTP
// API with fetch. Every wait polls a condition with a deadline; every server and socket is closed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ShardCount } from '../../src/core/limits.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { SimReport } from '../../src/sim/sim-network.js';
import type { SimOptions } from '../../src/sim/sim-options.js';
import { SIM_PROTOCOL, type MessageEvent, type StatusEvent } from '../../src/core/upstream-protocol.js';
import { startSim, type SimHandle } from '../../src/sim/start-sim.js';
import { SEED, TestClient, message, printSeedOnFailure, recipientOn } from './sim-test-support.js';
import { waitForValue, waitUntil } from '../support/wait-for.js';

const ACCOUNT = '15550001111';
const SHARDS: ShardCount = 4;
const codes = SIM_PROTOCOL.closeCodes;

describe('sim over sockets', () => {
  const sims: SimHandle[] = [];
  const clients: TestClient[] = [];
  let random: SeededRandom;

  beforeEach(() => {
    printSeedOnFailure();
    random = new SeededRandom(SEED);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
  });

  async function start(options: SimOptions = {}): Promise<SimHandle> {
    const sim = await startSim({ port: 0, seed: SEED, accounts: [{ waId: ACCOUNT, credentials: 'secret', shards: SHARDS }], ...options });
    sims.push(sim);
    return sim;
  }

  /** Connects and sends hello; resolves once welcomed or closed. */
  async function connect(sim: SimHandle, shard: number, epoch: number, hello: Record<string, unknown> = {}): Promise<TestClient> {
    const client = new TestClient(sim.wsUrl);
    clients.push(client);
    await client.open();
    client.send({ type: 'hello', protocol: 1, account: ACCOUNT, credentials: 'secret', shard, shards: SHARDS, epoch, ...hello });
    await waitUntil(() => client.ofType('welcome').length > 0 || client.closed !== null, 'welcome or close');
    return client;
  }

  async function report(sim: SimHandle): Promise<SimReport> {
    return (await fetch(`${sim.url}/sim/report`)).json() as Promise<SimReport>;
  }

  function acked(client: TestClient): number {
    return client.ofType('acks').reduce((n, frame) => n + frame.acks.length, 0);
  }

  it('accepts a handshake, replaces on a higher epoch, refuses a lower epoch, wrong shards and bad credentials', async () => {
    const sim = await start();
    const first = await connect(sim, 0, 1);
    expect(first.ofType('welcome')[0]).toMatchObject({ shard: 0, shards: SHARDS, epoch: 1 });
    const second = await connect(sim, 0, 2);
    expect(second.closed).toBeNull();
    expect(await first.waitClosed()).toEqual({ code: codes.replaced, reason: 'replaced' });
    expect((await connect(sim, 0, 1)).closed).toEqual({ code: codes.staleEpoch, reason: 'stale_epoch' });
    expect((await connect(sim, 1, 1, { shards: 8 })).closed).toEqual({ code: codes.shardsMismatch, reason: 'shards_mismatch' });
    expect((await connect(sim, 1, 1, { credentials: 'wrong' })).closed).toEqual({ code: codes.unauthorized, reason: 'unauthorized' });
    const after = await report(sim);
    expect(after).toMatchObject({ ok: true, connections_open: 1, max_connections_per_shard: 1 });
    expect(after.activity).toMatchObject({ connections_replaced: 1, handshakes_refused: { stale_epoch: 1, shards_mismatch: 1, unauthorized: 1 } });
  });

  it('registers over HTTP and accepts the issued credentials', async () => {
    const sim = await start({ accounts: [] });
    await fetch(`${sim.url}/sim/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cc: '1', phone_number: '5550002222' }) });
    const { code } = (await (await fetch(`${sim.url}/sim/accounts/15550002222/code`)).json()) as { code: string };
    const verified = await fetch(`${sim.url}/sim/accounts/15550002222/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    const { account } = (await verified.json()) as { account: { credentials: string; shards: number } };
    const client = await connect(sim, 0, 1, { account: '15550002222', credentials: account.credentials, shards: account.shards });
    expect(client.ofType('welcome')).toHaveLength(1);
  });

  it('de-duplicates by message id: acked again, never delivered again', async () => {
    const sim = await start({ deliveredDelayMs: 0, readDelayMs: null });
    const client = await connect(sim, 0, 1);
    const to = recipientOn(random, 0, SHARDS);
    client.send({ type: 'send', epoch: 1, messages: [message('m1', to, 1)] });
    await client.waitFrames('acks', 1);
    client.send({ type: 'send', epoch: 1, messages: [message('m1', to, 1)] });
    await client.waitFrames('acks', 2);
    expect(client.ofType('acks').map((f) => f.acks[0]?.result)).toEqual(['sent', 'duplicate']);
    await waitUntil(() => client.events().length >= 1, 'the delivered status');
    client.send({ type: 'ack', events: client.events().map((e) => e.event) });
    const final = await waitForValue(() => report(sim), (r) => r.receipts_pending === 0, 'receipts acked');
    expect(final).toMatchObject({ ok: true, messages_unique: 1, duplicates: 1, activity: { receipts_emitted: 1 } });
    expect(client.events()).toHaveLength(1);
  });

  it('detects a misrouted send, answers misrouted, and does not deliver it', async () => {
    const sim = await start();
    const client = await connect(sim, 0, 1);
    const wrong = recipientOn(random, 2, SHARDS);
    client.send({ type: 'send', epoch: 1, messages: [message('m1', wrong, 1)] });
    await client.waitFrames('acks', 1);
    expect(client.ofType('acks')[0]?.acks[0]).toMatchObject({ id: 'm1', result: 'misrouted' });
    const after = await report(sim);
    expect(after).toMatchObject({ ok: false, misrouted: 1, messages_unique: 0, receipts_pending: 0 });
    expect(after.violations[0]).toMatchObject({ kind: 'misrouted', message_id: 'm1', recipient: wrong });
    const page = (await (await fetch(`${sim.url}/sim/messages`)).json()) as { ids: string[] };
    expect(page.ids).toEqual([]);
  });

  it('buffers receipts across a reconnect and delivers them to the new holder', async () => {
    const sim = await start({ deliveredDelayMs: 50, readDelayMs: null });
    const first = await connect(sim, 3, 1);
    const to = recipientOn(random, 3, SHARDS);
    first.send({ type: 'send', epoch: 1, messages: [message('m1', to, 1), message('m2', to, 2)] });
    await first.waitFrames('acks', 1);
    first.terminate(); // a crashed coreapp: no closing handshake
    const buffered = await waitForValue(() => report(sim), (r) => r.connections_open === 0 && r.receipts_scheduled === 0, 'receipts due while offline');
    expect(buffered.receipts_pending).toBe(2);
    expect(first.events()).toEqual([]);
    const next = await connect(sim, 3, 2);
    await waitUntil(() => next.events().length >= 2, 'buffered receipts at the new holder');
    expect((next.events() as StatusEvent[]).map((e) => [e.id, e.status])).toEqual([['m1', 'delivered'], ['m2', 'delivered']]);
    next.send({ type: 'ack', events: next.events().map((e) => e.event) });
    await waitForValue(() => report(sim), (r) => r.receipts_pending === 0, 'receipts acked');
  });

  it('holds inbound messages in order while offline and redelivers them until acked', async () => {
    const sim = await start({ redeliveryMs: 50 });
    const from = recipientOn(random, 1, SHARDS);
    for (const text of ['first', 'second']) {
      const response = await fetch(`${sim.url}/sim/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from, text }) });
      expect(response.status).toBe(202);
    }
    expect(await report(sim)).toMatchObject({ inbound_unacked: 2 });
    const client = await connect(sim, 1, 1);
    await waitUntil(() => client.events().length >= 4, 'the inbound messages, then their redelivery');
    expect((client.events() as MessageEvent[]).map((e) => e.text.body)).toEqual(['first', 'second', 'first', 'second']);
    client.send({ type: 'ack', events: client.events().slice(0, 2).map((e) => e.event) });
    const acked = await waitForValue(() => report(sim), (r) => r.inbound_unacked === 0, 'inbound acked');
    expect(acked.activity.events_redelivered).toBeGreaterThanOrEqual(2);
    expect(acked.per_shard.find((s) => s.shard === 1)).toMatchObject({ events_unsent: 0, events_in_flight: 0 });
  });

  it('detects an order violation from the gateway sequence numbers', async () => {
    const sim = await start();
    const client = await connect(sim, 2, 1);
    const to = recipientOn(random, 2, SHARDS);
    client.send({ type: 'send', epoch: 1, messages: [message('b', to, 8), message('a', to, 7)] });
    await client.waitFrames('acks', 1);
    const after = await report(sim);
    expect(after).toMatchObject({ ok: false, order_violations: 1, messages_unique: 2 });
    expect(after.violations[0]).toMatchObject({ kind: 'order_violation', message_id: 'a', seq: 7, recipient: to });
  });

  it('counts a send that races its connection’s replacement as a stale-epoch send', async () => {
    const sim = await start();
    const old = await connect(sim, 0, 1);
    old.pause(); // the old primary does not see its replacement yet (a paused process)
    await connect(sim, 0, 2);
    old.send({ type: 'send', epoch: 1, messages: [message('late', recipientOn(random, 0, SHARDS), 1)] });
    const after = await waitForValue(() => report(sim), (r) => r.stale_epoch_sends === 1, 'the stale send to be counted');
    expect(after).toMatchObject({ ok: false, messages_unique: 0, max_connections_per_shard: 1 });
    expect(after.violations[0]).toMatchObject({ kind: 'stale_epoch_send', message_id: 'late', epoch: 1 });
    old.resume();
    expect((await old.waitClosed()).code).toBe(codes.replaced);
  });

  it('rate-limits each connection: the burst at once, the rest acked at the rate', async () => {
    const sim = await start({ connRatePerSecond: 200, deliveredDelayMs: null });
    const client = await connect(sim, 0, 1);
    expect(client.ofType('welcome')[0]).toMatchObject({ rate_per_second: 200, burst: 20 });
    const to = recipientOn(random, 0, SHARDS);
    const started = Date.now();
    client.send({ type: 'send', epoch: 1, messages: Array.from({ length: 60 }, (_, i) => message(`m${i}`, to, i + 1)) });
    await waitUntil(() => acked(client) === 60, 'all 60 acks', 10_000);
    const elapsedMs = Date.now() - started;
    expect(client.ofType('acks')[0]?.acks).toHaveLength(20);
    // 40 sends beyond the burst at 200/s need at least 200 ms (ticks are rounded to whole ms).
    expect(elapsedMs).toBeGreaterThanOrEqual(190);
    expect(await report(sim)).toMatchObject({ ok: true, messages_unique: 60, activity: { sends_rate_limited: 40 } });
  });

  it('closes connections when the account’s shard count changes', async () => {
    const sim = await start();
    const client = await connect(sim, 0, 1);
    const response = await fetch(`${sim.url}/sim/accounts/${ACCOUNT}/shards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer secret' },
      body: JSON.stringify({ shards: 8 }),
    });
    expect(response.status).toBe(200);
    expect(await client.waitClosed()).toEqual({ code: codes.shardsChanged, reason: 'shards_changed' });
    expect((await connect(sim, 0, 2, { shards: 8 })).closed).toBeNull();
  });

  it('closes with protocol_error, times out a silent handshake, and refuses other paths', async () => {
    const sim = await start({ handshakeTimeoutMs: 50 });
    const rude = new TestClient(sim.wsUrl);
    clients.push(rude);
    await rude.open();
    rude.send('not json');
    expect((await rude.waitClosed()).code).toBe(codes.protocolError);
    expect(rude.ofType('error')[0]).toMatchObject({ code: codes.protocolError, details: 'frame is not valid JSON' });
    const silent = new TestClient(sim.wsUrl);
    clients.push(silent);
    await silent.open();
    expect((await silent.waitClosed()).code).toBe(codes.handshakeTimeout);
    const elsewhere = new WebSocket(`${sim.url.replace('http', 'ws')}/elsewhere`);
    const status = await new Promise<number>((resolve) => {
      elsewhere.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      elsewhere.on('error', () => resolve(-1));
    });
    elsewhere.terminate();
    expect(status).toBe(404);
  });

  it('stops cleanly: clients see 1001 and the port is released', async () => {
    const sim = await start();
    const client = await connect(sim, 0, 1);
    await sim.stop();
    expect((await client.waitClosed()).code).toBe(1001);
    const again = await startSim({ port: sim.port, seed: SEED });
    sims.push(again);
    expect(again.port).toBe(sim.port);
  });
});
