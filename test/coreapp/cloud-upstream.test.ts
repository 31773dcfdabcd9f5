// The Cloud API adapter end to end on one shard, in one process: real SQLite stores, the ShardWorker
// with CloudUpstreamClient, the fake Graph API (seeded 130429s and 5xx, an invalid recipient, token
// expiry), the webapp's real /cloud/webhook over HTTP (the fake posts signed statuses there), the
// WebhookDispatcher and a business webhook receiver. The fake records every accepted message: the
// oracle for exactly-once and per-recipient order.
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/adapters/memory/system-clock.js';
import { CloudUpstreamClient } from '../../src/adapters/upstream/cloud-upstream-client.js';
import type { ApplicationSettings } from '../../src/core/app-settings.js';
import type { CloudConfig } from '../../src/core/cloud-config.js';
import { ShardWorker } from '../../src/roles/coreapp/shard-worker.js';
import { WebhookDispatcher } from '../../src/roles/coreapp/webhook-dispatcher.js';
import { buildWebapp } from '../../src/roles/webapp/build-webapp.js';
import { DEFAULT_WEBAPP_OPTIONS } from '../../src/roles/webapp/webapp-deps.js';
import { FakeUpstreamAccounts, RecordingDispatch } from '../api/support/fake-upstream.js';
import { FakeGraphApi } from '../support/fake-graph-api.js';
import { waitFor, waitForValue } from '../support/wait-for.js';
import {
  acceptMessages,
  Digits,
  openTestStores,
  printSeedOnFailure,
  promote,
  recipientsOn,
  SEED,
  settingsWith,
  statusOf,
  WebhookReceiver,
  type AcceptedMessage,
  type Fence,
  type TestStores,
} from './coreapp-test-support.js';

const PHONE_NUMBER_ID = '106540352242922';
const APP_SECRET = 'cloud-app-secret-0123456789abcdef';
const TOKEN = 'EAAG-test-access-token';
const NODE_A = 'node-a:00000000000a';
const NODE_B = 'node-b:00000000000b';
const silent = pino({ level: 'silent' });

describe('Cloud API adapter with the ShardWorker', () => {
  let db: TestStores;
  let graph: FakeGraphApi;
  let webapp: FastifyInstance;
  let receiver: WebhookReceiver;
  let settings: ApplicationSettings;
  let dispatcher: WebhookDispatcher;
  let token: string;
  const clients: CloudUpstreamClient[] = [];
  const workers: ShardWorker[] = [];
  const digits = new Digits(SEED);

  async function setUp(faults: { rateLimitRate?: number; serverErrorRate?: number } = {}): Promise<void> {
    graph = new FakeGraphApi({ phoneNumberId: PHONE_NUMBER_ID, token: TOKEN, appSecret: APP_SECRET, seed: SEED, invalidSuffix: '0000', ...faults });
    await graph.start();
    webapp = await buildWebapp({
      stores: db.stores,
      clock: new SystemClock(),
      nodeId: 'test:000000000001',
      version: '0.0.0-test',
      dispatch: new RecordingDispatch(),
      upstream: new FakeUpstreamAccounts(),
      gatewayStatus: () => 'connected',
      support: () => ({}),
      options: DEFAULT_WEBAPP_OPTIONS,
      logger: false,
      cloudWebhook: { appSecret: APP_SECRET, verifyToken: 'verify' },
    });
    const address = await webapp.listen({ port: 0, host: '127.0.0.1' });
    graph.setWebhookUrl(`${address}/cloud/webhook`);
  }

  function client(options: { reclaimAfterMs?: number; ratePerSecond?: number } = {}): CloudUpstreamClient {
    const { ratePerSecond = 1_000, ...rest } = options;
    const config: CloudConfig = { phoneNumberId: PHONE_NUMBER_ID, accessToken: token, accessTokenFile: null, appSecret: APP_SECRET, verifyToken: 'verify', apiVersion: 'v21.0', baseUrl: graph.url, ratePerSecond };
    const c = new CloudUpstreamClient({ config, store: db.stores.cloud, logger: silent, reloadToken: () => token, pollIntervalMs: 50, ...rest });
    clients.push(c);
    return c;
  }

  async function startWorker(fence: Fence, upstream: CloudUpstreamClient, nodeId = NODE_A): Promise<ShardWorker> {
    const worker = new ShardWorker({ stores: db.stores, upstream, account: { waId: '15550001111', credentials: 'cloud' }, fence, nodeId, settings: () => settings, pollIntervalMs: 50, onCallbacks: () => dispatcher.notify() });
    workers.push(worker);
    await worker.start();
    return worker;
  }

  /** Every message has its statuses at the business webhook, in order; returns them by id. */
  async function expectStatuses(messages: readonly AcceptedMessage[], expected: (m: AcceptedMessage) => string[], timeoutMs = 30_000): Promise<void> {
    const byId = (): Map<string, string[]> => {
      const out = new Map<string, string[]>();
      for (const hook of receiver.delivered()) {
        const s = statusOf(hook);
        if (s !== null) out.set(s.id, [...(out.get(s.id) ?? []), s.status]);
      }
      return out;
    };
    await waitForValue(byId, (seen) => messages.every((m) => JSON.stringify(seen.get(m.id)) === JSON.stringify(expected(m))), 'every status at the business webhook, in order', timeoutMs);
  }

  function expectExactlyOnceInOrder(messages: readonly AcceptedMessage[]): void {
    expect(graph.duplicates()).toEqual(new Map());
    const ids = new Set(graph.accepted.map((m) => m.opaque));
    expect(messages.filter((m) => !ids.has(m.id)).map((m) => m.id)).toEqual([]);
    const perRecipient = graph.byRecipient();
    for (const [recipient, got] of perRecipient) {
      const want = messages.filter((m) => m.recipient === recipient).map((m) => m.id);
      expect(got, `order for ${recipient}`).toEqual(want);
    }
  }

  beforeEach(async () => {
    printSeedOnFailure();
    token = TOKEN;
    db = await openTestStores();
    receiver = await WebhookReceiver.start();
    settings = settingsWith({ webhooks: { url: receiver.url }, callback_backoff_delay_ms: 20, max_callback_backoff_delay_ms: 100 });
    dispatcher = new WebhookDispatcher({ stores: db.stores, shards: () => [0], settings: () => settings, pollIntervalMs: 50 });
    dispatcher.start();
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    for (const c of clients.splice(0)) await c.close();
    await dispatcher.stop();
    await webapp?.close();
    await graph?.stop();
    await receiver.close();
    await db.dispose();
  });

  it('sends every message once, in order per recipient, through 130429s and 5xx; statuses reach the business webhook in On-Prem form', async () => {
    await setUp({ rateLimitRate: 0.1, serverErrorRate: 0.05 });
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 8);
    const invalid = recipientsOn(digits, 0, 1, 1, false);
    const messages = await acceptMessages(db.stores, fence, [...recipients, ...invalid], 180, 'cloud-');
    await startWorker(fence, client());
    await expectStatuses(messages, (m) => (invalid.includes(m.recipient) ? ['sent', 'failed'] : ['sent', 'delivered', 'read']));
    expectExactlyOnceInOrder(messages);
    expect(graph.answered.rateLimited).toBeGreaterThan(0);
    expect(graph.answered.serverError).toBeGreaterThan(0);
    const failed = receiver.delivered().map(statusOf).find((s) => s?.status === 'failed');
    expect(failed).toMatchObject({ recipient_id: invalid[0], errors: [{ code: 1013, title: 'User is not valid' }] });
    expect(Object.keys(failed ?? {}).sort()).toEqual(['errors', 'id', 'recipient_id', 'status', 'timestamp']);
    const sent = graph.accepted[0]?.body;
    expect(sent).toMatchObject({ messaging_product: 'whatsapp', recipient_type: 'individual', type: 'text', text: { body: expect.any(String) } });
    expect((await db.stores.messages.get(messages[0]!.id))?.status).toBe('read');
  });

  it('the number\'s rate is split over the shards: two primaries together stay within it', async () => {
    await setUp();
    const rate = 20;
    const fences = [await promote(db.stores, 0, 2, NODE_A), await promote(db.stores, 1, 2, NODE_B)];
    const messages: AcceptedMessage[] = [];
    for (const fence of fences) messages.push(...(await acceptMessages(db.stores, fence, recipientsOn(digits, fence.shard, 2, 15), 30, `rate-${fence.shard}-`)));
    for (const [i, fence] of fences.entries()) await startWorker(fence, client({ ratePerSecond: rate }), i === 0 ? NODE_A : NODE_B);
    await waitFor('every message at the Cloud API', () => graph.accepted.length >= messages.length, 20_000, 20);
    expectExactlyOnceInOrder(messages);
    // Each shard has rate / 2 per second with a burst of as much: together at most `rate` at once and
    // `rate` per second after. Slowness only spreads arrivals further, so these bounds hold on any machine.
    const times = graph.accepted.map((m) => m.atMs).sort((a, b) => a - b);
    for (const [i, t] of times.entries()) {
      const inWindow = times.slice(i).filter((u) => u < t + 1_000).length;
      expect(inWindow, `arrivals in the second after ${i}`).toBeLessThanOrEqual(2 * rate + 1);
    }
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(((messages.length - rate) / rate) * 1_000 - 100);
  });

  it('an expired token holds the messages (nothing fails) until the token is renewed', async () => {
    await setUp();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    graph.expireToken();
    const messages = await acceptMessages(db.stores, fence, recipientsOn(digits, 0, 1, 3), 6, 'tok-');
    await startWorker(fence, client());
    await waitFor('token errors', () => graph.answered.tokenExpired >= 3, 10_000);
    expect(graph.accepted).toEqual([]);
    expect(receiver.delivered().map(statusOf).filter((s) => s?.status === 'failed')).toEqual([]);
    token = 'EAAG-renewed-token';
    graph.setToken(token);
    await expectStatuses(messages, () => ['sent', 'delivered', 'read']);
    expectExactlyOnceInOrder(messages);
  });

  it('a deposed primary is fenced at its next claim; the new primary sends the rest, nothing twice', async () => {
    await setUp();
    const fenceA = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 4);
    const first = await acceptMessages(db.stores, fenceA, recipients, 40, 'a-');
    const a = await startWorker(fenceA, client());
    await waitFor('some messages accepted by the Cloud API', () => graph.accepted.length >= 8, 10_000);
    const fenceB = await promote(db.stores, 0, 1, NODE_B);
    const second = await acceptMessages(db.stores, fenceB, recipients, 40, 'b-');
    const lost = await a.lost;
    expect(lost.reason).toMatch(/stale_epoch|fenced|epoch/);
    await startWorker(fenceB, client(), NODE_B);
    await expectStatuses([...first, ...second], () => ['sent', 'delivered', 'read']);
    expectExactlyOnceInOrder([...first, ...second]);
  });

  it('a claim left in doubt by a crashed sender: settled by its Cloud status if it arrived, taken over after the window if not', async () => {
    await setUp();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const [r1, r2] = recipientsOn(digits, 0, 1, 2) as [string, string];
    const messages = await acceptMessages(db.stores, fence, [r1, r2], 6, 'doubt-');
    const arrived = messages[0] as AcceptedMessage;
    const lostOnTheWay = messages[1] as AcceptedMessage;
    // The crashed primary claimed both; one post reached the Cloud API, the other never left.
    const now = Date.now();
    expect(await db.stores.cloud.claimSend(arrived.id, fence, now, 60_000)).toEqual({ kind: 'claimed' });
    expect(await db.stores.cloud.claimSend(lostOnTheWay.id, fence, now, 60_000)).toEqual({ kind: 'claimed' });
    const posted = await fetch(`${graph.url}/v21.0/${PHONE_NUMBER_ID}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: arrived.recipient, type: 'text', text: { body: arrived.body }, biz_opaque_callback_data: arrived.id }),
    });
    expect(posted.status).toBe(200);
    const started = Date.now();
    await startWorker(fence, client({ reclaimAfterMs: 1_500 }));
    await expectStatuses(messages, () => ['sent', 'delivered', 'read']);
    expectExactlyOnceInOrder(messages);
    // The one that never left waited for the window before it was posted again.
    const secondOfR2 = graph.accepted.findIndex((m) => m.opaque === lostOnTheWay.id);
    expect(secondOfR2).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('an inbound message delivered twice by Meta reaches the business webhook once, in On-Prem form', async () => {
    await setUp();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    await startWorker(fence, client());
    const [from] = recipientsOn(digits, 0, 1, 1) as [string];
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PHONE_NUMBER_ID }, contacts: [{ profile: { name: 'Sheena' }, wa_id: from }], messages: [{ from, id: 'wamid.INBOUND1', timestamp: '1749416383', type: 'text', text: { body: 'Another color?' } }] } }] }],
    });
    const url = `${(webapp.addresses()[0] as { address: string; port: number }).port}`;
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${url}/cloud/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` },
        body,
      });
      expect(response.status).toBe(200);
    }
    const hooks = await waitForValue(() => receiver.delivered().filter((h) => Array.isArray(h.body['messages'])), (h) => h.length >= 1, 'the inbound webhook', 10_000);
    expect(hooks[0]?.body).toEqual({ contacts: [{ profile: { name: 'Sheena' }, wa_id: from }], messages: [{ from, id: 'wamid.INBOUND1', timestamp: '1749416383', type: 'text', text: { body: 'Another color?' } }] });
    // Give a second delivery every chance to show up: the inbox must be drained and the queue idle.
    await waitFor('the inbox drained', async () => (await db.stores.cloud.pendingEvents(Array.from({ length: 32 }, (_, i) => i), 10)).length === 0, 5_000);
    await waitFor('no pending callbacks', async () => (await db.stores.callbacks.due(0, Date.now() + 60_000, 10)).length === 0, 5_000);
    expect(receiver.delivered().filter((h) => Array.isArray(h.body['messages']))).toHaveLength(1);
  });
});
