/**
 * Inserts into one generation commit in `seq` order (MessageStore.generationOpen locks the
 * generation's row until the commit). Otherwise two webapps' group commits can interleave: the first
 * takes seq N and is slow to commit, the second takes N+1 and commits; a coreapp reading after its
 * cursor sends N+1 and finds N only later — after a younger message to the same recipient. (Found by
 * the fault suite's rolling restart on PostgreSQL: a client's retry on one webapp and its next
 * message on the other.) SQLite transactions are serial and need nothing; PostgreSQL and MySQL are
 * checked here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import type { NewMessage } from '../../src/ports/message-store.js';
import { SQL_TARGETS, type TargetInstance } from '../support/contract-targets.js';
import { waitUntil } from '../support/wait-for.js';

const T0 = 1_700_000_000_000;
const message = (id: string, generation: number): NewMessage => ({
  id,
  generation,
  shard: 0,
  recipient: '14155551000',
  payload: '{"type":"text","text":{"body":"hi"}}',
  idempotencyKey: `key-${id}`,
  createdAtMs: T0,
});

/** Sessions of this test's database waiting for a lock right now. */
async function lockWaiters(db: Kysely<unknown>, dialect: string): Promise<number> {
  const query =
    dialect === 'postgres'
      ? sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
      : // Without the PROCESS privilege a session sees only its own user's threads: enough here. A
        // locking read of the generation row still executing is one waiting for the lock.
        sql<{ n: number }>`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND COMMAND = 'Query' AND INFO LIKE '%shard_generations%for update%'`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n ?? 0);
}

for (const target of SQL_TARGETS.filter((t) => t.name !== 'sqlite')) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: inserts commit in seq order`, () => {
    let instance: TargetInstance;
    beforeAll(async () => {
      instance = await target.create();
    });
    afterAll(async () => instance?.dispose());

    it('a second inserting transaction waits for the first to commit before it takes a seq', async () => {
      const db = instance.database?.db as Kysely<unknown> | undefined;
      if (db === undefined) throw new Error('no SQL database');
      const generation = (await instance.stores.shardMap.initialize(1, T0)).generation.generation;
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const didInsert = new Promise<void>((resolve) => (inserted = resolve));
      // The first group commit: checks the generation, takes its seq, then is slow to commit.
      const first = instance.stores.inTransaction(async (tx) => {
        expect(await tx.messages.generationOpen(generation)).toBe(true);
        const [stored] = await tx.messages.insertMany([message('m-first', generation)]);
        inserted();
        await held;
        return stored?.message.seq;
      });
      await didInsert;
      // The second, from another pool (another webapp), starts while the first is open.
      const other = await instance.connect();
      let secondDone = false;
      const second = other
        .inTransaction(async (tx) => {
          expect(await tx.messages.generationOpen(generation)).toBe(true);
          const [stored] = await tx.messages.insertMany([message('m-second', generation)]);
          return stored?.message.seq;
        })
        .finally(() => (secondDone = true));
      await waitUntil(async () => secondDone || (await lockWaiters(db, target.name)) > 0, 'the second transaction to wait for a lock (or to finish)', 10_000);
      expect(secondDone, 'the second transaction committed while the first was still open').toBe(false);
      release();
      const [firstSeq, secondSeq] = await Promise.all([first, second]);
      expect(firstSeq).toBeDefined();
      expect(secondSeq).toBeGreaterThan(firstSeq as number);
    });
  });
}
