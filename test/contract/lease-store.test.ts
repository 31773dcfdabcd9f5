import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { LeaseStore } from '../../src/ports/lease-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';
import { seededRandom, testSeed } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: LeaseStore`, () => {
    let instance: TargetInstance;
    let leases: LeaseStore;
    let n = 0;
    const fresh = () => `lease-${++n}`;

    beforeAll(async () => {
      instance = await target.create();
      leases = instance.stores.leases;
    });
    afterAll(async () => instance?.dispose());

    it('grants a free lease with epoch 1 and reports its expiry on the store clock', async () => {
      const name = fresh();
      expect(await leases.read(name)).toBeNull();
      const state = await leases.acquire(name, 'a', 1_000);
      expect(state).toMatchObject({ held: true, holder: 'a', epoch: 1 });
      expect(state.expiresAtMs - state.observedAtMs).toBe(1_000);
      const now = await instance.stores.nowMs();
      expect(Math.abs(now - state.observedAtMs)).toBeLessThan(1_000);
      expect(await leases.read(name)).toMatchObject({ held: true, holder: 'a', epoch: 1, expiresAtMs: state.expiresAtMs });
    });

    it('refuses a live lease to another holder and tells who holds it', async () => {
      const name = fresh();
      const a = await leases.acquire(name, 'a', 5_000);
      const b = await leases.acquire(name, 'b', 5_000);
      expect(b).toMatchObject({ held: false, holder: 'a', epoch: 1, expiresAtMs: a.expiresAtMs });
      expect(await leases.renew(name, 'b', 5_000)).toMatchObject({ held: false, holder: 'a' });
    });

    it('renews for the holder without changing the epoch; re-acquiring is a renewal too', async () => {
      const name = fresh();
      const first = await leases.acquire(name, 'a', 1_000);
      const renewed = await leases.renew(name, 'a', 5_000);
      expect(renewed).toMatchObject({ held: true, holder: 'a', epoch: first.epoch });
      expect(renewed.expiresAtMs).toBeGreaterThan(first.expiresAtMs);
      const again = await leases.acquire(name, 'a', 5_000);
      expect(again).toMatchObject({ held: true, holder: 'a', epoch: first.epoch });
    });

    it('after a release another holder takes the lease at once with the next epoch', async () => {
      const name = fresh();
      await leases.acquire(name, 'a', 60_000);
      expect(await leases.release(name, 'b')).toMatchObject({ held: false, holder: 'a' });
      const released = await leases.release(name, 'a');
      expect(released).toMatchObject({ held: false, holder: null, epoch: 1 });
      expect(await leases.read(name)).toMatchObject({ held: false, holder: null });
      expect(await leases.acquire(name, 'b', 60_000)).toMatchObject({ held: true, holder: 'b', epoch: 2 });
      // A holder coming back after a release starts a new tenure, so a new epoch.
      await leases.release(name, 'b');
      expect(await leases.acquire(name, 'b', 60_000)).toMatchObject({ held: true, holder: 'b', epoch: 3 });
    });

    it('a holder that stops renewing loses the lease after its TTL, and cannot renew it back', async () => {
      const name = fresh();
      const ttlMs = 300;
      const a = await leases.acquire(name, 'a', ttlMs);
      expect((await leases.acquire(name, 'b', ttlMs)).held).toBe(false);
      const b = await waitFor('b to take the expired lease', async () => {
        const s = await leases.acquire(name, 'b', 10_000);
        return s.held ? s : undefined;
      }, 5_000, 5);
      expect(b.epoch).toBe(a.epoch + 1);
      expect(b.observedAtMs).toBeGreaterThanOrEqual(a.expiresAtMs);
      expect(await leases.renew(name, 'a', ttlMs)).toMatchObject({ held: false, holder: 'b' });
    });

    it('an expired lease nobody took can be renewed by nobody, but re-acquired by its holder with the same epoch', async () => {
      const name = fresh();
      const a = await leases.acquire(name, 'a', 50);
      await waitFor('the lease to expire', async () => !(await leases.read(name))?.held, 5_000, 5);
      expect((await leases.renew(name, 'a', 50)).held).toBe(false);
      expect(await leases.acquire(name, 'a', 5_000)).toMatchObject({ held: true, epoch: a.epoch });
    });

    it('exactly one of 8 concurrent contenders (separate connections) wins', async () => {
      const stores = await Promise.all(Array.from({ length: 8 }, () => instance.connect()));
      for (let round = 0; round < 5; round++) {
        const name = fresh();
        const results = await Promise.all(stores.map((s, i) => s.leases.acquire(name, `c${i}`, 60_000)));
        const winners = results.filter((r) => r.held);
        expect(winners).toHaveLength(1);
        expect(results.every((r) => r.holder === winners[0]?.holder && r.epoch === 1)).toBe(true);
      }
    });

    it('race: 8 contenders hammer acquire for 2 s; one holder at a time, epochs increase across holders', async () => {
      const seed = testSeed();
      onTestFailed(() => console.error(`lease race failed with SEED=${seed}`));
      const report = await runLeaseRace(await Promise.all(Array.from({ length: 8 }, () => instance.connect())), fresh(), seed);
      console.log(
        `lease race ${target.name}: ${report.attempts} acquire calls, ${report.acquisitions} acquisitions, ${report.renewals} renewals, ` +
          `${report.holderChanges} holder changes, ${report.expiries} tenures ended by expiry, ` +
          `max simultaneous holders ${report.maxSimultaneousHolders} (seed ${seed})`,
      );
      expect(report.holderChanges).toBeGreaterThanOrEqual(5);
      expect(report.expiries).toBeGreaterThanOrEqual(1);
      expect(report.maxSimultaneousHolders).toBe(1);
    }, 30_000);
  });
}

interface Tenure {
  holder: string;
  epoch: number;
  startMs: number;
  endMs: number;
  endedBy: 'release' | 'expiry' | 'running';
}

interface RaceReport {
  attempts: number;
  acquisitions: number;
  renewals: number;
  holderChanges: number;
  expiries: number;
  maxSimultaneousHolders: number;
}

/**
 * Each contender loops: contend for the lease; once it holds it, renew every TTL/3 for a random
 * while, then either release it or "crash" (stop renewing and stay away for 2 TTL). Every grant and
 * renewal is recorded with its store-clock interval; afterwards the tenures are checked against the
 * lease invariants. Throws (with details) on any violation.
 */
async function runLeaseRace(contenders: { leases: LeaseStore }[], name: string, seed: number): Promise<RaceReport> {
  const random = seededRandom(seed);
  const ttlMs = 150;
  const durationMs = 2_000;
  const deadline = Date.now() + durationMs;
  const tenures: Tenure[] = [];
  let attempts = 0;
  let acquisitions = 0;
  let renewals = 0;

  async function contender(index: number, leases: LeaseStore): Promise<void> {
    const me = `c${index}`;
    while (Date.now() < deadline) {
      const got = await leases.acquire(name, me, ttlMs);
      attempts++;
      if (!got.held) {
        await pause(1 + Math.floor(random() * 5));
        continue;
      }
      acquisitions++;
      const tenure: Tenure = { holder: me, epoch: got.epoch, startMs: got.observedAtMs, endMs: got.expiresAtMs, endedBy: 'running' };
      tenures.push(tenure);
      const holdUntil = Date.now() + 30 + Math.floor(random() * 120);
      const crash = random() < 0.5;
      while (Date.now() < holdUntil && Date.now() < deadline) {
        await pause(ttlMs / 3);
        const state = await leases.renew(name, me, ttlMs);
        if (!state.held) throw new Error(`${me} lost lease epoch ${tenure.epoch} while renewing on time: ${JSON.stringify(state)}`);
        if (state.epoch !== tenure.epoch) throw new Error(`renewal changed the epoch ${tenure.epoch} -> ${state.epoch}`);
        renewals++;
        tenure.endMs = state.expiresAtMs;
      }
      if (crash) {
        tenure.endedBy = 'expiry';
        await pause(2 * ttlMs);
        const late = await leases.renew(name, me, ttlMs);
        if (late.held) throw new Error(`${me} renewed a lease whose TTL had run out: ${JSON.stringify(late)}`);
      } else {
        const released = await leases.release(name, me);
        tenure.endedBy = 'release';
        tenure.endMs = released.expiresAtMs;
      }
    }
  }

  await Promise.all(contenders.map((c, i) => contender(i, c.leases)));
  return { attempts, ...checkTenures(tenures, acquisitions, renewals) };
}

function checkTenures(all: Tenure[], acquisitions: number, renewals: number): Omit<RaceReport, 'attempts'> {
  // Merge re-acquisitions of the same tenure (same holder, same epoch).
  const byEpoch = new Map<number, Tenure>();
  for (const t of all) {
    const seen = byEpoch.get(t.epoch);
    if (seen === undefined) byEpoch.set(t.epoch, { ...t });
    else if (seen.holder !== t.holder) throw new Error(`epoch ${t.epoch} granted to both ${seen.holder} and ${t.holder}`);
    else {
      seen.startMs = Math.min(seen.startMs, t.startMs);
      seen.endMs = Math.max(seen.endMs, t.endMs);
      seen.endedBy = t.endedBy;
    }
  }
  const tenures = [...byEpoch.values()].sort((x, y) => x.epoch - y.epoch);
  for (let i = 1; i < tenures.length; i++) {
    const prev = tenures[i - 1] as Tenure;
    const next = tenures[i] as Tenure;
    if (next.holder === prev.holder && next.epoch === prev.epoch) continue;
    if (next.startMs < prev.endMs) {
      throw new Error(`overlap: ${next.holder} (epoch ${next.epoch}) granted at ${next.startMs} before ${prev.holder}'s epoch ${prev.epoch} ended at ${prev.endMs}`);
    }
  }
  return {
    acquisitions,
    renewals,
    holderChanges: tenures.length - 1,
    expiries: tenures.filter((t) => t.endedBy === 'expiry').length,
    maxSimultaneousHolders: maxOverlap(tenures),
  };
}

/** Largest number of distinct holders whose [start, end) intervals contain a common instant. */
function maxOverlap(tenures: readonly Tenure[]): number {
  const points = tenures.flatMap((t) => [
    { at: t.startMs, delta: 1 },
    { at: t.endMs, delta: -1 },
  ]);
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const p of points) {
    current += p.delta;
    max = Math.max(max, current);
  }
  return max;
}
