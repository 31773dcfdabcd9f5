/**
 * CloudStore contract, run against every target: the send claim is fenced by the epoch and by the
 * message's status in one step, a claim in doubt is taken over only after its window, the wamid maps
 * back to our id, and the webhook inbox stores each event id once and reads per bucket in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudStore, NewCloudEvent } from '../../src/ports/cloud-store.js';
import type { ShardFence } from '../../src/ports/message-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

/** Beyond 2^32, so a BIGINT column that comes back as a string or is truncated fails the tests. */
const T0 = 1_700_000_000_123;
const RECLAIM_MS = 10_000;

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: CloudStore`, () => {
    let instance: TargetInstance;
    let cloud: CloudStore;
    let fence: ShardFence;
    let n = 0;

    const newMessage = async (shard = 0): Promise<string> => {
      const id = `gBG-cloud-${++n}`;
      await instance.stores.messages.insert({ id, generation: fence.generation, shard, recipient: '16315551000', payload: '{"type":"text","text":{"body":"hi"}}', idempotencyKey: null, createdAtMs: T0 });
      return id;
    };

    beforeAll(async () => {
      instance = await target.create();
      cloud = instance.stores.cloud;
      const map = await instance.stores.shardMap.initialize(2, T0);
      const row = map.assignments[0];
      if (row === undefined) throw new Error('no shard 0');
      const assigned = await instance.stores.shardMap.assign(map.generation.generation, 0, 'core-a', row.epoch, T0);
      if (assigned === null) throw new Error('assign lost its compare-and-set');
      fence = { generation: map.generation.generation, shard: 0, epoch: assigned.epoch };
    });
    afterAll(async () => instance?.dispose());

    it('claims an accepted message once under the current epoch; a second claim is in doubt', async () => {
      const id = await newMessage();
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      expect(await cloud.claimSend(id, fence, T0 + 1, RECLAIM_MS)).toEqual({ kind: 'in_doubt', sinceMs: T0 });
    });

    it('refuses a stale, future or foreign fence, and a message of another shard', async () => {
      const id = await newMessage();
      expect(await cloud.claimSend(id, { ...fence, epoch: fence.epoch - 1 }, T0, RECLAIM_MS)).toEqual({ kind: 'fenced' });
      expect(await cloud.claimSend(id, { ...fence, epoch: fence.epoch + 1 }, T0, RECLAIM_MS)).toEqual({ kind: 'fenced' });
      expect(await cloud.claimSend(id, { ...fence, generation: fence.generation + 5 }, T0, RECLAIM_MS)).toEqual({ kind: 'fenced' });
      const other = await newMessage(1);
      expect(await cloud.claimSend(other, fence, T0, RECLAIM_MS)).toEqual({ kind: 'fenced' });
      // The same message is still claimable by its owner: the refusals wrote nothing.
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
    });

    it('a message no longer accepted, or unknown, is not pending', async () => {
      const id = await newMessage();
      expect(await instance.stores.messages.markSent([id], fence, T0)).toBe(1);
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'not_pending' });
      expect(await cloud.claimSend('no-such-message', fence, T0, RECLAIM_MS)).toEqual({ kind: 'not_pending' });
    });

    it('an accepted claim is never claimed again and maps its wamid back', async () => {
      const id = await newMessage();
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      await cloud.recordAccepted([{ messageId: id, wamid: `wamid.HBgL${id}==` }], T0 + 2);
      await cloud.recordAccepted([{ messageId: id, wamid: `wamid.HBgL${id}==` }], T0 + 3);
      expect(await cloud.claimSend(id, fence, T0 + RECLAIM_MS * 3, RECLAIM_MS)).toEqual({ kind: 'accepted', wamid: `wamid.HBgL${id}==` });
      expect(await cloud.messageIdOf(`wamid.HBgL${id}==`)).toBe(id);
      expect(await cloud.messageIdOf(`wamid.hbgl${id}==`)).toBeNull();
      expect(await cloud.messageIdOf('wamid.unknown')).toBeNull();
    });

    it('recordAccepted without a claim (a status proved the send) still maps the wamid', async () => {
      const id = await newMessage();
      await cloud.recordAccepted([{ messageId: id, wamid: `wamid.late-${id}` }], T0);
      expect(await cloud.messageIdOf(`wamid.late-${id}`)).toBe(id);
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'accepted', wamid: `wamid.late-${id}` });
    });

    it('a claim in doubt is taken over after the window, under the current epoch only', async () => {
      const id = await newMessage();
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      expect(await cloud.claimSend(id, fence, T0 + RECLAIM_MS - 1, RECLAIM_MS)).toEqual({ kind: 'in_doubt', sinceMs: T0 });
      expect(await cloud.claimSend(id, { ...fence, epoch: fence.epoch + 1 }, T0 + RECLAIM_MS, RECLAIM_MS)).toEqual({ kind: 'fenced' });
      expect(await cloud.claimSend(id, fence, T0 + RECLAIM_MS, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      expect(await cloud.claimSend(id, fence, T0 + RECLAIM_MS + 1, RECLAIM_MS)).toEqual({ kind: 'in_doubt', sinceMs: T0 + RECLAIM_MS });
    });

    it('recordAccepted settles many claims at once and skips those already accepted', async () => {
      const ids = [await newMessage(), await newMessage(), await newMessage()];
      for (const id of ids.slice(0, 2)) expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      await cloud.recordAccepted([{ messageId: ids[0]!, wamid: 'wamid.m0' }], T0);
      await cloud.recordAccepted(ids.map((id, i) => ({ messageId: id, wamid: `wamid.m${i}` })), T0 + 1);
      for (const [i, id] of ids.entries()) {
        expect(await cloud.messageIdOf(`wamid.m${i}`)).toBe(id);
        expect(await cloud.claimSend(id, fence, T0 + 2, RECLAIM_MS)).toEqual({ kind: 'accepted', wamid: `wamid.m${i}` });
      }
      await cloud.recordAccepted([], T0);
    });

    it('release drops only a posting claim of the given epoch', async () => {
      const id = await newMessage();
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      await cloud.release(id, fence.epoch + 1);
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toMatchObject({ kind: 'in_doubt' });
      await cloud.release(id, fence.epoch);
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toEqual({ kind: 'claimed' });
      await cloud.recordAccepted([{ messageId: id, wamid: `wamid.rel-${id}` }], T0);
      await cloud.release(id, fence.epoch);
      expect(await cloud.claimSend(id, fence, T0, RECLAIM_MS)).toMatchObject({ kind: 'accepted' });
    });

    it('the inbox stores each event id once and reads per bucket in arrival order until done', async () => {
      const event = (eventId: string, bucket: number): NewCloudEvent => ({ eventId, bucket, contact: '16315551000', payload: JSON.stringify({ eventId, note: 'ü ✓' }), receivedAtMs: T0 });
      const before = await cloud.countEvents();
      expect(await cloud.insertEvents([event('status:w1:sent', 3), event('status:w1:delivered', 3), event('message:w2', 7)])).toBe(3);
      expect(await cloud.insertEvents([event('status:w1:sent', 3), event('status:w1:read', 3)])).toBe(1);
      expect(await cloud.countEvents()).toBe(before + 4);
      const three = await cloud.pendingEvents([3], 10);
      expect(three.map((e) => e.eventId)).toEqual(['status:w1:sent', 'status:w1:delivered', 'status:w1:read']);
      expect(three[0]).toMatchObject({ bucket: 3, contact: '16315551000', receivedAtMs: T0, payload: JSON.stringify({ eventId: 'status:w1:sent', note: 'ü ✓' }) });
      expect(three[1]!.seq).toBeGreaterThan(three[0]!.seq);
      expect((await cloud.pendingEvents([3, 7], 2)).map((e) => e.eventId)).toEqual(['status:w1:sent', 'status:w1:delivered']);
      expect(await cloud.pendingEvents([], 10)).toEqual([]);
      await cloud.markEventsDone([three[0]!.seq, three[1]!.seq]);
      await cloud.markEventsDone([three[0]!.seq]);
      expect((await cloud.pendingEvents([3, 7], 10)).map((e) => e.eventId)).toEqual(['message:w2', 'status:w1:read']);
      expect(Math.abs((await cloud.nowMs()) - Date.now())).toBeLessThan(60_000);
      // Done events still count as stored: a replay of a done event is not stored again.
      expect(await cloud.insertEvents([event('status:w1:sent', 3)])).toBe(0);
    });

    it('pruneEvents deletes only done events of the buckets received before the cut, within the limit', async () => {
      const event = (eventId: string, bucket: number, receivedAtMs: number): NewCloudEvent => ({ eventId, bucket, contact: '16315551000', payload: '{}', receivedAtMs });
      await cloud.insertEvents([event('p:old-1', 20, T0), event('p:old-2', 20, T0 + 1), event('p:old-3', 20, T0 + 2), event('p:new', 20, T0 + 100), event('p:other', 21, T0), event('p:open', 20, T0)]);
      const rows = await cloud.pendingEvents([20, 21], 10);
      await cloud.markEventsDone(rows.filter((r) => r.eventId !== 'p:open').map((r) => r.seq));
      const before = await cloud.countEvents();
      expect(await cloud.pruneEvents([20], T0 + 50, 2)).toBe(2);
      expect(await cloud.pruneEvents([20], T0 + 50, 10)).toBe(1);
      expect(await cloud.pruneEvents([20], T0 + 50, 10)).toBe(0);
      expect(await cloud.countEvents()).toBe(before - 3);
      expect((await cloud.pendingEvents([20, 21], 10)).map((r) => r.eventId)).toEqual(['p:open']);
      // A pruned event id is forgotten: stored again if it came back (after Meta's retry window).
      expect(await cloud.insertEvents([event('p:old-1', 20, T0 + 200)])).toBe(1);
    });
  });
}
