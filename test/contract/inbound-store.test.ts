/**
 * InboundStore contract, run against every target: one row per upstream id however often (and from
 * however many connections) it is delivered, and an idempotent markRead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundStore, NewInboundMessage } from '../../src/ports/inbound-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

/** Beyond 2^32, so a BIGINT column that comes back as a string or is truncated fails the tests. */
const T0 = 1_700_000_000_123;

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: InboundStore`, () => {
    let instance: TargetInstance;
    let inbound: InboundStore;
    let n = 0;
    const message = (over: Partial<NewInboundMessage> = {}): NewInboundMessage => ({
      id: `wamid.${++n}`,
      shard: 3,
      sender: '15550002',
      payload: JSON.stringify({ text: { body: `hello ${n} ✓` } }),
      receivedAtMs: T0,
      ...over,
    });

    beforeAll(async () => {
      instance = await target.create();
      inbound = instance.stores.inbound;
    });
    afterAll(async () => instance?.dispose());

    it('insert records a received message with a growing seq; get round-trips it', async () => {
      const input = message();
      const first = await inbound.insert(input);
      expect(first).toEqual({ created: true, message: { ...input, seq: expect.any(Number), status: 'received' } });
      expect(await inbound.get(input.id)).toEqual(first.message);
      const second = await inbound.insert(message({ receivedAtMs: T0 + 1 }));
      expect(second.message.seq).toBeGreaterThan(first.message.seq);
      expect(await inbound.get('wamid.unknown')).toBeNull();
    });

    it('a redelivery returns the stored message with created=false and changes nothing', async () => {
      const input = message();
      const first = await inbound.insert(input);
      const again = await inbound.insert({ ...input, payload: '{"changed":true}', receivedAtMs: T0 + 60_000 });
      expect(again).toEqual({ created: false, message: first.message });
      expect(await inbound.get(input.id)).toEqual(first.message);
    });

    it('concurrent deliveries of one id from two connections leave one row, recorded once', async () => {
      const other = await instance.connect();
      for (let round = 0; round < 8; round++) {
        const input = message();
        const [a, b] = await Promise.all([inbound.insert(input), other.inbound.insert(input)]);
        expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
        expect(a.message).toEqual(b.message);
      }
    });

    it('markRead marks a message read, idempotently; unknown is false; others stay received', async () => {
      const read = (await inbound.insert(message())).message;
      const untouched = (await inbound.insert(message())).message;
      expect(await inbound.markRead(read.id)).toBe(true);
      expect(await inbound.get(read.id)).toEqual({ ...read, status: 'read' });
      expect(await inbound.markRead(read.id)).toBe(true);
      expect(await inbound.get(read.id)).toEqual({ ...read, status: 'read' });
      expect(await inbound.markRead('wamid.unknown')).toBe(false);
      expect(await inbound.get(untouched.id)).toEqual(untouched);
      // A redelivery after the read does not reset it.
      expect(await inbound.insert({ ...read, receivedAtMs: T0 + 5 })).toMatchObject({ created: false, message: { status: 'read' } });
    });
  });
}
