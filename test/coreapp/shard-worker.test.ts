// The durable pipeline end to end on one shard: real SQLite stores, a real in-process simulator (the
// oracle: its report counts duplicates, order violations, stale sends, unacked events), the
// WebhookDispatcher and a real HTTP receiver. Ownership changes are made the way the master makes
// them (`shardMap.assign`), and a crashed primary is imitated by a client that never reports acks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimUpstreamClient } from '../../src/adapters/upstream/sim-upstream-client.js';
import type { ApplicationSettings } from '../../src/core/app-settings.js';
import type { MessageStatus } from '../../src/ports/message-store.js';
import type { UpstreamClient, UpstreamConnectOptions, UpstreamSession } from '../../src/ports/upstream-client.js';
import { ShardWorker } from '../../src/roles/coreapp/shard-worker.js';
import { WebhookDispatcher } from '../../src/roles/coreapp/webhook-dispatcher.js';
import { startSim, type SimHandle } from '../../src/sim/start-sim.js';
import { waitForValue } from '../support/wait-for.js';
import {
  acceptMessages,
  Digits,
  expectedSignature,
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

const ACCOUNT = '15550003333';
const SECRET = 'shardgate-test-secret-1234';
const NODE_A = 'node-a:00000000000a';
const NODE_B = 'node-b:00000000000b';

/** An upstream client whose sessions forward sends to the network but never report the acks: a primary that crashed after sending. */
class AckSwallowingClient implements UpstreamClient {
  constructor(private readonly inner: UpstreamClient) {}
  async connect(options: UpstreamConnectOptions): Promise<UpstreamSession> {
    const session = await this.inner.connect(options);
    return {
      send: (messages) => {
        session.send(messages).catch(() => undefined);
        return new Promise((_, reject) => void session.closed.then(() => reject(new Error('session closed'))));
      },
      ack: () => undefined,
      close: () => session.close(),
      closed: session.closed,
    };
  }
}

describe('ShardWorker', () => {
  let db: TestStores;
  let sim: SimHandle;
  let receiver: WebhookReceiver;
  let settings: ApplicationSettings;
  let dispatcher: WebhookDispatcher;
  const workers: ShardWorker[] = [];
  const digits = new Digits(SEED);

  beforeEach(async () => {
    printSeedOnFailure();
    db = await openTestStores();
    receiver = await WebhookReceiver.start();
    settings = settingsWith({ webhooks: { url: receiver.url, secret: SECRET }, callback_backoff_delay_ms: 20, max_callback_backoff_delay_ms: 100 });
    dispatcher = new WebhookDispatcher({ stores: db.stores, shards: () => [0], settings: () => settings, pollIntervalMs: 50 });
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    await dispatcher.stop();
    await sim?.stop();
    await receiver.close();
    await db.dispose();
  });

  async function startNetwork(options: Parameters<typeof startSim>[0] = {}): Promise<void> {
    sim = await startSim({ seed: SEED, accounts: [{ waId: ACCOUNT, shards: 1 }], deliveredDelayMs: 0, readDelayMs: 5, ...options });
  }

  function worker(fence: Fence, nodeId: string, upstream: UpstreamClient = new SimUpstreamClient(sim.wsUrl)): ShardWorker {
    const w = new ShardWorker({
      stores: db.stores,
      upstream,
      account: { waId: ACCOUNT, credentials: sim.credentialsOf(ACCOUNT) as string },
      fence,
      nodeId,
      settings: () => settings,
      pollIntervalMs: 20,
      onCallbacks: () => dispatcher.notify(),
    });
    workers.push(w);
    return w;
  }

  async function statuses(messages: readonly AcceptedMessage[]): Promise<Record<string, MessageStatus>> {
    const out: Record<string, MessageStatus> = {};
    for (const m of messages) out[m.id] = (await db.stores.messages.get(m.id))?.status ?? 'accepted';
    return out;
  }

  async function allReach(messages: readonly AcceptedMessage[], status: MessageStatus, timeoutMs = 20_000): Promise<void> {
    await waitForValue(() => db.stores.messages.countByStatus(), (c) => c[status] === messages.length, `${messages.length} messages ${status}`, timeoutMs);
  }

  /** The delivered status webhooks, as `<id>:<status>` per contact, in arrival order. */
  function hooksPerContact(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const hook of receiver.delivered()) {
      const status = statusOf(hook);
      if (status === null) continue;
      const list = out.get(status.recipient_id) ?? [];
      list.push(`${status.id}:${status.status}`);
      out.set(status.recipient_id, list);
    }
    return out;
  }

  /**
   * Per contact: each message's webhooks arrived sent → delivered → read, and each status arrived in
   * the order the messages were accepted.
   */
  function expectStatusWebhooksInOrder(messages: readonly AcceptedMessage[]): void {
    const perContact = hooksPerContact();
    for (const recipient of new Set(messages.map((m) => m.recipient))) {
      const hooks = perContact.get(recipient) ?? [];
      const mine = messages.filter((m) => m.recipient === recipient).map((m) => m.id);
      for (const status of ['sent', 'delivered', 'read']) {
        expect(hooks.filter((h) => h.endsWith(`:${status}`)).map((h) => h.split(':')[0]), `${status} order of ${recipient}`).toEqual(mine);
      }
      for (const id of mine) {
        const at = (s: string): number => hooks.indexOf(`${id}:${s}`);
        expect(at('sent'), `${id} sent before delivered`).toBeLessThan(at('delivered'));
        expect(at('delivered'), `${id} delivered before read`).toBeLessThan(at('read'));
      }
    }
  }

  it('sends every message once in per-recipient order, records sent → delivered → read, and delivers signed webhooks in order per contact', async () => {
    await startNetwork();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 7);
    const early = await acceptMessages(db.stores, fence, recipients, 120, 'e');
    dispatcher.start();
    const w = worker(fence, NODE_A);
    await w.start();
    expect(w.status()).toBe('connected');
    const late = await acceptMessages(db.stores, fence, recipients, 80, 'l');
    w.notify();
    const all = [...early, ...late];
    await allReach(all, 'read');
    await waitForValue(() => receiver.delivered().length, (n) => n === 3 * all.length, 'sent, delivered and read webhooks of every message');

    const report = sim.report();
    expect(report).toMatchObject({ ok: true, messages_unique: all.length, duplicates: 0, order_violations: 0, stale_epoch_sends: 0, misrouted: 0 });
    await waitForValue(() => sim.report().receipts_pending, (n) => n === 0, 'every receipt acked upstream');
    for (const hook of receiver.delivered()) {
      expect(hook.signature).toBe(expectedSignature(SECRET, hook.raw));
      expect(hook.contentType).toBe('application/json');
      const status = statusOf(hook);
      expect(hook.eventId).toBe(`status:${status?.id}:${status?.status}`);
      expect(Object.keys(status ?? {}).sort()).toEqual(['id', 'recipient_id', 'status', 'timestamp']);
      expect(status?.timestamp).toMatch(/^[0-9]{10}$/);
    }
    expect(new Set(receiver.delivered().map((h) => h.eventId)).size).toBe(3 * all.length);
    expectStatusWebhooksInOrder(all);
    // The receiver has answered; the dispatcher records each answer right after.
    await waitForValue(() => db.stores.callbacks.counts(), (c) => c.pending === 0 && c.delivered === 3 * all.length, 'every callback marked delivered');
  });

  it('records a message the network cannot deliver as failed, with a failed webhook even when other statuses are filtered out', async () => {
    await startNetwork();
    settings = settingsWith({ webhooks: { url: receiver.url, message: { sent: false, delivered: false, read: false } } });
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const [valid] = recipientsOn(digits, 0, 1, 1);
    const [invalid] = recipientsOn(digits, 0, 1, 1, false);
    const good = await acceptMessages(db.stores, fence, [valid as string], 3, 'g');
    const bad = await acceptMessages(db.stores, fence, [invalid as string], 2, 'b');
    dispatcher.start();
    await worker(fence, NODE_A).start();
    await waitForValue(() => db.stores.messages.countByStatus(), (c) => c.read === 3 && c.failed === 2, '3 read, 2 failed');
    await waitForValue(() => receiver.delivered().length, (n) => n === 2, 'two failed webhooks');
    const hooks = receiver.delivered().map(statusOf);
    expect(hooks.map((h) => `${h?.id}:${h?.status}`).sort()).toEqual(bad.map((m) => `${m.id}:failed`).sort());
    expect(hooks[0]?.errors?.[0]).toMatchObject({ code: 1013, title: 'User is not valid' });
    expect((await db.stores.messages.get(bad[0]?.id as string))?.errorCode).toBe(1013);
    expect(good.length).toBe(3);
    expect(sim.report()).toMatchObject({ ok: true, messages_unique: 5 });
  });

  it('stores inbound messages, delivers their webhooks, and acknowledges them upstream only after that', async () => {
    await startNetwork();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    dispatcher.start();
    await worker(fence, NODE_A).start();
    const senders = recipientsOn(digits, 0, 1, 2);
    const sent: { id: string; from: string; text: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const from = senders[i % 2] as string;
      const text = `hello ${i} from ${from}`;
      const response = await fetch(`${sim.url}/sim/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from, text }) });
      expect(response.status).toBe(202);
      sent.push({ id: ((await response.json()) as { inbound: { id: string } }).inbound.id, from, text });
    }
    await waitForValue(() => receiver.delivered().length, (n) => n === 6, 'six inbound webhooks');
    await waitForValue(() => sim.report().inbound_unacked, (n) => n === 0, 'every inbound message acked upstream');
    for (const m of sent) {
      const stored = await db.stores.inbound.get(m.id);
      expect(stored).toMatchObject({ id: m.id, sender: m.from, shard: 0, status: 'received' });
      expect(JSON.parse(stored?.payload ?? '{}')).toMatchObject({ from: m.from, id: m.id, type: 'text', text: { body: m.text } });
    }
    for (const sender of senders) {
      const mine = receiver.delivered().filter((h) => (h.body['contacts'] as { wa_id: string }[])[0]?.wa_id === sender);
      expect(mine.map((h) => h.eventId)).toEqual(sent.filter((m) => m.from === sender).map((m) => `message:${m.id}`));
      expect(mine[0]?.body).toEqual({
        contacts: [{ profile: { name: `Contact ${sender.slice(-4)}` }, wa_id: sender }],
        messages: [{ from: sender, id: sent.find((m) => m.from === sender)?.id, timestamp: expect.stringMatching(/^[0-9]{10}$/), type: 'text', text: { body: sent.find((m) => m.from === sender)?.text } }],
      });
    }
  });

  it('a new primary re-sends what the crashed one sent without recording; the network de-duplicates; the old one learns it lost the shard', async () => {
    await startNetwork();
    const fenceA = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 5);
    const messages = await acceptMessages(db.stores, fenceA, recipients, 40, 'r');
    dispatcher.start();
    const a = worker(fenceA, NODE_A, new AckSwallowingClient(new SimUpstreamClient(sim.wsUrl)));
    await a.start();
    // A sent each recipient's oldest message; the network took them, A never recorded it.
    await waitForValue(() => sim.report().messages_unique, (n) => n === recipients.length, 'the first message of each recipient taken');
    expect(Object.values(await statuses(messages)).every((s) => s === 'accepted')).toBe(true);

    const fenceB = await promote(db.stores, 0, 1, NODE_B);
    const b = worker(fenceB, NODE_B);
    await b.start();
    await expect(a.lost).resolves.toMatchObject({ reason: expect.stringMatching(/replaced \(4001\)/) });
    expect(a.status()).toBe('disconnected');
    await allReach(messages, 'read');
    await waitForValue(() => receiver.delivered().length, (n) => n === 3 * messages.length, 'every webhook');
    expect(sim.report()).toMatchObject({ ok: true, messages_unique: messages.length, duplicates: recipients.length, order_violations: 0, stale_epoch_sends: 0 });
    // Nothing reached a recipient twice: one delivered (and one of every status) per message.
    const ids = receiver.delivered().map((h) => h.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of messages) expect(ids.filter((id) => id === `status:${m.id}:delivered`)).toHaveLength(1);
    expectStatusWebhooksInOrder(messages);
    expect((await db.stores.messages.get(messages[0]?.id as string))?.epoch).toBe(fenceB.epoch);
  });

  it('stops sending when markSent is fenced off by a newer epoch, and resolves `lost`', async () => {
    await startNetwork({ deliveredDelayMs: null });
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const [recipient] = recipientsOn(digits, 0, 1, 1);
    const first = await acceptMessages(db.stores, fence, [recipient as string], 1, 'f');
    const w = worker(fence, NODE_A);
    await w.start();
    await allReach(first, 'sent');
    // The master gives the shard to another node; no upstream connection tells A yet.
    await promote(db.stores, 0, 1, NODE_B);
    const next = await acceptMessages(db.stores, { ...fence }, [recipient as string], 1, 'n');
    w.notify();
    await expect(w.lost).resolves.toMatchObject({ reason: expect.stringMatching(/fenced off/) });
    expect(w.status()).toBe('disconnected');
    expect(await statuses(next)).toEqual({ [next[0]?.id as string]: 'accepted' });
    await acceptMessages(db.stores, fence, [recipient as string], 3, 'x');
    w.notify();
    // A lost worker sends nothing more: the network never sees the later messages.
    await waitForValue(() => sim.report().connections_open, (n) => n === 0, 'the lost worker’s session closed');
    expect(sim.report()).toMatchObject({ ok: true, messages_unique: 2 });
  });

  it('resolves `lost` when the network refuses its epoch as stale', async () => {
    await startNetwork();
    const fence = await promote(db.stores, 0, 1, NODE_A);
    // The network has seen a higher epoch for the shard than the one the shard map gives us.
    const other = await new SimUpstreamClient(sim.wsUrl).connect({ account: ACCOUNT, credentials: sim.credentialsOf(ACCOUNT) as string, shard: 0, shards: 1, epoch: fence.epoch + 5, nodeId: 'other', onEvents: () => undefined });
    await other.close();
    const w = worker(fence, NODE_A);
    await w.start();
    await expect(w.lost).resolves.toMatchObject({ reason: expect.stringMatching(/stale_epoch \(4002\)/) });
    expect(w.status()).toBe('disconnected');
  });

  it('stops gracefully: in-flight acks are recorded, the rest stays accepted, and a successor finishes without duplicates', async () => {
    await startNetwork({ deliveredDelayMs: null });
    const fenceA = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 4);
    const messages = await acceptMessages(db.stores, fenceA, recipients, 400, 's');
    const a = worker(fenceA, NODE_A);
    await a.start();
    await waitForValue(() => db.stores.messages.countByStatus(), (c) => c.sent >= 40, 'some messages sent');
    await a.stop();
    expect(a.status()).toBe('disconnected');
    expect(sim.report().connections_open).toBe(0);
    const counts = await db.stores.messages.countByStatus();
    expect(counts.sent + counts.accepted).toBe(messages.length);
    // Everything the network took before the stop is recorded as sent.
    expect(counts.sent).toBe(sim.report().messages_unique);

    const b = worker(await promote(db.stores, 0, 1, NODE_B), NODE_B);
    await b.start();
    await allReach(messages, 'sent');
    expect(sim.report()).toMatchObject({ ok: true, messages_unique: messages.length, duplicates: 0, order_violations: 0 });
  });

  it('reconnects after the network went away and comes back, sending what waited', async () => {
    await startNetwork({ deliveredDelayMs: null });
    const port = sim.port;
    const fence = await promote(db.stores, 0, 1, NODE_A);
    const recipients = recipientsOn(digits, 0, 1, 3);
    const w = worker(fence, NODE_A);
    await w.start();
    const before = await acceptMessages(db.stores, fence, recipients, 9, 'p');
    w.notify();
    await allReach(before, 'sent');
    const credentials = sim.credentialsOf(ACCOUNT) as string;
    await sim.stop();
    await waitForValue(() => w.status(), (s) => s === 'connecting', 'the worker noticing the network is gone');
    const after = await acceptMessages(db.stores, fence, recipients, 9, 'q');
    w.notify();
    sim = await startSim({ seed: SEED, port, accounts: [{ waId: ACCOUNT, credentials, shards: 1 }], deliveredDelayMs: null });
    await waitForValue(() => w.status(), (s) => s === 'connected', 'the worker reconnected', 10_000);
    await waitForValue(() => db.stores.messages.countByStatus(), (c) => c.sent === before.length + after.length, 'everything sent', 10_000);
    expect(sim.report()).toMatchObject({ ok: true, messages_unique: after.length, order_violations: 0 });
  });
});
