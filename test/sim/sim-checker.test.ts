// The checker's bookkeeping, pure: every verdict and every violation counter, provoked directly.
import { beforeEach, describe, expect, it } from 'vitest';
import { simViolationsListedMax, type ShardCount } from '../../src/core/limits.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { SimChecker, type SendObservation } from '../../src/sim/sim-checker.js';
import { SEED, printSeedOnFailure, recipientOn } from './sim-test-support.js';

const ACCOUNT = '15550001111';

describe('SimChecker', () => {
  let random: SeededRandom;
  let checker: SimChecker;
  const shards: ShardCount = 4;

  beforeEach(() => {
    printSeedOnFailure();
    random = new SeededRandom(SEED);
    checker = new SimChecker();
  });

  function send(id: string, to: string, seq: number, over: Partial<SendObservation> = {}): ReturnType<SimChecker['observeSend']> {
    return checker.observeSend({
      account: ACCOUNT, shard: 0, shards, epoch: 3, epochMax: 3, holds: true, node: 'n1', full: false, nowMs: 1_000,
      message: { id, to, seq, content: {} },
      ...over,
    });
  }

  it('takes a new message once and de-duplicates by id', () => {
    const to = recipientOn(random, 0, shards);
    expect(send('m1', to, 1)).toBe('sent');
    expect(send('m1', to, 1)).toBe('duplicate');
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: true, messages_unique: 1, duplicates: 1, violations_total: 0 });
    expect(report.per_shard[0]).toMatchObject({ shard: 0, messages_unique: 1, duplicates: 1 });
    expect(checker.has('m1')).toBe(true);
  });

  it('counts a misrouted send and does not take it', () => {
    const wrong = recipientOn(random, 1, shards);
    expect(send('m1', wrong, 1)).toBe('misrouted');
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: false, misrouted: 1, messages_unique: 0, violations_total: 1 });
    expect(report.violations[0]).toMatchObject({ kind: 'misrouted', message_id: 'm1', recipient: wrong, shard: 0 });
    expect(checker.has('m1')).toBe(false);
  });

  it('counts stale-epoch sends: a lower epoch, or a connection that was replaced', () => {
    const to = recipientOn(random, 0, shards);
    expect(send('m1', to, 1, { epoch: 2, epochMax: 3 })).toBe('stale_epoch');
    expect(send('m2', to, 2, { holds: false })).toBe('stale_epoch');
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: false, stale_epoch_sends: 2, messages_unique: 0 });
    expect(report.violations.map((v) => v.kind)).toEqual(['stale_epoch_send', 'stale_epoch_send']);
  });

  it('counts an order violation when a recipient gets a lower sequence after a higher one', () => {
    const a = recipientOn(random, 0, shards);
    const b = recipientOn(random, 0, shards);
    expect(send('m2', a, 2)).toBe('sent');
    expect(send('m9', b, 9)).toBe('sent'); // another recipient: its own order
    expect(send('m1', a, 1)).toBe('sent'); // delivered, but out of order
    expect(send('m3', a, 2)).toBe('sent'); // equal sequence: not strictly increasing
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: false, order_violations: 2, messages_unique: 4 });
    expect(report.violations[0]).toMatchObject({ kind: 'order_violation', message_id: 'm1', seq: 1 });
  });

  it('compares sequences within one shard count only', () => {
    const a = recipientOn(random, 0, shards);
    expect(send('m5', a, 5)).toBe('sent');
    const shard8 = recipientOn(random, 0, 8);
    expect(send('x5', shard8, 5, { shards: 8 })).toBe('sent');
    expect(send('x1', shard8, 1, { shards: 8 })).toBe('sent');
    expect(checker.snapshot().order_violations).toBe(1);
  });

  it('tracks the most simultaneous connections per shard and counts an excess', () => {
    checker.connectionOpened(ACCOUNT, 0, 4, 1, 'n1', 0);
    checker.connectionClosed(ACCOUNT, 0);
    checker.connectionOpened(ACCOUNT, 0, 4, 2, 'n2', 0);
    expect(checker.snapshot()).toMatchObject({ ok: true, max_connections_per_shard: 1 });
    checker.connectionOpened(ACCOUNT, 0, 4, 3, 'n3', 0);
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: false, max_connections_per_shard: 2, connections_exceeded: 1 });
    expect(report.per_shard[0]).toMatchObject({ connections_open: 2, connections_max: 2, connections_total: 3 });
  });

  it('one owner per epoch: the same node may reconnect under its epoch; another node under it is epoch_shared', () => {
    checker.connectionOpened(ACCOUNT, 0, 4, 1, 'n1', 0);
    checker.connectionClosed(ACCOUNT, 0);
    checker.connectionOpened(ACCOUNT, 0, 4, 1, 'n1', 1);
    checker.connectionClosed(ACCOUNT, 0);
    checker.connectionOpened(ACCOUNT, 1, 4, 1, 'n2', 1); // another shard: its own epochs
    checker.connectionClosed(ACCOUNT, 1);
    checker.connectionOpened(ACCOUNT, 0, 4, 2, 'n2', 2);
    checker.connectionClosed(ACCOUNT, 0);
    checker.connectionOpened(ACCOUNT, 0, 4, 3, null, 3); // no node named: nothing to compare
    checker.connectionClosed(ACCOUNT, 0);
    expect(checker.snapshot()).toMatchObject({ ok: true, epochs_shared: 0 });
    checker.connectionOpened(ACCOUNT, 0, 4, 2, 'n1', 4);
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: false, epochs_shared: 1, violations_total: 1 });
    expect(report.violations[0]).toMatchObject({ kind: 'epoch_shared', shard: 0, epoch: 2, node: 'n1' });
    checker.reset();
    expect(checker.snapshot().epochs_shared).toBe(0);
  });

  it('refuses new ids when full but still recognises duplicates', () => {
    const small = new SimChecker(1);
    const to = recipientOn(random, 0, shards);
    const base = { account: ACCOUNT, shard: 0, shards, epoch: 1, epochMax: 1, holds: true, node: null, full: false, nowMs: 0 };
    expect(small.observeSend({ ...base, message: { id: 'a', to, seq: 1, content: {} } })).toBe('sent');
    expect(small.observeSend({ ...base, message: { id: 'b', to, seq: 2, content: {} } })).toBe('overloaded');
    expect(small.observeSend({ ...base, message: { id: 'a', to, seq: 1, content: {} } })).toBe('duplicate');
    expect(small.observeSend({ ...base, full: true, message: { id: 'c', to, seq: 3, content: {} } })).toBe('overloaded');
    expect(small.snapshot().message_ids_full).toBe(true);
  });

  it('lists a bounded number of violations and counts the rest', () => {
    const wrong = recipientOn(random, 1, shards);
    for (let i = 0; i < simViolationsListedMax + 5; i += 1) send(`m${i}`, wrong, i + 1);
    const report = checker.snapshot();
    expect(report.misrouted).toBe(simViolationsListedMax + 5);
    expect(report.violations).toHaveLength(simViolationsListedMax);
    expect(report.violations_unlisted).toBe(5);
  });

  it('pages received ids in arrival order and names the missing ones', () => {
    const to = recipientOn(random, 0, shards);
    for (let i = 1; i <= 5; i += 1) send(`m${i}`, to, i);
    expect(checker.messagesPage(0, 2)).toEqual({ ids: ['m1', 'm2'], at_ms: [1000, 1000], shards: [0, 0], next: 2, total: 5 });
    expect(checker.messagesPage(4, 2)).toEqual({ ids: ['m5'], at_ms: [1000], shards: [0], next: null, total: 5 });
    expect(checker.missing(['m1', 'zz', 'm5', 'yy'])).toEqual(['zz', 'yy']);
  });

  it('reset forgets what was observed but keeps open connections counted', () => {
    const to = recipientOn(random, 0, shards);
    send('m1', to, 1);
    send('m1', to, 1);
    send('m2', recipientOn(random, 1, shards), 2);
    checker.connectionOpened(ACCOUNT, 0, 4, 1, null, 0);
    checker.activity.receipts_emitted = 7;
    checker.reset();
    const report = checker.snapshot();
    expect(report).toMatchObject({ ok: true, messages_unique: 0, duplicates: 0, misrouted: 0, max_connections_per_shard: 1 });
    expect(report.activity.receipts_emitted).toBe(0);
    expect(report.violations).toEqual([]);
    expect(send('m1', to, 1)).toBe('sent');
  });
});
