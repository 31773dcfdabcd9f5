/**
 * The initial schema. Column types that differ between dialects come from `ColumnTypes`; everything
 * else is portable DDL.
 */
import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from 'kysely';
import type { Dialect } from '../../../core/config.js';

type Db = Kysely<unknown>;

/** The few column types that are spelled differently per dialect. */
export interface ColumnTypes {
  /**
   * Starts a CREATE TABLE. On MySQL/MariaDB every table uses a binary, no-pad utf8mb4 collation:
   * the default collation compares case- and trailing-space-insensitively, which would make `Alice`
   * and `alice` one user there but two everywhere else.
   */
  createTable(db: Db, name: string): CreateTableBuilder<string, never>;
  /** Adds an auto-incrementing BIGINT primary key named `seq`. */
  seq<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'seq'>;
  /** A large text column (JSON payloads). */
  readonly text: 'text' | ReturnType<typeof sql>;
}

export function columnTypes(dialect: Dialect, mysqlCollation = 'utf8mb4_bin'): ColumnTypes {
  return {
    createTable: (db, name) => {
      const table = db.schema.createTable(name);
      return dialect === 'mysql' ? table.modifyEnd(sql`character set utf8mb4 collate ${sql.raw(mysqlCollation)}`) : table;
    },
    seq: (table) => {
      switch (dialect) {
        case 'sqlite':
          return table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
        case 'postgres':
          return table.addColumn('seq', 'bigserial', (c) => c.primaryKey());
        case 'mysql':
          return table.addColumn('seq', 'bigint', (c) => c.primaryKey().autoIncrement());
      }
    },
    text: dialect === 'mysql' ? sql`mediumtext` : 'text',
  };
}

const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

/**
 * The exact-match collation this MySQL/MariaDB server offers: MariaDB's `utf8mb4_nopad_bin`, MySQL
 * 8's `utf8mb4_0900_bin`, else `utf8mb4_bin` (which still ignores trailing spaces).
 */
export async function exactCollation(db: Db): Promise<string> {
  const rows = await sql<{ Collation: string }>`show collation where Collation in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`.execute(db);
  const names = rows.rows.map((r) => r.Collation);
  return names.find((n) => n === 'utf8mb4_nopad_bin') ?? names[0] ?? 'utf8mb4_bin';
}

export async function up(db: Db, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect, dialect === 'mysql' ? await exactCollation(db) : undefined);

  await t
    .createTable(db, 'leases')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(64)')
    .addColumn('epoch', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  await t
    .createTable(db, 'nodes')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('role', 'varchar(16)', notNull)
    .addColumn('hostname', 'varchar(255)', notNull)
    .addColumn('internal_url', 'varchar(255)')
    .addColumn('started_at_ms', 'bigint', notNull)
    .addColumn('last_seen_at_ms', 'bigint', notNull)
    .addColumn('status', 'varchar(32)', notNull)
    .addColumn('shard', 'integer')
    .execute();

  await t
    .createTable(db, 'shard_generations')
    .addColumn('generation', 'integer', (c) => c.primaryKey())
    .addColumn('shards', 'integer', notNull)
    .addColumn('state', 'varchar(16)', notNull)
    .addColumn('created_at_ms', 'bigint', notNull)
    .execute();

  await t
    .createTable(db, 'shard_map')
    .addColumn('generation', 'integer', notNull)
    .addColumn('shard', 'integer', notNull)
    .addColumn('owner', 'varchar(64)')
    .addColumn('epoch', 'bigint', notNull)
    .addColumn('updated_at_ms', 'bigint', notNull)
    .addPrimaryKeyConstraint('shard_map_pk', ['generation', 'shard'])
    .execute();

  await t
    .createTable(db, 'settings')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('value', t.text, notNull)
    .addColumn('version', 'bigint', notNull)
    .addColumn('updated_at_ms', 'bigint', notNull)
    .execute();

  await t
    .seq(t.createTable(db, 'messages'))
    .addColumn('id', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('generation', 'integer', notNull)
    .addColumn('shard', 'integer', notNull)
    .addColumn('recipient', 'varchar(32)', notNull)
    .addColumn('payload', t.text, notNull)
    .addColumn('status', 'varchar(16)', notNull)
    .addColumn('epoch', 'bigint')
    .addColumn('idempotency_key', 'varchar(160)', (c) => c.unique())
    .addColumn('error_code', 'integer')
    .addColumn('created_at_ms', 'bigint', notNull)
    .addColumn('updated_at_ms', 'bigint', notNull)
    .execute();
  await db.schema.createIndex('messages_pending_idx').on('messages').columns(['generation', 'shard', 'status', 'seq']).execute();

  await t
    .seq(t.createTable(db, 'inbound_messages'))
    .addColumn('id', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('shard', 'integer', notNull)
    .addColumn('sender', 'varchar(32)', notNull)
    .addColumn('payload', t.text, notNull)
    .addColumn('status', 'varchar(16)', notNull)
    .addColumn('received_at_ms', 'bigint', notNull)
    .execute();

  await t
    .seq(t.createTable(db, 'callbacks'))
    .addColumn('event_id', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('shard', 'integer', notNull)
    .addColumn('contact', 'varchar(32)', notNull)
    .addColumn('kind', 'varchar(16)', notNull)
    .addColumn('payload', t.text, notNull)
    .addColumn('state', 'varchar(16)', notNull)
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at_ms', 'bigint', notNull)
    .addColumn('last_error', 'varchar(1024)')
    .addColumn('created_at_ms', 'bigint', notNull)
    .execute();
  await db.schema.createIndex('callbacks_contact_idx').on('callbacks').columns(['contact', 'state', 'seq']).execute();
  await db.schema.createIndex('callbacks_due_idx').on('callbacks').columns(['shard', 'state', 'next_attempt_at_ms']).execute();

  await t
    .createTable(db, 'users')
    .addColumn('username', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('password_hash', 'varchar(255)', notNull)
    .addColumn('role', 'varchar(16)', notNull)
    .addColumn('must_change_password', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at_ms', 'bigint', notNull)
    .addColumn('updated_at_ms', 'bigint', notNull)
    .execute();

  await t
    .createTable(db, 'tokens')
    .addColumn('token_hash', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('username', 'varchar(64)', notNull)
    .addColumn('created_at_ms', 'bigint', notNull)
    .addColumn('expires_at_ms', 'bigint', notNull)
    .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('tokens_username_idx').on('tokens').column('username').execute();

  await t
    .seq(t.createTable(db, 'cluster_events'))
    .addColumn('at_ms', 'bigint', notNull)
    .addColumn('kind', 'varchar(64)', notNull)
    .addColumn('node_id', 'varchar(64)')
    .addColumn('data', t.text, notNull)
    .execute();
}

export async function down(db: Db): Promise<void> {
  for (const table of [
    'cluster_events',
    'tokens',
    'users',
    'callbacks',
    'inbound_messages',
    'messages',
    'settings',
    'shard_map',
    'shard_generations',
    'nodes',
    'leases',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
