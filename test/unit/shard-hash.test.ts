import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isShardCount, murmur3X86_32, normaliseWaId, shardOf, utf8Bytes } from '../../src/core/shard-hash.js';
import type { ShardCount } from '../../src/core/limits.js';

interface Vectors {
  vectors: { wa_id: string; hash: number; shard: Record<string, number> }[];
  known_answers: { input: string; hash: number }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/shard-hash-vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('shard hash', () => {
  it.each(fixture.known_answers)('murmur3_x86_32($input) = $hash', ({ input, hash }) => {
    expect(murmur3X86_32(utf8Bytes(input), 0)).toBe(hash);
  });

  it.each(fixture.vectors)('wa_id $wa_id hashes and shards as published', ({ wa_id, hash, shard }) => {
    expect(murmur3X86_32(utf8Bytes(wa_id))).toBe(hash);
    for (const [count, expected] of Object.entries(shard)) {
      expect(shardOf(wa_id, Number(count) as ShardCount)).toBe(expected);
    }
  });

  it('covers every tail length and multi-byte UTF-8', () => {
    // Reference values from the canonical C implementation (seed 0 unless noted).
    expect(murmur3X86_32(utf8Bytes('a'))).toBe(0x3c2569b2);
    expect(murmur3X86_32(utf8Bytes('ab'))).toBe(0x9bbfd75f);
    expect(murmur3X86_32(utf8Bytes('abc'))).toBe(0xb3dd93fa);
    expect(murmur3X86_32(utf8Bytes('abcd'))).toBe(0x43ed676a);
    expect(murmur3X86_32(utf8Bytes(''), 1)).toBe(0x514e28b7);
  });

  it('normalises client-written numbers to digits-only wa_ids', () => {
    expect(normaliseWaId('+1 (631) 555-1000')).toBe('16315551000');
    expect(normaliseWaId('16315551000')).toBe('16315551000');
    expect(normaliseWaId('abc')).toBeNull();
    expect(normaliseWaId('')).toBeNull();
  });

  it('knows the supported shard counts', () => {
    expect([1, 2, 4, 8, 16, 32].every(isShardCount)).toBe(true);
    expect([0, 3, 64, '2', 2.5].some(isShardCount)).toBe(false);
  });
});

describe('shard hash distribution', () => {
  it('1,000,000 sequential phone numbers spread over 32 shards within ±3 % of the mean (and over 2–16 too)', () => {
    const total = 1_000_000;
    const shardCounts = [2, 4, 8, 16, 32] as const;
    const counts = shardCounts.map((shards) => new Array<number>(shards).fill(0));
    for (let i = 0; i < total; i++) {
      // One hash per number, checked against every count: shardOf is the hash modulo the count.
      const waId = String(16_315_550_000 + i);
      const hash = murmur3X86_32(utf8Bytes(waId));
      shardCounts.forEach((shards, k) => {
        const shard = hash % shards;
        if (i % 1_000 === 0 && shard !== shardOf(waId, shards)) throw new Error(`shardOf(${waId}, ${shards}) is not the hash modulo ${shards}`);
        const row = counts[k] as number[];
        row[shard] = (row[shard] ?? 0) + 1;
      });
    }
    shardCounts.forEach((shards, k) => {
      const row = counts[k] as number[];
      const mean = total / shards;
      const worst = Math.max(...row.map((c) => Math.abs(c - mean) / mean));
      expect(worst, `${shards} shards: ${row.join(' ')}`).toBeLessThanOrEqual(0.03);
    });
  }, 30_000);
});
