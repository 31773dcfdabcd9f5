/**
 * Health of a coreapp, judged by the two monitoring paths and combined by one rule. Pure: every time
 * is passed in, and the two clocks involved are never mixed — the DB path compares store-clock
 * times with each other, the heartbeat path compares the master's own clock readings with each other
 * and takes other masters' observations as durations.
 *
 * With U = unhealthy_interval, H = heartbeat_interval, L = db_liveness_interval (all in ms) and
 * K = `dbLivenessMissesUnhealthy`:
 *
 * - **DB path.** `unknown` without a usable node snapshot; `dead` when the coreapp is absent from it
 *   or its silence `dbNowMs − max(lastSeenAtMs, watchSinceMs)` is `> K × L`; otherwise `alive`. It
 *   does not depend on when the master started: the evidence is the coreapp's own writes, on the
 *   store clock. `watchSinceMs` is where this master's view of the database last resumed after a
 *   gap (no node snapshot for longer than L: the database was down or out of reach, for the
 *   coreapps too, perhaps): a coreapp is not blamed for not writing while nobody could.
 * - **Heartbeat path.** This master's silence of a coreapp is `now − (lastAnswerAtMs ?? watchSinceMs)`,
 *   where `watchSinceMs` is when it sent its first heartbeat since it (re)started watching — so a master
 *   that has not yet heartbeated a coreapp for U cannot find it silent for U. The path says `alive`
 *   when this master had an answer less than U ago; `dead` only when this master's silence ≥ U **and**
 *   at least one other master agrees: a peer view received at most H ago whose silence, plus the view's
 *   age, is ≥ U; otherwise `unknown` (one master's own network trouble proves nothing). With a single
 *   master there are no peer views, so this path never says `dead`.
 * - **Combined.** `unhealthy` when either path says `dead`; `healthy` when both say `alive`;
 *   otherwise `unknown`. A primary coreapp is failed over only when `unhealthy`; a secondary is a
 *   promotion candidate only when `healthy`; `unknown` waits.
 */
import { dbLivenessMissesUnhealthy } from '../limits.js';
import type { ControlIntervals } from './control-intervals.js';

export type PathVerdict = 'alive' | 'dead' | 'unknown';
export type CoreappHealth = 'healthy' | 'unknown' | 'unhealthy';

/** The DB path's evidence: the node snapshot's store clock and the coreapp's last touch (null: absent). */
export interface DbObservation {
  readonly dbNowMs: number;
  readonly lastSeenAtMs: number | null;
  /** Store clock: the first snapshot after this master's latest gap in node snapshots; absent or null: no gap. */
  readonly watchSinceMs?: number | null;
}

/** This master's heartbeat observations of one coreapp, on this master's clock. */
export interface HeartbeatObservation {
  /** When the first heartbeat since this master (re)started watching was sent; null: none yet. */
  readonly watchSinceMs: number | null;
  /** When the latest answer since then arrived; null: none. */
  readonly lastAnswerAtMs: number | null;
}

/** Another master's silence of one coreapp, and when (on this master's clock) its view arrived. */
export interface PeerObservation {
  readonly silenceMs: number;
  readonly receivedAtMs: number;
}

export interface HealthInput {
  /** This master's clock. */
  readonly nowMs: number;
  readonly intervals: ControlIntervals;
  /** Null when the master has no node snapshot recent enough to judge by. */
  readonly db: DbObservation | null;
  /** Null when this master has never heartbeated the coreapp. */
  readonly own: HeartbeatObservation | null;
  /** Other masters' observations of this coreapp (stale ones are ignored here). */
  readonly peers: readonly PeerObservation[];
}

export interface HealthVerdict {
  readonly health: CoreappHealth;
  readonly db: PathVerdict;
  readonly heartbeat: PathVerdict;
}

/** The DB-path threshold: `dbLivenessMissesUnhealthy × db_liveness_interval`. */
export function dbUnhealthyAfterMs(intervals: ControlIntervals): number {
  return dbLivenessMissesUnhealthy * intervals.dbLivenessMs;
}

/** `alive` / `dead` from the node registry, `unknown` without a snapshot. */
export function dbLivenessVerdict(db: DbObservation | null, intervals: ControlIntervals): PathVerdict {
  if (db === null) return 'unknown';
  if (db.lastSeenAtMs === null) return 'dead';
  const sinceMs = Math.max(db.lastSeenAtMs, db.watchSinceMs ?? Number.NEGATIVE_INFINITY);
  return db.dbNowMs - sinceMs > dbUnhealthyAfterMs(intervals) ? 'dead' : 'alive';
}

/** How long this master has heard nothing from the coreapp; null when it has not started watching. */
export function silenceMs(own: HeartbeatObservation | null, nowMs: number): number | null {
  if (own === null || own.watchSinceMs === null) return null;
  return Math.max(0, nowMs - (own.lastAnswerAtMs ?? own.watchSinceMs));
}

/** A peer view counts for one heartbeat interval after it arrived, extrapolated by its age. */
export function peerAgrees(peer: PeerObservation, nowMs: number, intervals: ControlIntervals): boolean {
  const ageMs = nowMs - peer.receivedAtMs;
  if (ageMs < 0 || ageMs > intervals.heartbeatMs) return false;
  return peer.silenceMs + ageMs >= intervals.unhealthyMs;
}

/** The heartbeat path: `dead` needs this master's silence and one other master's agreement. */
export function heartbeatVerdict(input: HealthInput): PathVerdict {
  const { own, nowMs, intervals } = input;
  const silence = silenceMs(own, nowMs);
  if (silence === null) return 'unknown';
  if (silence < intervals.unhealthyMs) return own?.lastAnswerAtMs != null ? 'alive' : 'unknown';
  return input.peers.some((peer) => peerAgrees(peer, nowMs, intervals)) ? 'dead' : 'unknown';
}

/** Both paths, combined: either `dead` makes it unhealthy; healthy needs both `alive`. */
export function evaluateCoreappHealth(input: HealthInput): HealthVerdict {
  const db = dbLivenessVerdict(input.db, input.intervals);
  const heartbeat = heartbeatVerdict(input);
  const health: CoreappHealth =
    db === 'dead' || heartbeat === 'dead' ? 'unhealthy' : db === 'alive' && heartbeat === 'alive' ? 'healthy' : 'unknown';
  return { health, db, heartbeat };
}
