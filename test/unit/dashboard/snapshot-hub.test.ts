import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotHub } from '../../../src/dashboard/snapshot-hub.js';
import { waitFor } from '../../support/wait-for.js';

describe('SnapshotHub: one read per interval, shared by every subscriber', () => {
  let hub: SnapshotHub | null = null;
  afterEach(() => hub?.stop());

  it('reads once per interval however many subscribe, and every subscriber gets every frame', async () => {
    let n = 0;
    hub = new SnapshotHub({ read: async () => `frame ${++n}`, intervalMs: 20, subscribersMax: 10, onError: () => {} });
    const got: string[][] = [[], [], []];
    const offs = got.map((list) => hub?.subscribe((f) => list.push(f)));
    await waitFor('ten frames', () => (got[0]?.length ?? 0) >= 10, 5_000, 5);
    // The first subscriber started the reads; the others joined before the first read finished or got the latest at once.
    expect(hub.reads).toBeLessThanOrEqual((got[0]?.length ?? 0) + 1);
    for (const off of offs) off?.();
    const frames = got[0] ?? [];
    expect(frames[0]).toBe('frame 1');
    expect(got[1]?.slice(-3)).toEqual(got[2]?.slice(-3));
  });

  it('stops reading when the last subscriber leaves, and a new one starts it again without a stale frame', async () => {
    let n = 0;
    hub = new SnapshotHub({ read: async () => `frame ${++n}`, intervalMs: 10, subscribersMax: 10, onError: () => {} });
    const first: string[] = [];
    const off = hub.subscribe((f) => first.push(f));
    await waitFor('a frame', () => first.length >= 2, 5_000, 5);
    off?.();
    // Nothing is scheduled once the read in flight (if any) finished: reads stop while nobody listens.
    await waitFor('the hub to go idle', () => hub?.active === false, 1_000, 1);
    const later: string[] = [];
    const again = hub.subscribe((f) => later.push(f));
    await waitFor('a fresh frame', () => later.length >= 1, 5_000, 5);
    expect(Number(later[0]?.split(' ')[1])).toBeGreaterThan(Number(first.at(-1)?.split(' ')[1]));
    again?.();
  });

  it('refuses subscribers beyond the bound and after stop; a failed read is reported and retried', async () => {
    const errors: unknown[] = [];
    let fail = true;
    hub = new SnapshotHub({
      read: async () => {
        if (fail) {
          fail = false;
          throw new Error('database down');
        }
        return 'ok';
      },
      intervalMs: 10,
      subscribersMax: 1,
      onError: (e) => errors.push(e),
    });
    const got: string[] = [];
    expect(hub.subscribe((f) => got.push(f))).not.toBeNull();
    expect(hub.subscribe(() => {})).toBeNull();
    await waitFor('a frame after the failure', () => got.length >= 1, 5_000, 5);
    expect(errors).toHaveLength(1);
    hub.stop();
    expect(hub.subscribe(() => {})).toBeNull();
  });
});
