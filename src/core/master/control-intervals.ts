/**
 * The three application settings the control plane runs on, turned into milliseconds. They are
 * inputs: the master machine reads them at every tick, so a `PATCH /v1/settings/application` takes
 * effect on the next tick after the runtime hands the new snapshot in — a shortened threshold phased
 * in as `PhasedIntervals` explains.
 */
import type { ApplicationSettings } from '../app-settings.js';
import {
  dbLivenessIntervalSecondsMax,
  dbLivenessMissesUnhealthy,
  dbLivenessIntervalSecondsMin,
  heartbeatIntervalSecondsMax,
  heartbeatIntervalSecondsMin,
  unhealthyIntervalHeartbeatsMin,
  unhealthyIntervalSecondsMax,
  unhealthyIntervalSecondsMin,
} from '../limits.js';

/** The subset of the application settings the control plane reads (seconds, fractional allowed). */
export type ControlSettings = Pick<ApplicationSettings, 'heartbeat_interval' | 'unhealthy_interval' | 'db_liveness_interval'>;

export interface ControlIntervals {
  /** Every master heartbeats every coreapp this often. */
  readonly heartbeatMs: number;
  /** A coreapp silent this long (to the primary master and one secondary) is unhealthy. */
  readonly unhealthyMs: number;
  /** Every coreapp touches its node row this often. */
  readonly dbLivenessMs: number;
}

function clampedMs(seconds: number, min: number, max: number): number {
  // A value that is not a number (a corrupt stored setting) falls back to the safest end: the longest.
  const s = Number.isFinite(seconds) ? Math.min(Math.max(seconds, min), max) : max;
  return Math.round(s * 1_000);
}

/**
 * The settings in milliseconds, each kept inside its bounds and `unhealthy ≥ 3 × heartbeat` kept true
 * (by lengthening `unhealthy`, never by shortening the heartbeat), so that even a stored value that
 * escaped validation cannot make the master fail a coreapp over faster than the rules allow.
 */
export function controlIntervals(settings: ControlSettings): ControlIntervals {
  const heartbeatMs = clampedMs(settings.heartbeat_interval, heartbeatIntervalSecondsMin, heartbeatIntervalSecondsMax);
  const unhealthyMs = Math.max(
    clampedMs(settings.unhealthy_interval, unhealthyIntervalSecondsMin, unhealthyIntervalSecondsMax),
    unhealthyIntervalHeartbeatsMin * heartbeatMs,
  );
  const dbLivenessMs = clampedMs(settings.db_liveness_interval, dbLivenessIntervalSecondsMin, dbLivenessIntervalSecondsMax);
  return { heartbeatMs, unhealthyMs, dbLivenessMs };
}

/**
 * The intervals in force over time. A longer threshold applies at once (it can only delay a verdict);
 * a shorter one is phased in: evidence gathered under the old cadence (a coreapp that touched its row
 * every old `db_liveness_interval`, answers that came every old `heartbeat_interval`) must not be
 * judged by the new, shorter threshold, or shortening a setting would fail healthy coreapps over.
 * So after a change at `t` that shortens a threshold, the old value stays the floor until
 * `t + old unhealthy_interval` (heartbeat path) or `t + dbLivenessMissesUnhealthy × old
 * db_liveness_interval` (DB path) — by then every live coreapp has been heard under the new cadence.
 * The heartbeat interval itself always applies at once (more heartbeats only add evidence).
 */
export class PhasedIntervals {
  #target: ControlIntervals;
  #unhealthyFloor: { readonly valueMs: number; readonly untilMs: number } | null = null;
  #dbLivenessFloor: { readonly valueMs: number; readonly untilMs: number } | null = null;

  constructor(initial: ControlIntervals) {
    this.#target = initial;
  }

  /** The settings changed at `nowMs` (master clock). */
  change(next: ControlIntervals, nowMs: number): void {
    const current = this.at(nowMs);
    this.#unhealthyFloor = next.unhealthyMs < current.unhealthyMs ? { valueMs: current.unhealthyMs, untilMs: nowMs + current.unhealthyMs } : null;
    this.#dbLivenessFloor =
      next.dbLivenessMs < current.dbLivenessMs
        ? { valueMs: current.dbLivenessMs, untilMs: nowMs + dbLivenessMissesUnhealthy * current.dbLivenessMs }
        : null;
    this.#target = next;
  }

  /** The intervals to judge by at `nowMs`. */
  at(nowMs: number): ControlIntervals {
    const floor = (value: number, f: { readonly valueMs: number; readonly untilMs: number } | null) =>
      f !== null && nowMs < f.untilMs ? Math.max(value, f.valueMs) : value;
    return {
      heartbeatMs: this.#target.heartbeatMs,
      unhealthyMs: floor(this.#target.unhealthyMs, this.#unhealthyFloor),
      dbLivenessMs: floor(this.#target.dbLivenessMs, this.#dbLivenessFloor),
    };
  }
}
