/**
 * The targets every contract suite runs against: the in-memory twins, SQLite (always), PostgreSQL
 * (when SHARDGATE_TEST_POSTGRES_URL is set) and MySQL/MariaDB (when SHARDGATE_TEST_MYSQL_URL is set).
 * Each suite gets a database of its own (a temporary SQLite file, or a freshly created PostgreSQL /
 * MySQL database that is dropped afterwards), so suites run in parallel without seeing each other.
 *
 * Under CI (CI=true) a missing URL or an unreachable server fails the run instead of skipping:
 * CI must prove every dialect.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/adapters/kysely/database.js';
import { createKyselyStores } from '../../src/adapters/kysely/kysely-stores.js';
import { migrateToLatest } from '../../src/adapters/kysely/migrate.js';
import { createMemoryStores } from '../../src/adapters/memory/memory-stores.js';
import { SystemClock } from '../../src/adapters/memory/system-clock.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../../src/core/config.js';
import type { Stores } from '../../src/ports/stores.js';

export type TargetName = 'memory' | 'sqlite' | 'postgres' | 'mysql';

/** One freshly created, migrated database (or memory world) for one suite. */
export interface TargetInstance {
  readonly stores: Stores;
  /** Opens another, independent connection to the same data (for races). Memory returns the same stores. */
  connect(): Promise<Stores>;
  /** The open Database, for suites that need raw SQL (null for memory). */
  readonly database: Database | null;
  readonly location: DatabaseLocation | null;
  /** Closes every connection opened through this instance and drops the database. */
  dispose(): Promise<void>;
}

export interface ContractTarget {
  readonly name: TargetName;
  /** Null when the target can run; otherwise why it is skipped. */
  readonly skipReason: string | null;
  create(): Promise<TargetInstance>;
}

const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';

function envUrl(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function serverTarget(name: 'postgres' | 'mysql', envName: string): ContractTarget {
  const adminUrl = envUrl(envName);
  if (adminUrl === undefined) {
    if (ci) throw new Error(`${envName} is not set: CI must run the ${name} contract suites (see .ci/run)`);
    return { name, skipReason: `${envName} is not set`, create: () => Promise.reject(new Error('skipped')) };
  }
  return { name, skipReason: null, create: () => createServerInstance(name, adminUrl) };
}

async function createServerInstance(name: 'postgres' | 'mysql', adminUrl: string): Promise<TargetInstance> {
  const dbName = `shardgate_t_${randomBytes(6).toString('hex')}`;
  const admin = openDatabase(parseDatabaseUrl(adminUrl), { poolSize: 1 });
  try {
    await sql`create database ${sql.id(dbName)}`.execute(admin.db);
  } catch (error) {
    await admin.close();
    throw new Error(`cannot create a test database on ${admin.description} (${envNameOf(name)}): ${(error as Error).message}`, { cause: error });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const location = parseDatabaseUrl(url.toString());
  return instanceFor(location, async () => {
    await sql`drop database if exists ${sql.id(dbName)}${name === 'postgres' ? sql` with (force)` : sql``}`.execute(admin.db);
    await admin.close();
  });
}

function envNameOf(name: 'postgres' | 'mysql'): string {
  return name === 'postgres' ? 'SHARDGATE_TEST_POSTGRES_URL' : 'SHARDGATE_TEST_MYSQL_URL';
}

async function instanceFor(location: DatabaseLocation, drop: () => Promise<void>): Promise<TargetInstance> {
  const database = openDatabase(location);
  await migrateToLatest(database);
  const opened: Stores[] = [];
  const stores = createKyselyStores(database);
  opened.push(stores);
  return {
    stores,
    database,
    location,
    connect: async () => {
      const extra = createKyselyStores(openDatabase(location, { poolSize: 2 }));
      opened.push(extra);
      return extra;
    },
    dispose: async () => {
      for (const s of opened) await s.close();
      await drop();
    },
  };
}

const sqliteTarget: ContractTarget = {
  name: 'sqlite',
  skipReason: null,
  create: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-contract-'));
    return instanceFor({ dialect: 'sqlite', path: join(dir, 'test.db') }, async () => rmSync(dir, { recursive: true, force: true }));
  },
};

const memoryTarget: ContractTarget = {
  name: 'memory',
  skipReason: null,
  create: async () => {
    const stores = createMemoryStores(new SystemClock());
    return { stores, database: null, location: null, connect: async () => stores, dispose: () => stores.close() };
  },
};

/** Every target, in a fixed order; suites loop over this (`for (const target of CONTRACT_TARGETS)`). */
export const CONTRACT_TARGETS: readonly ContractTarget[] = [
  memoryTarget,
  sqliteTarget,
  serverTarget('postgres', 'SHARDGATE_TEST_POSTGRES_URL'),
  serverTarget('mysql', 'SHARDGATE_TEST_MYSQL_URL'),
];

/** The SQL targets only (for suites about migrations and the schema). */
export const SQL_TARGETS: readonly ContractTarget[] = CONTRACT_TARGETS.filter((t) => t.name !== 'memory');
