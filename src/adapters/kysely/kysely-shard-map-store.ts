/**
 * ShardMapStore on SQL. Every change is a compare-and-set inside one transaction: `assign` matches
 * the expected epoch in its WHERE clause, `beginGeneration` retires the current generation with a
 * conditional UPDATE that only one caller can win.
 */
import { sql, type Kysely } from 'kysely';
import type { ShardCount } from '../../core/limits.js';
import { firstEpochs } from '../../core/shard-map.js';
import type { GenerationState, LeaseFence, ShardAssignment, ShardGeneration, ShardMap, ShardMapStore } from '../../ports/shard-map-store.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';
import { unsafeTestFault } from '../unsafe-test-faults.js';

type Db = Kysely<Schema>;

export class KyselyShardMapStore implements ShardMapStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  current(): Promise<ShardMap | null> {
    return readCurrent(this.#database.db);
  }

  async initialize(shards: ShardCount, nowMs: number): Promise<ShardMap> {
    return this.#database.db.transaction().execute(async (trx) => {
      const insert = trx.insertInto('shard_generations').values({ generation: 1, shards, state: 'active', created_at_ms: nowMs });
      const inserted = this.#database.dialect === 'mysql'
        ? await insert.ignore().executeTakeFirst()
        : await insert.onConflict((oc) => oc.column('generation').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) await insertShards(trx, 1, firstEpochs(shards, new Map()), nowMs);
      const map = await readCurrent(trx);
      if (map === null) throw new Error('shard map missing right after initialize');
      return map;
    });
  }

  async assign(generation: number, shard: number, owner: string | null, expectedEpoch: number, nowMs: number, fence?: LeaseFence): Promise<ShardAssignment | null> {
    const update = (db: Db) => {
      let query = db
        .updateTable('shard_map')
        // The deliberately broken build of the fault suite keeps the epoch (docs/faults.md).
        .set({ owner, epoch: unsafeTestFault('no-fencing') ? sql`epoch` : sql`epoch + 1`, updated_at_ms: nowMs })
        .where('generation', '=', generation)
        .where('shard', '=', shard)
        .where('epoch', '=', expectedEpoch)
        .where((eb) =>
          eb.exists(
            eb.selectFrom('shard_generations').select('generation').where('generation', '=', generation).where('state', '<>', 'retired'),
          ),
        );
      if (fence !== undefined) {
        // The lease is judged in the same statement, on the database clock.
        query = query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('leases')
              .select('name')
              .where('name', '=', fence.name)
              .where('holder', '=', fence.holder)
              .where('epoch', '=', fence.epoch)
              .where('expires_at_ms', '>', this.#database.nowMsSql()),
          ),
        );
      }
      return query;
    };
    // One statement where RETURNING exists; on MySQL the update and its read share a transaction.
    if (this.#database.supportsUpdateReturning) {
      const row = await update(this.#database.db).returningAll().executeTakeFirst();
      return row === undefined ? null : toAssignment(row);
    }
    return this.#database.db.transaction().execute(async (trx) => {
      const result = await update(trx).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return null;
      const row = await trx.selectFrom('shard_map').selectAll().where('generation', '=', generation).where('shard', '=', shard).executeTakeFirstOrThrow();
      return toAssignment(row);
    });
  }

  async beginGeneration(fromGeneration: number, shards: ShardCount, nowMs: number): Promise<ShardMap | null> {
    return this.#database.db.transaction().execute(async (trx) => {
      const retired = await trx
        .updateTable('shard_generations')
        .set({ state: 'retired' })
        .where('generation', '=', fromGeneration)
        .where('state', '<>', 'retired')
        .executeTakeFirst();
      if (Number(retired.numUpdatedRows) === 0) return null;
      // Fence the old generation before anything else can read the new one.
      await trx
        .updateTable('shard_map')
        .set({ owner: null, epoch: sql`epoch + 1`, updated_at_ms: nowMs })
        .where('generation', '=', fromGeneration)
        .execute();
      const maxRows = await trx.selectFrom('shard_map').select(['shard', (eb) => eb.fn.max('epoch').as('max_epoch')]).groupBy('shard').execute();
      const maxEpochs = new Map(maxRows.map((r) => [Number(r.shard), Number(r.max_epoch)]));
      const generation = fromGeneration + 1;
      await trx.insertInto('shard_generations').values({ generation, shards, state: 'changing', created_at_ms: nowMs }).execute();
      await insertShards(trx, generation, firstEpochs(shards, maxEpochs), nowMs);
      return readCurrent(trx);
    });
  }

  async activateGeneration(generation: number): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('shard_generations')
      .set({ state: 'active' })
      .where('generation', '=', generation)
      .where('state', '=', 'changing')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

async function insertShards(db: Db, generation: number, epochs: readonly number[], nowMs: number): Promise<void> {
  await db
    .insertInto('shard_map')
    .values(epochs.map((epoch, shard) => ({ generation, shard, owner: null, epoch, updated_at_ms: nowMs })))
    .execute();
}

async function readCurrent(db: Db): Promise<ShardMap | null> {
  const gen = await db.selectFrom('shard_generations').selectAll().orderBy('generation', 'desc').limit(1).executeTakeFirst();
  if (gen === undefined) return null;
  const rows = await db.selectFrom('shard_map').selectAll().where('generation', '=', gen.generation).orderBy('shard').execute();
  const generation: ShardGeneration = {
    generation: Number(gen.generation),
    shards: Number(gen.shards) as ShardCount,
    state: gen.state as GenerationState,
    createdAtMs: Number(gen.created_at_ms),
  };
  return { generation, assignments: rows.map(toAssignment) };
}

function toAssignment(row: Schema['shard_map']): ShardAssignment {
  return {
    generation: Number(row.generation),
    shard: Number(row.shard),
    owner: row.owner,
    epoch: Number(row.epoch),
    updatedAtMs: Number(row.updated_at_ms),
  };
}
