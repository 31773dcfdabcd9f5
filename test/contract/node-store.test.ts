import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewNode, NodeRecord, NodeStore } from '../../src/ports/node-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';
import { waitFor } from '../support/wait-for.js';

/** Code-unit order, which every target must follow whatever its collation. */
const codeUnitOrder = (ids: readonly string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: NodeStore`, () => {
    let instance: TargetInstance;
    let nodes: NodeStore;
    let n = 0;
    const freshId = (host = 'host') => `${host}:${(++n).toString(16).padStart(12, '0')}`;
    const storeNow = () => instance.stores.nowMs();
    /** Waits until the store clock has moved past `ms`, so a later write must carry a larger time. */
    const clockPast = (ms: number) => waitFor(`the store clock to pass ${ms}`, async () => (await storeNow()) > ms, 2_000, 2);

    beforeAll(async () => {
      instance = await target.create();
      nodes = instance.stores.nodes;
    });
    afterAll(async () => instance?.dispose());

    it('registers a node with startedAtMs = lastSeenAtMs = the store clock, and no shard', async () => {
      const id = freshId();
      const before = await storeNow();
      const node = await nodes.register(newNode(id));
      const after = await storeNow();
      expect(node).toEqual({
        id,
        role: 'coreapp',
        hostname: 'host-a',
        internalUrl: 'http://10.0.0.1:9091',
        status: 'secondary',
        shard: null,
        startedAtMs: node.startedAtMs,
        lastSeenAtMs: node.startedAtMs,
      });
      expect(typeof node.startedAtMs).toBe('number');
      expect(node.startedAtMs).toBeGreaterThanOrEqual(before);
      expect(node.startedAtMs).toBeLessThanOrEqual(after);
      expect(await nodes.get(id)).toEqual(node);
    });

    it('register of a known id replaces the whole row: new times, new fields, shard cleared', async () => {
      const id = freshId();
      const first = await nodes.register(newNode(id));
      expect(await nodes.touch(id, { status: 'primary', shard: 5 })).toBe(true);
      await clockPast(first.lastSeenAtMs);
      const again = await nodes.register({ id, role: 'master', hostname: 'host-b', internalUrl: null, status: 'starting' });
      expect(again).toMatchObject({ id, role: 'master', hostname: 'host-b', internalUrl: null, status: 'starting', shard: null });
      expect(again.startedAtMs).toBeGreaterThan(first.startedAtMs);
      expect(again.lastSeenAtMs).toBe(again.startedAtMs);
      expect(await nodes.get(id)).toEqual(again);
      expect((await nodes.list()).nodes.filter((node) => node.id === id)).toEqual([again]);
    });

    it('touch moves lastSeenAtMs to the store clock and keeps everything else', async () => {
      const id = freshId();
      const node = await nodes.register(newNode(id));
      await clockPast(node.lastSeenAtMs);
      expect(await nodes.touch(id)).toBe(true);
      const after = await storeNow();
      const touched = await nodes.get(id);
      expect(touched).toEqual({ ...node, lastSeenAtMs: touched?.lastSeenAtMs });
      expect(touched?.lastSeenAtMs).toBeGreaterThan(node.lastSeenAtMs);
      expect(touched?.lastSeenAtMs).toBeLessThanOrEqual(after);
    });

    it('touch sets status and shard only when given; shard 0 is a shard and null clears it', async () => {
      const id = freshId();
      await nodes.register(newNode(id));
      await nodes.touch(id, { status: 'primary', shard: 3 });
      expect(await nodes.get(id)).toMatchObject({ status: 'primary', shard: 3 });
      await nodes.touch(id, { status: 'demoting' });
      expect(await nodes.get(id)).toMatchObject({ status: 'demoting', shard: 3 });
      await nodes.touch(id, { shard: 0 });
      expect(await nodes.get(id)).toMatchObject({ status: 'demoting', shard: 0 });
      await nodes.touch(id, { shard: null });
      expect(await nodes.get(id)).toMatchObject({ status: 'demoting', shard: null });
    });

    it('touch is true however often it is repeated, even within one millisecond', async () => {
      const id = freshId();
      await nodes.register(newNode(id));
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await nodes.touch(id, { status: 'secondary' }));
      expect(results).toEqual([true, true, true, true, true]);
    });

    it('unknown ids: touch and remove are false, get is null, nothing is created', async () => {
      const id = freshId('nobody');
      expect(await nodes.touch(id)).toBe(false);
      expect(await nodes.touch(id, { status: 'primary', shard: 1 })).toBe(false);
      expect(await nodes.remove(id)).toBe(false);
      expect(await nodes.get(id)).toBeNull();
      expect((await nodes.list()).nodes.some((node) => node.id === id)).toBe(false);
    });

    it('remove deletes the row once', async () => {
      const id = freshId();
      await nodes.register(newNode(id));
      expect(await nodes.remove(id)).toBe(true);
      expect(await nodes.get(id)).toBeNull();
      expect(await nodes.remove(id)).toBe(false);
      expect(await nodes.touch(id)).toBe(false);
    });

    it('lists every node ordered by id in code-unit order, with nowMs from the store clock', async () => {
      // Case and punctuation order differently under case-insensitive or locale collations. (No two ids
      // differ only in case: MariaDB's default collation would take them for the same key.)
      const ids = ['list-B:1', 'list-a:2', 'list-A:1', 'list_a:1', 'list-a:10', 'list-a.1', 'list-b:3'];
      const registered = new Map<string, NodeRecord>();
      for (const id of ids) registered.set(id, await nodes.register(newNode(id)));
      const before = await storeNow();
      const listed = await nodes.list();
      const after = await storeNow();
      const mine = listed.nodes.filter((node) => registered.has(node.id));
      expect(mine.map((node) => node.id)).toEqual(['list-A:1', 'list-B:1', 'list-a.1', 'list-a:10', 'list-a:2', 'list-b:3', 'list_a:1']);
      expect(mine).toEqual(mine.map((node) => registered.get(node.id)));
      expect(listed.nodes.map((node) => node.id)).toEqual(codeUnitOrder(listed.nodes.map((node) => node.id)));
      expect(listed.nowMs).toBeGreaterThanOrEqual(before);
      expect(listed.nowMs).toBeLessThanOrEqual(after);
      for (const node of mine) expect(listed.nowMs).toBeGreaterThanOrEqual(node.lastSeenAtMs);
    });

    it('an empty registry lists no nodes and still reports the store clock', async () => {
      for (const node of (await nodes.list()).nodes) await nodes.remove(node.id);
      const before = await storeNow();
      const listed = await nodes.list();
      expect(listed.nodes).toEqual([]);
      expect(listed.nowMs).toBeGreaterThanOrEqual(before);
      expect(listed.nowMs).toBeLessThanOrEqual(await storeNow());
    });

    it('a second connection sees registrations, touches and removals of the first, and vice versa', async () => {
      const other = (await instance.connect()).nodes;
      const id = freshId();
      const node = await nodes.register(newNode(id));
      expect(await other.get(id)).toEqual(node);
      expect(await other.touch(id, { status: 'primary', shard: 7 })).toBe(true);
      expect(await nodes.get(id)).toMatchObject({ id, status: 'primary', shard: 7, startedAtMs: node.startedAtMs });
      expect((await other.list()).nodes.map((x) => x.id)).toContain(id);
      expect(await other.remove(id)).toBe(true);
      expect(await nodes.get(id)).toBeNull();
    });
  });
}

function newNode(id: string): NewNode {
  return { id, role: 'coreapp', hostname: 'host-a', internalUrl: 'http://10.0.0.1:9091', status: 'secondary' };
}
