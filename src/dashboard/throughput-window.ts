/**
 * Throughput from counts: each snapshot records how many messages were ever accepted, sent and
 * delivered (cumulative counts read from the database); the rate over a stretch of time is the
 * growth of a count divided by the time it took. Buckets are aligned to multiples of `bucketMs`, so
 * a bucket's value does not shift as time goes on. A count that shrinks (rows deleted) counts as no
 * growth, never as a negative rate. Bounded: samples older than the window are dropped.
 */
import type { ThroughputPoint } from './dashboard-types.js';

export interface CountSample {
  readonly atMs: number;
  readonly accepted: number;
  readonly sent: number;
  readonly delivered: number;
}

type Key = 'accepted' | 'sent' | 'delivered';
const KEYS: readonly Key[] = ['accepted', 'sent', 'delivered'];

export class ThroughputWindow {
  readonly #windowMs: number;
  readonly #bucketMs: number;
  #samples: CountSample[] = [];

  constructor(windowMs: number, bucketMs: number) {
    if (!(bucketMs > 0 && windowMs >= bucketMs)) throw new Error(`bad throughput window ${windowMs} / ${bucketMs} ms`);
    this.#windowMs = windowMs;
    this.#bucketMs = bucketMs;
  }

  /** Records the counts at `atMs`; a sample not later than the last one is ignored (clock step back). */
  add(sample: CountSample): void {
    const last = this.#samples.at(-1);
    if (last !== undefined && sample.atMs <= last.atMs) return;
    this.#samples.push(sample);
    const keepFrom = sample.atMs - this.#windowMs - this.#bucketMs;
    const firstKept = this.#samples.findIndex((s) => s.atMs >= keepFrom);
    // Keep one sample before the window too: it is the start of the window's first interval.
    if (firstKept > 1) this.#samples = this.#samples.slice(firstKept - 1);
  }

  /** The rates over the last `bucketMs` of samples (sliding), at the latest sample's time. */
  current(): ThroughputPoint {
    const last = this.#samples.at(-1);
    if (last === undefined) return { at_ms: 0, accepted: null, sent: null, delivered: null };
    return this.#rate(last.atMs, (atMs) => atMs > last.atMs - this.#bucketMs);
  }

  /** One point per aligned bucket of the window, oldest first, ending with the bucket of the latest sample. */
  points(): ThroughputPoint[] {
    const last = this.#samples.at(-1);
    if (last === undefined) return [];
    const buckets = this.#windowMs / this.#bucketMs;
    // Bucket b holds the intervals ending in (b × bucketMs, (b + 1) × bucketMs].
    const lastBucket = Math.ceil(last.atMs / this.#bucketMs) - 1;
    const points: ThroughputPoint[] = [];
    for (let b = lastBucket - buckets + 1; b <= lastBucket; b++) {
      const start = b * this.#bucketMs;
      points.push(this.#rate(start, (atMs) => atMs > start && atMs <= start + this.#bucketMs));
    }
    return points;
  }

  /** Growth per second over the intervals between consecutive samples whose end `inside` accepts. */
  #rate(atMs: number, inside: (endMs: number) => boolean): ThroughputPoint {
    let spanMs = 0;
    const growth: Record<Key, number> = { accepted: 0, sent: 0, delivered: 0 };
    for (let i = 1; i < this.#samples.length; i++) {
      const a = this.#samples[i - 1] as CountSample;
      const b = this.#samples[i] as CountSample;
      if (!inside(b.atMs)) continue;
      spanMs += b.atMs - a.atMs;
      for (const key of KEYS) growth[key] += Math.max(0, b[key] - a[key]);
    }
    if (spanMs === 0) return { at_ms: atMs, accepted: null, sent: null, delivered: null };
    const perSecond = (n: number) => Math.round((n * 10_000) / spanMs) / 10;
    return { at_ms: atMs, accepted: perSecond(growth.accepted), sent: perSecond(growth.sent), delivered: perSecond(growth.delivered) };
  }
}
