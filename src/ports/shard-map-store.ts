/**
 * The shard map: which coreapp owns which shard, under which fencing epoch, for the current
 * generation (one shard count's lifetime). Invariants:
 * - exactly one generation is current; a new generation starts only from the current one (CAS);
 * - per shard id, epochs only grow, across generations too: a new generation's shard k starts
 *   above every epoch shard k ever had;
 * - every change of an assignment bumps its epoch by exactly one and is conditioned on the epoch the
 *   caller read (compare-and-set), so two masters can never both assign a shard.
 */
import type { ShardCount } from '../core/limits.js';

export type GenerationState = 'active' | 'changing' | 'retired';

export interface ShardGeneration {
  readonly generation: number;
  readonly shards: ShardCount;
  readonly state: GenerationState;
  readonly createdAtMs: number;
}

export interface ShardAssignment {
  readonly generation: number;
  readonly shard: number;
  /** Node id of the primary coreapp, or null while the shard has none. */
  readonly owner: string | null;
  readonly epoch: number;
  readonly updatedAtMs: number;
}

export interface ShardMap {
  readonly generation: ShardGeneration;
  /** One entry per shard 0..shards-1, ordered by shard. */
  readonly assignments: readonly ShardAssignment[];
}

/**
 * A promotion decided under a lease: the write happens only if lease `name` is still held by
 * `holder` under `epoch` and unexpired by the store's clock, in the same statement as the epoch CAS,
 * so a master deposed between its decision and its write cannot write.
 */
export interface LeaseFence {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
}

export interface ShardMapStore {
  /** The current generation and its assignments, or null before `initialize`. */
  current(): Promise<ShardMap | null>;
  /** Creates generation 1 with `shards` unowned shards (epoch 1) unless a generation exists. */
  initialize(shards: ShardCount, nowMs: number): Promise<ShardMap>;
  /**
   * Sets the owner of one shard of `generation` if its epoch is still `expectedEpoch`; the epoch
   * becomes `expectedEpoch + 1`. Returns the new assignment, or null if the CAS failed (the epoch
   * moved, the generation is not current, or the shard does not exist) or the lease `fence` (when
   * given) no longer holds.
   */
  assign(generation: number, shard: number, owner: string | null, expectedEpoch: number, nowMs: number, fence?: LeaseFence): Promise<ShardAssignment | null>;
  /**
   * Starts a new generation with `shards` shards from `fromGeneration` if it is still current: the
   * old generation is fenced (every shard's epoch bumped, owner cleared) and becomes `retired`, the
   * new one `changing`, every new shard unowned with an epoch above any its id had. Returns the new
   * map, or null if `fromGeneration` is not current.
   */
  beginGeneration(fromGeneration: number, shards: ShardCount, nowMs: number): Promise<ShardMap | null>;
  /** Moves a `changing` generation to `active`. False if it is not the current changing one. */
  activateGeneration(generation: number): Promise<boolean>;
}
