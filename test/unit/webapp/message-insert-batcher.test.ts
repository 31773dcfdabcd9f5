import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../../src/adapters/memory/memory-stores.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { NewMessage } from '../../../src/ports/message-store.js';
import { MessageInsertBatcher } from '../../../src/roles/webapp/message-insert-batcher.js';

const message = (id: string, idempotencyKey: string | null): NewMessage => ({
  id, generation: 1, shard: 0, recipient: '14155551001', payload: '{"type":"text","text":{"body":"hi"}}', idempotencyKey, createdAtMs: 1_000,
});

describe('MessageInsertBatcher', () => {
  it('inserts one group commit in Idempotency-Key order (no deadlock between webapps), and answers each caller its own message', async () => {
    const stores = createMemoryStores(new ManualClock(1_000));
    await stores.shardMap.initialize(1, 1_000);
    const inserted: string[] = [];
    // The batcher uses two methods of the transaction's message store: record the order of the batch's rows.
    const recording = {
      ...stores,
      inTransaction: <T>(work: Parameters<typeof stores.inTransaction<T>>[0]) =>
        stores.inTransaction((tx) => {
          const messages = { generationOpen: (g: number) => tx.messages.generationOpen(g), insertMany: (ms: readonly NewMessage[]) => (inserted.push(...ms.map((m) => m.id)), tx.messages.insertMany(ms)) };
          return work({ ...tx, messages: messages as unknown as typeof tx.messages });
        }),
    };
    const batcher = new MessageInsertBatcher(recording as typeof stores);
    const answers = await Promise.all([message('a', 'k-c'), message('b', null), message('c', 'k-a'), message('d', 'k-b'), message('e', null)].map((m) => batcher.insert(m)));
    expect(inserted).toEqual(['c', 'd', 'a', 'b', 'e']);
    expect(answers.map((a) => a.message.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
