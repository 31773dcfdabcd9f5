/** `shardgate db migrate | status`: database maintenance. */
import type { Command } from 'commander';
import { addConfigOptions, configFrom, runAction } from '../config-options.js';

// The database drivers load only when a db command runs, so `shardgate --help` stays fast.
const sqlModules = async () => ({
  ...(await import('../../adapters/kysely/database.js')),
  ...(await import('../../adapters/kysely/migrate.js')),
});

export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('database maintenance: migrate, status');

  addConfigOptions(
    db.command('migrate').description('apply every pending schema migration (idempotent; safe to run from several processes at once)'),
    ['databaseUrl', 'dataDir'],
  ).action(
    runAction(async (options: Record<string, unknown>) => {
      const config = configFrom(options);
      const { openDatabase, migrateToLatest } = await sqlModules();
      const database = openDatabase(config.database, { poolSize: 1 });
      try {
        const report = await migrateToLatest(database);
        if (report.applied.length === 0) {
          process.stdout.write(`${database.description}: schema is current (${report.known.length} migrations), nothing to do\n`);
        } else {
          for (const name of report.applied) process.stdout.write(`${database.description}: applied ${name}\n`);
        }
      } finally {
        await database.close();
      }
    }),
  );

  addConfigOptions(db.command('status').description('list the schema migrations and whether each is applied'), ['databaseUrl', 'dataDir']).action(
    runAction(async (options: Record<string, unknown>) => {
      const config = configFrom(options);
      const { openDatabase, migrationStatus } = await sqlModules();
      const database = openDatabase(config.database, { poolSize: 1 });
      try {
        for (const m of await migrationStatus(database)) {
          const when = m.appliedAtMs === null ? 'pending' : `applied ${new Date(m.appliedAtMs).toISOString()}`;
          process.stdout.write(`${m.name}  ${when}\n`);
        }
      } finally {
        await database.close();
      }
    }),
  );
}
