/**
 * A shard-count change (`POST /v1/account/shards`), run by the primary master while traffic goes on
 * (DESIGN.md §2.8). Stop the world, per shard-map generation:
 *
 * 1. hold the master machine's ownership decisions;
 * 2. quiesce: demote every owner of the current generation and wait for its drain (in-flight sends
 *    are acknowledged and recorded, so few are sent twice);
 * 3. fence: `beginGeneration` retires the old generation (every old epoch bumped, owners cleared) and
 *    creates the new one, `changing`, every shard unowned with a fresh epoch. Webapps insert only into
 *    a generation that is open at their commit (`MessageStore.generationOpen`), so from here on every
 *    new message goes to the new generation;
 * 4. prepare: tell the network the new count (it closes every connection of the account), then move
 *    every message still `accepted` in an older generation to the new one, to the shard its recipient
 *    hashes to now — `seq` kept, so each recipient's order is kept — and every pending webhook to the
 *    shard its contact hashes to now;
 * 5. release the machine: it promotes one coreapp per new shard; once every shard is served the
 *    generation becomes `active` and the account records the new count.
 *
 * Step 4 is idempotent and runs before the machine may see a `changing` generation (also after a
 * takeover by another master mid-change), so no new primary sends before every older message waits
 * in its new shard.
 */
import type { Logger } from 'pino';
import { ACCOUNT_SETTINGS_KEY, accountFromStored } from '../../core/account.js';
import { SHARD_COUNTS, storeBatchSizeMax, type ShardCount } from '../../core/limits.js';
import { shardOf } from '../../core/shard-hash.js';
import type { Clock } from '../../ports/clock.js';
import { NotPrimaryMasterError, ShardChangeRefusedError, type ClusterTransport } from '../../ports/cluster-transport.js';
import type { ShardMap } from '../../ports/shard-map-store.js';
import type { Stores } from '../../ports/stores.js';
import type { UpstreamAccounts } from '../../ports/upstream-client.js';
import { withDeadline } from '../gateway/bounded.js';
import { readTopology } from '../gateway/cluster-topology.js';

/** How long the quiesce waits for one owner's drain. */
const quiesceDeadlineMs = 10_000;
/** How long a change waits for every new shard to be served before it reports failure (it goes on converging). */
const serveDeadlineMs = 90_000;

export interface ShardCountChangeDeps {
  readonly stores: Stores;
  readonly clock: Clock;
  readonly transport: ClusterTransport;
  readonly accounts: UpstreamAccounts | null;
  readonly logger: Logger;
  readonly isPrimary: () => boolean;
  readonly dbLivenessIntervalS: () => number;
  /** Hold or release the master machine's ownership decisions. */
  readonly hold: (held: boolean) => void;
}

export class ShardCountChange {
  readonly #d: ShardCountChangeDeps;
  /** Generations whose step 4 this process completed. */
  readonly #prepared = new Set<number>();
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: ShardCountChangeDeps) {
    this.#d = deps;
  }

  /** Runs one change at a time; resolves once the new generation serves every shard. */
  change(shards: number): Promise<{ shards: number; generation: number; ms: number }> {
    const run = this.#running.then(
      () => this.#change(shards),
      () => this.#change(shards),
    );
    this.#running = run.catch(() => {});
    return run;
  }

  /**
   * Step 4 for a `changing` generation, once per generation and process; false while it could not be
   * done (the machine must not see the generation until it is).
   */
  async prepare(map: ShardMap): Promise<boolean> {
    const generation = map.generation.generation;
    if (map.generation.state !== 'changing' || this.#prepared.has(generation)) return true;
    const { stores, accounts, clock, logger } = this.#d;
    const account = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
    if (account?.state !== 'registered') return false;
    if (accounts === null) {
      logger.error('a shard-count change is in progress but this master has no --upstream-url: it cannot tell the network');
      return false;
    }
    await accounts.setShards(account.wa_id, account.credentials, map.generation.shards);
    let moved = 0;
    for (;;) {
      const batch = await stores.messages.acceptedBefore(generation, 0, storeBatchSizeMax);
      if (batch.length === 0) break;
      moved += await stores.messages.moveToGeneration(
        batch.map((m) => ({ id: m.id, shard: shardOf(m.recipient, map.generation.shards) })),
        generation,
        clock.nowMs(),
      );
    }
    const callbacks = await this.#moveCallbacks(map.generation.shards);
    this.#prepared.add(generation);
    logger.info({ generation, shards: map.generation.shards, moved, callbacks }, 'shard-count change: the network knows the new count; waiting messages and webhooks moved to their new shards');
    return true;
  }

  /** Pending webhooks go to the shard their contact hashes to now (a contact's queue stays one queue). */
  async #moveCallbacks(shards: ShardCount): Promise<number> {
    let moved = 0;
    let after = 0;
    for (;;) {
      const page = await this.#d.stores.callbacks.pendingPage(after, storeBatchSizeMax);
      if (page.length === 0) return moved;
      const moves = page.flatMap((c) => {
        const shard = shardOf(c.contact, shards);
        return shard === c.shard ? [] : [{ seq: c.seq, shard }];
      });
      if (moves.length > 0) moved += await this.#d.stores.callbacks.moveShards(moves);
      after = page.at(-1)?.seq ?? after;
    }
  }

  /** Activates a `changing` generation once every shard has a connected primary; records the count on the account. */
  async activateIfServed(map: ShardMap): Promise<boolean> {
    if (map.generation.state !== 'changing' || !this.#prepared.has(map.generation.generation)) return map.generation.state === 'active';
    const { stores, clock, logger } = this.#d;
    const topology = await readTopology(stores, this.#d.dbLivenessIntervalS());
    const served = new Set(topology.nodes.filter((n) => n.gateway_status === 'connected' && n.shard !== null).map((n) => n.shard));
    if (!map.assignments.every((a) => served.has(a.shard))) return false;
    // Webhooks enqueued meanwhile by a primary of the old count that had not stopped yet: re-route them too.
    await this.#moveCallbacks(map.generation.shards);
    if (!(await stores.shardMap.activateGeneration(map.generation.generation))) return false;
    const account = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
    if (account?.state === 'registered' && account.shards !== map.generation.shards) {
      await stores.settings.set({ [ACCOUNT_SETTINGS_KEY]: { ...account, shards: map.generation.shards } }, clock.nowMs());
    }
    logger.info({ generation: map.generation.generation, shards: map.generation.shards }, 'shard-count change: every shard is served; the generation is active');
    return true;
  }

  async #change(requested: number): Promise<{ shards: number; generation: number; ms: number }> {
    const { stores, clock, logger, transport } = this.#d;
    if (!(SHARD_COUNTS as readonly number[]).includes(requested)) throw new ShardChangeRefusedError(`shards must be one of ${SHARD_COUNTS.join(', ')}, got ${requested}`);
    const shards = requested as ShardCount;
    if (!this.#d.isPrimary()) throw new NotPrimaryMasterError('this master does not hold the master lease');
    const started = performance.now();
    const current = await stores.shardMap.current();
    if (current === null) throw new ShardChangeRefusedError('the shard map does not exist yet: wait for a primary master to create it');
    const account = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
    if (account?.state !== 'registered') throw new ShardChangeRefusedError('no account is registered');
    if (this.#d.accounts === null) throw new ShardChangeRefusedError('the primary master was started without --upstream-url, so it cannot tell the network the new shard count');
    if (current.generation.shards === shards && current.generation.state === 'active') {
      return { shards, generation: current.generation.generation, ms: 0 };
    }
    const topology = await readTopology(stores, this.#d.dbLivenessIntervalS());
    const healthy = topology.nodes.filter((n) => n.role === 'coreapp' && n.alive).length;
    if (healthy < shards) {
      throw new ShardChangeRefusedError(
        `${shards} shards need at least ${shards} healthy coreapps (one per shard; run ${shards + 1} or more to survive a failure), but ${healthy} ${healthy === 1 ? 'is' : 'are'} healthy`,
      );
    }
    const urls = new Map(topology.nodes.map((n) => [n.node_id, n.internal_url]));
    let next: ShardMap | null;
    this.#d.hold(true);
    try {
      if (current.generation.state === 'active' || current.generation.shards !== shards) {
        // Quiesce: every owner stops (and records what it sent) before the old generation is fenced.
        await Promise.all(
          current.assignments.map(async (a) => {
            const url = a.owner === null ? null : urls.get(a.owner);
            if (!url) return;
            await withDeadline(transport.demote(url, { generation: current.generation.generation, shard: a.shard, epoch: a.epoch, reason: 'shard_count_change' }), quiesceDeadlineMs, 'quiesce').catch(
              (error: unknown) => logger.warn({ err: error, coreapp: a.owner }, 'shard-count change: an owner did not confirm its drain (fencing covers it)'),
            );
          }),
        );
        next = await stores.shardMap.beginGeneration(current.generation.generation, shards, clock.nowMs());
        if (next === null) throw new Error('the shard map changed under this change (another master?); retry');
      } else {
        next = current; // A change to this count is already under way: finish it.
      }
      if (!(await this.prepare(next))) throw new Error('could not prepare the new generation (see the master log); it is retried on every map read');
    } finally {
      this.#d.hold(false);
    }
    const generation = next.generation.generation;
    await stores.events.append({ atMs: await stores.nowMs(), kind: 'shards_changing', nodeId: null, data: { from: current.generation.shards, to: shards, generation } });
    const deadline = performance.now() + serveDeadlineMs;
    for (;;) {
      const map = await stores.shardMap.current();
      if (map === null || map.generation.generation !== generation) throw new Error('the shard map moved on to another generation during the change');
      if (map.generation.state === 'active') break;
      if (!this.#d.isPrimary()) throw new NotPrimaryMasterError('this master lost the lease during the change; the new primary finishes it');
      if (performance.now() > deadline) throw new Error(`not every new shard was served within ${serveDeadlineMs / 1_000} s; the cluster keeps converging`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ms = Math.round(performance.now() - started);
    await stores.events.append({ atMs: await stores.nowMs(), kind: 'shards_changed', nodeId: null, data: { from: current.generation.shards, to: shards, generation, ms } });
    logger.info({ from: current.generation.shards, to: shards, generation, ms }, 'shard-count change done');
    return { shards, generation, ms };
  }
}
