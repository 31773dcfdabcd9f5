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
/**
 * Of that wait, SQLite spends at most this long at a time blocking the process (its own busy
 * timeout); the rest is waited asynchronously between tries, so the process answers meanwhile.
 */
export const sqliteBusySliceMs = 100;
/** SQLite runs queries synchronously: once they have held the event loop this long, the next waits for it to turn. */
export const sqliteYieldEveryMs = 10;
/** Prepared SQLite statements kept for reuse per connection. */
export const sqliteStatementCacheMax = 500;
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

/**
 * The coreapp's shard worker (src/roles/coreapp/shard-worker.ts): what it holds in memory for one
 * shard, and how long it waits. Accepted messages stay in the database; these bound only the part
 * read ahead.
 */
/** Accepted messages read from the database and held in memory (queued per recipient or in flight). */
export const coreappBufferedMessagesMax = 10_000;
/** Messages sent upstream and not yet acknowledged, at most (one per recipient at a time). */
export const coreappSendWindowMessagesMax = 5_000;
/** Events (statuses, inbound messages) received and not yet processed; more are left to redelivery. */
export const coreappEventsQueuedMax = 20_000;
/** Events made durable between two `ack` frames. */
export const coreappEventsPerBatchMax = 1_000;
/** The worker reads the database for new messages at least this often when not notified. */
export const coreappPollIntervalMsDefault = 500;
/** The coreapp re-measures the database clock's offset from its own this often (src/roles/coreapp/database-clock.ts). */
export const coreappDatabaseClockResyncMs = 10_000;
/** Every so often the worker reads the shard's accepted messages from the start (stragglers of concurrent inserts). */
export const coreappRescanIntervalMs = 5_000;
/** Reconnection delay after the upstream session ended for a transient reason: doubles from min to max. */
export const coreappReconnectDelayMsMin = 100;
export const coreappReconnectDelayMsMax = 5_000;
/** Delay before a message answered `overloaded` is sent again: doubles from min to max. */
export const coreappSendRetryDelayMsMin = 100;
export const coreappSendRetryDelayMsMax = 10_000;
/** Delay before a store operation that failed is tried again. */
export const coreappStoreRetryDelayMs = 500;
/** `stop()` waits at most this long for the acks of in-flight sends. */
export const coreappStopDrainMs = 5_000;
/** A loop turn this much later than expected (or one heartbeat interval, if shorter) is an event-loop pause: ownership is re-checked before sending. */
export const coreappPauseRecheckMs = 1_000;
/** The coreapp's event-loop stall monitor ticks this often (src/roles/coreapp/loop-stall-monitor.ts). */
export const coreappLoopTickMs = 20;
/** …and remembers this many recent stalls (each longer than one tick). */
export const coreappLoopStallsKeptMax = 256;

/** The upstream adapters (src/adapters/upstream). */
/** Time allowed to open the WebSocket and receive `welcome`. */
export const upstreamConnectTimeoutMs = 10_000;
/** `close()` waits this long for the closing handshake before cutting the socket. */
export const upstreamCloseTimeoutMs = 2_000;
/** Messages sent on one session and not yet acknowledged; a send beyond is refused at once. */
export const upstreamPendingSendMessagesMax = 20_000;
/** Largest frame the client reads (events frames carry up to 1000 inbound texts). */
export const upstreamFrameBytesReadMax = 64 * 1024 * 1024;
/** Time allowed for one HTTP call to the network (registration, contacts). */
export const upstreamHttpTimeoutMs = 10_000;
/** Inputs in one contacts check (On-Prem's `POST /v1/contacts`), also the simulator's bound. */
export const simContactsCheckMax = 1_000;

/** The webhook dispatcher (src/roles/coreapp/webhook-dispatcher.ts). */
/** One webhook POST may take this long (connect, headers and body) before it counts as failed. */
export const webhookRequestTimeoutMsDefault = 10_000;
/** The dispatcher looks for due callbacks at least this often when not notified. */
export const webhookPollIntervalMsDefault = 250;
/** `stop()` waits this long for in-flight webhook requests, then aborts them (they stay pending). */
export const webhookStopDrainMs = 5_000;
/** A finished webhook's outcome waits at most this long for the others in flight, to be recorded in one commit with them. */
export const webhookOutcomeLingerMs = 5;
/** While webhooks are in flight, the dispatcher looks for contacts with new callbacks at most this often. */
export const webhookHeadsRescanMs = 100;
/** Due callbacks (one per contact) read from the queue per shard in one query. */
export const webhookHeadsReadMax = 1_000;

/** The WhatsApp Cloud API adapter (src/adapters/upstream/cloud-*.ts, docs/cloud-api.md). */
/** Messages per second per business number: Cloud's default tier, and its highest. */
export const cloudRatePerSecondDefault = 80;
export const cloudRatePerSecondMax = 1_000;
/** One POST to the Graph API may take this long (connect, headers and body) before it counts as failed. */
export const cloudRequestTimeoutMs = 8_000;
/**
 * A send claim left `posting` (its coreapp died, or its answer was lost) is in doubt: the message is
 * posted again only after this long without a Cloud status proving it arrived. It must exceed a
 * request's timeout plus the pause re-check, so the old attempt is over (answered or abandoned) by then.
 */
export const cloudReclaimAfterMs = 12_000;
/**
 * Keep-alive connections to the Graph API: enough for the rate when a post takes up to
 * `cloudPostRoundTripMsBudget` (connections = rate × budget), within [min, max]. Posts in flight per
 * shard never exceed its share of them, so a claimed message never waits in the pool's queue.
 */
export const cloudPostRoundTripMsBudget = 500;
export const cloudConnectionsMin = 16;
export const cloudConnectionsMax = 512;
/** After a 130429 (too fast) the shard pauses its sends this long, doubling up to the max. */
export const cloudRateLimitPauseMsMin = 200;
export const cloudRateLimitPauseMsMax = 10_000;
/** The primary coreapp reads its shard's webhook inbox this often. */
export const cloudEventsPollIntervalMs = 200;
/** Inbox events read per poll. */
export const cloudEventsReadMax = 500;
/** An inbox event handed to the worker and not acknowledged after this long is handed over again. */
export const cloudEventsRedeliveryMs = 10_000;
/** Done inbox events are kept this long (Meta redelivers a webhook for up to 7 days), then pruned. */
export const cloudEventsRetentionMs = 7 * 24 * 3_600_000;
/** How often the primary coreapp prunes its shard's old done events (at most `storeBatchSizeMax` each time). */
export const cloudEventsPruneIntervalMs = 60_000;
/** Events taken from one Cloud webhook POST (the rest of a larger body is refused). */
export const cloudWebhookEventsMax = 1_000;
/** Largest Cloud webhook body the webapp reads. */
export const cloudWebhookBodyBytesMax = 4 * 1_048_576;

assertLimit(coreappSendWindowMessagesMax <= coreappBufferedMessagesMax, 'the send window is part of the read-ahead buffer');
assertLimit(coreappSendWindowMessagesMax <= upstreamPendingSendMessagesMax, 'the send window fits in the session bound');
assertLimit(coreappEventsPerBatchMax <= coreappEventsQueuedMax, 'an events batch fits in the events queue');
assertLimit(coreappEventsQueuedMax >= simEventsInFlightMax, 'the events queue holds a full window of the network');
assertLimit(cloudReclaimAfterMs > cloudRequestTimeoutMs + coreappPauseRecheckMs, 'a claim in doubt outlives the attempt that made it');
assertLimit(cloudWebhookEventsMax <= storeBatchSizeMax && cloudEventsReadMax <= storeBatchSizeMax, 'inbox batches fit a store batch');
assertLimit(coreappReconnectDelayMsMin <= coreappReconnectDelayMsMax && coreappSendRetryDelayMsMin <= coreappSendRetryDelayMsMax, 'retry delays min ≤ max');

/**
 * The public REST API (src/roles/webapp). Every map it keeps in memory (login failures, rate-limit
 * buckets) and every wait (password hashing) is bounded here.
 */
/** Request bodies larger than this are refused with 413 (the CLI may lower it). */
export const apiBodyBytesDefault = 1_048_576;
export const apiBodyBytesMin = 4_096;
export const apiBodyBytesMax = 16 * 1_048_576;
/** Bearer tokens live this long after login (On-Prem: 7 days). */
export const apiTokenTtlMsDefault = 7 * 24 * 3_600_000;
export const apiTokenTtlMsMin = 60_000;
export const apiTokenTtlMsMax = 365 * 24 * 3_600_000;
/** Random bytes in a bearer token (base64url: 43 characters). */
export const apiTokenBytes = 32;
/** Accepted-but-unsent messages beyond which `POST /v1/messages` answers 503 / 1016. */
export const pendingMessagesMaxDefault = 100_000;
export const pendingMessagesMaxMax = 100_000_000;
/** The pending-message count is read from the database at most once per this many milliseconds. */
export const pendingCountCacheMs = 250;
/** `Retry-After` (seconds) sent with 503 / 1016 when the backlog is full. */
export const overloadedRetryAfterSeconds = 1;
/** Optional per-user request rate; the bucket holds one second's worth (at least one request). */
export const requestsPerSecondPerUserMax = 100_000;
/** Users whose rate-limit bucket is remembered; the least recently seen is forgotten beyond. */
export const rateLimitUsersMax = 10_000;
/** Usernames and passwords (On-Prem policy: passwords 8–64 with digit, upper, lower and special). */
export const usernameLengthMin = 4;
export const usernameLengthMax = 32;
export const passwordLengthMin = 8;
export const passwordLengthMax = 64;
/** Length of the admin password generated on first start. */
export const generatedPasswordLength = 20;
/** Failed logins per (user, address) within the window before further attempts get 429 / 1015. */
export const loginFailuresMax = 5;
export const loginFailureWindowMs = 60_000;
/** (user, address) pairs whose failures are remembered; the oldest is forgotten beyond. */
export const loginThrottleEntriesMax = 10_000;
/** scrypt work factor for new password hashes (N, r, p) and the largest N accepted from a stored hash. */
export const passwordScryptCost = 16_384;
export const passwordScryptBlockSize = 8;
export const passwordScryptParallelization = 1;
export const passwordScryptCostMax = 1_048_576;
export const passwordScryptBlockSizeMax = 32;
export const passwordScryptParallelizationMax = 16;
/** Password hashes computed at once, and logins waiting for one; more get 429 / 1015. */
export const passwordHashConcurrentMax = 4;
export const passwordHashWaitingMax = 256;
/** `POST /v1/contacts`: numbers per request (On-Prem) and characters per number as typed. */
export const contactsPerRequestMax = 1_000;
export const contactInputLengthMax = 64;
/** Registration fields of `POST /v1/account`. */
export const countryCodeLengthMax = 3;
export const phoneNumberLengthMax = 17;
export const registrationCodeLengthMax = 16;
export const registrationPinLengthMax = 16;
export const registrationCertLengthMax = 16_384;
/** Random bytes in a message id after its prefix (base64url, 24 characters). */
export const messageIdRandomBytes = 18;

assertLimit(apiBodyBytesMin <= apiBodyBytesDefault && apiBodyBytesDefault <= apiBodyBytesMax, 'API body limit default within bounds');
assertLimit(apiTokenTtlMsMin <= apiTokenTtlMsDefault && apiTokenTtlMsDefault <= apiTokenTtlMsMax, 'token TTL default within bounds');
assertLimit(pendingMessagesMaxDefault <= pendingMessagesMaxMax, 'pending-message bound default within bounds');
assertLimit(passwordLengthMin <= generatedPasswordLength && generatedPasswordLength <= passwordLengthMax, 'generated passwords satisfy the policy length');
assertLimit(passwordScryptCost <= passwordScryptCostMax && passwordScryptBlockSize <= passwordScryptBlockSizeMax, 'scrypt defaults within the accepted bounds');
assertLimit(4 + Math.ceil((messageIdRandomBytes * 4) / 3) <= messageIdLengthMax, 'a generated message id fits the id column');
assertLimit(contactsPerRequestMax <= simContactsCheckMax, 'a POST /v1/contacts request fits one network check');
assertLimit(countryCodeLengthMax + phoneNumberLengthMax <= waIdLengthMax, 'country code and phone number fit a wa_id');
assertLimit(webhookHeadsReadMax <= storeBatchSizeMax, 'a read of due callbacks is one store batch');

/** Group commit: accepted messages (or upstream events) written in one transaction at most. */
export const groupCommitBatchMax = 256;
assertLimit(groupCommitBatchMax <= storeBatchSizeMax, 'a group commit is one store batch (one INSERT)');
/** Messages waiting for a group commit at most; beyond, new sends get 503 / 1016. */
export const groupCommitQueueMax = 10_000;
/** A webapp routes sends on an account and shard map read at most this long ago. */
export const routingCacheMs = 250;
/** How often the primary master deletes expired and revoked API tokens. */
export const tokenCleanupIntervalMs = 60_000;
/** A webapp trusts a verified bearer token this long before checking the store again. */
export const authCacheMs = 1_000;
/** Verified tokens a webapp remembers at most (oldest forgotten first). */
export const authCacheEntriesMax = 10_000;

/**
 * The master's decision core (src/core/master, docs/control-plane.md). Every cadence that is not an
 * application setting, and every bound on what the master remembers, is named here.
 */
/**
 * The primary master stops acting as primary this long before its lease could run out, counted on
 * its own clock from when the last granted request was sent: `ttl / divisor` (500 ms of 3 s). It
 * absorbs clock-rate differences and the delay between a tick and the effects it emits.
 */
export const masterLeaseStepDownMarginDivisor = 6;
/** The master's runtime calls `tick()` at least this often (and after every `step()`). */
export const masterTickIntervalMsMax = 100;
/**
 * Two ticks further apart than this (or than half the unhealthy interval, if shorter) mean the master
 * was paused (SIGSTOP, a long GC): what it saw of the coreapps before the gap no longer counts, and it
 * starts watching them again.
 */
export const masterTickGapMaxMs = 1_000;
/** The master reads the node list (and, as primary, the shard map) this often. */
export const masterSnapshotIntervalMs = 500;
/** A node list or shard map received longer ago than this is too old to decide a promotion on. */
export const masterSnapshotMaxAgeMs = 3_000;
/** A store request (read or promotion) with no result after this long is abandoned; its outcome is unknown. */
export const masterStoreRequestTimeoutMs = 10_000;
/** Nodes a master tracks at most: one store batch (the node list is one bounded query). */
export const masterNodesMax = storeBatchSizeMax;
/** Other masters whose heartbeat views the primary master fetches, at most. */
export const masterPeersMax = 16;
/** Effects queued and not taken; more means the runtime stopped calling `takeEffects()` (a programmer error). */
export const masterEffectsQueuedMax = 10_000;

assertLimit(
  masterLeaseTtlMsDefault - masterLeaseTtlMsDefault / masterLeaseStepDownMarginDivisor > 2 * (masterLeaseTtlMsDefault / masterLeaseRenewDivisor),
  'a primary master gets at least two more renewal attempts before it steps down',
);
assertLimit(masterTickIntervalMsMax < Math.min(masterTickGapMaxMs, (unhealthyIntervalSecondsMin * 1_000) / 2), 'a regular tick is never mistaken for a pause');
assertLimit(masterTickIntervalMsMax <= heartbeatIntervalSecondsMin * 1_000, 'a tick is at most the shortest heartbeat interval');
assertLimit(masterSnapshotIntervalMs < masterSnapshotMaxAgeMs, 'a snapshot is read again well before it is too old');
assertLimit(masterNodesMax <= storeBatchSizeMax, 'the node list is one store batch');

/** The dashboard's webapp reads one snapshot per interval, shared by every open dashboard. */
export const dashboardSnapshotIntervalMs = 1_000;
/** Open dashboard streams per webapp, at most (each costs a socket, not a database read). */
export const dashboardSubscribersMax = 64;
/** A stream ends after this long; the page reconnects, so a revoked or expired token stops being served. */
export const dashboardStreamMaxMs = 10 * 60_000;
/** Throughput is shown over this window, in buckets of this width. */
export const dashboardThroughputWindowMs = 5 * 60_000;
export const dashboardThroughputBucketMs = 5_000;
/** Events shown on the timeline (the newest). */
export const dashboardEventsMax = 40;
/** Each master's heartbeat view is asked for with this deadline; a silent master shows no ages. */
export const dashboardPeerViewDeadlineMs = 500;

assertLimit(dashboardThroughputWindowMs % dashboardThroughputBucketMs === 0, 'the throughput window is whole buckets');
assertLimit(dashboardThroughputBucketMs >= dashboardSnapshotIntervalMs, 'a throughput bucket spans at least one snapshot');
assertLimit(dashboardEventsMax <= eventLogReadMax, 'the timeline is one event-log read');
