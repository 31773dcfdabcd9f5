import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewMessage } from '../../src/ports/message-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const message = (id: string, seq: number): NewMessage => ({
  id,
  generation: 1,
  shard: 0,
  recipient: `1415555${1000 + seq}`,
  payload: '{"type":"text","text":{"body":"hi"}}',
  idempotencyKey: null,
  createdAtMs: 1_000 + seq,
});

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: Stores.inTransaction`, () => {
    let instance: TargetInstance;
    beforeAll(async () => {
      instance = await target.create();
    });
    afterAll(async () => instance?.dispose());

    it('commits every write of the work together, visible to other connections', async () => {
      const result = await instance.stores.inTransaction(async (tx) => {
        const a = await tx.messages.insert(message('tx-a', 1));
        const b = await tx.messages.insert(message('tx-b', 2));
        await tx.callbacks.enqueue({ eventId: 'status:tx-a:sent', shard: 0, contact: a.message.recipient, kind: 'status', payload: '{}', createdAtMs: 1 });
        return [a.created, b.created];
      });
      expect(result).toEqual([true, true]);
      const other = await instance.connect();
      expect((await other.messages.get('tx-a'))?.status).toBe('accepted');
      expect((await other.messages.get('tx-b'))?.status).toBe('accepted');
      expect((await other.callbacks.counts()).pending).toBe(1);
    });

    it.skipIf(target.name === 'memory')('rolls every write back when the work throws', async () => {
      await expect(
        instance.stores.inTransaction(async (tx) => {
          await tx.messages.insert(message('tx-c', 3));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await instance.stores.messages.get('tx-c')).toBeNull();
    });
  });
}
