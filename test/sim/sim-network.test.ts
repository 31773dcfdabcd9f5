// The simulated network driven directly: fake peers, a manual clock, `tick(now)`. Deterministic.
import { beforeEach, describe, expect, it } from 'vitest';
import { simConnSendQueueMessagesMax, simSendBatchMessagesMax, type ShardCount } from '../../src/core/limits.js';
import { shardOf } from '../../src/core/shard-hash.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { SimConnection } from '../../src/sim/sim-connection.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { resolveSimOptions, type SimOptions } from '../../src/sim/sim-options.js';
import { SIM_PROTOCOL, type MessageEvent, type StatusEvent } from '../../src/core/upstream-protocol.js';
import { FakePeer, SEED, message, printSeedOnFailure, recipientOn } from './sim-test-support.js';

const ACCOUNT = '15550001111';
const SHARDS: ShardCount = 4;
const codes = SIM_PROTOCOL.closeCodes;

class Harness {
  readonly network: SimNetwork;
  now = 1_700_000_000_000;

  constructor(options: SimOptions) {
    const resolved = resolveSimOptions(
      { seed: SEED, accounts: [{ waId: ACCOUNT, credentials: 'secret', shards: SHARDS }], deliveredDelayMs: 10, readDelayMs: 20, ...options },
      SEED,
    );
    this.network = new SimNetwork(resolved, this.now);
  }

  advance(ms: number): void {
    this.now += ms;
    this.network.tick(this.now);
  }

  connect(shard: number, epoch: number, hello: Record<string, unknown> = {}): { peer: FakePeer; conn: SimConnection } {
    const peer = new FakePeer();
    const conn = this.network.connect(peer, this.now);
    const frame = { type: 'hello', protocol: 1, account: ACCOUNT, credentials: 'secret', shard, shards: SHARDS, epoch, node: `node-${epoch}`, ...hello };
    this.network.receive(conn, JSON.stringify(frame), this.now);
    this.network.tick(this.now);
    return { peer, conn };
  }

  send(conn: SimConnection, epoch: number, messages: unknown[]): void {
    this.network.receive(conn, JSON.stringify({ type: 'send', epoch, messages }), this.now);
    this.network.tick(this.now);
  }

  ack(conn: SimConnection, events: number[]): void {
    this.network.receive(conn, JSON.stringify({ type: 'ack', events }), this.now);
    this.network.tick(this.now);
  }
}

describe('SimNetwork', () => {
  let random: SeededRandom;

  beforeEach(() => {
    printSeedOnFailure();
    random = new SeededRandom(SEED);
  });

  describe('handshake', () => {
    it('welcomes an accepted connection with its shard, epoch and limits', () => {
      const h = new Harness({});
      const { peer } = h.connect(2, 7);
      expect(peer.closed).toBeNull();
      expect(peer.ofType('welcome')[0]).toMatchObject({ shard: 2, shards: SHARDS, epoch: 7, rate_per_second: null });
      expect(h.network.report()).toMatchObject({ connections_open: 1, max_connections_per_shard: 1 });
    });

    it('replaces the holder on a higher (or equal) epoch and refuses a lower one', () => {
      const h = new Harness({});
      const first = h.connect(0, 1);
      const second = h.connect(0, 2);
      expect(first.peer.closed).toEqual({ code: codes.replaced, reason: 'replaced' });
      expect(first.peer.ofType('error')[0]).toMatchObject({ code: 4001, reason: 'replaced' });
      const same = h.connect(0, 2);
      expect(second.peer.closed?.code).toBe(codes.replaced);
      const stale = h.connect(0, 1);
      expect(stale.peer.closed).toEqual({ code: codes.staleEpoch, reason: 'stale_epoch' });
      expect(same.peer.closed).toBeNull();
      const report = h.network.report();
      expect(report).toMatchObject({ ok: true, connections_open: 1, max_connections_per_shard: 1 });
      expect(report.activity).toMatchObject({ handshakes_accepted: 3, connections_replaced: 2, handshakes_refused: { stale_epoch: 1 } });
    });

    it('refuses a wrong shard count, wrong credentials and unknown accounts', () => {
      const h = new Harness({});
      expect(h.connect(0, 1, { shards: 8 }).peer.closed?.code).toBe(codes.shardsMismatch);
      expect(h.connect(0, 1, { credentials: 'wrong' }).peer.closed?.code).toBe(codes.unauthorized);
      expect(h.connect(0, 1, { account: '15559999999' }).peer.closed?.code).toBe(codes.unauthorized);
      expect(h.network.report().activity.handshakes_refused).toEqual({ shards_mismatch: 1, unauthorized: 2 });
      // A refused hello does not raise the epoch: epoch 1 is still acceptable.
      expect(h.connect(0, 1).peer.closed).toBeNull();
    });

    it('closes with protocol_error on frames out of order or malformed', () => {
      const h = new Harness({});
      const peer = new FakePeer();
      const conn = h.network.connect(peer, h.now);
      h.network.receive(conn, '{"type":"ack","events":[1]}', h.now);
      expect(peer.closed?.code).toBe(codes.protocolError);
      const held = h.connect(1, 1);
      h.network.receive(held.conn, JSON.stringify({ type: 'hello', protocol: 1, account: ACCOUNT, credentials: 'secret', shard: 1, shards: 4, epoch: 1 }), h.now);
      expect(held.peer.closed?.code).toBe(codes.protocolError);
      const other = h.connect(2, 1);
      h.send(other.conn, 9, [message('m1', recipientOn(random, 2, SHARDS), 1)]);
      expect(other.peer.closed?.code).toBe(codes.protocolError);
      expect(h.network.report().activity.protocol_errors).toBe(3);
    });

    it('closes a connection that sends no hello in time', () => {
      const h = new Harness({ handshakeTimeoutMs: 100 });
      const peer = new FakePeer();
      h.network.connect(peer, h.now);
      h.advance(99);
      expect(peer.closed).toBeNull();
      expect(h.network.nextWakeMs(h.now)).toBe(h.now + 1);
      h.advance(1);
      expect(peer.closed?.code).toBe(codes.handshakeTimeout);
    });
  });

  describe('outbound', () => {
    it('acks, then emits delivered and read after their delays', () => {
      const h = new Harness({});
      const { peer, conn } = h.connect(0, 1);
      const to = recipientOn(random, 0, SHARDS);
      h.send(conn, 1, [message('m1', to, 1)]);
      expect(peer.ofType('acks')[0]?.acks).toEqual([{ id: 'm1', result: 'sent' }]);
      expect(h.network.report()).toMatchObject({ receipts_pending: 1, receipts_scheduled: 1 });
      h.advance(9);
      expect(peer.events()).toEqual([]);
      h.advance(1);
      expect(peer.events()).toMatchObject([{ kind: 'status', id: 'm1', recipient_id: to, status: 'delivered' }]);
      h.advance(20);
      const statuses = peer.events() as StatusEvent[];
      expect(statuses.map((e) => e.status)).toEqual(['delivered', 'read']);
      h.ack(conn, statuses.map((e) => e.event));
      expect(h.network.report()).toMatchObject({ receipts_pending: 0, receipts_scheduled: 0, messages_unique: 1 });
    });

    it('fails an invalid number with code 1013 and no read status', () => {
      const h = new Harness({ invalidSuffix: '77' });
      const { peer, conn } = h.connect(0, 1);
      let to = recipientOn(random, 0, SHARDS);
      while (!to.endsWith('77')) to = recipientOn(random, 0, SHARDS);
      h.send(conn, 1, [message('bad', to, 1)]);
      expect(peer.ofType('acks')[0]?.acks[0]?.result).toBe('sent');
      h.advance(100);
      const events = peer.events() as StatusEvent[];
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'failed', errors: [{ code: 1013, title: 'User is not valid' }] });
      expect(h.network.report().activity.messages_failed).toBe(1);
    });

    it('acknowledges a repeated id as duplicate without delivering it again', () => {
      const h = new Harness({ readDelayMs: null });
      const { peer, conn } = h.connect(0, 1);
      const to = recipientOn(random, 0, SHARDS);
      h.send(conn, 1, [message('m1', to, 1), message('m1', to, 1)]);
      h.send(conn, 1, [message('m1', to, 1)]);
      expect(peer.ofType('acks').flatMap((f) => f.acks.map((a) => a.result))).toEqual(['sent', 'duplicate', 'duplicate']);
      h.advance(100);
      expect(peer.events()).toHaveLength(1);
      expect(h.network.report()).toMatchObject({ ok: true, messages_unique: 1, duplicates: 2 });
    });

    it('counts a misrouted send, answers it misrouted and never delivers it', () => {
      const h = new Harness({});
      const { peer, conn } = h.connect(0, 1);
      const wrong = recipientOn(random, 3, SHARDS);
      h.send(conn, 1, [message('m1', wrong, 1)]);
      expect(peer.ofType('acks')[0]?.acks[0]).toMatchObject({ id: 'm1', result: 'misrouted' });
      h.advance(100);
      expect(peer.events()).toEqual([]);
      expect(h.network.report()).toMatchObject({ ok: false, misrouted: 1, messages_unique: 0, receipts_pending: 0 });
    });

    it('counts sends read from a replaced connection as stale-epoch sends and drops them', () => {
      const h = new Harness({});
      const old = h.connect(0, 1);
      h.connect(0, 2);
      h.send(old.conn, 1, [message('late', recipientOn(random, 0, SHARDS), 1)]);
      const report = h.network.report();
      expect(report).toMatchObject({ ok: false, stale_epoch_sends: 1, messages_unique: 0 });
      expect(report.violations[0]).toMatchObject({ kind: 'stale_epoch_send', message_id: 'late', epoch: 1 });
    });

    it('answers malformed messages rejected, without a violation', () => {
      const h = new Harness({});
      const { peer, conn } = h.connect(0, 1);
      h.send(conn, 1, [{ id: 'x', to: 'abc', seq: 1, content: {} }]);
      expect(peer.ofType('acks')[0]?.acks[0]).toMatchObject({ id: 'x', result: 'rejected', error: { code: 1009 } });
      expect(h.network.report()).toMatchObject({ ok: true, activity: { sends_rejected: 1 } });
    });
  });

  describe('events across connections', () => {
    it('buffers receipts while no connection holds the shard and gives them to the next holder', () => {
      const h = new Harness({ readDelayMs: null });
      const first = h.connect(1, 1);
      const to = recipientOn(random, 1, SHARDS);
      h.send(first.conn, 1, [message('m1', to, 1), message('m2', to, 2)]);
      h.network.disconnect(first.conn);
      h.advance(50);
      expect(h.network.report()).toMatchObject({ receipts_pending: 2, receipts_scheduled: 0, connections_open: 0 });
      const next = h.connect(1, 2);
      expect((next.peer.events() as StatusEvent[]).map((e) => [e.id, e.status])).toEqual([['m1', 'delivered'], ['m2', 'delivered']]);
    });

    it('re-sends to the new holder, in order, what the old holder received but did not ack', () => {
      const h = new Harness({ readDelayMs: null });
      const first = h.connect(1, 1);
      const to = recipientOn(random, 1, SHARDS);
      h.send(first.conn, 1, [message('m1', to, 1), message('m2', to, 2), message('m3', to, 3)]);
      h.advance(10);
      const seen = first.peer.events();
      expect(seen).toHaveLength(3);
      h.ack(first.conn, [seen[1]?.event as number]);
      const next = h.connect(1, 2); // replaces first
      expect(next.peer.events().map((e) => (e as StatusEvent).id)).toEqual(['m1', 'm3']);
    });

    it('holds inbound messages in order while offline and redelivers them until acked', () => {
      const h = new Harness({ redeliveryMs: 100 });
      const from = recipientOn(random, 2, SHARDS);
      for (const text of ['one', 'two', 'three']) expect(h.network.injectInbound(from, text, undefined, h.now).ok).toBe(true);
      expect(h.network.report().inbound_unacked).toBe(3);
      const { peer, conn } = h.connect(2, 1);
      expect((peer.events() as MessageEvent[]).map((e) => e.text.body)).toEqual(['one', 'two', 'three']);
      h.advance(99);
      expect(peer.events()).toHaveLength(3);
      h.advance(1);
      expect(peer.events()).toHaveLength(6);
      expect(h.network.report().activity.events_redelivered).toBe(3);
      h.ack(conn, peer.events().slice(0, 3).map((e) => e.event));
      h.advance(1_000);
      expect(peer.events()).toHaveLength(6);
      expect(h.network.report()).toMatchObject({ inbound_unacked: 0 });
    });

    it('routes inbound to the sender’s shard', () => {
      const h = new Harness({});
      const from = recipientOn(random, 3, SHARDS);
      const created = h.network.injectInbound(from, 'hi', ACCOUNT, h.now);
      expect(created).toMatchObject({ ok: true, value: { shard: 3 } });
      expect(h.connect(0, 1).peer.events()).toEqual([]);
      expect(h.connect(3, 1).peer.events()).toHaveLength(1);
    });

    it('auto-replies from the recipient when a message is delivered', () => {
      const h = new Harness({ autoReply: true, readDelayMs: null });
      const { peer, conn } = h.connect(0, 1);
      const to = recipientOn(random, 0, SHARDS);
      h.send(conn, 1, [message('m1', to, 1)]);
      h.advance(10);
      const reply = peer.events().find((e): e is MessageEvent => e.kind === 'message');
      expect(reply).toMatchObject({ from: to, text: { body: 'auto-reply: body of m1' } });
    });

    it('generates inbound traffic at the configured rate from seeded contacts', () => {
      const h = new Harness({ inboundRatePerSecond: 100, contacts: 5 });
      for (let i = 0; i < 100; i += 1) h.advance(10);
      const report = h.network.report();
      expect(report.activity.inbound_created).toBeGreaterThanOrEqual(99);
      expect(report.activity.inbound_created).toBeLessThanOrEqual(100);
      expect(h.network.contactList()).toHaveLength(5);
    });

    it('stops writing events to a connection whose socket buffer is full', () => {
      const h = new Harness({});
      const { peer } = h.connect(0, 1);
      peer.buffered = 64 * 1024 * 1024;
      h.network.injectInbound(recipientOn(random, 0, SHARDS), 'hi', undefined, h.now);
      h.advance(1);
      expect(peer.events()).toEqual([]);
      expect(h.network.nextWakeMs(h.now)).toBe(h.now + 10);
      peer.buffered = 0;
      h.advance(10);
      expect(peer.events()).toHaveLength(1);
    });
  });

  describe('rate limit', () => {
    it('acks at the connection rate after the burst and tells the client its limit', () => {
      const h = new Harness({ connRatePerSecond: 100 });
      const { peer, conn } = h.connect(0, 1);
      expect(peer.ofType('welcome')[0]).toMatchObject({ rate_per_second: 100, burst: 10 });
      const to = recipientOn(random, 0, SHARDS);
      h.send(conn, 1, Array.from({ length: 30 }, (_, i) => message(`m${i}`, to, i + 1)));
      const acked = (): number => peer.ofType('acks').reduce((n, f) => n + f.acks.length, 0);
      expect(acked()).toBe(10);
      expect(h.network.nextWakeMs(h.now)).toBe(h.now + 10);
      h.advance(100);
      expect(acked()).toBe(20);
      h.advance(100);
      expect(acked()).toBe(30);
      expect(h.network.report()).toMatchObject({ ok: true, messages_unique: 30, activity: { sends_rate_limited: 20 } });
    });

    it('stops reading a connection whose queue is full and resumes when it drains', () => {
      const h = new Harness({ connRatePerSecond: 100_000, deliveredDelayMs: null });
      const { peer, conn } = h.connect(0, 1);
      const to = recipientOn(random, 0, SHARDS);
      let seq = 0;
      while (peer.reading) {
        h.network.receive(conn, JSON.stringify({ type: 'send', epoch: 1, messages: Array.from({ length: simSendBatchMessagesMax }, () => message(`m${++seq}`, to, seq)) }), h.now);
      }
      expect(seq).toBeGreaterThan(simConnSendQueueMessagesMax);
      // Each tick grants at most the burst (10,000 at 100,000/s); a few ticks drain below half.
      for (let i = 0; i < 10 && !peer.reading; i += 1) h.advance(100);
      expect(peer.reading).toBe(true);
      expect(h.network.report().messages_unique).toBeGreaterThanOrEqual(seq - simConnSendQueueMessagesMax / 2);
    });

    it('reads a paused connection again when it is replaced, so its close completes', () => {
      const h = new Harness({ connRatePerSecond: 1, deliveredDelayMs: null });
      const { peer, conn } = h.connect(0, 1);
      const to = recipientOn(random, 0, SHARDS);
      let seq = 0;
      while (peer.reading) {
        h.network.receive(conn, JSON.stringify({ type: 'send', epoch: 1, messages: Array.from({ length: simSendBatchMessagesMax }, () => message(`m${++seq}`, to, seq)) }), h.now);
      }
      h.connect(0, 2);
      expect(peer.closed?.code).toBe(codes.replaced);
      expect(peer.reading).toBe(true);
    });
  });

  describe('accounts', () => {
    it('changes the shard count: closes connections, re-routes owed events, refuses the old count', () => {
      const h = new Harness({});
      const from = recipientOn(random, 1, SHARDS);
      h.network.injectInbound(from, 'hi', undefined, h.now);
      const { peer } = h.connect(0, 5);
      expect(h.network.setShards(ACCOUNT, 'wrong', 8)).toMatchObject({ ok: false, error: { httpStatus: 401 } });
      expect(h.network.setShards(ACCOUNT, 'secret', 3)).toMatchObject({ ok: false, error: { httpStatus: 400 } });
      expect(h.network.setShards(ACCOUNT, 'secret', 8)).toEqual({ ok: true, value: { waId: ACCOUNT, shards: 8 } });
      expect(peer.closed?.code).toBe(codes.shardsChanged);
      expect(h.connect(0, 6).peer.closed?.code).toBe(codes.shardsMismatch);
      const target = shardOf(from, 8);
      const holder = h.connect(target, 9, { shards: 8 });
      expect(holder.peer.closed).toBeNull();
      expect(holder.peer.events()).toMatchObject([{ kind: 'message', from }]);
    });

    it('registers with a code, and re-registration rotates credentials and disconnects', () => {
      const h = new Harness({ accounts: [] });
      expect(h.network.accounts.requestCode('1', '5550002222')).toEqual({ ok: true, value: { waId: '15550002222' } });
      const code = h.network.accounts.get('15550002222')?.pendingCode as string;
      expect(code).toMatch(/^[0-9]{6}$/);
      expect(h.network.verify('15550002222', '-')).toMatchObject({ ok: false, error: { httpStatus: 401 } });
      const verified = h.network.verify('15550002222', code);
      expect(verified.ok).toBe(true);
      const credentials = verified.ok ? verified.value.credentials : '';
      const peer = new FakePeer();
      const conn = h.network.connect(peer, h.now);
      h.network.receive(conn, JSON.stringify({ type: 'hello', protocol: 1, account: '15550002222', credentials, shard: 0, shards: 1, epoch: 1 }), h.now);
      expect(peer.ofType('welcome')).toHaveLength(1);
      h.network.accounts.requestCode('1', '5550002222');
      h.network.verify('15550002222', h.network.accounts.get('15550002222')?.pendingCode);
      expect(peer.closed?.code).toBe(codes.unauthorized);
    });

    it('closes everything with 1001 when stopping', () => {
      const h = new Harness({});
      const { peer } = h.connect(0, 1);
      h.network.closeAll();
      expect(peer.closed?.code).toBe(1001);
      expect(h.network.report().connections_open).toBe(0);
    });
  });
});
