/** The in-memory twin of KyselyShardMapStore. */
import type { ShardCount } from '../../core/limits.js';
import { firstEpochs } from '../../core/shard-map.js';
import type { LeaseFence, ShardAssignment, ShardGeneration, ShardMap, ShardMapStore } from '../../ports/shard-map-store.js';

export class MemoryShardMapStore implements ShardMapStore {
  readonly #generations: ShardGeneration[] = [];
  /** Key `${generation}:${shard}`. */
  readonly #assignments = new Map<string, ShardAssignment>();
  readonly #leaseHolds: (fence: LeaseFence) => boolean;

  /** `leaseHolds` judges a promotion's lease fence (the memory lease store's view); absent: never holds. */
  constructor(leaseHolds: (fence: LeaseFence) => boolean = () => false) {
    this.#leaseHolds = leaseHolds;
  }

  async current(): Promise<ShardMap | null> {
    return this.#currentMap();
  }

  async initialize(shards: ShardCount, nowMs: number): Promise<ShardMap> {
    const existing = this.#currentMap();
    if (existing !== null) return existing;
    this.#createGeneration(1, shards, 'active', nowMs, new Map());
    return this.#currentMap() as ShardMap;
  }

  async assign(generation: number, shard: number, owner: string | null, expectedEpoch: number, nowMs: number, fence?: LeaseFence): Promise<ShardAssignment | null> {
    if (fence !== undefined && !this.#leaseHolds(fence)) return null;
    const gen = this.#generations.find((g) => g.generation === generation);
    const key = `${generation}:${shard}`;
    const row = this.#assignments.get(key);
    if (gen === undefined || gen.state === 'retired' || row === undefined || row.epoch !== expectedEpoch) return null;
    const next = { ...row, owner, epoch: row.epoch + 1, updatedAtMs: nowMs };
    this.#assignments.set(key, next);
    return next;
  }

  async beginGeneration(fromGeneration: number, shards: ShardCount, nowMs: number): Promise<ShardMap | null> {
    const current = this.#generations.at(-1);
    if (current === undefined || current.generation !== fromGeneration || current.state === 'retired') return null;
    this.#generations[this.#generations.length - 1] = { ...current, state: 'retired' };
    // Fence the old generation: every shard gets a new epoch and loses its owner.
    for (const [key, row] of this.#assignments) {
      if (row.generation === fromGeneration) this.#assignments.set(key, { ...row, owner: null, epoch: row.epoch + 1, updatedAtMs: nowMs });
    }
    const maxEpochs = new Map<number, number>();
    for (const row of this.#assignments.values()) maxEpochs.set(row.shard, Math.max(maxEpochs.get(row.shard) ?? 0, row.epoch));
    this.#createGeneration(fromGeneration + 1, shards, 'changing', nowMs, maxEpochs);
    return this.#currentMap();
  }

  async activateGeneration(generation: number): Promise<boolean> {
    const current = this.#generations.at(-1);
    if (current === undefined || current.generation !== generation || current.state !== 'changing') return false;
    this.#generations[this.#generations.length - 1] = { ...current, state: 'active' };
    return true;
  }

  /**
   * The epoch of a shard of the current generation, or null when `generation` is not current or the
   * shard does not exist. Synchronous so that the memory MessageStore can fence without interleaving.
   */
  isOpen(generation: number): boolean {
    const gen = this.#generations.find((g) => g.generation === generation);
    return gen !== undefined && gen.state !== 'retired';
  }

  currentEpoch(generation: number, shard: number): number | null {
    const current = this.#generations.at(-1);
    if (current === undefined || current.generation !== generation || current.state === 'retired') return null;
    return this.#assignments.get(`${generation}:${shard}`)?.epoch ?? null;
  }

  #createGeneration(generation: number, shards: ShardCount, state: 'active' | 'changing', nowMs: number, maxEpochs: ReadonlyMap<number, number>): void {
    this.#generations.push({ generation, shards, state, createdAtMs: nowMs });
    firstEpochs(shards, maxEpochs).forEach((epoch, shard) => {
      this.#assignments.set(`${generation}:${shard}`, { generation, shard, owner: null, epoch, updatedAtMs: nowMs });
    });
  }

  #currentMap(): ShardMap | null {
    const generation = this.#generations.at(-1);
    if (generation === undefined) return null;
    const assignments: ShardAssignment[] = [];
    for (let shard = 0; shard < generation.shards; shard++) {
      const row = this.#assignments.get(`${generation.generation}:${shard}`);
      if (row !== undefined) assignments.push(row);
    }
    return { generation, assignments };
  }
}
