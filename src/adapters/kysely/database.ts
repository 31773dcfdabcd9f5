/**
 * Opens the database named by the configuration. This is the one place that turns a
 * `DatabaseLocation` into a Kysely dialect; stores receive the resulting `Database` and ask it for
 * dialect-specific SQL fragments (the database clock) instead of switching on the dialect themselves.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, sql, type RawBuilder } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import type { DatabaseLocation, Dialect } from '../../core/config.js';
import { sqliteBusySliceMs, sqliteBusyTimeoutMs, sqliteStatementCacheMax } from '../../core/limits.js';
import type { Schema } from './schema.js';
import { SharedFileSqliteDialect } from './sqlite-driver.js';

export interface DatabaseOptions {
  /** Most connections the pool opens (PostgreSQL, MySQL). SQLite always uses one per Database. */
  readonly poolSize?: number;
}

export class Database {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** A human-readable name without secrets, for logs. */
  readonly description: string;

  constructor(db: Kysely<Schema>, dialect: Dialect, description: string) {
    this.db = db;
    this.dialect = dialect;
    this.description = description;
  }

  /** SQL for "now" on the database clock, in integer milliseconds since the Unix epoch. */
  nowMsSql(): RawBuilder<number> {
    switch (this.dialect) {
      case 'sqlite':
        return sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
      case 'postgres':
        return sql<number>`floor(extract(epoch from now()) * 1000)::bigint`;
      case 'mysql':
        return sql<number>`cast(floor(unix_timestamp(now(3)) * 1000) as signed)`;
    }
  }

  /** Reads the database clock. */
  async nowMs(): Promise<number> {
    const row = await sql<{ now_ms: number | string }>`select ${this.nowMsSql()} as now_ms`.execute(this.db);
    return Number(row.rows[0]?.now_ms);
  }

  /** True when UPDATE … RETURNING is available (SQLite, PostgreSQL; not MySQL/MariaDB). */
  get supportsUpdateReturning(): boolean {
    return this.dialect !== 'mysql';
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** Opens (and for SQLite creates) the database. Does not run migrations. */
export function openDatabase(location: DatabaseLocation, options: DatabaseOptions = {}): Database {
  const poolSize = options.poolSize ?? 10;
  switch (location.dialect) {
    case 'sqlite': {
      if (location.path !== ':memory:') mkdirSync(dirname(location.path), { recursive: true });
      const connection = new SqliteDatabase(location.path, { timeout: sqliteBusyTimeoutMs });
      // WAL lets readers and one writer of several processes share the file; FULL makes every
      // commit durable before the API answers (nothing acknowledged is lost on a power cut).
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = FULL');
      // The rest of the busy timeout is waited asynchronously by the driver (sqlite-driver.ts).
      connection.pragma(`busy_timeout = ${sqliteBusySliceMs}`);
      connection.pragma('foreign_keys = ON');
      prepareStatements(connection);
      const db = new Kysely<Schema>({ dialect: new SharedFileSqliteDialect(connection) });
      return new Database(db, 'sqlite', `sqlite:${location.path}`);
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: location.url, max: poolSize });
      // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
      pool.on('error', () => {});
      // A connection reset while a client is checked out (a query or transaction in flight) is emitted
      // on the client, where pg attaches no listener: unhandled, it crashed the process. The query
      // in flight rejects with the error anyway (found by the fault suite's database outage).
      pool.on('connect', (client) => client.on('error', () => {}));
      const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
      return new Database(db, 'postgres', describeUrl(location.url));
    }
    case 'mysql': {
      const pool = createMysqlPool({ uri: location.url.replace(/^mariadb:/, 'mysql:'), connectionLimit: poolSize, supportBigNumbers: true });
      // READ COMMITTED, as PostgreSQL runs: InnoDB's default REPEATABLE READ takes next-key (gap)
      // locks on the ranges an UPDATE scans, so a coreapp paused (SIGSTOP, a long GC) inside a claim
      // would block every webapp INSERT into its shard's range until it resumes — API requests would
      // hang during a failover. Every ownership-dependent write is a compare-and-set on the epoch in
      // one statement, which needs no stronger isolation.
      const onCreateConnection = async (connection: { executeQuery(query: CompiledQuery): Promise<unknown> }): Promise<void> => {
        await connection.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
      };
      const db = new Kysely<Schema>({ dialect: new MysqlDialect({ pool, onCreateConnection }) });
      return new Database(db, 'mysql', describeUrl(location.url));
    }
  }
}

/**
 * Kysely prepares every query anew; compiling SQL was a seventh of the gateway's CPU under load. The
 * same SQL text always compiles to the same statement, so keep the most recent ones (bounded, oldest
 * evicted first). Statements are only run to completion, never iterated, so sharing one is safe.
 *
 * Kysely opens transactions with a deferred `begin`. When several processes share the file, a
 * deferred transaction that reads before it writes fails at once with SQLITE_BUSY_SNAPSHOT if another
 * process committed in between; `begin immediate` takes the write lock first and waits for it (busy
 * timeout) instead. Every transaction here writes, so nothing is serialised that need not be.
 */
function prepareStatements(connection: SqliteDatabase.Database): void {
  const prepare = connection.prepare.bind(connection);
  const cache = new Map<string, SqliteDatabase.Statement>();
  connection.prepare = ((requested: string) => {
    const source = requested === 'begin' ? 'begin immediate' : requested;
    let statement = cache.get(source);
    if (statement === undefined) {
      statement = prepare(source);
      if (cache.size >= sqliteStatementCacheMax) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  }) as SqliteDatabase.Database['prepare'];
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return url.replace(/\/\/.*@/, '//');
  }
}
