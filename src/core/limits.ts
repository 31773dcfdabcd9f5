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
/** A webhook delivery error is kept up to this many characters (the column width). */
export const callbackErrorLengthMax = 1_024;

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

/**
 * The network simulator (src/sim). Every queue it keeps and every wait it makes is bounded here;
 * `docs/upstream-protocol.md` quotes these values to clients.
 */
/** Open WebSocket connections (handshaking or accepted) at once; more are refused (close 4008). */
export const simConnectionsMax = 1_024;
/** Registered or registering accounts. */
export const simAccountsMax = 1_000;
/** A connection must send `hello` within this time or is closed (close 4007). */
export const simHandshakeTimeoutMs = 5_000;
/** Largest WebSocket frame the simulator reads. */
export const simFrameBytesMax = 4 * 1024 * 1024;
/** Messages in one `send` frame. */
export const simSendBatchMessagesMax = 1_000;
/** Event numbers in one `ack` frame. */
export const simAckBatchEventsMax = 10_000;
/** Events (statuses, inbound messages) in one `events` frame. */
export const simEventsPerFrameMax = 1_000;
/** Events transmitted on one connection and not yet acknowledged; more wait until acks arrive. */
export const simEventsInFlightMax = 10_000;
/** Events the network owes one account (scheduled receipts + buffered + in flight); sends beyond are `overloaded`. */
export const simPendingEventsPerAccountMax = 1_000_000;
/** Sends queued on one rate-limited connection before the simulator stops reading its socket. */
export const simConnSendQueueMessagesMax = 20_000;
/** Bytes buffered towards one slow connection before the simulator stops writing events to it. */
export const simConnBufferedBytesMax = 8 * 1024 * 1024;
/** Distinct message ids the checker remembers (de-duplication and loss checks); sends beyond are `overloaded`. */
export const simMessageIdsMax = 4_000_000;
/** Violations listed in detail by `GET /sim/report` (all are counted). */
export const simViolationsListedMax = 100;
/** Message ids in one page of `GET /sim/messages`, and ids in one `POST /sim/messages/missing`. */
export const simMessagesPageMax = 10_000;
/** An event transmitted but not acknowledged within this time is transmitted again on the same connection. */
export const simRedeliveryMsDefault = 10_000;
export const simRedeliveryMsMin = 10;
export const simRedeliveryMsMax = 600_000;
/** Receipt delays: `delivered` this long after the send is accepted, `read` this long after `delivered`. */
export const simDeliveredDelayMsDefault = 50;
export const simReadDelayMsDefault = 100;
export const simReceiptDelayMsMax = 3_600_000;
/** Simulated users' inbound traffic, per account. */
export const simInboundRatePerSecondMax = 100_000;
/** Inbound messages generated in one tick at most (a paused process does not wake to a flood). */
export const simInboundPerTickMax = 1_000;
/** Per-connection send limit; the bucket holds this many milliseconds' worth of sends (at least one). */
export const simConnRatePerSecondMax = 1_000_000;
export const simRateBurstMs = 100;
/** Simulated contacts that send inbound messages at the inbound rate. */
export const simContactsDefault = 100;
export const simContactsMax = 100_000;
/** Wrong registration codes accepted before the code is withdrawn (request a new one). */
export const simVerifyAttemptsMax = 10;
/** The simulator's scheduler wakes at least this often, whatever is due. */
export const simTickIntervalMsMax = 1_000;
/** `stop()` waits this long for connections to close before cutting them. */
export const simStopTimeoutMs = 2_000;
/** Auto-replies and inbound texts are cut to this length. */
export const simInboundTextLengthMax = textBodyLengthMax;

assertLimit(simEventsPerFrameMax <= simEventsInFlightMax, 'an events frame fits in the in-flight window');
assertLimit(simEventsInFlightMax < simPendingEventsPerAccountMax, 'the in-flight window is part of the pending bound');
assertLimit(simRedeliveryMsMin <= simRedeliveryMsDefault && simRedeliveryMsDefault <= simRedeliveryMsMax, 'redelivery default within bounds');
assertLimit(simMessagesPageMax <= simMessageIdsMax, 'a page of message ids is smaller than the id bound');
assertLimit(simContactsDefault <= simContactsMax, 'default contact population within bounds');
/** Receipts the simulator emits in one tick at most; the rest wait for the next tick (no long pauses). */
export const simTickReceiptsMax = 20_000;

/** Application settings (`/v1/settings/application`) bounds. */
export const callbackBackoffDelayMsDefault = 3_000;
export const callbackBackoffDelayMsMin = 1;
export const maxCallbackBackoffDelayMsDefault = 900_000;
export const maxCallbackBackoffDelayMsMax = 86_400_000;
export const webhookConcurrentRequestsAllowed = [6, 12, 18, 24] as const;
export const webhookConcurrentRequestsDefault = 6;
export const webhookUrlLengthMax = 2_048;
export const webhookSecretLengthMin = 16;
export const webhookSecretLengthMax = 256;
