import { describe, expect, it } from 'vitest';
import { ThroughputWindow } from '../../../src/dashboard/throughput-window.js';

const T0 = 1_700_000_000_000; // a multiple of the 5 s bucket

describe('ThroughputWindow: rates from cumulative counts', () => {
  it('has no rate before two samples, then growth per second over the last bucket', () => {
    const w = new ThroughputWindow(60_000, 5_000);
    expect(w.current()).toEqual({ at_ms: 0, accepted: null, sent: null, delivered: null });
    w.add({ atMs: T0, accepted: 100, sent: 90, delivered: 80 });
    expect(w.current().accepted).toBeNull();
    w.add({ atMs: T0 + 1_000, accepted: 110, sent: 95, delivered: 80 });
    w.add({ atMs: T0 + 2_000, accepted: 130, sent: 115, delivered: 84 });
    expect(w.current()).toEqual({ at_ms: T0 + 2_000, accepted: 15, sent: 12.5, delivered: 2 });
  });

  it('the current rate slides: intervals older than one bucket no longer count', () => {
    const w = new ThroughputWindow(60_000, 5_000);
    w.add({ atMs: T0, accepted: 0, sent: 0, delivered: 0 });
    w.add({ atMs: T0 + 1_000, accepted: 1_000, sent: 0, delivered: 0 });
    for (let s = 2; s <= 7; s++) w.add({ atMs: T0 + s * 1_000, accepted: 1_000, sent: 0, delivered: 0 });
    expect(w.current().accepted).toBe(0);
  });

  it('points are aligned buckets over the whole window, oldest first, null where nothing was sampled', () => {
    const w = new ThroughputWindow(20_000, 5_000);
    w.add({ atMs: T0 + 1_000, accepted: 0, sent: 0, delivered: 0 });
    w.add({ atMs: T0 + 3_000, accepted: 20, sent: 10, delivered: 0 });
    w.add({ atMs: T0 + 6_000, accepted: 50, sent: 10, delivered: 30 });
    const points = w.points();
    expect(points.map((p) => p.at_ms)).toEqual([T0 - 10_000, T0 - 5_000, T0, T0 + 5_000]);
    expect(points[0]).toEqual({ at_ms: T0 - 10_000, accepted: null, sent: null, delivered: null });
    expect(points[2]).toEqual({ at_ms: T0, accepted: 10, sent: 5, delivered: 0 });
    expect(points[3]).toEqual({ at_ms: T0 + 5_000, accepted: 10, sent: 0, delivered: 10 });
  });

  it('a count that shrinks (rows deleted) is no growth, never a negative rate; a sample back in time is ignored', () => {
    const w = new ThroughputWindow(60_000, 5_000);
    w.add({ atMs: T0, accepted: 500, sent: 500, delivered: 500 });
    w.add({ atMs: T0 + 1_000, accepted: 10, sent: 10, delivered: 10 });
    w.add({ atMs: T0 + 500, accepted: 1e9, sent: 1e9, delivered: 1e9 });
    expect(w.current()).toEqual({ at_ms: T0 + 1_000, accepted: 0, sent: 0, delivered: 0 });
  });

  it('keeps a bounded number of samples: one hour of samples still answers for the last window only', () => {
    const w = new ThroughputWindow(60_000, 5_000);
    for (let s = 0; s <= 3_600; s++) w.add({ atMs: T0 + s * 1_000, accepted: s < 3_000 ? s * 100 : 300_000, sent: 0, delivered: 0 });
    const points = w.points();
    expect(points).toHaveLength(12);
    expect(points.every((p) => p.accepted === 0)).toBe(true);
  });

  it('refuses a window that is not at least one bucket', () => {
    expect(() => new ThroughputWindow(1_000, 5_000)).toThrow(/bad throughput window/);
  });
});
