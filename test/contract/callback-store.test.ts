/**
 * CallbackStore contract, run against every target: one callback per event id (also under a race),
 * per-contact head-of-line order in `due` across shards, backoff, and state changes that act only on
 * pending callbacks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCallback, CallbackStore, NewCallback } from '../../src/ports/callback-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

/** Beyond 2^32, so a BIGINT column that comes back as a string or is truncated fails the tests. */
const T0 = 1_700_000_000_123;
/** The width of `callbacks.last_error`. */
const errorLengthMax = 1_024;

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: CallbackStore`, () => {
    let instance: TargetInstance;
    let callbacks: CallbackStore;
    let n = 0;
    /** A shard number no other test uses, so `due` sees only the test's own callbacks. */
    const lane = () => 100 + ++n;
    const callback = (shard: number, contact: string, over: Partial<NewCallback> = {}): NewCallback => ({
      eventId: `evt-${++n}`,
      shard,
      contact: `${contact}-${shard}`,
      kind: 'status',
      payload: JSON.stringify({ statuses: [{ n }] }),
      createdAtMs: T0,
      ...over,
    });
    const enqueue = async (c: NewCallback) => (await callbacks.enqueue(c)).seq;
    const dueSeqs = async (shard: number, nowMs = T0, limit = 100) => (await callbacks.due(shard, nowMs, limit)).map((c) => c.seq);

    beforeAll(async () => {
      instance = await target.create();
      callbacks = instance.stores.callbacks;
    });
    afterAll(async () => instance?.dispose());

    it('counts all three states, zeros included, on an empty store', async () => {
      expect(await callbacks.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
    });

    it('enqueue stores a pending callback due at once; the same event id again is not stored twice', async () => {
      const shard = lane();
      const input = callback(shard, 'a', { kind: 'message', createdAtMs: T0 + 7 });
      const first = await callbacks.enqueue(input);
      expect(first.created).toBe(true);
      const again = await callbacks.enqueue({ ...input, payload: '{"other":true}', createdAtMs: T0 });
      expect(again).toEqual({ seq: first.seq, created: false });
      expect(await callbacks.due(shard, T0 + 6, 10)).toEqual([]);
      expect(await callbacks.due(shard, T0 + 7, 10)).toEqual([
        { ...input, seq: first.seq, state: 'pending', attempts: 0, nextAttemptAtMs: T0 + 7, lastError: null },
      ]);
      expect((await callbacks.enqueue(callback(shard, 'b'))).seq).toBeGreaterThan(first.seq);
    });

    it('enqueueMany stores a list in order (ascending seqs), once per event id, and counts what it stored', async () => {
      const shard = lane();
      const stored = callback(shard, 'x');
      await callbacks.enqueue(stored);
      const list = [callback(shard, 'a'), callback(shard, 'b'), stored, callback(shard, 'c')];
      const repeated = { ...list[1] as NewCallback, payload: '{"again":true}' };
      expect(await callbacks.enqueueMany([...list, repeated])).toBe(3);
      const due = await callbacks.due(shard, T0, 10);
      expect(due.map((c) => c.eventId)).toEqual([stored.eventId, list[0]?.eventId, list[1]?.eventId, list[3]?.eventId]);
      expect(due.map((c) => c.seq)).toEqual([...due.map((c) => c.seq)].sort((a, b) => a - b));
      expect(due.find((c) => c.eventId === list[1]?.eventId)?.payload).toBe(list[1]?.payload);
      expect(await callbacks.enqueueMany([])).toBe(0);
    });

    it('headsOf gives the oldest pending callback of each contact given, in any shard, due or not', async () => {
      const [s1, s2] = [lane(), lane()];
      const contact = `c-${n}`;
      const older = await enqueue(callback(s1, 'x', { contact }));
      const newer = await enqueue(callback(s2, 'x', { contact, createdAtMs: T0 + 60_000 }));
      const other = callback(s2, 'y', { createdAtMs: T0 + 60_000 });
      await enqueue(other);
      const heads = await callbacks.headsOf([contact, other.contact, 'nobody', contact]);
      expect(heads.map((c) => c.seq).sort((a, b) => a - b)).toEqual([older, (await callbacks.headsOf([other.contact]))[0]?.seq].sort((a, b) => (a ?? 0) - (b ?? 0)));
      expect(await callbacks.markDelivered(older)).toBe(true);
      expect((await callbacks.headsOf([contact])).map((c) => [c.seq, c.shard, c.nextAttemptAtMs])).toEqual([[newer, s2, T0 + 60_000]]);
      expect(await callbacks.markDead(newer, 'gone')).toBe(true);
      expect(await callbacks.headsOf([contact])).toEqual([]);
      expect(await callbacks.headsOf([])).toEqual([]);
    });

    it('markDeliveredMany marks only pending callbacks and counts them', async () => {
      const shard = lane();
      const seqs = [await enqueue(callback(shard, 'a')), await enqueue(callback(shard, 'b')), await enqueue(callback(shard, 'c'))];
      expect(await callbacks.markDead(seqs[2] as number, 'gone')).toBe(true);
      expect(await callbacks.markDeliveredMany([...seqs, 987_654_321])).toBe(2);
      expect(await callbacks.markDeliveredMany(seqs)).toBe(0);
      expect(await dueSeqs(shard)).toEqual([]);
      expect(await callbacks.markDeliveredMany([])).toBe(0);
    });

    it('concurrent enqueues of one event id from two connections leave one callback', async () => {
      const other = await instance.connect();
      const shard = lane();
      for (let round = 0; round < 8; round++) {
        const input = callback(shard, `race${round}`);
        const [a, b] = await Promise.all([callbacks.enqueue(input), other.callbacks.enqueue(input)]);
        expect(a.seq).toBe(b.seq);
        expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
      }
      expect(await callbacks.due(shard, T0, 100)).toHaveLength(8);
    });

    it('due returns only the head of each contact; a failing head blocks its contact, not others; markDead unblocks', async () => {
      const shard = lane();
      const a1 = await enqueue(callback(shard, 'alice'));
      const b1 = await enqueue(callback(shard, 'bob'));
      const a2 = await enqueue(callback(shard, 'alice'));
      const a3 = await enqueue(callback(shard, 'alice'));
      const b2 = await enqueue(callback(shard, 'bob'));
      expect(await dueSeqs(shard)).toEqual([a1, b1]);

      expect(await callbacks.recordFailure(a1, T0 + 1_000, 'HTTP 500')).toBe(true);
      expect(await dueSeqs(shard)).toEqual([b1]);
      expect(await callbacks.markDelivered(b1)).toBe(true);
      expect(await dueSeqs(shard)).toEqual([b2]);
      expect(await dueSeqs(shard, T0 + 1_000)).toEqual([a1, b2]);
      expect((await callbacks.due(shard, T0 + 1_000, 10))[0]).toMatchObject({ seq: a1, attempts: 1, nextAttemptAtMs: T0 + 1_000, lastError: 'HTTP 500' });

      expect(await callbacks.markDead(a1, 'gave up')).toBe(true);
      expect(await dueSeqs(shard)).toEqual([a2, b2]);
      expect(await callbacks.markDelivered(a2)).toBe(true);
      expect(await dueSeqs(shard)).toEqual([a3, b2]);
    });

    it("a contact's older callback in another shard blocks its newer one here until it leaves the queue", async () => {
      const shard = lane();
      const otherShard = lane();
      const contact = `carol-${shard}`;
      const older = await enqueue(callback(otherShard, 'x', { contact }));
      const newer = await enqueue(callback(shard, 'x', { contact }));
      const unrelated = await enqueue(callback(shard, 'dave'));
      expect(await dueSeqs(shard)).toEqual([unrelated]);
      expect(await dueSeqs(otherShard)).toEqual([older]);
      expect(await callbacks.markDelivered(older)).toBe(true);
      expect(await dueSeqs(shard)).toEqual([newer, unrelated]);
    });

    it('due is ordered by seq, bounded by limit, and leaves out callbacks not yet due', async () => {
      const shard = lane();
      const seqs: number[] = [];
      for (let i = 0; i < 6; i++) seqs.push(await enqueue(callback(shard, `c${i}`, { createdAtMs: T0 + i * 10 })));
      expect(await dueSeqs(shard, T0 + 100, 100)).toEqual(seqs);
      expect(await dueSeqs(shard, T0 + 100, 4)).toEqual(seqs.slice(0, 4));
      expect(await dueSeqs(shard, T0 + 20, 100)).toEqual(seqs.slice(0, 3));
      expect(await dueSeqs(shard, T0 + 100, 0)).toEqual([]);
      expect(await dueSeqs(shard + 10_000, T0 + 100, 100)).toEqual([]);
    });

    it('state changes act only on pending callbacks; unknown seqs are false', async () => {
      const shard = lane();
      const delivered = await enqueue(callback(shard, 'e'));
      const dead = await enqueue(callback(shard, 'f'));
      expect(await callbacks.markDelivered(delivered)).toBe(true);
      expect(await callbacks.markDead(dead, 'HTTP 410')).toBe(true);
      for (const seq of [delivered, dead, 987_654_321]) {
        expect(await callbacks.markDelivered(seq)).toBe(false);
        expect(await callbacks.recordFailure(seq, T0, 'late')).toBe(false);
        expect(await callbacks.markDead(seq, 'late')).toBe(false);
      }
      expect(await dueSeqs(shard, T0 + 1_000_000)).toEqual([]);
    });

    it('recordFailure counts attempts and keeps the last error, cut to the column width', async () => {
      const shard = lane();
      const seq = await enqueue(callback(shard, 'g'));
      expect(await callbacks.recordFailure(seq, T0 + 10, 'first')).toBe(true);
      const long = `E${'x'.repeat(errorLengthMax * 2)}`;
      expect(await callbacks.recordFailure(seq, T0 + 20, long)).toBe(true);
      const [row] = await callbacks.due(shard, T0 + 20, 10);
      expect(row).toMatchObject({ seq, attempts: 2, nextAttemptAtMs: T0 + 20 });
      expect(row?.lastError).toBe(long.slice(0, errorLengthMax));
    });

    it('counts reports pending, delivered and dead', async () => {
      const before = await callbacks.counts();
      const shard = lane();
      const seqs: number[] = [];
      for (let i = 0; i < 4; i++) seqs.push(await enqueue(callback(shard, `h${i}`)));
      await callbacks.markDelivered(seqs[0] ?? -1);
      await callbacks.markDead(seqs[1] ?? -1, 'gone');
      await callbacks.recordFailure(seqs[2] ?? -1, T0 + 1, 'retry');
      expect(await callbacks.counts()).toEqual({ pending: before.pending + 2, delivered: before.delivered + 1, dead: before.dead + 1 });
    });

    it('pendingPage pages the pending callbacks in seq order; moveShards moves only pending ones to another shard', async () => {
      const a = await callbacks.enqueue({ eventId: `mv-a-${Date.now()}`, shard: 7, contact: '15550700', kind: 'status', payload: '{}', createdAtMs: 1 });
      const b = await callbacks.enqueue({ eventId: `mv-b-${Date.now()}`, shard: 7, contact: '15550701', kind: 'status', payload: '{}', createdAtMs: 1 });
      await callbacks.markDelivered(b.seq);
      const pending: StoredCallback[] = [];
      for (let after = 0; ; ) {
        const page = await callbacks.pendingPage(after, 2);
        if (page.length === 0) break;
        pending.push(...page);
        after = page.at(-1)?.seq ?? after;
      }
      const seqs = pending.map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(seqs).toContain(a.seq);
      expect(seqs).not.toContain(b.seq);
      expect(await callbacks.moveShards([{ seq: a.seq, shard: 1 }, { seq: b.seq, shard: 1 }])).toBe(1);
      expect(await callbacks.moveShards([{ seq: a.seq, shard: 1 }])).toBe(0);
      expect((await callbacks.due(1, Number.MAX_SAFE_INTEGER, 1_000)).map((c) => c.seq)).toContain(a.seq);
      expect((await callbacks.due(7, Number.MAX_SAFE_INTEGER, 1_000)).map((c) => c.seq)).not.toContain(a.seq);
    });
  });
}
