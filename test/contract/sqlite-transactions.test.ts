import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/kysely/database.js';
import { migrateToLatest } from '../../src/adapters/kysely/migrate.js';

describe('sqlite: transactions shared between processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-sqlite-tx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a transaction holds the write lock from its first statement (begin immediate)', async () => {
    const path = join(dir, 'tx.db');
    const database = openDatabase({ dialect: 'sqlite', path });
    await migrateToLatest(database);
    // Another writer that does not wait: it fails at once while someone holds the write lock.
    const other = new SqliteDatabase(path, { timeout: 0 });
    const otherWrite = () => other.prepare("insert into leases (name, holder, epoch, expires_at_ms) values ('x' || random(), null, 0, 0)").run();
    expect(() => otherWrite()).not.toThrow();
    await database.db.transaction().execute(async (trx) => {
      // Only a read so far: with a deferred begin the other writer would still get through.
      await sql`select count(*) from leases`.execute(trx);
      expect(() => otherWrite()).toThrow(/database is locked|SQLITE_BUSY/);
    });
    expect(() => otherWrite()).not.toThrow();
    other.close();
    await database.close();
  });
});
