/**
 * What every send needs to route a message — the registered account and the current shard map —
 * read once per `routingCacheMs` instead of on every request (four queries a message otherwise).
 * Only a usable answer (a registered account and a shard map) is kept: "not registered yet" is
 * re-read every time, so a registration shows at once. Once the answer is older than
 * `routingCacheMs` it is read again in the background, and served until that read returns. A
 * shard-count change is fenced by generation downstream (an insert into a retired generation is
 * refused and routed again), so routing on a slightly old map never loses a message.
 */
import { accountFromStored, ACCOUNT_SETTINGS_KEY, type AccountRecord } from '../../core/account.js';
import { routingCacheMs } from '../../core/limits.js';
import type { Clock } from '../../ports/clock.js';
import type { ShardMap } from '../../ports/shard-map-store.js';
import type { Stores } from '../../ports/stores.js';

export interface Routing {
  readonly account: AccountRecord | null;
  readonly map: ShardMap | null;
}

export class RoutingCache {
  readonly #stores: Stores;
  readonly #clock: Clock;
  #cached: { readonly routing: Routing; readonly atMs: number } | null = null;
  #reading: Promise<Routing> | null = null;
  /** Counts invalidations, so that a read begun before one is not cached after it. */
  #generation = 0;

  constructor(stores: Stores, clock: Clock) {
    this.#stores = stores;
    this.#clock = clock;
  }

  async get(): Promise<Routing> {
    const now = this.#clock.nowMs();
    const cached = this.#cached;
    if (cached !== null && now - cached.atMs < routingCacheMs) return cached.routing;
    // One read at a time: the requests arriving while it runs share it (a slow database must not
    // receive a read per request). While it runs, a usable answer already held is served: a slow
    // database then delays the refresh, not every request.
    if (this.#reading === null) {
      const reading: Promise<Routing> = this.#read(now).finally(() => {
        if (this.#reading === reading) this.#reading = null;
      });
      this.#reading = reading;
      // Failures of a background refresh are seen by the request that waits on a later one.
      if (cached !== null) reading.catch(() => undefined);
    }
    return cached?.routing ?? this.#reading;
  }

  async #read(now: number): Promise<Routing> {
    const generation = this.#generation;
    const [stored, map] = await Promise.all([this.#stores.settings.get(ACCOUNT_SETTINGS_KEY), this.#stores.shardMap.current()]);
    const routing = { account: accountFromStored(stored), map };
    // A read that began before an invalidation may be stale: answer with it, but do not keep it.
    if (generation === this.#generation) this.#cached = routing.account?.state === 'registered' && map !== null ? { routing, atMs: now } : null;
    return routing;
  }

  /** Forget the cached answer (this webapp just changed the account, or a generation was retired). */
  invalidate(): void {
    this.#cached = null;
    this.#reading = null;
    this.#generation++;
  }
}
