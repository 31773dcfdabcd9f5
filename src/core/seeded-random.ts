/**
 * A small seeded generator (mulberry32), so that a run is replayed exactly from its seed: the
 * simulator's only source of randomness (registration codes, credentials, contacts, inbound senders)
 * and the one every seeded test schedule uses. Pure, hence in the core. Not cryptographic: never use
 * it for production secrets.
 */
export class SeededRandom {
  private state: number;

  /** `seed` is any integer; it is reduced to 32 bits. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, bound). `bound` must be a positive integer. */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** `length` decimal digits (leading zeros allowed). */
  digits(length: number): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += String(this.int(10));
    return out;
  }

  /** `length` lowercase hexadecimal digits. */
  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += this.int(16).toString(16);
    return out;
  }
}
