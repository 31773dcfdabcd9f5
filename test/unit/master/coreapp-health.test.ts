import { describe, expect, it } from 'vitest';
import { controlIntervals, PhasedIntervals } from '../../../src/core/master/control-intervals.js';
import {
  dbLivenessVerdict,
  evaluateCoreappHealth,
  heartbeatVerdict,
  type HealthInput,
  type HeartbeatObservation,
  type PeerObservation,
} from '../../../src/core/master/coreapp-health.js';

// H = 1 s, U = 5 s, L = 5 s: DB-dead after 2 × L = 10 s without a touch.
const intervals = controlIntervals({ heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 });
const NOW = 1_000_000;

function input(own: HeartbeatObservation | null, peers: PeerObservation[] = [], db: HealthInput['db'] = null): HealthInput {
  return { nowMs: NOW, intervals, db, own, peers };
}

const watched = (sinceAgoMs: number, answerAgoMs: number | null): HeartbeatObservation => ({
  watchSinceMs: NOW - sinceAgoMs,
  lastAnswerAtMs: answerAgoMs === null ? null : NOW - answerAgoMs,
});
const peer = (silenceMs: number, ageMs = 0): PeerObservation => ({ silenceMs, receivedAtMs: NOW - ageMs });

describe('control intervals', () => {
  it.each([
    [{ heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 }, { heartbeatMs: 1_000, unhealthyMs: 5_000, dbLivenessMs: 5_000 }],
    [{ heartbeat_interval: 0.1, unhealthy_interval: 0.5, db_liveness_interval: 1.5 }, { heartbeatMs: 100, unhealthyMs: 500, dbLivenessMs: 1_500 }],
    [{ heartbeat_interval: 0.3, unhealthy_interval: 0.7, db_liveness_interval: 1 }, { heartbeatMs: 300, unhealthyMs: 900, dbLivenessMs: 1_000 }],
    [{ heartbeat_interval: 0.01, unhealthy_interval: 10_000, db_liveness_interval: 0 }, { heartbeatMs: 100, unhealthyMs: 600_000, dbLivenessMs: 1_000 }],
    [{ heartbeat_interval: Number.NaN, unhealthy_interval: 5, db_liveness_interval: 5 }, { heartbeatMs: 60_000, unhealthyMs: 180_000, dbLivenessMs: 5_000 }],
  ])('turns %j into %j (bounded, unhealthy ≥ 3 heartbeats, fractional seconds kept)', (settings, expected) => {
    expect(controlIntervals(settings)).toEqual(expected);
  });
});

describe('settings changed at run time', () => {
  const slow = controlIntervals({ heartbeat_interval: 5, unhealthy_interval: 30, db_liveness_interval: 60 });
  const fast = controlIntervals({ heartbeat_interval: 0.5, unhealthy_interval: 2, db_liveness_interval: 1.5 });

  it('applies a longer threshold and any heartbeat interval at once', () => {
    const phased = new PhasedIntervals(fast);
    phased.change(slow, 1_000);
    expect(phased.at(1_000)).toEqual(slow);
  });

  it('phases a shorter threshold in: the old one holds for one old unhealthy_interval (heartbeats) or 2 old db_liveness_intervals', () => {
    const phased = new PhasedIntervals(slow);
    phased.change(fast, 1_000);
    expect(phased.at(1_000)).toEqual({ heartbeatMs: 500, unhealthyMs: 30_000, dbLivenessMs: 60_000 });
    expect(phased.at(30_999)).toEqual({ heartbeatMs: 500, unhealthyMs: 30_000, dbLivenessMs: 60_000 });
    expect(phased.at(31_000)).toEqual({ heartbeatMs: 500, unhealthyMs: 2_000, dbLivenessMs: 60_000 });
    expect(phased.at(120_999).dbLivenessMs).toBe(60_000);
    expect(phased.at(121_000)).toEqual(fast);
  });

  it('keeps the floor through a second change made while phasing in', () => {
    const phased = new PhasedIntervals(slow);
    phased.change(fast, 0);
    phased.change({ ...fast, unhealthyMs: 10_000 }, 5_000);
    expect(phased.at(5_000).unhealthyMs).toBe(30_000);
    expect(phased.at(34_999).unhealthyMs).toBe(30_000);
    expect(phased.at(35_000).unhealthyMs).toBe(10_000);
  });
});

describe('DB-based path', () => {
  it.each([
    ['no usable node snapshot', null, 'unknown'],
    ['absent from the node list', { dbNowMs: NOW, lastSeenAtMs: null }, 'dead'],
    ['touched just now', { dbNowMs: NOW, lastSeenAtMs: NOW }, 'alive'],
    ['silent exactly 2 × db_liveness_interval', { dbNowMs: NOW, lastSeenAtMs: NOW - 10_000 }, 'alive'],
    ['silent 1 ms longer than that', { dbNowMs: NOW, lastSeenAtMs: NOW - 10_001 }, 'dead'],
    ['judged on the store clock only (a master clock far away changes nothing)', { dbNowMs: 5_000, lastSeenAtMs: 4_000 }, 'alive'],
    ['silent longer, but this master saw the database again only 10 s ago', { dbNowMs: NOW, lastSeenAtMs: NOW - 30_000, watchSinceMs: NOW - 10_000 }, 'alive'],
    ['silent longer, and this master has seen the database for 10,001 ms', { dbNowMs: NOW, lastSeenAtMs: NOW - 30_000, watchSinceMs: NOW - 10_001 }, 'dead'],
    ['a touch after the view resumed counts as usual', { dbNowMs: NOW, lastSeenAtMs: NOW - 10_001, watchSinceMs: NOW - 20_000 }, 'dead'],
  ] as const)('%s → %s', (_name, db, expected) => {
    expect(dbLivenessVerdict(db, intervals)).toBe(expected);
  });
});

describe('heartbeat-based path', () => {
  it.each([
    ['never heartbeated', null, [], 'unknown'],
    ['no heartbeat sent yet since watching (re)started', { watchSinceMs: null, lastAnswerAtMs: null }, [peer(60_000)], 'unknown'],
    ['answered 4.999 s ago', watched(60_000, 4_999), [], 'alive'],
    ['master just started: watched 4.999 s, never answered, peer agrees', watched(4_999, null), [peer(60_000)], 'unknown'],
    ['watched 5 s, never answered, no other master (single master)', watched(5_000, null), [], 'unknown'],
    ['watched 5 s, never answered, another master agrees', watched(5_000, null), [peer(5_000)], 'dead'],
    ['silent 5 s to this master and to another', watched(60_000, 5_000), [peer(5_000)], 'dead'],
    ['silent to this master only: the other still hears it', watched(60_000, 30_000), [peer(800)], 'unknown'],
    ['the other master has not watched long enough', watched(60_000, 30_000), [peer(4_000)], 'unknown'],
    ['a peer view one heartbeat old counts, extrapolated by its age', watched(60_000, 30_000), [peer(4_000, 1_000)], 'dead'],
    ['a peer view older than one heartbeat does not count', watched(60_000, 30_000), [peer(60_000, 1_001)], 'unknown'],
    ['a peer view from the future (clock confusion) does not count', watched(60_000, 30_000), [peer(60_000, -1)], 'unknown'],
    ['one agreeing master of several is enough', watched(60_000, 30_000), [peer(100), peer(9_000), peer(200)], 'dead'],
  ] as const)('%s → %s', (_name, own, peers, expected) => {
    expect(heartbeatVerdict(input(own, [...peers]))).toBe(expected);
  });
});

describe('the two paths combined', () => {
  const dbAlive = { dbNowMs: NOW, lastSeenAtMs: NOW - 1_000 };
  const dbDead = { dbNowMs: NOW, lastSeenAtMs: NOW - 20_000 };
  it.each([
    ['both alive', watched(60_000, 100), [], dbAlive, 'healthy'],
    ['DB dead, heartbeats answered (cut from the database)', watched(60_000, 100), [], dbDead, 'unhealthy'],
    ['DB alive, heartbeat dead by agreement (cut from the masters)', watched(60_000, 6_000), [peer(6_000)], dbAlive, 'unhealthy'],
    ['DB alive, silent to this master only', watched(60_000, 6_000), [], dbAlive, 'unknown'],
    ['DB alive, not answered yet since this master started', watched(200, null), [], dbAlive, 'unknown'],
    ['no snapshot, answered', watched(60_000, 100), [], null, 'unknown'],
    ['single master: only the DB path can fail it over', watched(60_000, 60_000), [], dbDead, 'unhealthy'],
  ] as const)('%s → %s', (_name, own, peers, db, expected) => {
    expect(evaluateCoreappHealth(input(own, [...peers], db)).health).toBe(expected);
  });

  it('follows a settings change at once: the same silence is judged against the new intervals', () => {
    const observation = input(watched(60_000, 1_500), [peer(1_500)], { dbNowMs: NOW, lastSeenAtMs: NOW - 2_500 });
    expect(evaluateCoreappHealth(observation).health).toBe('healthy');
    const fast = controlIntervals({ heartbeat_interval: 0.25, unhealthy_interval: 1.5, db_liveness_interval: 1.2 });
    expect(evaluateCoreappHealth({ ...observation, intervals: fast })).toEqual({ health: 'unhealthy', db: 'dead', heartbeat: 'dead' });
    const slower = controlIntervals({ heartbeat_interval: 0.25, unhealthy_interval: 1.6, db_liveness_interval: 1.25 });
    expect(evaluateCoreappHealth({ ...observation, intervals: slower })).toEqual({ health: 'healthy', db: 'alive', heartbeat: 'alive' });
  });
});
