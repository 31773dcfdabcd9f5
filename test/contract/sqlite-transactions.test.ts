import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/kysely/database.js';
import { sqliteBusyTimeoutMs } from '../../src/core/limits.js';
import { waitFor } from '../support/wait-for.js';
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

  it('waiting for another process\'s write lock leaves the event loop free, and the write goes through once the lock is free', async () => {
    const path = join(dir, 'busy.db');
    const database = openDatabase({ dialect: 'sqlite', path });
    await migrateToLatest(database);
    const other = new SqliteDatabase(path, { timeout: 0 });
    other.prepare('begin immediate').run();
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    try {
      let settled = false;
      const write = sql`insert into leases (name, holder, epoch, expires_at_ms) values ('busy', null, 0, 0)`.execute(database.db).finally(() => (settled = true));
      // Timers run while the write waits for the lock (a synchronous busy wait would stop them all).
      await waitFor('timers to run while the write waits', () => ticks >= 20, 4_000, 5);
      expect(settled).toBe(false);
      other.prepare('commit').run();
      await write;
      await expect(database.db.selectFrom('leases').select('name').where('name', '=', 'busy').executeTakeFirst()).resolves.toEqual({ name: 'busy' });
    } finally {
      clearInterval(ticker);
      other.close();
      await database.close();
    }
  });

  it(`a write still refused after ${sqliteBusyTimeoutMs} ms fails with SQLITE_BUSY`, async () => {
    const path = join(dir, 'busy-deadline.db');
    const database = openDatabase({ dialect: 'sqlite', path });
    await migrateToLatest(database);
    const other = new SqliteDatabase(path, { timeout: 0 });
    other.prepare('begin immediate').run();
    try {
      const startedAt = Date.now();
      await expect(sql`insert into leases (name, holder, epoch, expires_at_ms) values ('late', null, 0, 0)`.execute(database.db)).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(sqliteBusyTimeoutMs);
    } finally {
      other.prepare('rollback').run();
      other.close();
      await database.close();
    }
  });

  it('a chain of awaited queries lets timers run between them', async () => {
    const database = openDatabase({ dialect: 'sqlite', path: join(dir, 'chain.db') });
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const startedAt = Date.now();
    let queries = 0;
    // Each query resolves at once (better-sqlite3 is synchronous); without yielding, this loop
    // would run its whole second before the timer.
    while (!fired && Date.now() - startedAt < 1_000) {
      await sql`select 1`.execute(database.db);
      queries += 1;
    }
    expect(fired, `the timer did not run during ${queries} queries`).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    await database.close();
  });

  it('queries waiting for the connection get it in the order they asked', async () => {
    const database = openDatabase({ dialect: 'sqlite', path: join(dir, 'order.db') });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => database.db.transaction().execute(async (trx) => {
      await sql`select ${i}`.execute(trx);
      order.push(i);
    })));
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await database.close();
  });
});
