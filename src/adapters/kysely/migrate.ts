/**
 * Versioned migrations. `migrateToLatest` is idempotent and safe when several processes run it at
 * once: on PostgreSQL and MySQL Kysely's migrator holds a database lock for the whole run; on SQLite
 * the run is one transaction, and a process that finds the file busy retries after the other has
 * finished (it then sees the migrations applied and does nothing).
 */
import { Migrator, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { migrationAttemptsMax } from '../../core/limits.js';
import type { Database } from './database.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-callback-order-index.js';
import * as m0003 from './migrations/0003-messages-status-index.js';
import * as m0004 from './migrations/0004-cloud-api.js';

function provider(database: Database): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-initial': { up: (db) => m0001.up(db, database.dialect), down: (db) => m0001.down(db) },
    '0002-callback-order-index': { up: (db) => m0002.up(db), down: (db) => m0002.down(db) },
    '0003-messages-status-index': { up: (db) => m0003.up(db), down: (db) => m0003.down(db) },
    '0004-cloud-api': { up: (db) => m0004.up(db, database.dialect), down: (db) => m0004.down(db) },
  };
  return { getMigrations: async () => migrations };
}

export interface MigrationReport {
  /** Names of the migrations this call applied (empty when the schema was already current). */
  readonly applied: readonly string[];
  /** Every migration the code knows, in order. */
  readonly known: readonly string[];
}

function migrator(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: provider(database),
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
}

/** Errors another migrating process can cause; anything else is a real failure and is thrown. */
function isContention(error: unknown): boolean {
  const text = `${(error as { code?: unknown })?.code ?? ''} ${(error as Error)?.message ?? ''}`;
  return /SQLITE_BUSY|SQLITE_LOCKED|database is locked|deadlock|ER_LOCK|23505|ER_DUP|already exists|duplicate key/i.test(text);
}

export async function migrateToLatest(database: Database, delay = defaultDelay): Promise<MigrationReport> {
  const known = Object.keys(await provider(database).getMigrations());
  let lastError: unknown;
  for (let attempt = 1; attempt <= migrationAttemptsMax; attempt++) {
    const { error, results } = await migrator(database).migrateToLatest();
    if (error === undefined) return { applied: applied(results), known };
    if (!isContention(error)) throw error;
    lastError = error;
    await delay(attempt);
  }
  throw lastError;
}

/** Which migrations are applied, without changing anything. */
export async function migrationStatus(database: Database): Promise<{ readonly name: string; readonly appliedAtMs: number | null }[]> {
  const migrations = await migrator(database).getMigrations();
  return migrations.map((m) => ({ name: m.name, appliedAtMs: m.executedAt ? m.executedAt.getTime() : null }));
}

function applied(results: MigrationResult[] | undefined): string[] {
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

function defaultDelay(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
}
