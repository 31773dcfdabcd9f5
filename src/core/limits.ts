/**
 * Every bound in Shardgate, in one place, with units last in the name. The relations between them
 * are asserted when this module loads: a bad edit fails at start-up, not in production.
 */

/** The shard counts the cluster supports, as On-Prem did. */
export const SHARD_COUNTS = [1, 2, 4, 8, 16, 32] as const;
export type ShardCount = (typeof SHARD_COUNTS)[number];
export const shardCountMax = 32;

/** Master lease time to live; the primary master renews every third of it. */
export const masterLeaseTtlMsDefault = 3_000;
export const masterLeaseRenewDivisor = 3;

/** `heartbeat_interval` (seconds, fractional allowed). */
export const heartbeatIntervalSecondsDefault = 1;
export const heartbeatIntervalSecondsMin = 0.1;
export const heartbeatIntervalSecondsMax = 60;

/** `unhealthy_interval` (seconds), and it must be at least this many heartbeats. */
export const unhealthyIntervalSecondsDefault = 5;
export const unhealthyIntervalSecondsMin = 0.5;
export const unhealthyIntervalSecondsMax = 600;
export const unhealthyIntervalHeartbeatsMin = 3;

/** `db_liveness_interval` (seconds); a node is unhealthy after this many intervals without update. */
export const dbLivenessIntervalSecondsDefault = 5;
export const dbLivenessIntervalSecondsMin = 1;
export const dbLivenessIntervalSecondsMax = 600;
export const dbLivenessMissesUnhealthy = 2;

/** Lease names and holders are short identifiers. */
export const leaseNameLengthMax = 64;
export const nodeIdLengthMax = 64;
export const leaseTtlMsMin = 10;
export const leaseTtlMsMax = 600_000;

/** Message limits (On-Prem: text bodies up to 4096 characters). */
export const textBodyLengthMax = 4_096;
export const waIdLengthMax = 20;
export const idempotencyKeyLengthMax = 128;
export const messageIdLengthMax = 64;

/** Store queries that return lists are always bounded. */
export const storeBatchSizeMax = 1_000;
export const eventLogReadMax = 1_000;

/** SQLite waits this long for a lock held by another process before failing with SQLITE_BUSY. */
export const sqliteBusyTimeoutMs = 5_000;
/** Migrations retry this many times when another process holds the database (SQLite). */
export const migrationAttemptsMax = 20;

/** TCP ports. */
export const portMin = 0;
export const portMax = 65_535;
export const apiPortDefault: number = 9090;
export const internalPortDefault: number = 9091;
export const simPortDefault = 7070;

/** The cluster secret must be long enough to resist guessing. */
export const clusterSecretLengthMin = 16;

function assertLimit(condition: boolean, what: string): void {
  if (!condition) throw new Error(`limits.ts is inconsistent: ${what}`);
}

assertLimit(SHARD_COUNTS[SHARD_COUNTS.length - 1] === shardCountMax, 'shardCountMax is the largest shard count');
assertLimit(
  unhealthyIntervalSecondsDefault >= unhealthyIntervalHeartbeatsMin * heartbeatIntervalSecondsDefault,
  'default unhealthy_interval covers the minimum number of heartbeats',
);
assertLimit(
  heartbeatIntervalSecondsMin <= heartbeatIntervalSecondsDefault &&
    heartbeatIntervalSecondsDefault <= heartbeatIntervalSecondsMax,
  'heartbeat_interval default within bounds',
);
assertLimit(
  unhealthyIntervalSecondsMin <= unhealthyIntervalSecondsDefault &&
    unhealthyIntervalSecondsDefault <= unhealthyIntervalSecondsMax,
  'unhealthy_interval default within bounds',
);
assertLimit(
  dbLivenessIntervalSecondsMin <= dbLivenessIntervalSecondsDefault &&
    dbLivenessIntervalSecondsDefault <= dbLivenessIntervalSecondsMax,
  'db_liveness_interval default within bounds',
);
assertLimit(masterLeaseTtlMsDefault >= leaseTtlMsMin && masterLeaseTtlMsDefault <= leaseTtlMsMax, 'lease TTL within bounds');
assertLimit(apiPortDefault !== internalPortDefault, 'public and internal API ports differ');
