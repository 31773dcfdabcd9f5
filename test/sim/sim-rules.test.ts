// Pure rules of the simulator: handshake, invalid numbers, frame parsing, token bucket, receipt
// schedule, event outbox. No sockets, no clock: time is a parameter.
import { describe, expect, it } from 'vitest';
import { decideHandshake, type HandshakeAccount } from '../../src/sim/decide-handshake.js';
import { DueQueue } from '../../src/sim/due-queue.js';
import { EventOutbox } from '../../src/sim/event-outbox.js';
import { isInvalidNumber } from '../../src/sim/is-invalid-number.js';
import { parseClientFrame, parseSendMessage } from '../../src/sim/parse-client-frame.js';
import { SIM_PROTOCOL, type HelloFrame } from '../../src/core/upstream-protocol.js';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

const hello: HelloFrame = { type: 'hello', protocol: 1, account: '15550001111', credentials: 'secret', shard: 1, shards: 4, epoch: 5, node: null };
const account: HandshakeAccount = { credentials: 'secret', shards: 4 };

describe('decideHandshake', () => {
  it('accepts the first connection of a shard', () => {
    expect(decideHandshake(hello, account, { epochMax: null, held: false })).toEqual({ kind: 'accept', replaces: false });
  });

  it('accepts a higher or equal epoch and replaces the holder', () => {
    expect(decideHandshake(hello, account, { epochMax: 4, held: true })).toEqual({ kind: 'accept', replaces: true });
    expect(decideHandshake(hello, account, { epochMax: 5, held: true })).toEqual({ kind: 'accept', replaces: true });
  });

  it('refuses a lower epoch with stale_epoch, even when nobody holds the shard', () => {
    const decision = decideHandshake(hello, account, { epochMax: 6, held: false });
    expect(decision).toMatchObject({ kind: 'refuse', reason: 'staleEpoch' });
    expect(SIM_PROTOCOL.closeCodes.staleEpoch).toBe(4002);
  });

  it('refuses a shard count other than the account’s', () => {
    expect(decideHandshake({ ...hello, shards: 8 }, account, { epochMax: null, held: false })).toMatchObject({ kind: 'refuse', reason: 'shardsMismatch' });
  });

  it('refuses unknown accounts, unverified accounts and wrong credentials', () => {
    expect(decideHandshake(hello, undefined, { epochMax: null, held: false })).toMatchObject({ reason: 'unauthorized' });
    expect(decideHandshake(hello, { credentials: null, shards: 4 }, { epochMax: null, held: false })).toMatchObject({ reason: 'unauthorized' });
    expect(decideHandshake({ ...hello, credentials: 'nope' }, account, { epochMax: null, held: false })).toMatchObject({ reason: 'unauthorized' });
  });

  it('checks credentials before shards, and shards before the epoch', () => {
    const everythingWrong = { ...hello, credentials: 'nope', shards: 8 as const, epoch: 0 };
    expect(decideHandshake(everythingWrong, account, { epochMax: 9, held: true })).toMatchObject({ reason: 'unauthorized' });
    expect(decideHandshake({ ...everythingWrong, credentials: 'secret' }, account, { epochMax: 9, held: true })).toMatchObject({ reason: 'shardsMismatch' });
  });

  it('refuses another protocol version', () => {
    expect(decideHandshake({ ...hello, protocol: 2 }, account, { epochMax: null, held: false })).toMatchObject({ reason: 'protocolError' });
  });

  it('uses distinct 4xxx close codes', () => {
    const codes = Object.values(SIM_PROTOCOL.closeCodes);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code >= 4000 && code <= 4999).toBe(true);
  });
});

describe('isInvalidNumber', () => {
  it('treats numbers ending in the suffix as invalid, and nothing when disabled', () => {
    expect(isInvalidNumber('16315550000', '0000')).toBe(true);
    expect(isInvalidNumber('16315551000', '0000')).toBe(false);
    expect(isInvalidNumber('16315550000', null)).toBe(false);
    expect(isInvalidNumber('16315550000', '')).toBe(false);
    expect(isInvalidNumber('16315550077', '77')).toBe(true);
  });
});

describe('parseClientFrame', () => {
  it('parses hello, send and ack', () => {
    expect(parseClientFrame(JSON.stringify(hello))).toEqual({ ok: true, value: hello });
    expect(parseClientFrame('{"type":"send","epoch":3,"messages":[{}]}')).toMatchObject({ ok: true, value: { type: 'send', epoch: 3 } });
    expect(parseClientFrame('{"type":"ack","events":[1,2]}')).toEqual({ ok: true, value: { type: 'ack', events: [1, 2] } });
  });

  it.each([
    ['not json', 'nope'],
    ['not an object', '[1]'],
    ['unknown type', '{"type":"hi"}'],
    ['bad shards', JSON.stringify({ ...hello, shards: 3 })],
    ['shard out of range', JSON.stringify({ ...hello, shard: 4 })],
    ['negative epoch', JSON.stringify({ ...hello, epoch: -1 })],
    ['account not digits', JSON.stringify({ ...hello, account: '+1555' })],
    ['empty send', '{"type":"send","epoch":1,"messages":[]}'],
    ['too many messages', JSON.stringify({ type: 'send', epoch: 1, messages: new Array(1001).fill({}) })],
    ['ack of zero', '{"type":"ack","events":[0]}'],
  ])('refuses %s', (_name, text) => {
    expect(parseClientFrame(text).ok).toBe(false);
  });

  it('validates each message of a send and keeps its id for the ack', () => {
    expect(parseSendMessage({ id: 'm1', to: '1555', seq: 1, content: {} })).toMatchObject({ ok: true, id: 'm1' });
    expect(parseSendMessage({ id: 'm2', to: '+1555', seq: 1, content: {} })).toMatchObject({ ok: false, id: 'm2' });
    expect(parseSendMessage({ id: 'm3', to: '1555', seq: 0, content: {} })).toMatchObject({ ok: false, id: 'm3' });
    expect(parseSendMessage({ to: '1555', seq: 1, content: {} })).toMatchObject({ ok: false, id: '' });
    expect(parseSendMessage('x')).toMatchObject({ ok: false, id: '' });
  });
});

describe('TokenBucket', () => {
  it('grants the burst at once, then the rate', () => {
    const bucket = new TokenBucket(100, 10, 0);
    expect(bucket.take(50, 0)).toBe(10);
    expect(bucket.take(50, 0)).toBe(0);
    expect(bucket.nextTokenMs(0)).toBe(10);
    expect(bucket.take(50, 100)).toBe(10);
    expect(bucket.take(50, 1_000)).toBe(10); // never more than the burst
  });
});

describe('DueQueue', () => {
  it('pops due items in order, bounded per call', () => {
    const queue = new DueQueue<string>();
    queue.push(10, 'a');
    queue.push(20, 'b');
    queue.push(30, 'c');
    expect(queue.popDue(5, 10)).toEqual([]);
    expect(queue.nextDueMs()).toBe(10);
    expect(queue.popDue(25, 1)).toEqual(['a']);
    expect(queue.popDue(25, 10)).toEqual(['b']);
    expect(queue.length).toBe(1);
    queue.removeWhere((item) => item === 'c');
    expect(queue.nextDueMs()).toBeNull();
  });
});

describe('EventOutbox', () => {
  function filled(count: number): EventOutbox<string> {
    const outbox = new EventOutbox<string>();
    for (let n = 1; n <= count; n += 1) outbox.push(n, `c${n % 3}`, `e${n}`);
    return outbox;
  }

  it('transmits in order within the in-flight window', () => {
    const outbox = filled(10);
    expect(outbox.take(0, 1_000, 4, 100).entries.map((e) => e.n)).toEqual([1, 2, 3, 4]);
    expect(outbox.take(0, 1_000, 4, 100).entries).toEqual([]);
    outbox.ack(2);
    expect(outbox.take(0, 1_000, 4, 100).entries.map((e) => e.n)).toEqual([5]);
    expect(outbox.size).toBe(9);
  });

  it('redelivers what is not acked in time, and stops once acked', () => {
    const outbox = filled(3);
    outbox.take(0, 100, 10, 100);
    expect(outbox.nextRedeliveryMs(100)).toBe(100);
    expect(outbox.take(99, 100, 10, 100).entries).toEqual([]);
    const again = outbox.take(100, 100, 10, 100);
    expect(again.entries.map((e) => e.n)).toEqual([1, 2, 3]);
    expect(again.redelivered).toBe(3);
    for (const n of [1, 2, 3]) outbox.ack(n);
    expect(outbox.take(1_000, 100, 10, 100).entries).toEqual([]);
    expect(outbox.nextRedeliveryMs(100)).toBeNull();
  });

  it('gives a new holder everything unacked, in event order', () => {
    const outbox = filled(6);
    outbox.take(0, 100, 10, 3);
    outbox.take(100, 100, 10, 2); // 1 and 2 redelivered: in-flight order is now 3,1,2
    outbox.ack(1);
    outbox.detach();
    expect(outbox.take(200, 100, 10, 100).entries.map((e) => e.n)).toEqual([2, 3, 4, 5, 6]);
  });

  it('accepts a late ack for an event that went back to unsent, and drains in order', () => {
    const outbox = filled(5);
    outbox.take(0, 100, 10, 5);
    outbox.detach();
    expect(outbox.ack(3)?.n).toBe(3);
    expect(outbox.ack(3)).toBeUndefined();
    expect(outbox.drain().map((e) => e.n)).toEqual([1, 2, 4, 5]);
    expect(outbox.size).toBe(0);
  });
});

describe('SeededRandom', () => {
  it('replays the same sequence from the same seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    expect([a.digits(6), a.hex(8), a.int(10)]).toEqual([b.digits(6), b.hex(8), b.int(10)]);
    expect(new SeededRandom(43).digits(12)).not.toBe(new SeededRandom(42).digits(12));
  });
});
