import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/kysely/database.js';
import { migrateToLatest, migrationStatus } from '../../src/adapters/kysely/migrate.js';
import { SQL_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the built `shardgate db migrate` in a child process (real concurrency; `npm test` builds first). */
function migrateInChild(url: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/shardgate.js', 'db', 'migrate', '--database-url', url], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

for (const target of SQL_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: Migrations`, () => {
    let instance: TargetInstance;
    beforeAll(async () => {
      instance = await target.create();
    });
    afterAll(async () => instance?.dispose());

    it('created every table, and running again is a no-op', async () => {
      const database = instance.database!;
      const status = await migrationStatus(database);
      expect(status.map((m) => m.name)).toEqual(['0001-initial', '0002-callback-order-index', '0003-messages-status-index', '0004-cloud-api']);
      expect(status.every((m) => m.appliedAtMs !== null)).toBe(true);
      expect(await migrateToLatest(database)).toEqual({ applied: [], known: ['0001-initial', '0002-callback-order-index', '0003-messages-status-index', '0004-cloud-api'] });
      for (const table of ['leases', 'nodes', 'shard_generations', 'shard_map', 'settings', 'messages', 'inbound_messages', 'callbacks', 'users', 'tokens', 'cluster_events'] as const) {
        const rows = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(database.db);
        expect(Number(rows.rows[0]?.n)).toBe(0);
      }
    });
  });
}

describe('sqlite: Migrations from several processes at once', () => {
  it('four processes migrating one fresh file all succeed and apply the schema once', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-migrate-'));
    const url = `sqlite:${join(dir, 'race.db')}`;
    try {
      const results = await Promise.all([1, 2, 3, 4].map(() => migrateInChild(url)));
      for (const r of results) expect(r.code, r.output).toBe(0);
      const applied = results.filter((r) => /applied 0001-initial/.test(r.output));
      expect(applied, results.map((r) => r.output).join('\n')).toHaveLength(1);
      const database = openDatabase({ dialect: 'sqlite', path: join(dir, 'race.db') });
      expect((await migrationStatus(database)).map((m) => m.appliedAtMs !== null)).toEqual([true, true, true, true]);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
