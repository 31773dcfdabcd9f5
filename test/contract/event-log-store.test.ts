import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLogReadMax } from '../../src/core/limits.js';
import type { ClusterEvent, EventLogStore, NewClusterEvent } from '../../src/ports/event-log-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const AT_MS = 1_700_000_000_000;

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: EventLogStore`, () => {
    let instance: TargetInstance;
    let events: EventLogStore;
    /** The newest seq so far, the cursor after which a test's own events start. */
    const cursor = async () => (await events.latest(1))[0]?.seq ?? 0;
    const appendAll = async (list: readonly NewClusterEvent[]) => {
      const seqs: number[] = [];
      for (const event of list) seqs.push(await events.append(event));
      return seqs;
    };

    beforeAll(async () => {
      instance = await target.create();
      events = instance.stores.events;
    });
    afterAll(async () => instance?.dispose());

    it('an empty log lists nothing', async () => {
      const empty = await target.create();
      try {
        expect(await empty.stores.events.list(0, 10)).toEqual([]);
        expect(await empty.stores.events.latest(10)).toEqual([]);
      } finally {
        await empty.dispose();
      }
    });

    it('append returns increasing seqs; list returns what was appended after a cursor, oldest first', async () => {
      const start = await cursor();
      const appended = [
        event('lease_acquired', 'master-1:aaaaaaaaaaaa', { epoch: 7 }),
        event('promoted', null, { shard: 3, epoch: 2 ** 40, nested: { list: [1, 'two', { three: null }], ok: true }, text: 'ünï ✓ 😀' }),
        event('failover', 'core-2:bbbbbbbbbbbb', {}),
      ];
      const seqs = await appendAll(appended);
      expect(seqs[0]).toBeGreaterThan(start);
      expect(seqs[1]).toBeGreaterThan(seqs[0] as number);
      expect(seqs[2]).toBeGreaterThan(seqs[1] as number);
      expect(await events.list(start, 10)).toEqual(appended.map((e, i) => ({ ...e, seq: seqs[i] })));
      expect(await events.list(seqs[0] as number, 10)).toEqual([{ ...appended[1], seq: seqs[1] }, { ...appended[2], seq: seqs[2] }]);
      expect(await events.list(seqs[2] as number, 10)).toEqual([]);
    });

    it('list returns at most `limit` events; zero or negative limits return none', async () => {
      const start = await cursor();
      const seqs = await appendAll(Array.from({ length: 5 }, (_, i) => event('tick', null, { i })));
      expect((await events.list(start, 2)).map((e) => e.seq)).toEqual(seqs.slice(0, 2));
      expect((await events.list(seqs[1] as number, 2)).map((e) => e.seq)).toEqual(seqs.slice(2, 4));
      expect(await events.list(start, 0)).toEqual([]);
      expect(await events.list(start, -3)).toEqual([]);
    });

    it('latest returns the newest `limit` events, oldest first', async () => {
      const seqs = await appendAll(Array.from({ length: 5 }, (_, i) => event('demoted', `n${i}`, { i })));
      const newest = await events.latest(3);
      expect(newest.map((e) => e.seq)).toEqual(seqs.slice(2));
      expect(newest.map((e) => e.data)).toEqual([{ i: 2 }, { i: 3 }, { i: 4 }]);
      expect(await events.latest(0)).toEqual([]);
    });

    it(`reads are bounded by eventLogReadMax (${eventLogReadMax}) whatever the caller asks`, async () => {
      const start = await cursor();
      const count = eventLogReadMax + 5;
      const seqs = await Promise.all(Array.from({ length: count }, (_, i) => events.append(event('bulk', null, { i }))));
      const page = await events.list(start, count + 100);
      expect(page).toHaveLength(eventLogReadMax);
      expect(page[0]?.seq).toBe(Math.min(...seqs));
      expect((await events.list(start, Number.POSITIVE_INFINITY)).length).toBe(eventLogReadMax);
      const newest = await events.latest(count);
      expect(newest).toHaveLength(eventLogReadMax);
      expect(newest[newest.length - 1]?.seq).toBe(Math.max(...seqs));
      // Concurrent appends still get distinct seqs, and reading on from the page's end finds the rest.
      expect(new Set(seqs).size).toBe(count);
      const rest = await events.list(page[page.length - 1]?.seq as number, count);
      expect([...page, ...rest].map((e) => e.seq)).toEqual([...seqs].sort((a, b) => a - b));
    });

    it('a second connection reads what the first appended, and appends of both share one sequence', async () => {
      const other = (await instance.connect()).events;
      const start = await cursor();
      const first = await events.append(event('lease_acquired', 'm1', { by: 'first' }));
      const second = await other.append(event('lease_acquired', 'm2', { by: 'second' }));
      expect(second).toBeGreaterThan(first);
      const seen = await other.list(start, 10);
      expect(seen.map((e) => [e.seq, e.data])).toEqual([
        [first, { by: 'first' }],
        [second, { by: 'second' }],
      ]);
      expect(await events.list(start, 10)).toEqual(seen);
    });
  });
}

function event(kind: string, nodeId: string | null, data: Record<string, unknown>): Omit<ClusterEvent, 'seq'> {
  return { atMs: AT_MS + 1, kind, nodeId, data };
}
