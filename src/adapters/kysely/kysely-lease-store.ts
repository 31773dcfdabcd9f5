/**
 * LeaseStore on SQL. Each operation is one conditional UPDATE judged by the database clock, so two
 * contenders can never both see themselves as holder: the row lock (or SQLite's single writer)
 * serialises them and the loser's WHERE no longer matches. The rules are those of `core/lease.ts`.
 */
import { sql, type Kysely, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { LeaseState, LeaseStore } from '../../ports/lease-store.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';

interface LeaseRowSql {
  holder: string | null;
  epoch: number | string | bigint;
  expires_at_ms: number | string | bigint;
}

export class KyselyLeaseStore implements LeaseStore {
  readonly #database: Database;
  readonly #ensured = new Set<string>();

  constructor(database: Database) {
    this.#database = database;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    await this.#ensureRow(name);
    const now = this.#database.nowMsSql();
    return this.#update(name, holder, ttlMs, (db) =>
      db
        .updateTable('leases')
        // MySQL evaluates assignments left to right: the epoch must be computed before the holder changes.
        .set({
          epoch: sql`case when holder = ${holder} then epoch else epoch + 1 end`,
          holder,
          expires_at_ms: sql`${now} + ${ttlMs}`,
        })
        .where('name', '=', name)
        .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at_ms', '<=', now)])),
    );
  }

  async renew(name: string, holder: string, ttlMs: number): Promise<LeaseState> {
    const now = this.#database.nowMsSql();
    return this.#update(name, holder, ttlMs, (db) =>
      db
        .updateTable('leases')
        .set({ expires_at_ms: sql`${now} + ${ttlMs}` })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .where('expires_at_ms', '>', now),
    );
  }

  async release(name: string, holder: string): Promise<LeaseState> {
    const now = this.#database.nowMsSql();
    const state = await this.#update(name, holder, 0, (db) =>
      db.updateTable('leases').set({ holder: null, expires_at_ms: now }).where('name', '=', name).where('holder', '=', holder),
    );
    // After a release nobody holds the lease; report the release instant as its end.
    return { ...state, held: false };
  }

  async read(name: string): Promise<LeaseState | null> {
    const row = await this.#readRow(this.#database.db, name);
    if (row === undefined) return null;
    const expiresAtMs = Number(row.expires_at_ms);
    const nowMs = Number(row.now_ms);
    return {
      held: row.holder !== null && expiresAtMs > nowMs,
      holder: row.holder,
      epoch: Number(row.epoch),
      expiresAtMs,
      observedAtMs: nowMs,
    };
  }

  /**
   * Runs a conditional UPDATE for `holder` and reports the outcome. With RETURNING (SQLite,
   * PostgreSQL) the update reports its own row; on MySQL the update and the read share a transaction
   * so the row cannot change between them.
   */
  async #update(
    name: string,
    holder: string,
    ttlMs: number,
    build: (db: Db) => UpdateBuilder,
  ): Promise<LeaseState> {
    if (this.#database.supportsUpdateReturning) {
      const granted = (await build(this.#database.db)
        .returning(['holder', 'epoch', 'expires_at_ms'])
        .executeTakeFirst()) as LeaseRowSql | undefined;
      if (granted !== undefined) return grantedState(granted, holder, ttlMs);
      return this.#refused(this.#database.db, name);
    }
    return this.#database.db.transaction().execute(async (trx) => {
      const result = await build(trx).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return this.#refused(trx, name);
      const row = await this.#readRow(trx, name);
      if (row === undefined) throw new Error(`lease ${name} vanished inside its own transaction`);
      return grantedState(row, holder, ttlMs);
    });
  }

  /** The caller's condition did not match: report who holds the lease instead. */
  async #refused(db: Db, name: string): Promise<LeaseState> {
    const row = await this.#readRow(db, name);
    if (row === undefined) return { held: false, holder: null, epoch: 0, expiresAtMs: 0, observedAtMs: 0 };
    return {
      held: false,
      holder: row.holder,
      epoch: Number(row.epoch),
      expiresAtMs: Number(row.expires_at_ms),
      observedAtMs: Number(row.now_ms),
    };
  }

  #readRow(db: Db, name: string) {
    return db
      .selectFrom('leases')
      .select(['holder', 'epoch', 'expires_at_ms', this.#database.nowMsSql().as('now_ms')])
      .where('name', '=', name)
      .executeTakeFirst();
  }

  /** Creates the lease's row (unheld, epoch 0) once, so that every later operation is an UPDATE. */
  async #ensureRow(name: string): Promise<void> {
    if (this.#ensured.has(name)) return;
    const insert = this.#database.db.insertInto('leases').values({ name, holder: null, epoch: 0, expires_at_ms: 0 });
    if (this.#database.dialect === 'mysql') await insert.ignore().execute();
    else await insert.onConflict((oc) => oc.column('name').doNothing()).execute();
    this.#ensured.add(name);
  }
}

type Db = Kysely<Schema>;
type UpdateBuilder = UpdateQueryBuilder<Schema, 'leases', 'leases', UpdateResult>;

function grantedState(row: LeaseRowSql, holder: string, ttlMs: number): LeaseState {
  const expiresAtMs = Number(row.expires_at_ms);
  return { held: row.holder === holder, holder: row.holder, epoch: Number(row.epoch), expiresAtMs, observedAtMs: expiresAtMs - ttlMs };
}
