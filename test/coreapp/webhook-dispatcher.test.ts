// WebhookDispatcher over real SQLite stores and a real HTTP receiver: callbacks enqueued directly
// (the shard worker's part is tested in shard-worker.test.ts). Delivery at least once and in order per
// contact through a receiver that fails, then is gone, then is back; the concurrency bound; headers
// and signatures; timeouts; a stop that leaves unfinished callbacks pending.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApplicationSettings } from '../../src/core/app-settings.js';
import type { NewCallback } from '../../src/ports/callback-store.js';
import { WebhookDispatcher } from '../../src/roles/coreapp/webhook-dispatcher.js';
import { waitForValue, waitUntil } from '../support/wait-for.js';
import { seededRandom } from '../support/seeded-random.js';
import { expectedSignature, openTestStores, printSeedOnFailure, SEED, settingsWith, WebhookReceiver, type TestStores } from './coreapp-test-support.js';

const SECRET = 'a-webhook-secret-of-some-length';

describe('WebhookDispatcher', () => {
  let db: TestStores;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher | null;
  let settings: ApplicationSettings;

  beforeEach(async () => {
    printSeedOnFailure();
    db = await openTestStores();
    receiver = await WebhookReceiver.start();
    dispatcher = null;
    settings = settingsWith({ webhooks: { url: receiver.url }, callback_backoff_delay_ms: 20, max_callback_backoff_delay_ms: 100 });
  });

  afterEach(async () => {
    await dispatcher?.stop();
    await receiver.close();
    await db.dispose();
  });

  function startDispatcher(shards: readonly number[] = [0], fetchTimeoutMs?: number): WebhookDispatcher {
    const options = { stores: db.stores, shards: () => shards, settings: () => settings, pollIntervalMs: 10 };
    dispatcher = new WebhookDispatcher(fetchTimeoutMs === undefined ? options : { ...options, fetchTimeoutMs });
    dispatcher.start();
    return dispatcher;
  }

  /** `count` callbacks spread over `contacts` (in seeded order, or in turn), each carrying its contact and index. */
  async function enqueue(count: number, contacts: readonly string[], shard = 0, inTurn = false): Promise<NewCallback[]> {
    const random = seededRandom(SEED);
    const out: NewCallback[] = [];
    for (let i = 0; i < count; i++) {
      const contact = contacts[inTurn ? i % contacts.length : Math.floor(random() * contacts.length)] as string;
      const callback = { eventId: `ev-${shard}-${i}`, shard, contact, kind: 'status' as const, payload: JSON.stringify({ contact, i }), createdAtMs: await db.stores.nowMs() };
      await db.stores.callbacks.enqueue(callback);
      out.push(callback);
    }
    return out;
  }

  function deliveredOnce(callbacks: readonly NewCallback[]): void {
    const ids = receiver.delivered().map((r) => r.eventId);
    expect(ids.length).toBe(callbacks.length);
    expect(new Set(ids)).toEqual(new Set(callbacks.map((c) => c.eventId)));
  }

  /** Per contact, the 2xx-answered callbacks arrived in enqueue order. */
  function inOrderPerContact(callbacks: readonly NewCallback[]): void {
    const order = new Map(callbacks.map((c, i) => [c.eventId, i]));
    const last = new Map<string, number>();
    for (const hook of receiver.delivered()) {
      const contact = String(hook.body['contact']);
      const index = order.get(hook.eventId) as number;
      expect(index, `callback ${hook.eventId} of ${contact} after ${last.get(contact)}`).toBeGreaterThan(last.get(contact) ?? -1);
      last.set(contact, index);
    }
  }

  it('delivers everything once, in order per contact, after the receiver failed and was gone for a while', async () => {
    const callbacks = await enqueue(60, ['1', '2', '3', '4', '5']);
    receiver.answer = 500;
    startDispatcher();
    await waitUntil(() => receiver.requests.length >= 15, 'failed attempts against a failing receiver');
    await receiver.stopListening();
    await waitForValue(async () => (await db.stores.callbacks.due(0, Number.MAX_SAFE_INTEGER, 100)).filter((c) => c.lastError?.includes('ECONNREFUSED')).length, (n) => n >= 5, 'attempts refused while the receiver is gone');
    const heads = await db.stores.callbacks.due(0, Number.MAX_SAFE_INTEGER, 100);
    expect(heads.every((c) => c.attempts >= 1)).toBe(true);
    receiver.answer = 200;
    await receiver.listen();
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.delivered === callbacks.length && c.pending === 0, 'every callback delivered');
    deliveredOnce(callbacks);
    inOrderPerContact(callbacks);
    // While failing, a contact's later callbacks were never tried: only heads were.
    const failedIds = new Set(receiver.requests.filter((r) => r.answered !== 200).map((r) => r.eventId));
    expect(failedIds.size).toBeLessThanOrEqual(5);
  });

  it('drains a deep backlog of few contacts in order with few full reads: the next callback of a delivered contact is looked up by itself', async () => {
    const callbacks = await enqueue(600, ['1', '2', '3', '4', '5'], 0, true);
    let fullReads = 0;
    const store = db.stores.callbacks;
    const counted = {
      ...db.stores,
      callbacks: new Proxy(store, {
        get: (target, name) => {
          if (name === 'due') fullReads++;
          const value = Reflect.get(target, name) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    dispatcher = new WebhookDispatcher({ stores: counted, shards: () => [0], settings: () => settings, pollIntervalMs: 250 });
    dispatcher.start();
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.delivered === callbacks.length && c.pending === 0, 'every callback delivered');
    deliveredOnce(callbacks);
    inOrderPerContact(callbacks);
    // 120 steps per contact chain; each step used to read every head again.
    expect(fullReads).toBeLessThan(60);
  });

  it('keeps at most max_concurrent_requests in flight, one per contact', async () => {
    const contacts = Array.from({ length: 30 }, (_, i) => `4${i}`);
    const callbacks = await enqueue(90, contacts, 0, true);
    receiver.answer = 'hold';
    startDispatcher();
    await waitUntil(() => receiver.inFlight === 6, '6 requests held');
    // Free one slot at a time: each time exactly one new request may start, never two, never the
    // same contact twice. The dispatcher polls every 10 ms, so it has every chance to overshoot.
    for (let answered = 1; answered <= 60; answered++) {
      receiver.releaseOne(200);
      await waitUntil(() => receiver.requests.length === answered && receiver.inFlight === 6, `request ${answered} answered and another started`);
      const contactsHeld = receiver.heldBodies().map((b) => b['contact']);
      expect(new Set(contactsHeld).size).toBe(contactsHeld.length);
    }
    expect(receiver.maxInFlight).toBe(6);
    receiver.answer = 200;
    receiver.release(200);
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.delivered === 90, 'every callback delivered');
    expect(receiver.maxInFlight).toBe(6);
    deliveredOnce(callbacks);
    inOrderPerContact(callbacks);
  });

  it('sends JSON with the event id, signs the exact body when a secret is set, and waits while no url is set', async () => {
    settings = settingsWith({ webhooks: { url: null } });
    const [unsigned] = await enqueue(1, ['1']);
    startDispatcher();
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.pending === 1, 'the callback waiting');
    expect(receiver.requests).toEqual([]);
    settings = settingsWith({ webhooks: { url: receiver.url } });
    dispatcher?.notify();
    await waitUntil(() => receiver.delivered().length === 1, 'the unsigned callback delivered');
    const first = receiver.delivered()[0];
    expect(first).toMatchObject({ eventId: unsigned?.eventId, signature: null, contentType: 'application/json', raw: unsigned?.payload });
    settings = settingsWith({ webhooks: { url: receiver.url, secret: SECRET } });
    const signed = { eventId: 'signed-1', shard: 0, contact: '9', kind: 'message' as const, payload: '{"messages":[{"text":{"body":"héllo ✓"}}]}', createdAtMs: await db.stores.nowMs() };
    await db.stores.callbacks.enqueue(signed);
    dispatcher?.notify();
    await waitUntil(() => receiver.delivered().length === 2, 'the signed callback delivered');
    const second = receiver.delivered()[1];
    expect(second?.raw).toBe(signed.payload);
    expect(second?.signature).toBe(expectedSignature(SECRET, signed.payload));
  });

  it('counts an unanswered request as a failed attempt after the timeout', async () => {
    await enqueue(1, ['1']);
    receiver.answer = 'hold';
    startDispatcher([0], 100);
    const [failed] = await waitForValue(() => db.stores.callbacks.due(0, Number.MAX_SAFE_INTEGER, 1), (c) => (c[0]?.attempts ?? 0) >= 1, 'a timed-out attempt');
    expect(failed?.lastError).toMatch(/no answer within 100 ms/);
    receiver.answer = 200;
    receiver.release(200);
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.delivered === 1, 'delivered once answered');
  });

  it('delivers only the shards it is given', async () => {
    const mine = await enqueue(3, ['1'], 1);
    await enqueue(3, ['2'], 2);
    startDispatcher([1]);
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.delivered === 3, 'shard 1 delivered');
    deliveredOnce(mine);
    expect((await db.stores.callbacks.counts()).pending).toBe(3);
  });

  it('stops within its bound: held requests are aborted and stay pending, unattempted', async () => {
    await enqueue(4, ['1', '2', '3', '4'], 0, true);
    receiver.answer = 'hold';
    const running = startDispatcher();
    await waitUntil(() => receiver.inFlight === 4, '4 requests held');
    const started = Date.now();
    await running.stop();
    expect(Date.now() - started).toBeLessThan(7_000);
    const pending = await db.stores.callbacks.due(0, Number.MAX_SAFE_INTEGER, 10);
    expect(pending.map((c) => c.attempts)).toEqual([0, 0, 0, 0]);
    receiver.release(200);
  });
});
