import { describe, expect, it } from 'vitest';
import { DatabaseClock } from '../../../src/roles/coreapp/database-clock.js';

describe('DatabaseClock', () => {
  it('reads the database once per resync interval and follows its offset in between', async () => {
    let reads = 0;
    // A database clock one hour ahead of this process's monotonic clock.
    const clock = new DatabaseClock(async () => {
      reads++;
      return performance.now() + 3_600_000;
    }, 60_000);
    const first = await clock.nowMs();
    const second = await clock.nowMs();
    expect(reads).toBe(1);
    expect(Math.abs(first - (performance.now() + 3_600_000))).toBeLessThan(50);
    expect(second).toBeGreaterThanOrEqual(first);
  });

  it('concurrent callers share one read; a resync interval of 0 reads every time', async () => {
    let reads = 0;
    const read = async () => {
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
      return 1_700_000_000_000 + performance.now();
    };
    const shared = new DatabaseClock(read, 60_000);
    await Promise.all([shared.nowMs(), shared.nowMs(), shared.nowMs()]);
    expect(reads).toBe(1);
    const always = new DatabaseClock(read, 0);
    await always.nowMs();
    await always.nowMs();
    expect(reads).toBe(3);
  });

  it('a failed read fails the caller and is tried again by the next one', async () => {
    let fail = true;
    const clock = new DatabaseClock(async () => {
      if (fail) throw new Error('database down');
      return 42;
    }, 60_000);
    await expect(clock.nowMs()).rejects.toThrow('database down');
    fail = false;
    expect(typeof (await clock.nowMs())).toBe('number');
  });
});
