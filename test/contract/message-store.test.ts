/**
 * MessageStore contract, run against every target: idempotent and race-safe insert, pending order
 * and paging, the epoch fence of markSent, forward-only statuses, and counts.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { storeBatchSizeMax } from '../../src/core/limits.js';
import type { MessageStatus, MessageStore, NewMessage, StoredMessage } from '../../src/ports/message-store.js';
import type { ShardMap, ShardMapStore } from '../../src/ports/shard-map-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';
import { seededRandom, testSeed } from '../support/seeded-random.js';

/** Beyond 2^32, so a BIGINT column that comes back as a string or is truncated fails the tests. */
const T0 = 1_700_000_000_123;

type StatusUpdate = Exclude<MessageStatus, 'accepted'>;
const UPDATES: readonly StatusUpdate[] = ['sent', 'delivered', 'read', 'failed'];

/** Which moves are allowed, written out rather than derived from MESSAGE_STATUS_RANK. */
const ALLOWED: Readonly<Record<MessageStatus, readonly StatusUpdate[]>> = {
  accepted: ['sent', 'delivered', 'read', 'failed'],
  sent: ['delivered', 'read', 'failed'],
  delivered: ['read'],
  read: [],
  failed: [],
};

async function currentMap(shardMap: ShardMapStore): Promise<ShardMap> {
  return (await shardMap.current()) ?? (await shardMap.initialize(1, T0));
}

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: MessageStore`, () => {
    let instance: TargetInstance;
    let messages: MessageStore;
    let n = 0;
    /** A generation number no other test uses, so `pending` sees only the test's own rows. */
    const lane = () => 1_000 + ++n;
    const message = (over: Partial<NewMessage> = {}): NewMessage => ({
      id: `m-${++n}`,
      generation: 999,
      shard: 0,
      recipient: '15550001',
      payload: JSON.stringify({ n }),
      idempotencyKey: null,
      createdAtMs: T0,
      ...over,
    });
    const statusOf = async (id: string) => (await messages.get(id))?.status;

    beforeAll(async () => {
      instance = await target.create();
      messages = instance.stores.messages;
    });
    afterAll(async () => instance?.dispose());

    it('counts all five statuses, zeros included, on an empty store', async () => {
      expect(await messages.countByStatus()).toEqual({ accepted: 0, sent: 0, delivered: 0, read: 0, failed: 0 });
    });

    it('insert stores an accepted message with a growing seq, no epoch, updatedAt = createdAt; get round-trips it', async () => {
      const input = message({ idempotencyKey: `key-${n}`, recipient: '4915112345678', payload: '{"text":{"body":"hi ✓"}}' });
      const { message: stored, created } = await messages.insert(input);
      expect(created).toBe(true);
      expect(stored).toEqual({ ...input, seq: expect.any(Number), status: 'accepted', epoch: null, errorCode: null, updatedAtMs: T0 });
      expect(await messages.get(input.id)).toEqual(stored);
      const next = await messages.insert(message({ createdAtMs: T0 + 1 }));
      expect(next.message.seq).toBeGreaterThan(stored.seq);
      expect(await messages.get('no-such-message')).toBeNull();
    });

    it('an idempotency key returns the first message and never stores a second', async () => {
      const generation = lane();
      const first = await messages.insert(message({ generation, idempotencyKey: 'retry-me' }));
      const again = await messages.insert(message({ generation, idempotencyKey: 'retry-me', payload: '{"other":true}' }));
      expect(again.created).toBe(false);
      expect(again.message).toEqual(first.message);
      expect(await messages.pending(generation, 0, 0, 10)).toEqual([first.message]);
    });

    it('insertMany stores a batch with ascending seqs in input order; a key taken earlier or earlier in the batch gives that message back', async () => {
      const before = await messages.insert(message({ idempotencyKey: `k-before-${n}` }));
      const key = `k-a-${n}`;
      const batch = [message(), message({ idempotencyKey: key }), message({ idempotencyKey: before.message.idempotencyKey }), message(), message({ idempotencyKey: key })];
      const results = await messages.insertMany(batch);
      expect(results.map((r) => r.created)).toEqual([true, true, false, true, false]);
      expect(results.map((r) => r.message.id)).toEqual([batch[0]?.id, batch[1]?.id, before.message.id, batch[3]?.id, batch[1]?.id]);
      const seqs = [results[0], results[1], results[3]].map((r) => r?.message.seq ?? 0);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs[0]).toBeGreaterThan(before.message.seq);
      for (const r of results.filter((x) => x.created)) expect(await messages.get(r.message.id)).toEqual(r.message);
      expect(await messages.insertMany([])).toEqual([]);
      await expect(messages.insertMany(Array.from({ length: storeBatchSizeMax + 1 }, () => message()))).rejects.toThrow(/at most/);
    });

    it('a duplicate id is a programmer error: insert throws and the stored message is unchanged', async () => {
      const original = await messages.insert(message());
      const id = original.message.id;
      await expect(messages.insert(message({ id, payload: '{"dup":1}' }))).rejects.toThrow();
      await expect(messages.insert(message({ id, idempotencyKey: `new-key-${n}` }))).rejects.toThrow();
      expect(await messages.get(id)).toEqual(original.message);
    });

    it('concurrent inserts of one key from two connections leave one row and give both callers its id', async () => {
      const other = await instance.connect();
      for (let round = 0; round < 8; round++) {
        const generation = lane();
        const idempotencyKey = `race-${generation}`;
        const [a, b] = await Promise.all([
          messages.insert(message({ generation, idempotencyKey })),
          other.messages.insert(message({ generation, idempotencyKey })),
        ]);
        expect(a.message.id).toBe(b.message.id);
        expect(a.message.seq).toBe(b.message.seq);
        expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
        expect(await messages.pending(generation, 0, 0, 10)).toHaveLength(1);
      }
    });

    it('pending returns the accepted messages of one shard after a seq, in seq order, page by page', async () => {
      const seed = testSeed();
      onTestFailed(() => console.error(`message-store pending paging: SEED=${seed}`));
      const random = seededRandom(seed);
      const generation = lane();
      const expected: string[] = [];
      for (let i = 0; i < 12; i++) {
        const mine = await messages.insert(message({ generation, shard: 1 }));
        // Noise that must never show up: another shard, another generation, a message no longer accepted.
        await messages.insert(message({ generation, shard: 2 }));
        await messages.insert(message({ generation: generation + 100_000, shard: 1 }));
        if (i % 4 === 3) expect(await messages.recordStatus(mine.message.id, 'failed', T0)).toBe(true);
        else expected.push(mine.message.id);
      }
      const paged: string[] = [];
      let afterSeq = 0;
      for (let pages = 0; pages < 20; pages++) {
        const page = await messages.pending(generation, 1, afterSeq, 1 + Math.floor(random() * 3));
        if (page.length === 0) break;
        for (const m of page) expect(m).toMatchObject({ generation, shard: 1, status: 'accepted' });
        const seqs = page.map((m) => m.seq);
        expect(seqs[0]).toBeGreaterThan(afterSeq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        paged.push(...page.map((m) => m.id));
        afterSeq = seqs[seqs.length - 1] ?? afterSeq;
      }
      expect(paged).toEqual(expected);
      expect(await messages.pending(generation, 1, 0, 0)).toEqual([]);
      expect((await messages.pending(generation, 1, 0, storeBatchSizeMax * 10)).map((m) => m.id)).toEqual(expected);
    });

    it('markSent changes nothing under a stale, future or foreign fence, and marks sent under the current epoch', async () => {
      const map = await currentMap(instance.stores.shardMap);
      const generation = map.generation.generation;
      const before = map.assignments[0];
      if (before === undefined) throw new Error('shard 0 missing from the shard map');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await messages.insert(message({ generation, shard: 0 }))).message.id);
      const elsewhere = (await messages.insert(message({ generation, shard: 31 }))).message.id;
      const assigned = await instance.stores.shardMap.assign(generation, 0, 'core-a', before.epoch, T0);
      if (assigned === null) throw new Error('assign lost its compare-and-set');
      expect(assigned.epoch).toBe(before.epoch + 1);

      expect(await messages.markSent(ids, { generation, shard: 0, epoch: before.epoch }, T0 + 5)).toBe(0);
      expect(await messages.markSent(ids, { generation, shard: 0, epoch: assigned.epoch + 1 }, T0 + 5)).toBe(0);
      expect(await messages.markSent(ids, { generation: generation + 7, shard: 0, epoch: assigned.epoch }, T0 + 5)).toBe(0);
      expect(await messages.markSent([elsewhere], { generation, shard: 31, epoch: assigned.epoch }, T0 + 5)).toBe(0);
      for (const id of ids) expect(await statusOf(id)).toBe('accepted');

      const fence = { generation, shard: 0, epoch: assigned.epoch };
      expect(await messages.markSent([...ids, elsewhere, 'no-such-message'], fence, T0 + 5)).toBe(3);
      for (const id of ids) expect(await messages.get(id)).toMatchObject({ status: 'sent', epoch: assigned.epoch, updatedAtMs: T0 + 5 });
      expect(await messages.get(elsewhere)).toMatchObject({ status: 'accepted', epoch: null });
      expect(await messages.markSent(ids, fence, T0 + 6)).toBe(0);
      expect((await messages.pending(generation, 0, 0, 1_000)).map((m) => m.id)).not.toContain(ids[0]);
    });

    it('markSent refuses every fence of a generation once the next one has begun', async () => {
      const map = await currentMap(instance.stores.shardMap);
      const old = map.generation.generation;
      const held = map.assignments[0];
      if (held === undefined) throw new Error('shard 0 missing from the shard map');
      const oldId = (await messages.insert(message({ generation: old, shard: 0 }))).message.id;
      const next = await instance.stores.shardMap.beginGeneration(old, 2, T0);
      if (next === null) throw new Error('beginGeneration lost its compare-and-set');
      // The epoch the deposed primary held, and the one the old row was fenced to: both refused.
      expect(await messages.markSent([oldId], { generation: old, shard: 0, epoch: held.epoch }, T0)).toBe(0);
      expect(await messages.markSent([oldId], { generation: old, shard: 0, epoch: held.epoch + 1 }, T0)).toBe(0);
      expect(await statusOf(oldId)).toBe('accepted');
      const shard0 = next.assignments[0];
      if (shard0 === undefined) throw new Error('shard 0 missing from the new generation');
      const newId = (await messages.insert(message({ generation: next.generation.generation, shard: 0 }))).message.id;
      expect(await messages.markSent([newId], { generation: next.generation.generation, shard: 0, epoch: shard0.epoch }, T0)).toBe(1);
    });

    it('a shard-count change: generationOpen, acceptedBefore and moveToGeneration re-route what was not sent, keeping seq', async () => {
      const map = await currentMap(instance.stores.shardMap);
      const old = map.generation.generation;
      expect(await messages.generationOpen(old)).toBe(true);
      expect(await messages.generationOpen(987_654)).toBe(false);
      const waiting: StoredMessage[] = [];
      for (let i = 0; i < 5; i++) waiting.push((await messages.insert(message({ generation: old, shard: 0, recipient: `1555100${i}` }))).message);
      const sentId = (await messages.insert(message({ generation: old, shard: 0 }))).message.id;
      await messages.recordStatus(sentId, 'sent', T0);
      const next = await instance.stores.shardMap.beginGeneration(old, 4, T0);
      if (next === null) throw new Error('beginGeneration lost its compare-and-set');
      const gen = next.generation.generation;
      expect(await messages.generationOpen(old)).toBe(false);
      expect(await messages.generationOpen(gen)).toBe(true);
      // Every accepted message of older generations, in seq order, paged; the sent one is not among them.
      const first = await messages.acceptedBefore(gen, 0, 3);
      const rest = await messages.acceptedBefore(gen, first.at(-1)?.seq ?? 0, 1_000);
      const found = [...first, ...rest].filter((m) => waiting.some((w) => w.id === m.id));
      expect(found.map((m) => m.id)).toEqual(waiting.map((m) => m.id));
      expect([...first, ...rest].map((m) => m.id)).not.toContain(sentId);
      const seqs = [...first, ...rest].map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // Move them to shards of the new generation; a second move (or one of a sent message) changes nothing.
      const moves = waiting.map((m, i) => ({ id: m.id, shard: i % 4 }));
      expect(await messages.moveToGeneration([...moves, { id: sentId, shard: 1 }], gen, T0 + 1)).toBe(5);
      expect(await messages.moveToGeneration(moves, gen, T0 + 2)).toBe(0);
      for (const [i, m] of waiting.entries()) {
        expect(await messages.get(m.id)).toMatchObject({ generation: gen, shard: i % 4, seq: m.seq, status: 'accepted', updatedAtMs: T0 + 1 });
      }
      expect(await messages.get(sentId)).toMatchObject({ generation: old, status: 'sent' });
      expect((await messages.acceptedBefore(gen, 0, 1_000)).filter((m) => waiting.some((w) => w.id === m.id))).toEqual([]);
      expect((await messages.pending(gen, 2, 0, 1_000)).map((m) => m.id)).toEqual([waiting[2]?.id]);
    });

    it('generationOpen holds inside a transaction and answers the same as outside it', async () => {
      const map = await currentMap(instance.stores.shardMap);
      const open = await instance.stores.inTransaction(async (tx) => tx.messages.generationOpen(map.generation.generation));
      expect(open).toBe(map.generation.state !== 'retired');
    });

    it('markSent takes at most storeBatchSizeMax ids, and none is a no-op', async () => {
      const tooMany = Array.from({ length: storeBatchSizeMax + 1 }, (_, i) => `x-${i}`);
      await expect(messages.markSent(tooMany, { generation: 1, shard: 0, epoch: 1 }, T0)).rejects.toThrow();
      expect(await messages.markSent([], { generation: 1, shard: 0, epoch: 1 }, T0)).toBe(0);
    });

    it('recordStatus moves only forward; failed only from accepted or sent', async () => {
      const reach = async (status: MessageStatus): Promise<string> => {
        const id = (await messages.insert(message())).message.id;
        if (status !== 'accepted') expect(await messages.recordStatus(id, status, T0 + 1)).toBe(true);
        return id;
      };
      for (const from of Object.keys(ALLOWED) as MessageStatus[]) {
        for (const to of UPDATES) {
          const id = await reach(from);
          const allowed = ALLOWED[from].includes(to);
          expect(await messages.recordStatus(id, to, T0 + 2), `${from} → ${to}`).toBe(allowed);
          expect(await messages.get(id), `${from} → ${to}`).toMatchObject({ status: allowed ? to : from, updatedAtMs: allowed ? T0 + 2 : T0 + (from === 'accepted' ? 0 : 1) });
        }
      }
    });

    it('failed keeps its error code; other statuses keep none; an unknown message is false', async () => {
      const failed = (await messages.insert(message())).message.id;
      expect(await messages.recordStatus(failed, 'failed', T0 + 9, 470)).toBe(true);
      expect(await messages.get(failed)).toMatchObject({ status: 'failed', errorCode: 470, updatedAtMs: T0 + 9 });
      const delivered = (await messages.insert(message())).message.id;
      expect(await messages.recordStatus(delivered, 'delivered', T0 + 9, 470)).toBe(true);
      expect(await messages.get(delivered)).toMatchObject({ status: 'delivered', errorCode: null });
      expect(await messages.recordStatus('no-such-message', 'sent', T0)).toBe(false);
    });

    it('recordStatuses applies each change as recordStatus would, grouped by status and error code; statuses reads them back', async () => {
      const cases: { from: MessageStatus; to: StatusUpdate; errorCode?: number }[] = [];
      for (const from of Object.keys(ALLOWED) as MessageStatus[]) for (const to of UPDATES) cases.push({ from, to, ...(to === 'failed' ? { errorCode: from === 'sent' ? 471 : 470 } : {}) });
      const ids: string[] = [];
      for (const { from } of cases) {
        const id = (await messages.insert(message())).message.id;
        if (from !== 'accepted') expect(await messages.recordStatus(id, from, T0 + 1)).toBe(true);
        ids.push(id);
      }
      const changed = await messages.recordStatuses(cases.map((c, i) => ({ id: ids[i] as string, status: c.to, errorCode: c.errorCode })), T0 + 2);
      expect(changed).toBe(cases.filter((c) => ALLOWED[c.from].includes(c.to)).length);
      const read = await messages.statuses([...ids, 'no-such-message']);
      expect(read.size).toBe(ids.length);
      for (const [i, c] of cases.entries()) {
        const allowed = ALLOWED[c.from].includes(c.to);
        expect(read.get(ids[i] as string), `${c.from} → ${c.to}`).toBe(allowed ? c.to : c.from);
        expect(await messages.get(ids[i] as string), `${c.from} → ${c.to}`).toMatchObject({
          updatedAtMs: allowed ? T0 + 2 : T0 + (c.from === 'accepted' ? 0 : 1),
          ...(allowed && c.to === 'failed' ? { errorCode: c.errorCode } : {}),
        });
      }
      expect(await messages.recordStatuses([], T0)).toBe(0);
      await expect(messages.recordStatuses([{ id: ids[0] as string, status: 'sent' }, { id: ids[0] as string, status: 'read' }], T0)).rejects.toThrow(/one change per message id/);
      expect((await messages.statuses([])).size).toBe(0);
    });

    it('concurrent status receipts from two connections: exactly one of two racing moves wins', async () => {
      const other = await instance.connect();
      for (let round = 0; round < 5; round++) {
        const id = (await messages.insert(message())).message.id;
        // read and failed are both allowed from accepted, but never one after the other.
        const results = await Promise.all([messages.recordStatus(id, 'read', T0), other.messages.recordStatus(id, 'failed', T0)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await statusOf(id)).toBe(results[0] ? 'read' : 'failed');
      }
    });

    it('acceptedByShard counts the waiting messages of one generation per shard, in shard order', async () => {
      const generation = lane();
      expect(await messages.acceptedByShard(generation)).toEqual([]);
      for (const shard of [3, 0, 3, 3, 1]) await messages.insert(message({ generation, shard }));
      const sent = (await messages.insert(message({ generation, shard: 0 }))).message.id;
      await messages.recordStatus(sent, 'sent', T0);
      await messages.insert(message({ generation: lane(), shard: 0 }));
      expect(await messages.acceptedByShard(generation)).toEqual([
        { shard: 0, count: 1 },
        { shard: 1, count: 1 },
        { shard: 3, count: 3 },
      ]);
    });

    it('countByStatus counts every status; countAccepted the waiting ones', async () => {
      const before = await messages.countByStatus();
      for (const status of ['accepted', ...UPDATES] as MessageStatus[]) {
        const id = (await messages.insert(message())).message.id;
        if (status !== 'accepted') await messages.recordStatus(id, status, T0);
      }
      await messages.insert(message());
      const after = await messages.countByStatus();
      expect(after).toEqual({
        accepted: before.accepted + 2,
        sent: before.sent + 1,
        delivered: before.delivered + 1,
        read: before.read + 1,
        failed: before.failed + 1,
      });
      expect(await messages.countAccepted()).toBe(after.accepted);
    });
  });
}
