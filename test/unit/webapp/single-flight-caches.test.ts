/**
 * The webapp's per-request caches read the store once for many concurrent requests: a slow database
 * must not receive one read per request while a cached answer is being refreshed.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { Stores } from '../../../src/ports/stores.js';
import type { UserStore } from '../../../src/ports/user-store.js';
import { AuthCache } from '../../../src/roles/webapp/auth-cache.js';
import { authenticateBearer } from '../../../src/roles/webapp/request-auth.js';
import { newToken } from '../../../src/roles/webapp/api-tokens.js';
import { RoutingCache } from '../../../src/roles/webapp/routing-cache.js';
import { waitForValue } from '../../support/wait-for.js';

/** A promise the test settles by hand, and a count of the calls that waited on it. */
function gate(): { readonly wait: () => Promise<void>; readonly open: () => void; calls: number } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const g = { calls: 0, open: () => open(), wait: async () => { g.calls++; await opened; } };
  return g;
}

describe('single-flight caches', () => {
  it('RoutingCache: concurrent requests share one read; an invalidation during it is not undone by it', async () => {
    const clock = new ManualClock(1_000);
    const reads = gate();
    const account = { state: 'registered', wa_id: '16505550100', credentials: 'c', shards: 1 };
    const map = { generation: { generation: 1, shards: 1, state: 'active' }, assignments: [] };
    const stores = {
      settings: { get: async () => (await reads.wait(), account) },
      shardMap: { current: async () => map },
    } as unknown as Stores;
    const cache = new RoutingCache(stores, clock);
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get()));
    reads.open();
    const answers = await all;
    expect(reads.calls).toBe(1);
    expect(new Set(answers).size).toBe(1);
    await cache.get();
    expect(reads.calls).toBe(1); // cached
    cache.invalidate();
    await cache.get();
    expect(reads.calls).toBe(2);
  });

  it('RoutingCache: once it holds an answer, a slow refresh holds no request; its failure is not thrown at anyone', async () => {
    const clock = new ManualClock(1_000);
    const account = { state: 'registered', wa_id: '16505550100', credentials: 'c', shards: 1 };
    const map = { generation: { generation: 1, shards: 1, state: 'active' }, assignments: [] };
    let slow: ReturnType<typeof gate> | null = null;
    const stores = {
      settings: { get: async () => (await slow?.wait(), account) },
      shardMap: { current: async () => map },
    } as unknown as Stores;
    const cache = new RoutingCache(stores, clock);
    const first = await cache.get();
    slow = gate();
    clock.advance(60_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(answers.every((a) => a === first)).toBe(true);
    expect(slow.calls).toBe(1);
    slow.open();
    const refreshed = await waitForValue(() => cache.get(), (r) => r !== first, 'the refresh to land');
    // A failing refresh: requests keep the held answer, and the rejection reaches no one (vitest
    // fails the run on an unhandled rejection).
    const failing = { calls: 0, open: () => undefined, wait: async () => { failing.calls++; throw new Error('database down'); } };
    slow = failing;
    clock.advance(60_000);
    expect(await cache.get()).toBe(refreshed);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failing.calls).toBe(1);
  });

  it('AuthCache: requests with one token share one verification; its failure reaches each of them', async () => {
    const clock = new ManualClock(1_000);
    const lookups = gate();
    let known = true;
    const users = {
      findToken: async () => (await lookups.wait(), known ? { username: 'alice', expiresAtMs: 1_000_000, revoked: false } : null),
      getUser: async () => ({ username: 'alice', role: 'user', mustChangePassword: false }),
    } as unknown as UserStore;
    const cache = new AuthCache();
    const { token } = newToken();
    const header = `Bearer ${token}`;
    const all = Promise.all(Array.from({ length: 20 }, () => authenticateBearer(header, users, clock, cache)));
    lookups.open();
    expect((await all).every((u) => u.username === 'alice')).toBe(true);
    expect(lookups.calls).toBe(1);
    clock.advance(60_000); // past the cache window: verified again, and now unknown
    known = false;
    const failing = await Promise.allSettled(Array.from({ length: 5 }, () => authenticateBearer(header, users, clock, cache)));
    expect(failing.every((r) => r.status === 'rejected')).toBe(true);
    expect(lookups.calls).toBe(2);
  });
});
