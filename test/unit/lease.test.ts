import { describe, expect, it } from 'vitest';
import { decideAcquire, decideRelease, decideRenew, isLeaseLive } from '../../src/core/lease.js';

describe('lease rules', () => {
  it('grants a missing lease at epoch 1', () => {
    expect(decideAcquire(null, 'a', 100, 50)).toEqual({ granted: true, row: { holder: 'a', epoch: 1, expiresAtMs: 150 } });
  });

  it('refuses a live lease to others, grants it once expired with the next epoch', () => {
    const row = { holder: 'a', epoch: 4, expiresAtMs: 150 };
    expect(decideAcquire(row, 'b', 149, 50).granted).toBe(false);
    expect(decideAcquire(row, 'b', 150, 50)).toEqual({ granted: true, row: { holder: 'b', epoch: 5, expiresAtMs: 200 } });
  });

  it('keeps the epoch when the holder re-acquires, even after expiry', () => {
    const row = { holder: 'a', epoch: 4, expiresAtMs: 150 };
    expect(decideAcquire(row, 'a', 120, 50).row.epoch).toBe(4);
    expect(decideAcquire(row, 'a', 500, 50).row.epoch).toBe(4);
  });

  it('renews only a live lease of the same holder', () => {
    const row = { holder: 'a', epoch: 4, expiresAtMs: 150 };
    expect(decideRenew(row, 'a', 149, 50)).toEqual({ granted: true, row: { holder: 'a', epoch: 4, expiresAtMs: 199 } });
    expect(decideRenew(row, 'a', 150, 50).granted).toBe(false);
    expect(decideRenew(row, 'b', 100, 50).granted).toBe(false);
    expect(decideRenew(null, 'a', 100, 50).granted).toBe(false);
  });

  it('release ends the tenure now; the next acquire, even by the same holder, moves the epoch', () => {
    const row = { holder: 'a', epoch: 4, expiresAtMs: 150 };
    expect(decideRelease(row, 'b', 100).granted).toBe(false);
    const released = decideRelease(row, 'a', 100);
    expect(released).toEqual({ granted: true, row: { holder: null, epoch: 4, expiresAtMs: 100 } });
    expect(isLeaseLive(released.row, 100)).toBe(false);
    expect(decideAcquire(released.row, 'a', 101, 50).row.epoch).toBe(5);
  });
});
