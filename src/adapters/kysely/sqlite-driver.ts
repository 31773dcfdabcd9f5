/**
 * Kysely's SQLite driver, reshaped for several processes sharing one file. better-sqlite3 runs every
 * statement synchronously, so each query resolves as a microtask: a loop of awaited queries (a
 * shard worker's turn, a batch of writes) never gives the event loop back, and while it runs no
 * socket is read — a coreapp under load stopped answering its masters' heartbeats for good and was
 * failed over as dead. Three differences from Kysely's driver:
 *
 * - **It yields.** A query waits for the event loop's next turn (`setImmediate`) once queries have
 *   held it for `sqliteYieldEveryMs`, so timers and sockets run between them, as with a network
 *   database.
 * - **Waiting for the lock is asynchronous.** The busy timeout SQLite spins in synchronously is
 *   `sqliteBusySliceMs`; a statement refused with SQLITE_BUSY outside a transaction (an autocommit
 *   statement or the `begin immediate` that opens one — neither did anything) is tried again after a
 *   short asynchronous pause until `sqliteBusyTimeoutMs` has passed, so a process waiting for another
 *   one's write lock still answers its heartbeats.
 * - **Waiters queue in order.** Kysely's connection mutex wakes every waiter on each release (they
 *   all race for it again: quadratic in the number waiting); here the next one in line gets it.
 */
import { setImmediate as eventLoopTurn, setTimeout as pause } from 'node:timers/promises';
import type SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import { sqliteBusyTimeoutMs, sqliteYieldEveryMs } from '../../core/limits.js';

/** A Kysely SQLite dialect on one better-sqlite3 connection, with the driver below. */
export class SharedFileSqliteDialect extends SqliteDialect {
  readonly #connection: SqliteDatabase.Database;

  constructor(connection: SqliteDatabase.Database) {
    super({ database: connection });
    this.#connection = connection;
  }

  override createDriver(): Driver {
    return new SharedFileSqliteDriver(this.#connection);
  }
}

class SharedFileSqliteDriver implements Driver {
  readonly #connection: SharedFileSqliteConnection;
  readonly #database: SqliteDatabase.Database;
  #held = false;
  readonly #waiting: (() => void)[] = [];

  constructor(database: SqliteDatabase.Database) {
    this.#database = database;
    this.#connection = new SharedFileSqliteConnection(database);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#held = true;
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const next = this.#waiting.shift();
    // Handed straight to the next in line: `held` stays true.
    if (next !== undefined) next();
    else this.#held = false;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    this.#database.close();
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

class SharedFileSqliteConnection implements DatabaseConnection {
  readonly #db: SqliteDatabase.Database;
  /** When this connection last let the event loop turn. */
  #yieldedAtMs = Date.now();

  constructor(db: SqliteDatabase.Database) {
    this.#db = db;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (Date.now() - this.#yieldedAtMs >= sqliteYieldEveryMs) {
      await eventLoopTurn();
      this.#yieldedAtMs = Date.now();
    }
    const deadlineMs = Date.now() + sqliteBusyTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return this.#run<R>(compiledQuery);
      } catch (error) {
        // Inside a transaction a refused statement is the transaction's to undo: never retried here.
        if (!isBusy(error) || this.#db.inTransaction || Date.now() >= deadlineMs) throw error;
      }
      // Another process holds the write lock: wait without blocking, a little longer each time.
      await pause(Math.min(attempt, 10) * (1 + Math.random()));
      this.#yieldedAtMs = Date.now();
    }
  }

  #run<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    const statement = this.#db.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { sql, parameters, query } = compiledQuery;
    if (!SelectQueryNode.is(query)) throw new Error('SQLite streams only select queries');
    for (const row of this.#db.prepare(sql).iterate(parameters)) yield { rows: [row as R] };
  }
}
