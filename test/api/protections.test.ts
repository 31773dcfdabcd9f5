import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import { createMemoryStores } from '../../src/adapters/memory/memory-stores.js';
import { LoginThrottle } from '../../src/roles/webapp/login-throttle.js';
import { PendingBacklog } from '../../src/roles/webapp/pending-backlog.js';
import { UserRateLimiter } from '../../src/roles/webapp/user-rate-limiter.js';
import { waitForValue } from '../support/wait-for.js';

describe('LoginThrottle', () => {
  it('blocks a pair after failuresMax failures until the window from the first failure ends', () => {
    const throttle = new LoginThrottle(3, 10_000, 100);
    throttle.recordFailure('u', 'a', 0);
    throttle.recordFailure('u', 'a', 1_000);
    expect(throttle.retryAfterSeconds('u', 'a', 1_000)).toBe(0);
    throttle.recordFailure('u', 'a', 2_000);
    expect(throttle.retryAfterSeconds('u', 'a', 2_000)).toBe(8);
    expect(throttle.retryAfterSeconds('u', 'b', 2_000)).toBe(0);
    expect(throttle.retryAfterSeconds('v', 'a', 2_000)).toBe(0);
    expect(throttle.retryAfterSeconds('u', 'a', 10_000)).toBe(0);
    // A failure after the window starts a new one.
    throttle.recordFailure('u', 'a', 10_000);
    expect(throttle.retryAfterSeconds('u', 'a', 10_000)).toBe(0);
  });

  it('remembers at most entriesMax pairs, forgetting the least recently failed', () => {
    const throttle = new LoginThrottle(1, 60_000, 10);
    for (let i = 0; i < 1_000; i++) throttle.recordFailure(`user${i}`, 'a', 0);
    expect(throttle.size).toBe(10);
    expect(throttle.retryAfterSeconds('user999', 'a', 0)).toBe(60);
    expect(throttle.retryAfterSeconds('user0', 'a', 0)).toBe(0);
  });
});

describe('UserRateLimiter', () => {
  it('admits the rate per second per user and says when to retry', () => {
    const limiter = new UserRateLimiter(10);
    for (let i = 0; i < 10; i++) expect(limiter.take('u', 0)).toBe(0);
    expect(limiter.take('u', 0)).toBe(1);
    expect(limiter.take('v', 0)).toBe(0);
    expect(limiter.take('u', 100)).toBe(0);
    expect(limiter.take('u', 100)).toBe(1);
  });

  it('holds at least one request for fractional rates, and bounds its memory', () => {
    const slow = new UserRateLimiter(0.5);
    expect(slow.take('u', 0)).toBe(0);
    expect(slow.take('u', 0)).toBe(2);
    expect(slow.take('u', 2_000)).toBe(0);
    const bounded = new UserRateLimiter(1, 5);
    for (let i = 0; i < 100; i++) bounded.take(`user${i}`, 0);
    // user0 was forgotten, so it starts with a full bucket again.
    expect(bounded.take('user0', 0)).toBe(0);
    expect(bounded.take('user99', 0)).toBe(1);
  });
});

describe('PendingBacklog', () => {
  it('counts from the store at most once per period and adds what it accepted since', async () => {
    const clock = new ManualClock();
    const stores = createMemoryStores(clock);
    await stores.shardMap.initialize(1, 0);
    let reads = 0;
    const count = stores.messages.countAccepted.bind(stores.messages);
    stores.messages.countAccepted = async () => {
      reads++;
      return count();
    };
    const backlog = new PendingBacklog(stores.messages, clock, 250);
    expect(await backlog.pending()).toBe(0);
    for (let i = 0; i < 3; i++) {
      await stores.messages.insert({ id: `m${i}`, generation: 1, shard: 0, recipient: '1', payload: '{}', idempotencyKey: null, createdAtMs: 0 });
      backlog.noteAccepted();
    }
    expect(await backlog.pending()).toBe(3);
    expect(reads).toBe(1);
    await stores.messages.recordStatus('m0', 'sent', 1);
    clock.advance(251);
    // Past the period: the estimate answers at once while the count is read again in the background.
    expect(await backlog.pending()).toBe(3);
    expect(reads).toBe(2);
    await waitForValue(() => backlog.pending(), (n) => n === 2, 'the background count to land');
    expect(reads).toBe(2);
  });

  it('answers from its estimate while a slow count runs; only the very first count is waited for', async () => {
    const clock = new ManualClock();
    const stores = createMemoryStores(clock);
    let release: () => void = () => undefined;
    let reads = 0;
    stores.messages.countAccepted = () => {
      reads++;
      return new Promise((resolve) => (release = () => resolve(7)));
    };
    const backlog = new PendingBacklog(stores.messages, clock, 250);
    const first = backlog.pending();
    release();
    expect(await first).toBe(7);
    clock.advance(251);
    backlog.noteAccepted();
    // The count is held (a slow database): every request is answered from the estimate, one read runs.
    const answers = await Promise.all(Array.from({ length: 5 }, () => backlog.pending()));
    expect(answers).toEqual([8, 8, 8, 8, 8]);
    expect(reads).toBe(2);
    release();
    await waitForValue(() => backlog.pending(), (n) => n === 7, 'the held count to land');
  });
});
