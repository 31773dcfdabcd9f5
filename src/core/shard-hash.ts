/**
 * Shard routing: `shard_id = murmur3_x86_32(utf8(wa_id), seed 0) % shards`.
 *
 * This is the one place the hash lives; the webapp, the coreapps and the simulator all call it, so a
 * recipient can never be routed to one shard by the gateway and checked against another by the
 * upstream. Checked against the published vectors in `test/fixtures/shard-hash-vectors.json`.
 */
import { SHARD_COUNTS, type ShardCount } from './limits.js';

/** Encodes a string as UTF-8 bytes without touching `node:buffer` (the core stays platform-free). */
export function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** MurmurHash3, x86 32-bit variant, over `bytes` with `seed`. Returns an unsigned 32-bit integer. */
export function murmur3X86_32(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const length = bytes.length;
  const blockEnd = length - (length % 4);
  let h1 = seed >>> 0;

  for (let i = 0; i < blockEnd; i += 4) {
    let k1 =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }

  let k1 = 0;
  const tail = length & 3;
  if (tail === 3) k1 ^= (bytes[blockEnd + 2] as number) << 16;
  if (tail >= 2) k1 ^= (bytes[blockEnd + 1] as number) << 8;
  if (tail >= 1) {
    k1 ^= bytes[blockEnd] as number;
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
  }

  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

/** True when `n` is one of the shard counts the cluster supports (1, 2, 4, 8, 16, 32). */
export function isShardCount(n: unknown): n is ShardCount {
  return typeof n === 'number' && (SHARD_COUNTS as readonly number[]).includes(n);
}

/**
 * Normalises a phone number as a client may write it (`+1 631-555-1000`) to the digits-only `wa_id`
 * that is hashed. Returns null when nothing but digits would remain empty.
 */
export function normaliseWaId(input: string): string | null {
  const digits = input.replace(/[\s+\-().]/g, '');
  return /^[0-9]{1,20}$/.test(digits) ? digits : null;
}

/** The shard of a digits-only `wa_id` for a cluster of `shards` shards. */
export function shardOf(waId: string, shards: ShardCount): number {
  return murmur3X86_32(utf8Bytes(waId), 0) % shards;
}
