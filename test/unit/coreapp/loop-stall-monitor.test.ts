// The event-loop stall monitor: a synchronous stretch (what a stopped process looks like from inside)
// is a stall; an asynchronous wait of the same length, with the loop running, is not.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoopStallMonitor } from '../../../src/roles/coreapp/loop-stall-monitor.js';
import { mustRecheckOwnership, slowDecisionMs } from '../../../src/core/coreapp/ownership.js';
import { waitUntil } from '../../support/wait-for.js';

/** Keeps the event loop from running for `ms` (the fault under test, not a wait for something). */
function standStill(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('LoopStallMonitor', () => {
  let monitor = new LoopStallMonitor({ tickMs: 10 });
  beforeEach(() => {
    monitor = new LoopStallMonitor({ tickMs: 10 });
  });
  afterEach(() => monitor.stop());

  it('is cautious when not running: every question is answered with a stall', () => {
    expect(monitor.longestStallSinceMs(Date.now())).toBe(Number.POSITIVE_INFINITY);
  });

  it('sees a stall still going on, and one that ended after the time asked about', async () => {
    monitor.start();
    const from = Date.now();
    standStill(200);
    // Asked before the timer could run (as a reply that waited during a SIGSTOP runs first).
    expect(monitor.longestStallSinceMs(from)).toBeGreaterThanOrEqual(150);
    await waitUntil(() => monitor.longestStallSinceMs(Date.now()) < 50, 'the loop to tick again');
    expect(monitor.longestStallSinceMs(from)).toBeGreaterThanOrEqual(150);
    expect(monitor.longestStallSinceMs(Date.now())).toBeLessThan(150);
  });

  it('does not count an asynchronous wait of the same length', async () => {
    monitor.start();
    const from = Date.now();
    await waitUntil(() => Date.now() - from >= 200, '200 ms with the loop running', 2_000);
    expect(monitor.longestStallSinceMs(from)).toBeLessThan(150);
  });
});

describe('mustRecheckOwnership', () => {
  it('re-checks after a stall beyond the pause threshold, or a decision slower than the wall bound', () => {
    const slowMs = slowDecisionMs(200, 2_000);
    expect(slowMs).toBe(2_000);
    expect(slowDecisionMs(1_000, 500)).toBe(1_000);
    expect(mustRecheckOwnership(200, 1_900, 200, slowMs)).toBe(false);
    expect(mustRecheckOwnership(201, 0, 200, slowMs)).toBe(true);
    expect(mustRecheckOwnership(0, 2_001, 200, slowMs)).toBe(true);
  });
});
