/**
 * The primary coreapp's duty for one shard (DESIGN.md §4): hold the shard's one upstream session
 * under the fencing epoch, send the shard's accepted messages in per-recipient order, record what the
 * network answers, and turn statuses and inbound messages into durable webhook callbacks.
 *
 * Everything is decided in one loop, turn by turn (STYLE rule 5): socket callbacks only queue what
 * arrived and wake the loop. A turn: notice a closed session → apply what the write lanes committed →
 * start the write lanes → (re)connect → send what is ready → read more accepted messages → send what
 * may go. The durable writes run beside the send path in two lanes, at most one transaction each:
 * the acks lane records send results, the events lane makes events durable. A slow database then
 * delays sending by one read, not by every transaction of the turn. What a lane decides about the
 * queues (a message is done) is applied by the loop at the start of a turn, never while a read of
 * accepted messages is in flight, so a message just recorded `sent` is not read back as waiting.
 * Every queue is bounded (`coreapp*` in limits.ts) and every wait has a timeout.
 *
 * Rules it keeps:
 * - **Persist before you acknowledge.** An event is acked upstream only after its writes resolved
 *   (status recorded, callback enqueued, inbound message stored); a crash in between means a
 *   redelivery, which every write absorbs (callback event ids are stable, inserts are idempotent).
 * - **Order.** Per recipient, one message in flight, oldest first (`RecipientQueues`). Per contact,
 *   callbacks are enqueued in the order the facts happened: a message's `sent` callback before its
 *   `delivered`, even when the network's receipt is processed before the send's ack (events about a
 *   message in flight wait for its ack; a receipt for a message still `accepted` implies `sent` first).
 * - **Fencing.** `markSent` is conditioned on the epoch. A worker whose session is replaced, whose
 *   hello is refused as stale, whose send is answered `stale_epoch`/`misrouted`, or whose `markSent`
 *   falls short while the shard map shows another epoch, stops sending at once and resolves `lost`.
 *   Before every (re)connect, and after an event-loop pause (measured by the loop's own ticks,
 *   `LoopStallMonitor`) or a decision slower than one DB-liveness interval, it re-reads the shard map.
 * - It starts from the oldest accepted message of its shard: what a previous primary sent without
 *   recording it is sent again, and the network answers `duplicate`. After a reconnect, sends whose
 *   acks were lost with the session are sent again the same way.
 * - **One commit per batch.** The writes of a send's acks, or of a batch of events, go in one
 *   transaction (`Stores.inTransaction`); a failed batch is retried whole (every write is idempotent).
 *   Both lanes write message rows before callback rows, so their transactions cannot deadlock.
 */
import { pino, type Logger } from 'pino';
import type { ApplicationSettings } from '../../core/app-settings.js';
import {
  coreappBufferedMessagesMax,
  coreappEventsPerBatchMax,
  coreappEventsQueuedMax,
  coreappPauseRecheckMs,
  coreappPollIntervalMsDefault,
  coreappReconnectDelayMsMax,
  coreappReconnectDelayMsMin,
  coreappRescanIntervalMs,
  coreappSendRetryDelayMsMax,
  coreappSendRetryDelayMsMin,
  coreappSendWindowMessagesMax,
  coreappStopDrainMs,
  coreappStoreRetryDelayMs,
  storeBatchSizeMax,
  type ShardCount,
} from '../../core/limits.js';
import { mapHoldsEpoch, mustRecheckOwnership, pauseRecheckMs, slowDecisionMs } from '../../core/coreapp/ownership.js';
import { shardOf } from '../../core/shard-hash.js';
import { SIM_PROTOCOL, type MessageEvent, type SimErrorObject, type StatusEvent } from '../../core/upstream-protocol.js';
import type { NewCallback } from '../../ports/callback-store.js';
import { statusMayMove, type ShardFence, type StatusChange, type StoredMessage } from '../../ports/message-store.js';
import type { PipelineStores, Stores } from '../../ports/stores.js';
import {
  UpstreamRefusedError,
  type SendAck,
  type UpstreamClient,
  type UpstreamCloseInfo,
  type UpstreamEvent,
  type UpstreamSession,
} from '../../ports/upstream-client.js';
import { unsafeTestFault } from '../../adapters/unsafe-test-faults.js';
import { LoopStallMonitor } from './loop-stall-monitor.js';
import { RecipientQueues, type OutboundMessage } from './recipient-queues.js';
import { shardRows } from './shard-rows.js';
import { WakeSignal } from './wake-signal.js';
import {
  inboundMessage,
  inboundPayload,
  messageEventId,
  statusEventId,
  statusPayload,
  unixSeconds,
  wantsStatusWebhook,
  type StatusFact,
} from './webhook-payloads.js';

export interface ShardWorkerOptions {
  readonly stores: Stores;
  readonly upstream: UpstreamClient;
  readonly account: { readonly waId: string; readonly credentials: string };
  /** The ownership this worker was promoted with; `epoch` is presented upstream and fences `markSent`. */
  readonly fence: { readonly generation: number; readonly shard: number; readonly shards: ShardCount; readonly epoch: number };
  readonly nodeId: string;
  /** The current application settings (read at each decision, so a PATCH applies without restart). */
  readonly settings: () => ApplicationSettings;
  readonly logger?: Logger;
  /** How often the database is read for new messages when nobody calls `notify()` (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Called after callbacks were committed to the queue (e.g. `() => dispatcher.notify()`), so webhooks need not wait for a poll. */
  readonly onCallbacks?: () => void;
}

export type ShardWorkerStatus = 'connected' | 'connecting' | 'disconnected';

type WorkerState = 'idle' | 'running' | 'stopping' | 'stopped' | 'lost';

/** The result of one `session.send`, queued for the loop. */
interface SendResult {
  readonly messages: readonly OutboundMessage[];
  readonly acks: readonly SendAck[] | null;
  readonly error: Error | null;
}

/** Close codes after which this worker must not reconnect on its own: ownership or configuration changed. */
const OWNERSHIP_CODES: ReadonlySet<number> = new Set([
  SIM_PROTOCOL.closeCodes.replaced,
  SIM_PROTOCOL.closeCodes.staleEpoch,
  SIM_PROTOCOL.closeCodes.shardsMismatch,
  SIM_PROTOCOL.closeCodes.unauthorized,
  SIM_PROTOCOL.closeCodes.shardsChanged,
  SIM_PROTOCOL.closeCodes.protocolError,
]);

/** On-Prem code for a message this worker cannot send (bad stored payload, recipient not of this shard). */
const INVALID_PARAMETER_CODE = 1009;

export class ShardWorker {
  /**
   * Resolves (once) when this worker lost the shard — session replaced, hello refused as stale, a send
   * answered `stale_epoch`/`misrouted`, `markSent` fenced off, the shard map moved on — after which it
   * sends nothing more. A `stop()` by itself never resolves it.
   */
  readonly lost: Promise<{ readonly reason: string }>;
  readonly #o: ShardWorkerOptions;
  readonly #fence: ShardFence;
  readonly #log: Logger;
  readonly #pollIntervalMs: number;
  readonly #signal = new WakeSignal();
  readonly #queues = new RecipientQueues();
  readonly #stalls = new LoopStallMonitor();
  #resolveLost!: (value: { reason: string }) => void;
  #state: WorkerState = 'idle';
  #status: ShardWorkerStatus = 'disconnected';
  #session: UpstreamSession | null = null;
  #closedInfo: UpstreamCloseInfo | null = null;
  #results: SendResult[] = [];
  #events: UpstreamEvent[] = [];
  readonly #eventNumbers = new Set<number>();
  #eventsDropped = 0;
  /** The write lanes' transactions in flight (at most one each), and when a failed one may be tried again. */
  #ackWrite: Promise<void> | null = null;
  #eventWrite: Promise<void> | null = null;
  #writeRetryAtMs = 0;
  /** Messages a lane recorded as done (sent, failed, or taken earlier); the loop completes them at the start of a turn. */
  readonly #committedDone = new Set<string>();
  #cursor = 0;
  #readNeeded = true;
  #lastReadAtMs = 0;
  #lastRescanAtMs = 0;
  #lastTurnAtMs = 0;
  /** When the last await before a dispatch began: a longer gap before the socket write may hide a pause. */
  #sendDecidedFromMs = 0;
  /** A dispatch saw such a gap: the next turn re-checks ownership before anything is sent. */
  #gapSeen = false;
  /** The fault suite's deliberately broken build: no ownership check at all (src/adapters/unsafe-test-faults.ts). */
  readonly #noFencing = unsafeTestFault('no-fencing');
  /** Ownership was just re-checked after a gap: the next dispatch goes even if its read was slow. */
  #trustNextDispatch = false;
  #reconnectAtMs = 0;
  #reconnectFailures = 0;
  #stopDeadlineMs = 0;
  #moreWork = false;
  #loopDone: Promise<void> = Promise.resolve();
  #firstAttempt: (() => void) | null = null;

  constructor(options: ShardWorkerOptions) {
    this.#o = options;
    this.#fence = { generation: options.fence.generation, shard: options.fence.shard, epoch: options.fence.epoch };
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ shard: options.fence.shard, epoch: options.fence.epoch });
    this.#pollIntervalMs = options.pollIntervalMs ?? coreappPollIntervalMsDefault;
    this.lost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
  }

  /**
   * Starts the loop and makes the first connection attempt; resolves once that attempt is over:
   * connected (`status()` 'connected'), refused for ownership (`lost` resolved), or failed for a
   * transient reason (the worker keeps retrying with backoff; `status()` 'connecting'). Never rejects
   * for an upstream problem.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error('ShardWorker.start() called twice');
    this.#state = 'running';
    this.#status = 'connecting';
    this.#stalls.start();
    const first = new Promise<void>((resolve) => {
      this.#firstAttempt = resolve;
    });
    this.#loopDone = this.#run();
    await first;
  }

  /** New messages wait in the database: read them now rather than at the next poll. */
  notify(): void {
    this.#readNeeded = true;
    this.#signal.wake();
  }

  /**
   * Stops gracefully: no new sends; waits (at most `coreappStopDrainMs`) for the acks of sends in
   * flight and records them; closes the session. Unprocessed events stay unacked and unsent messages
   * stay `accepted`: the next primary gets both. Safe to call in any state, more than once.
   */
  async stop(): Promise<void> {
    if (this.#state === 'idle') this.#state = 'stopped';
    if (this.#state === 'running') {
      this.#state = 'stopping';
      this.#stopDeadlineMs = Date.now() + coreappStopDrainMs;
      this.#signal.wake();
    }
    await this.#loopDone;
  }

  status(): ShardWorkerStatus {
    return this.#status;
  }

  get #active(): boolean {
    return this.#state === 'running' || this.#state === 'stopping';
  }

  // ---- the loop ---------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (this.#active) {
      let delayMs: number;
      try {
        await this.#turn();
        if (this.#state === 'stopping' && this.#drained()) break;
        delayMs = this.#waitMs();
      } catch (error) {
        // The database (most likely) failed: everything is retried from the queues on a later turn.
        this.#log.error({ err: error }, 'shard worker turn failed; retrying');
        delayMs = coreappStoreRetryDelayMs;
      }
      this.#releaseStart();
      if (this.#active) await this.#signal.wait(delayMs);
    }
    await this.#finish();
  }

  async #turn(): Promise<void> {
    const now = Date.now();
    // A stall of the loop longer than a heartbeat interval since the last turn is a pause (a failover
    // needs the coreapp silent for unhealthy_interval ≥ 3 heartbeats, so a shorter one cannot hide a
    // takeover); so is a turn later than the poll interval by more than one DB-liveness interval.
    const paused = this.#lastTurnAtMs > 0 && this.#mustRecheck(this.#lastTurnAtMs, now - this.#lastTurnAtMs - this.#pollIntervalMs);
    this.#lastTurnAtMs = now;
    this.#moreWork = false;
    this.#noticeClosedSession();
    this.#applyCommitted();
    if (this.#active) this.#startWrites();
    if (this.#state !== 'running') return;
    if (this.#session === null) await this.#connect();
    if (this.#session === null || this.#state !== 'running') return;
    // After a pause the shard may have moved on without us noticing: look before sending again.
    if (paused || this.#gapSeen) {
      if (!(await this.#stillOwner())) return this.#lose('the shard map moved on while this process was paused');
      this.#trustNextDispatch = this.#gapSeen;
      this.#gapSeen = false;
      this.#applyCommitted();
    }
    // What is buffered and became ready (its recipient's previous message just recorded) goes now;
    // then more is read, and what that made ready goes too.
    this.#sendDecidedFromMs = Date.now();
    this.#dispatch();
    await this.#refill();
    this.#noticeClosedSession();
    this.#dispatch();
  }

  /** An event-loop stall longer than this (or than one heartbeat interval, if shorter) counts as a pause. */
  #pauseMs(): number {
    return pauseRecheckMs(coreappPauseRecheckMs, this.#o.settings().heartbeat_interval * 1_000);
  }

  /** Must the shard map be read again before sending, for what happened since `sinceMs` (`elapsedMs` of it unexpected)? */
  #mustRecheck(sinceMs: number, elapsedMs: number): boolean {
    const pauseMs = this.#pauseMs();
    const slowMs = slowDecisionMs(pauseMs, this.#o.settings().db_liveness_interval * 1_000);
    return mustRecheckOwnership(this.#stalls.longestStallSinceMs(sinceMs), elapsedMs, pauseMs, slowMs);
  }

  // ---- the write lanes --------------------------------------------------------------------------

  /** Starts each lane that has work and no transaction in flight (not before a failed one's retry delay). */
  #startWrites(): void {
    if (Date.now() < this.#writeRetryAtMs) return;
    if (this.#ackWrite === null && this.#results.length > 0) {
      this.#ackWrite = this.#lane('recording send results', () => this.#processResults()).finally(() => {
        this.#ackWrite = null;
      });
    }
    if (this.#eventWrite === null) {
      const batch = this.#eventBatch();
      if (batch.length > 0) {
        this.#eventWrite = this.#lane('recording events', () => this.#processEvents(batch)).finally(() => {
          this.#eventWrite = null;
        });
      }
    }
  }

  /** Runs one lane's work; a failure is logged and retried after a delay (every write is idempotent). Wakes the loop when done. */
  async #lane(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#log.error({ err: error }, `${what} failed; retrying`);
      this.#writeRetryAtMs = Date.now() + coreappStoreRetryDelayMs;
    } finally {
      this.#signal.wake();
    }
  }

  /** The lanes' verdicts on the queues, applied between two reads of accepted messages. */
  #applyCommitted(): void {
    for (const id of this.#committedDone) this.#queues.complete(id);
    this.#committedDone.clear();
  }

  #releaseStart(): void {
    const release = this.#firstAttempt;
    this.#firstAttempt = null;
    release?.();
  }

  #drained(): boolean {
    const writesDone = this.#results.length === 0 && this.#ackWrite === null && this.#committedDone.size === 0;
    return (this.#queues.inFlight === 0 && writesDone) || Date.now() >= this.#stopDeadlineMs;
  }

  #waitMs(): number {
    if (this.#moreWork) return 0;
    const now = Date.now();
    let ms = this.#pollIntervalMs;
    if (this.#state === 'stopping') ms = Math.min(ms, this.#stopDeadlineMs - now);
    else if (this.#session === null) ms = Math.min(ms, this.#reconnectAtMs - now);
    else ms = Math.min(ms, this.#pollIntervalMs - (now - this.#lastReadAtMs));
    const retryAt = this.#queues.nextRetryAtMs(now);
    if (retryAt !== null) ms = Math.min(ms, retryAt - now);
    if (this.#writeRetryAtMs > now && (this.#results.length > 0 || this.#events.length > 0)) ms = Math.min(ms, this.#writeRetryAtMs - now);
    return Math.max(0, ms);
  }

  async #finish(): Promise<void> {
    // A lane's transaction in flight finishes first (it stops early when the worker is no longer active).
    await Promise.all([this.#ackWrite, this.#eventWrite]);
    this.#stalls.stop();
    const session = this.#session;
    this.#session = null;
    if (this.#state === 'stopping') this.#state = 'stopped';
    this.#status = 'disconnected';
    this.#releaseStart();
    if (session !== null) await session.close().catch((error: unknown) => this.#log.warn({ err: error }, 'closing the upstream session failed'));
  }

  /** Ownership is gone: stop sending at once, drop what is held in memory (it is all durable), tell the owner. */
  #lose(reason: string): void {
    if (!this.#active) return;
    this.#state = 'lost';
    this.#status = 'disconnected';
    const session = this.#session;
    this.#session = null;
    this.#queues.clear();
    this.#committedDone.clear();
    this.#results = [];
    this.#events = [];
    this.#eventNumbers.clear();
    this.#log.warn({ reason }, 'lost ownership of the shard; stopped sending');
    void session?.close().catch(() => undefined);
    this.#resolveLost({ reason });
    this.#signal.wake();
  }

  /** Reads the shard map: is this worker's epoch still the shard's epoch in a live generation? */
  async #stillOwner(): Promise<boolean> {
    if (this.#noFencing) return true;
    const map = await this.#o.stores.shardMap.current();
    return mapHoldsEpoch(shardRows(map), this.#fence);
  }

  // ---- the session ------------------------------------------------------------------------------

  async #connect(): Promise<void> {
    if (Date.now() < this.#reconnectAtMs) return;
    if (!(await this.#stillOwner())) return this.#lose(`the shard map no longer holds epoch ${this.#fence.epoch} for this shard`);
    this.#status = 'connecting';
    const { fence, account, nodeId } = this.#o;
    try {
      const session = await this.#o.upstream.connect({
        account: account.waId,
        credentials: account.credentials,
        shard: fence.shard,
        shards: fence.shards,
        epoch: fence.epoch,
        generation: fence.generation,
        nodeId,
        onEvents: (events) => this.#onEvents(events),
      });
      if (this.#state !== 'running') {
        await session.close();
        return;
      }
      this.#session = session;
      this.#closedInfo = null;
      this.#status = 'connected';
      this.#reconnectFailures = 0;
      void session.closed.then((info) => this.#onClosed(session, info));
      this.#log.info('upstream session open');
    } catch (error) {
      this.#onConnectFailed(error);
    }
  }

  #onConnectFailed(error: unknown): void {
    if (error instanceof UpstreamRefusedError && OWNERSHIP_CODES.has(error.code)) {
      return this.#lose(`the network refused the connection: ${error.reason} (${error.code})`);
    }
    const delayMs = Math.min(coreappReconnectDelayMsMin * 2 ** this.#reconnectFailures, coreappReconnectDelayMsMax);
    this.#reconnectFailures += 1;
    this.#reconnectAtMs = Date.now() + delayMs;
    this.#status = 'connecting';
    this.#log.warn({ err: error, retryInMs: delayMs }, 'cannot connect upstream; retrying');
  }

  /** Socket callback: only remember and wake the loop. */
  #onClosed(session: UpstreamSession, info: UpstreamCloseInfo): void {
    if (this.#session !== session) return;
    this.#closedInfo = info;
    this.#signal.wake();
  }

  #noticeClosedSession(): void {
    const info = this.#closedInfo;
    if (info === null || this.#session === null) return;
    this.#session = null;
    this.#closedInfo = null;
    if (this.#state === 'stopping') return;
    if (OWNERSHIP_CODES.has(info.code) && !this.#noFencing) return this.#lose(`the upstream session ended: ${info.reason} (${info.code})`);
    this.#status = 'connecting';
    this.#reconnectAtMs = Date.now() + coreappReconnectDelayMsMin;
    this.#log.warn({ code: info.code, reason: info.reason }, 'upstream session ended; reconnecting');
  }

  /** Socket callback: queue the events (bounded, de-duplicated by number) and wake the loop. */
  #onEvents(events: readonly UpstreamEvent[]): void {
    if (!this.#active) return;
    for (const event of events) {
      if (this.#eventNumbers.has(event.event)) continue;
      if (this.#events.length >= coreappEventsQueuedMax) {
        // Left unacked, the network transmits it again later: dropping here loses nothing.
        this.#eventsDropped += 1;
        continue;
      }
      this.#events.push(event);
      this.#eventNumbers.add(event.event);
    }
    this.#signal.wake();
  }

  // ---- outbound ---------------------------------------------------------------------------------

  /** Reads accepted messages after the cursor into the queues, within the buffer bound. */
  async #refill(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastRescanAtMs >= coreappRescanIntervalMs) {
      // From the start again: a message whose seq was assigned before a later one's but committed
      // after our read (concurrent inserts) is found this way. Held messages are skipped by id.
      this.#lastRescanAtMs = now;
      this.#cursor = 0;
      this.#readNeeded = true;
    }
    if (now - this.#lastReadAtMs >= this.#pollIntervalMs) this.#readNeeded = true;
    if (!this.#readNeeded) return;
    this.#lastReadAtMs = now;
    // A full buffer keeps `readNeeded`: the read happens once acks make room (they wake the loop).
    const room = Math.min(coreappBufferedMessagesMax - this.#queues.size, storeBatchSizeMax);
    if (room <= 0) return;
    const page = await this.#o.stores.messages.pending(this.#fence.generation, this.#fence.shard, this.#cursor, room);
    this.#readNeeded = page.length === room;
    this.#moreWork = this.#readNeeded;
    for (const stored of page) {
      this.#cursor = stored.seq;
      if (this.#queues.has(stored.id)) continue;
      const outbound = this.#outbound(stored);
      if (typeof outbound === 'string') await this.#failLocally(stored, outbound);
      else this.#queues.add(outbound);
    }
  }

  /** The message as it is sent, or why it cannot be sent from this shard. */
  #outbound(stored: StoredMessage): OutboundMessage | string {
    if (shardOf(stored.recipient, this.#o.fence.shards) !== this.#fence.shard) {
      return `recipient ${stored.recipient} does not belong to shard ${this.#fence.shard} of ${this.#o.fence.shards}`;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(stored.payload);
    } catch {
      return 'the stored message is not valid JSON';
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return 'the stored message is not a JSON object';
    // The routing fields travel as `to`; the network gets the message itself.
    const { to: _to, recipient_type: _type, ...content } = payload as Record<string, unknown>;
    return { id: stored.id, recipient: stored.recipient, seq: stored.seq, content };
  }

  /** A message that can never be sent (a defect upstream of this worker): failed, with its webhook. */
  async #failLocally(stored: StoredMessage, details: string): Promise<void> {
    this.#log.error({ id: stored.id, details }, 'message cannot be sent; marking it failed');
    const error = { code: INVALID_PARAMETER_CODE, title: 'Parameter value is not valid', details };
    const now = await this.#o.stores.nowMs();
    await this.#o.stores.inTransaction(async (tx) => {
      await tx.messages.recordStatus(stored.id, 'failed', now, error.code);
      await tx.callbacks.enqueueMany([this.#statusCallback(failedFact(stored, error, now), now)]);
    });
    this.#o.onCallbacks?.();
  }

  /** Sends the oldest message of every ready recipient, within the window. The acks come back through the loop. */
  #dispatch(): void {
    const session = this.#session;
    if (session === null || this.#state !== 'running') return;
    // The process may have been paused during the read that led here (SIGSTOP, a VM freeze) while the
    // shard moved on: from here to the socket write everything is synchronous, so this is the last
    // moment to notice. Re-check ownership on the next turn instead of sending now.
    if (!this.#noFencing && !this.#trustNextDispatch && this.#mustRecheck(this.#sendDecidedFromMs, Date.now() - this.#sendDecidedFromMs)) {
      this.#gapSeen = true;
      this.#moreWork = true;
      this.#signal.wake();
      return;
    }
    this.#trustNextDispatch = false;
    const room = coreappSendWindowMessagesMax - this.#queues.inFlight;
    if (room <= 0) return;
    const batch = this.#queues.takeReady(Date.now(), room);
    if (batch.length === 0) return;
    const wire = batch.map((m) => ({ id: m.id, to: m.recipient, seq: m.seq, content: m.content }));
    const settle = (result: SendResult): void => {
      // After a loss the queues were dropped: a late answer has nothing left to update.
      if (!this.#active) return;
      this.#results.push(result);
      this.#signal.wake();
    };
    session.send(wire).then(
      (acks) => settle({ messages: batch, acks, error: null }),
      (error: unknown) => settle({ messages: batch, acks: null, error: error as Error }),
    );
  }

  /** The acks lane: records send results in the order they came (results arriving meanwhile are taken too). */
  async #processResults(): Promise<void> {
    while (this.#results.length > 0 && this.#active) {
      const result = this.#results[0] as SendResult;
      if (result.acks === null) {
        // The session ended before the acks: the network may or may not have them; send again (it de-duplicates).
        for (const m of result.messages) this.#queues.retryLater(m.id, Date.now(), () => 0);
      } else {
        await this.#applyAcks(result.messages, result.acks);
      }
      this.#results.shift();
    }
  }

  /**
   * Applies one send's acks: what the network took is recorded `sent` (with its `sent` callback),
   * what it rejected is `failed` (with its `failed` callback) — all in one transaction, so a batch
   * costs one durable commit and a failure retries the whole batch (every write is idempotent).
   * `overloaded` waits for a retry; `stale_epoch`/`misrouted` means this worker is not the owner (seen
   * before the first await, so the turn that started this lane sends nothing more).
   */
  async #applyAcks(messages: readonly OutboundMessage[], acks: readonly SendAck[]): Promise<void> {
    const taken: OutboundMessage[] = [];
    const rejected: { message: OutboundMessage; error: SimErrorObject }[] = [];
    const overloaded: OutboundMessage[] = [];
    for (const [i, message] of messages.entries()) {
      const ack = acks[i];
      if (ack?.id !== message.id) throw new Error(`upstream client broke its contract: ack ${i} is for ${ack?.id ?? 'nothing'}, not ${message.id}`);
      if (ack.result === 'stale_epoch' || ack.result === 'misrouted') {
        // The broken build (no fencing) keeps the message and tries again instead of stepping down.
        if (!this.#noFencing) return this.#lose(`the network answered ${ack.result} for message ${message.id}: ${ack.error?.details ?? ''}`);
        overloaded.push(message);
      } else if (ack.result === 'sent' || ack.result === 'duplicate') taken.push(message);
      else if (ack.result === 'overloaded') overloaded.push(message);
      else rejected.push({ message, error: ack.error ?? { code: INVALID_PARAMETER_CODE, title: 'Parameter value is not valid', details: 'rejected by the network' } });
    }
    const now = await this.#o.stores.nowMs();
    const sentWebhooks = this.#o.settings().webhooks.message.sent;
    const changed = await this.#o.stores.inTransaction(async (tx) => {
      const callbacks: NewCallback[] = rejected.map(({ message, error }) => this.#statusCallback(failedFact(message, error, now), now));
      await tx.messages.recordStatuses(rejected.map(({ message, error }) => ({ id: message.id, status: 'failed', errorCode: error.code })), now);
      let marked = 0;
      for (let i = 0; i < taken.length; i += storeBatchSizeMax) {
        marked += await tx.messages.markSent(taken.slice(i, i + storeBatchSizeMax).map((m) => m.id), this.#fence, now);
      }
      if (sentWebhooks) {
        for (const m of taken) callbacks.push(this.#statusCallback({ id: m.id, recipientId: m.recipient, status: 'sent', timestamp: unixSeconds(now) }, now));
      }
      await tx.callbacks.enqueueMany(callbacks);
      return marked;
    });
    // Fewer rows than messages is fine when they moved further already (a receipt came first);
    // it is a loss of ownership when the shard's epoch moved.
    if (rejected.length > 0 || (taken.length > 0 && sentWebhooks)) this.#o.onCallbacks?.();
    if (changed < taken.length && !(await this.#stillOwner())) return this.#lose('markSent was fenced off: the shard has a newer epoch');
    if (!this.#active) return;
    for (const m of [...taken, ...rejected.map((r) => r.message)]) this.#committedDone.add(m.id);
    this.#signal.wake();
    const retryDelayMs = (retries: number): number => Math.min(coreappSendRetryDelayMsMin * 2 ** retries, coreappSendRetryDelayMsMax);
    for (const m of overloaded) this.#queues.retryLater(m.id, Date.now(), retryDelayMs);
  }

  // ---- events -----------------------------------------------------------------------------------

  /**
   * The next events to make durable, from the head of the queue: up to a receipt about a message
   * whose send is not recorded yet, which waits for it (its `sent` comes first).
   */
  #eventBatch(): UpstreamEvent[] {
    if (this.#eventsDropped > 0) {
      this.#log.warn({ dropped: this.#eventsDropped }, 'events queue full; the network will redeliver the rest');
      this.#eventsDropped = 0;
    }
    // Asked on every turn while events wait: no copy of the queue just to look at its head.
    let n = 0;
    for (const limit = Math.min(this.#events.length, coreappEventsPerBatchMax); n < limit; n += 1) {
      const event = this.#events[n] as UpstreamEvent;
      if (event.kind === 'status' && this.#queues.isInFlight(event.id) && !this.#committedDone.has(event.id)) break;
    }
    return this.#events.slice(0, n);
  }

  /**
   * The events lane: makes a batch (the head of the queue) durable in one transaction, in event order,
   * then acks exactly those upstream. If the transaction fails nothing is acked and the batch is tried again.
   */
  async #processEvents(batch: readonly UpstreamEvent[]): Promise<void> {
    const now = await this.#o.stores.nowMs();
    const settings = this.#o.settings();
    const takenEarlier = await this.#o.stores.inTransaction((tx) => this.#applyEvents(tx, batch, settings, now));
    this.#o.onCallbacks?.();
    if (!this.#active) return;
    // Messages the network had before we sent them (a previous primary did): nothing to send any more.
    for (const id of takenEarlier) this.#committedDone.add(id);
    this.#events.splice(0, batch.length);
    for (const event of batch) this.#eventNumbers.delete(event.event);
    this.#session?.ack(batch.map((e) => e.event));
  }

  /**
   * Writes a batch of events in event order, as if one by one, with few statements: the batch's
   * message statuses are read once, each event is applied to that picture (a status moves only
   * forward), and then the final statuses and every callback are written together. A receipt for a
   * message still `accepted` means the network had it before its ack was recorded here: its `sent`
   * callback goes first, and its id is returned (nothing to send any more).
   */
  async #applyEvents(tx: PipelineStores, batch: readonly UpstreamEvent[], settings: ApplicationSettings, now: number): Promise<string[]> {
    const statusEvents = batch.filter((e): e is StatusEvent & { kind: 'status' } => e.kind === 'status');
    const current = new Map(await tx.messages.statuses([...new Set(statusEvents.map((e) => e.id))]));
    const changes = new Map<string, StatusChange>();
    const callbacks: NewCallback[] = [];
    const takenEarlier: string[] = [];
    for (const event of batch) {
      if (event.kind === 'message') {
        callbacks.push(await this.#applyInbound(tx, event, now));
        continue;
      }
      const was = current.get(event.id);
      if (event.status !== 'read' && was === 'accepted') {
        takenEarlier.push(event.id);
        if (settings.webhooks.message.sent) callbacks.push(this.#statusCallback({ id: event.id, recipientId: event.recipient_id, status: 'sent', timestamp: event.timestamp }, now));
      }
      if (was !== undefined && statusMayMove(was, event.status)) {
        current.set(event.id, event.status);
        changes.set(event.id, { id: event.id, status: event.status, errorCode: event.errors?.[0]?.code });
      }
      if (wantsStatusWebhook(settings, event.status)) {
        const fact: StatusFact = { id: event.id, recipientId: event.recipient_id, status: event.status, timestamp: event.timestamp };
        callbacks.push(this.#statusCallback(event.errors === undefined ? fact : { ...fact, errors: event.errors }, now));
      }
    }
    await tx.messages.recordStatuses([...changes.values()], now);
    await tx.callbacks.enqueueMany(callbacks);
    return takenEarlier;
  }

  /** Stores an inbound message; returns its callback (enqueued with the batch's others). */
  async #applyInbound(tx: PipelineStores, event: MessageEvent, now: number): Promise<NewCallback> {
    const message = { ...inboundMessage(event), profile: { name: event.profile.name } };
    await tx.inbound.insert({ id: event.id, shard: this.#fence.shard, sender: event.from, payload: JSON.stringify(message), receivedAtMs: now });
    return { eventId: messageEventId(event.id), shard: this.#fence.shard, contact: event.from, kind: 'message', payload: inboundPayload(event), createdAtMs: now };
  }

  #statusCallback(fact: StatusFact, now: number): NewCallback {
    return { eventId: statusEventId(fact.id, fact.status), shard: this.#fence.shard, contact: fact.recipientId, kind: 'status', payload: statusPayload(fact), createdAtMs: now };
  }
}

/** The `failed` status fact of a message the network (or this worker) refused. */
function failedFact(message: { readonly id: string; readonly recipient: string }, error: SimErrorObject, now: number): StatusFact {
  return { id: message.id, recipientId: message.recipient, status: 'failed', timestamp: unixSeconds(now), errors: [error] };
}
