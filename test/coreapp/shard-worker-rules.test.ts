// The shard worker's rules one at a time, against in-memory stores and a scripted upstream whose
// answers and events the test controls: implied `sent` before a receipt, ack only after the writes,
// retry of `overloaded` in order, `rejected` → failed, `stale_epoch` → lost, a failing store retried.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../src/adapters/memory/memory-stores.js';
import { SystemClock } from '../../src/adapters/memory/system-clock.js';
import type { StoredCallback } from '../../src/ports/callback-store.js';
import type { PipelineStores, Stores } from '../../src/ports/stores.js';
import type { SendAck, SendMessage, UpstreamClient, UpstreamCloseInfo, UpstreamConnectOptions, UpstreamEvent, UpstreamSession } from '../../src/ports/upstream-client.js';
import { ShardWorker } from '../../src/roles/coreapp/shard-worker.js';
import { waitForValue, waitUntil } from '../support/wait-for.js';
import { acceptMessages, Digits, printSeedOnFailure, promote, recipientsOn, SEED, settingsWith, type Fence } from './coreapp-test-support.js';

type Answer = (message: SendMessage, attempt: number) => SendAck | 'hold';

class ScriptedSession implements UpstreamSession {
  readonly closed: Promise<UpstreamCloseInfo>;
  readonly sends: SendMessage[] = [];
  readonly acked: number[] = [];
  readonly #held: { messages: readonly SendMessage[]; resolve: (acks: SendAck[]) => void }[] = [];
  #close!: (info: UpstreamCloseInfo) => void;

  constructor(readonly options: UpstreamConnectOptions, private readonly upstream: ScriptedUpstream) {
    this.closed = new Promise((resolve) => {
      this.#close = resolve;
    });
  }

  send(messages: readonly SendMessage[]): Promise<readonly SendAck[]> {
    this.sends.push(...messages);
    const answers = messages.map((m) => this.upstream.answer(m, this.sends.filter((s) => s.id === m.id).length));
    if (answers.some((a) => a === 'hold')) return new Promise((resolve) => this.#held.push({ messages, resolve }));
    return Promise.resolve(answers as SendAck[]);
  }

  /** Answers the held sends with the current script. */
  release(): void {
    for (const held of this.#held.splice(0)) held.resolve(held.messages.map((m) => this.upstream.answer(m, 0) as SendAck));
  }

  ack(eventNumbers: readonly number[]): void {
    this.acked.push(...eventNumbers);
  }

  push(events: readonly UpstreamEvent[]): void {
    this.options.onEvents(events);
  }

  async close(): Promise<void> {
    this.end({ code: 1000, reason: 'done' });
  }

  end(info: UpstreamCloseInfo): void {
    this.#close(info);
  }
}

class ScriptedUpstream implements UpstreamClient {
  readonly sessions: ScriptedSession[] = [];
  answer: Answer = (m) => ({ id: m.id, result: 'sent' });

  async connect(options: UpstreamConnectOptions): Promise<UpstreamSession> {
    const session = new ScriptedSession(options, this);
    this.sessions.push(session);
    return session;
  }

  get session(): ScriptedSession {
    const session = this.sessions[this.sessions.length - 1];
    if (session === undefined) throw new Error('no session');
    return session;
  }
}

/** `target` with some methods replaced (the others bound to it, so private fields keep working). */
function override<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get: (t, prop) => {
      const replaced = (methods as Record<string | symbol, unknown>)[prop];
      if (replaced !== undefined) return replaced;
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/** `base` with some pipeline stores replaced, also inside `inTransaction`. */
function withPipeline(base: Stores, replaced: Partial<PipelineStores>): Stores {
  const pipeline: PipelineStores = { messages: replaced.messages ?? base.messages, inbound: replaced.inbound ?? base.inbound, callbacks: replaced.callbacks ?? base.callbacks };
  return { ...base, ...pipeline, inTransaction: (work) => work(pipeline) };
}

/** Every callback of shard 0 in delivery order (heads first, as the dispatcher would take them). */
async function drainCallbacks(stores: Stores): Promise<StoredCallback[]> {
  const out: StoredCallback[] = [];
  for (;;) {
    const heads = await stores.callbacks.due(0, Number.MAX_SAFE_INTEGER, 1_000);
    if (heads.length === 0) return out;
    for (const head of heads) {
      out.push(head);
      await stores.callbacks.markDelivered(head.seq);
    }
  }
}

function status(id: string, recipient: string, value: 'delivered' | 'read' | 'failed', event: number): UpstreamEvent {
  return { event, kind: 'status', id, recipient_id: recipient, status: value, timestamp: '1700000000' };
}

describe('ShardWorker rules', () => {
  let stores: Stores;
  let upstream: ScriptedUpstream;
  let fence: Fence;
  let worker: ShardWorker;
  const digits = new Digits(SEED);
  const settings = settingsWith({});

  beforeEach(async () => {
    printSeedOnFailure();
    stores = createMemoryStores(new SystemClock());
    upstream = new ScriptedUpstream();
    fence = await promote(stores, 0, 1, 'node-a');
  });

  afterEach(async () => {
    await worker.stop();
  });

  async function start(workerStores: Stores = stores): Promise<ShardWorker> {
    worker = new ShardWorker({ stores: workerStores, upstream, account: { waId: '15550004444', credentials: 'c' }, fence, nodeId: 'node-a', settings: () => settings, pollIntervalMs: 10 });
    await worker.start();
    return worker;
  }

  it('a receipt for a message still accepted implies `sent` first, and the message is not sent again', async () => {
    const [r] = recipientsOn(digits, 0, 1, 1);
    const [m1, m2] = await acceptMessages(stores, fence, [r as string], 2, 'm');
    upstream.answer = (m) => (m.id === m1?.id ? 'hold' : { id: m.id, result: 'sent' });
    await start();
    await waitUntil(() => upstream.session.sends.length === 1, 'm1 sent and held');
    // A previous primary sent m2 too; its receipt arrives while m1's ack is outstanding.
    upstream.session.push([status(m2?.id as string, r as string, 'delivered', 1)]);
    await waitUntil(() => upstream.session.acked.includes(1), 'the receipt acked');
    upstream.answer = (m) => ({ id: m.id, result: 'duplicate' });
    upstream.session.release();
    await waitForValue(async () => (await stores.messages.get(m1?.id as string))?.status, (s) => s === 'sent', 'm1 recorded sent');
    const events = (await drainCallbacks(stores)).map((c) => c.eventId);
    expect(events.indexOf(`status:${m2?.id}:sent`)).toBeLessThan(events.indexOf(`status:${m2?.id}:delivered`));
    expect(events).toContain(`status:${m1?.id}:sent`);
    expect((await stores.messages.get(m2?.id as string))?.status).toBe('delivered');
    expect(upstream.session.sends.map((m) => m.id)).toEqual([m1?.id]);
  });

  it('acknowledges events upstream only after their writes resolved', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated = withPipeline(stores, {
      callbacks: override(stores.callbacks, {
        enqueueMany: async (c) => {
          await gate;
          return stores.callbacks.enqueueMany(c);
        },
      }),
    });
    await start(gated);
    upstream.session.push([{ event: 7, kind: 'message', id: 'IN1', from: '15551230000', timestamp: '1700000000', type: 'text', text: { body: 'hi' }, profile: { name: 'X' } }]);
    await waitForValue(() => stores.inbound.get('IN1'), (m) => m !== null, 'the inbound message stored');
    expect(upstream.session.acked).toEqual([]);
    open();
    await waitUntil(() => upstream.session.acked.includes(7), 'the event acked once durable');
    expect((await drainCallbacks(stores)).map((c) => c.eventId)).toEqual(['message:IN1']);
  });

  it('retries an `overloaded` message later, and its recipient’s next message never overtakes it', async () => {
    const [r] = recipientsOn(digits, 0, 1, 1);
    const messages = await acceptMessages(stores, fence, [r as string], 3, 'o');
    upstream.answer = (m, attempt) => (m.id === messages[0]?.id && attempt <= 2 ? { id: m.id, result: 'overloaded', error: { code: 1016, title: 'System overloaded', details: '' } } : { id: m.id, result: 'sent' });
    await start();
    await waitForValue(() => stores.messages.countByStatus(), (c) => c.sent === 3, 'all three sent');
    expect(upstream.session.sends.map((m) => m.id)).toEqual([messages[0]?.id, messages[0]?.id, messages[0]?.id, messages[1]?.id, messages[2]?.id]);
  });

  it('records a `rejected` message as failed with a failed callback, and goes on with the next', async () => {
    const [r] = recipientsOn(digits, 0, 1, 1);
    const [bad, good] = await acceptMessages(stores, fence, [r as string], 2, 'x');
    upstream.answer = (m) => (m.id === bad?.id ? { id: m.id, result: 'rejected', error: { code: 1009, title: 'Parameter value is not valid', details: 'content' } } : { id: m.id, result: 'sent' });
    await start();
    await waitForValue(async () => (await stores.messages.get(good?.id as string))?.status, (s) => s === 'sent', 'the next message sent');
    expect(await stores.messages.get(bad?.id as string)).toMatchObject({ status: 'failed', errorCode: 1009 });
    const callbacks = await drainCallbacks(stores);
    expect(callbacks.map((c) => c.eventId)).toEqual([`status:${bad?.id}:failed`, `status:${good?.id}:sent`]);
    expect(JSON.parse(callbacks[0]?.payload ?? '{}')).toMatchObject({ statuses: [{ id: bad?.id, status: 'failed', recipient_id: r, errors: [{ code: 1009 }] }] });
  });

  it('treats a `stale_epoch` answer as lost ownership and sends nothing more', async () => {
    const recipients = recipientsOn(digits, 0, 1, 3);
    await acceptMessages(stores, fence, recipients, 3, 's');
    upstream.answer = (m) => ({ id: m.id, result: 'stale_epoch', error: { code: 1018, title: 'Not Primary Coreapp', details: '' } });
    await start();
    await expect(worker.lost).resolves.toMatchObject({ reason: expect.stringMatching(/stale_epoch/) });
    const sends = upstream.session.sends.length;
    await acceptMessages(stores, fence, recipients, 3, 't');
    worker.notify();
    expect(worker.status()).toBe('disconnected');
    expect(upstream.session.sends.length).toBe(sends);
    expect((await stores.messages.countByStatus()).accepted).toBe(6);
  });

  /**
   * A worker whose first read of waiting messages is held at a gate the test opens, with a map-read
   * counter; `onRelease` runs in the read right after the gate opens (before it returns).
   */
  function gatedWorker(patch: Record<string, unknown>, onRelease: () => void = () => undefined) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const state = { stalled: false, stalledAt: 0, mapReads: 0 };
    const messages = override(stores.messages, {
      pending: async (...args: Parameters<Stores['messages']['pending']>) => {
        if (!state.stalled) {
          state.stalled = true;
          state.stalledAt = Date.now();
          await gate;
          onRelease();
        }
        return stores.messages.pending(...args);
      },
    });
    const shardMap = override(stores.shardMap, {
      current: async () => {
        state.mapReads += 1;
        return stores.shardMap.current();
      },
    });
    const tuned = settingsWith(patch);
    worker = new ShardWorker({ stores: { ...withPipeline(stores, { messages }), shardMap }, upstream, account: { waId: '15550004444', credentials: 'c' }, fence, nodeId: 'node-a', settings: () => tuned, pollIntervalMs: 10 });
    const started = worker.start(); // resolves after the first turn, which is the one held here
    return { state, release, started };
  }

  /**
   * Three waiting messages; the first read of them is held while another coreapp is promoted for the
   * shard, for at least `heldMs`; then the read completes. The worker must re-check the map, lose the
   * shard and send nothing.
   */
  async function expectLossAfterHeldRead(patch: Record<string, unknown>, heldMs: number, onRelease?: () => void): Promise<void> {
    await acceptMessages(stores, fence, recipientsOn(digits, 0, 1, 3), 3, 'p');
    const { state, release, started } = gatedWorker(patch, onRelease);
    await waitUntil(() => state.stalled, 'the first read to be held');
    await promote(stores, 0, 1, 'node-b');
    await waitUntil(() => Date.now() - state.stalledAt >= heldMs, `the read to be held ${heldMs} ms`, heldMs + 2_000);
    release();
    await started;
    await expect(worker.lost).resolves.toMatchObject({ reason: expect.stringMatching(/moved on/) });
    expect(upstream.session.sends).toEqual([]);
  }

  it('paused between reading messages and writing them to the socket: re-checks the map and sends nothing once the shard moved on', async () => {
    // The process stops mid-read (its event loop stands still, as under SIGSTOP: the busy wait below
    // is that fault, not a wait for something) for longer than one heartbeat interval (100 ms).
    await expectLossAfterHeldRead({ heartbeat_interval: 0.1, unhealthy_interval: 1 }, 0, () => {
      const until = Date.now() + 250;
      while (Date.now() < until);
    });
  });

  it('a slow read while the process runs is not a pause: no extra look at the map, the messages go', async () => {
    const recipients = recipientsOn(digits, 0, 1, 3);
    await acceptMessages(stores, fence, recipients, 3, 'q');
    // The database answers late (the loop keeps running meanwhile): 300 ms, three heartbeat intervals.
    const { state, release, started } = gatedWorker({ heartbeat_interval: 0.1, unhealthy_interval: 1 });
    await waitUntil(() => state.stalled, 'the first read to be held');
    const mapReadsBefore = state.mapReads;
    await waitUntil(() => Date.now() - state.stalledAt > 300, 'the read to take three heartbeat intervals', 2_000);
    release();
    await started;
    await waitUntil(() => upstream.session.sends.length === 3, 'the three messages sent');
    expect(state.mapReads).toBe(mapReadsBefore);
  });

  it('a read slower than one DB-liveness interval: re-checks the map and sends nothing once the shard moved on', async () => {
    // The loop runs, but the wait is long enough to span a failover decided on the database path.
    await expectLossAfterHeldRead({ heartbeat_interval: 0.1, unhealthy_interval: 1, db_liveness_interval: 1 }, 1_100);
  });

  it('retries when the store fails while recording sends, losing nothing and sending nothing twice', async () => {
    const recipients = recipientsOn(digits, 0, 1, 2);
    const messages = await acceptMessages(stores, fence, recipients, 6, 'd');
    let failures = 2;
    const flaky = withPipeline(stores, {
      messages: override(stores.messages, {
        markSent: async (...a) => {
          if (failures > 0) {
            failures -= 1;
            throw new Error('database is locked');
          }
          return stores.messages.markSent(...a);
        },
      }),
    });
    await start(flaky);
    await waitForValue(() => stores.messages.countByStatus(), (c) => c.sent === messages.length, 'all sent despite the failures', 10_000);
    expect(failures).toBe(0);
    expect(upstream.session.sends.map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
  });

  it('reconnects after a transient close and resolves `lost` after a replacement', async () => {
    await start();
    upstream.session.end({ code: 1006, reason: '' });
    await waitUntil(() => upstream.sessions.length === 2 && worker.status() === 'connected', 'a second session');
    upstream.session.end({ code: 4001, reason: 'replaced' });
    await expect(worker.lost).resolves.toMatchObject({ reason: expect.stringMatching(/replaced \(4001\)/) });
    expect(upstream.sessions.length).toBe(2);
  });
});
