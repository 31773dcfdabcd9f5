import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import { createMemoryStores } from '../../src/adapters/memory/memory-stores.js';
import { ACCOUNT_SETTINGS_KEY } from '../../src/core/account.js';
import { routingCacheMs } from '../../src/core/limits.js';
import { RoutingCache } from '../../src/roles/webapp/routing-cache.js';
import { waitForValue } from '../support/wait-for.js';

const registered = { state: 'registered', wa_id: '16315550000', cc: '1', phone_number: '6315550000', credentials: 'c', shards: 1, registered_at_ms: 0 };

describe('RoutingCache', () => {
  it('re-reads until the account is usable, then serves it, refreshed in the background every routingCacheMs', async () => {
    const clock = new ManualClock();
    const stores = createMemoryStores(clock);
    const cache = new RoutingCache(stores, clock);
    expect(await cache.get()).toEqual({ account: null, map: null });
    await stores.settings.set({ [ACCOUNT_SETTINGS_KEY]: registered }, clock.nowMs());
    expect((await cache.get()).map).toBeNull(); // Not usable yet: nothing cached.
    await stores.shardMap.initialize(1, clock.nowMs());
    const first = await cache.get();
    expect(first.map?.generation.shards).toBe(1);
    const next = await stores.shardMap.beginGeneration(1, 2, clock.nowMs());
    expect(next).not.toBeNull();
    expect(await cache.get()).toBe(first); // Within the window: the cached answer.
    clock.advance(routingCacheMs);
    // Past the window: the held answer serves while a read runs in the background, then the new one.
    expect(await cache.get()).toBe(first);
    await waitForValue(async () => (await cache.get()).map?.generation.shards, (n) => n === 2, 'the background read to land');
    await stores.shardMap.beginGeneration(2, 4, clock.nowMs());
    cache.invalidate();
    expect((await cache.get()).map?.generation.shards).toBe(4);
  });
});
