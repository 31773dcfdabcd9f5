/**
 * A writer paused inside a transaction (a SIGSTOPped coreapp in the middle of a claim) must not block
 * the webapps' inserts of new messages into the same shard: API requests would hang for as long as
 * the pause lasts. PostgreSQL takes no gap locks; MySQL/MariaDB runs at READ COMMITTED for the same
 * reason (src/adapters/kysely/database.ts). SQLite has one write lock per file and is excluded (see
 * docs/operations.md on pauses with SQLite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { NewMessage } from '../../src/ports/message-store.js';
import { SQL_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const message = (id: string, seq: number): NewMessage => ({
  id,
  generation: 1,
  shard: 0,
  recipient: `1415555${1000 + seq}`,
  payload: '{"type":"text","text":{"body":"hi"}}',
  idempotencyKey: `key-${id}`,
  createdAtMs: 1_000 + seq,
});

for (const target of SQL_TARGETS.filter((t) => t.name !== 'sqlite')) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: a paused writer`, () => {
    let instance: TargetInstance;
    beforeAll(async () => {
      instance = await target.create();
      for (let i = 0; i < 20; i++) await instance.stores.messages.insert(message(`old-${i}`, i));
    });
    afterAll(async () => instance?.dispose());

    it('does not block inserts into the range its open transaction updated', async () => {
      const db = instance.database?.db;
      if (db === undefined) throw new Error('no SQL database');
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let updated!: () => void;
      const didUpdate = new Promise<void>((resolve) => (updated = resolve));
      const paused = db.transaction().execute(async (trx) => {
        await sql`UPDATE messages SET status = status WHERE shard = 0 AND status = 'accepted'`.execute(trx);
        updated();
        await held; // the "pause": the transaction stays open with whatever locks the update took
      });
      await didUpdate;
      const other = await instance.connect();
      const started = Date.now();
      const insert = other.messages.insert(message('new-1', 100));
      const outcome = await Promise.race([insert.then(() => 'inserted'), new Promise((resolve) => setTimeout(() => resolve('blocked'), 3_000))]);
      release();
      await paused;
      await insert;
      expect(outcome, `the insert waited ${Date.now() - started} ms for the paused transaction`).toBe('inserted');
    });
  });
}
