import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingsStore } from '../../src/ports/settings-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const NOW_MS = 1_700_000_000_000;

/** Values whose JSON round trip is exact; nested, unicode, and numbers past 32 bits. */
const NESTED = {
  url: 'https://hooks.example.com/cb?x=1&y=ä',
  headers: [{ name: 'X-Trace', value: 'ünïcödé ✓ 😀' }],
  limits: { max: Number.MAX_SAFE_INTEGER, ratio: 0.1, negative: -42, zero: 0 },
  flags: [true, false, null],
  empty: { list: [], object: {} },
};

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: SettingsStore`, () => {
    let instance: TargetInstance;
    let settings: SettingsStore;
    let n = 0;
    const fresh = (what: string) => `${what}.${++n}`;
    const version = async () => (await settings.snapshot()).version;

    beforeAll(async () => {
      instance = await target.create();
      settings = instance.stores.settings;
    });
    afterAll(async () => instance?.dispose());

    it('a store nothing was written to has version 0 and no values', async () => {
      const empty = await target.create();
      try {
        expect(await empty.stores.settings.snapshot()).toEqual({ version: 0, values: {} });
        expect(await empty.stores.settings.get('webhooks.url')).toBeUndefined();
      } finally {
        await empty.dispose();
      }
    });

    it('set writes every key under one new version and round-trips nested JSON', async () => {
      const before = await version();
      const [a, b, c, d] = [fresh('a'), fresh('b'), fresh('c'), fresh('d')];
      const written = await settings.set({ [a]: NESTED, [b]: 'text', [c]: 0, [d]: null }, NOW_MS);
      expect(written).toBe(before + 1);
      const snapshot = await settings.snapshot();
      expect(snapshot.version).toBe(written);
      expect(snapshot.values).toMatchObject({ [a]: NESTED, [b]: 'text', [c]: 0, [d]: null });
      expect(await settings.get(a)).toEqual(NESTED);
      expect(await settings.get(c)).toBe(0);
      expect(await settings.get(d)).toBeNull();
      expect(await settings.get(fresh('missing'))).toBeUndefined();
    });

    it('every write bumps the version by one, also rewriting the same value', async () => {
      const key = fresh('k');
      const v1 = await settings.set({ [key]: 1 }, NOW_MS);
      const v2 = await settings.set({ [fresh('other')]: 2 }, NOW_MS);
      const v3 = await settings.set({ [key]: 1 }, NOW_MS);
      expect([v2, v3]).toEqual([v1 + 1, v1 + 2]);
      expect(await version()).toBe(v3);
    });

    it('set overwrites the given keys and keeps the others', async () => {
      const [keep, change] = [fresh('keep'), fresh('change')];
      await settings.set({ [keep]: { a: 1 }, [change]: [1, 2] }, NOW_MS);
      await settings.set({ [change]: { replaced: true } }, NOW_MS);
      expect(await settings.get(keep)).toEqual({ a: 1 });
      expect(await settings.get(change)).toEqual({ replaced: true });
    });

    it('remove deletes keys and bumps the version, even when it removes the newest key', async () => {
      const [old, newest] = [fresh('old'), fresh('newest')];
      await settings.set({ [old]: 'o' }, NOW_MS);
      const written = await settings.set({ [newest]: 'n' }, NOW_MS);
      const removed = await settings.remove([newest], NOW_MS);
      expect(removed).toBe(written + 1);
      expect(await version()).toBe(removed);
      expect(await settings.get(newest)).toBeUndefined();
      expect(Object.keys((await settings.snapshot()).values)).not.toContain(newest);
      expect(await settings.get(old)).toBe('o');
      // Removing what is not there is still a write: it gets a version of its own.
      expect(await settings.remove([fresh('absent')], NOW_MS)).toBe(removed + 1);
    });

    it('removing every key leaves no values but keeps the version counting up', async () => {
      const keys = Object.keys((await settings.snapshot()).values);
      const before = await version();
      const after = await settings.remove(keys, NOW_MS);
      expect(after).toBe(before + 1);
      expect(await settings.snapshot()).toEqual({ version: after, values: {} });
      expect(await settings.set({ [fresh('again')]: true }, NOW_MS)).toBe(after + 1);
    });

    it('refuses the reserved name and values without a JSON encoding, writing nothing', async () => {
      const before = await settings.snapshot();
      const ok = fresh('ok');
      await expect(settings.set({ [ok]: 1, bad: undefined }, NOW_MS)).rejects.toThrow(/bad/);
      await expect(settings.set({ [ok]: 1, fn: () => 1 }, NOW_MS)).rejects.toThrow();
      await expect(settings.set({ [ok]: 1, big: 1n }, NOW_MS)).rejects.toThrow();
      await expect(settings.set({ [ok]: 1, __version: 7 }, NOW_MS)).rejects.toThrow(/reserved/);
      await expect(settings.remove(['__version'], NOW_MS)).rejects.toThrow(/reserved/);
      expect(await settings.snapshot()).toEqual(before);
      expect(await settings.get('__version')).toBeUndefined();
    });

    it('a key named __proto__ is an ordinary setting', async () => {
      await settings.set({ ['__proto__']: { polluted: true } }, NOW_MS);
      const { values } = await settings.snapshot();
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(values, '__proto__')?.value).toEqual({ polluted: true });
      await settings.remove(['__proto__'], NOW_MS);
    });

    it('a second connection sees the values and version the first wrote, and vice versa', async () => {
      const other = (await instance.connect()).settings;
      const key = fresh('shared');
      const v1 = await settings.set({ [key]: NESTED }, NOW_MS);
      expect(await other.get(key)).toEqual(NESTED);
      expect((await other.snapshot()).version).toBe(v1);
      const v2 = await other.remove([key], NOW_MS);
      expect(v2).toBe(v1 + 1);
      expect(await settings.get(key)).toBeUndefined();
      expect(await version()).toBe(v2);
    });

    it('concurrent writers get distinct, consecutive versions and no write is lost', async () => {
      const before = await version();
      const writes = Array.from({ length: 24 }, (_, i) => ({ key: fresh('race'), value: i }));
      const versions = await Promise.all(
        writes.map((w, i) => (i % 3 === 2 ? settings.remove([fresh('gone')], NOW_MS) : settings.set({ [w.key]: w.value }, NOW_MS))),
      );
      expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 24 }, (_, i) => before + 1 + i));
      const snapshot = await settings.snapshot();
      expect(snapshot.version).toBe(before + 24);
      for (const [i, w] of writes.entries()) if (i % 3 !== 2) expect(snapshot.values[w.key]).toBe(w.value);
    });
  });
}
