/**
 * `UpstreamClient` over the WhatsApp Cloud API (docs/cloud-api.md). There is no connection to hold:
 * a "session" is one primary coreapp's right to send for one (shard, epoch), and everything that the
 * simulator enforces by connection is enforced here through the database (`CloudStore`):
 *
 * - **Send**: each message is claimed first (`claimSend`, one statement fenced by the epoch and the
 *   message's status), then posted as `POST {base}/{version}/{phone_number_id}/messages` with the
 *   body `toCloudMessage` builds, over a keep-alive pool sized for the rate (posts in flight per shard
 *   never exceed its share of the connections, so a claimed message never waits in the pool's queue
 *   and is posted within moments of its claim). A fenced claim answers `stale_epoch` (the
 *   worker stops); a message the Cloud API already has answers `duplicate` (never posted twice); a
 *   claim in doubt answers `overloaded` (the worker tries later, by which time a Cloud status has
 *   settled it or the claim may be taken over). The wamid is recorded with our id.
 * - **Order**: the worker keeps one message per recipient in flight, and this adapter posts each
 *   message it is given once per attempt and answers in the order given, so per-recipient order is
 *   the worker's.
 * - **Rate**: a token bucket of `ratePerSecond / shards` per shard (the number's limit shared evenly
 *   by the shards' primaries, with no coordination); a 130429 pauses the shard, doubling the pause.
 * - **Errors**: `classifyCloudError` — rate limits and transient failures answer `overloaded` (the
 *   worker retries with bounded backoff), an expired token waits (logged), a permanent error answers
 *   `rejected` with the On-Prem error (a `failed` status webhook).
 * - **Events**: statuses and inbound messages arrive at the webapp's `/cloud/webhook`, which stores
 *   them in the inbox; the session reads its shard's buckets, maps each status's wamid back to our
 *   message id, and hands them to the worker as upstream events (event number = inbox seq). `ack`
 *   marks them done. Cloud's `sent` status is not an event for the worker: it only settles the claim.
 */
import { Pool } from 'undici';
import type { Logger } from 'pino';
import { classifyCloudError, onPremStatusError } from '../../core/cloud-errors.js';
import type { CloudConfig } from '../../core/cloud-config.js';
import { toCloudMessage } from '../../core/cloud-message.js';
import { bucketsOfShard, type CloudWebhookEvent } from '../../core/cloud-webhook.js';
import {
  cloudConnectionsMax,
  cloudConnectionsMin,
  cloudPostRoundTripMsBudget,
  cloudEventsPollIntervalMs,
  cloudEventsPruneIntervalMs,
  cloudEventsRetentionMs,
  cloudEventsReadMax,
  cloudEventsRedeliveryMs,
  cloudRateLimitPauseMsMax,
  cloudRateLimitPauseMsMin,
  cloudReclaimAfterMs,
  cloudRequestTimeoutMs,
  coreappPauseRecheckMs,
  storeBatchSizeMax,
} from '../../core/limits.js';
import { SendRateLimit } from '../../core/send-rate-limit.js';
import type { AcceptedSend, CloudStore, StoredCloudEvent } from '../../ports/cloud-store.js';
import type { ShardFence } from '../../ports/message-store.js';
import type {
  SendAck,
  SendMessage,
  UpstreamClient,
  UpstreamCloseInfo,
  UpstreamConnectOptions,
  UpstreamEvent,
  UpstreamSession,
} from '../../ports/upstream-client.js';

/** Accepted sends answered within this long of each other are recorded in one transaction. */
const ACCEPTED_FLUSH_MS = 5;

interface AcceptedGroup {
  readonly entries: AcceptedSend[];
  done: Promise<void>;
}

export interface CloudUpstreamClientOptions {
  readonly config: CloudConfig;
  readonly store: CloudStore;
  readonly logger: Logger;
  /** Reads the access token again (from its file) after the API said it expired; absent: keep it. */
  readonly reloadToken?: () => string;
  /** Overrides for tests. */
  readonly reclaimAfterMs?: number;
  readonly pollIntervalMs?: number;
}

export class CloudUpstreamClient implements UpstreamClient {
  /** The pool's connections; each session may use its shard's share. */
  readonly connections: number;
  readonly #o: CloudUpstreamClientOptions;
  readonly #pool: Pool;
  readonly #basePath: string;
  #token: string;
  #tokenReloadedAtMs = 0;

  constructor(options: CloudUpstreamClientOptions) {
    this.#o = options;
    const url = new URL(options.config.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.connections = Math.min(cloudConnectionsMax, Math.max(cloudConnectionsMin, Math.ceil((options.config.ratePerSecond * cloudPostRoundTripMsBudget) / 1_000)));
    this.#pool = new Pool(url.origin, {
      connections: this.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: cloudRequestTimeoutMs,
      bodyTimeout: cloudRequestTimeoutMs,
      connectTimeout: cloudRequestTimeoutMs,
    });
    this.#token = options.config.accessToken;
  }

  /** Opens a session at once: nothing upstream holds it; the database fences each send. */
  async connect(options: UpstreamConnectOptions): Promise<UpstreamSession> {
    if (options.generation === undefined) throw new Error('the Cloud API adapter needs the ownership generation to fence its sends');
    return new CloudSession(this, options, options.generation, this.#o);
  }

  /** Closes the connection pool (after every session is closed). */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  /** One POST of a message body; resolves with the HTTP status and parsed body (null when not JSON). */
  async post(body: unknown): Promise<{ status: number; json: unknown }> {
    const { config } = this.#o;
    const response = await this.#pool.request({
      method: 'POST',
      path: `${this.#basePath}/${config.apiVersion}/${config.phoneNumberId}/messages`,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): the status alone classifies it.
    }
    return { status: response.statusCode, json };
  }

  /** The API said the token is not valid: read it again from its file (at most every 5 s). */
  tokenRejected(nowMs: number): void {
    if (this.#o.reloadToken === undefined || nowMs - this.#tokenReloadedAtMs < 5_000) return;
    this.#tokenReloadedAtMs = nowMs;
    try {
      this.#token = this.#o.reloadToken();
    } catch (error) {
      this.#o.logger.error({ err: error }, 'could not read the Cloud API access token file again');
    }
  }
}

class CloudSession implements UpstreamSession {
  readonly closed: Promise<UpstreamCloseInfo>;
  readonly #client: CloudUpstreamClient;
  readonly #options: UpstreamConnectOptions;
  readonly #fence: ShardFence;
  readonly #o: CloudUpstreamClientOptions;
  readonly #bucket: SendRateLimit;
  readonly #buckets: number[];
  readonly #waiters: (() => void)[] = [];
  /** Inbox seq → when it was handed to the worker (not acknowledged yet). */
  readonly #handed = new Map<number, number>();
  #pumpTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #polling = false;
  #inFlight = 0;
  #closing = false;
  #closeInfo: UpstreamCloseInfo | null = null;
  #resolveClosed!: (info: UpstreamCloseInfo) => void;
  #lastAuthLogMs = 0;
  #acceptedGroup: AcceptedGroup | null = null;
  /** Posts in flight: at most the shard's share of the pool's connections. */
  #slotsFree: number;
  readonly #slotWaiters: ((granted: boolean) => void)[] = [];
  #nextPruneAtMs = Date.now() + cloudEventsPruneIntervalMs;

  constructor(client: CloudUpstreamClient, options: UpstreamConnectOptions, generation: number, o: CloudUpstreamClientOptions) {
    this.#client = client;
    this.#options = options;
    this.#o = o;
    this.#fence = { generation, shard: options.shard, epoch: options.epoch };
    const rate = o.config.ratePerSecond / options.shards;
    this.#bucket = new SendRateLimit(rate, Math.max(1, Math.floor(rate)), Date.now(), cloudRateLimitPauseMsMin, cloudRateLimitPauseMsMax);
    this.#buckets = bucketsOfShard(options.shard, options.shards);
    this.#slotsFree = Math.max(1, Math.floor(client.connections / options.shards));
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#schedulePoll(0);
  }

  send(messages: readonly SendMessage[]): Promise<readonly SendAck[]> {
    if (this.#closing) return Promise.reject(new Error('upstream session is closed'));
    return Promise.all(messages.map((m) => this.#sendOne(m)));
  }

  ack(eventNumbers: readonly number[]): void {
    for (const seq of eventNumbers) this.#handed.delete(seq);
    void this.#o.store.markEventsDone(eventNumbers).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not mark Cloud events done; they are handed over again'));
  }

  async close(): Promise<void> {
    if (this.#closing) return this.closed.then(() => undefined);
    this.#closing = true;
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
    if (this.#pumpTimer !== null) clearTimeout(this.#pumpTimer);
    for (const wake of this.#waiters.splice(0)) wake();
    for (const refuse of this.#slotWaiters.splice(0)) refuse(false);
    this.#finishIfIdle();
    await this.closed;
  }

  // ---- sending -----------------------------------------------------------------------------------

  async #sendOne(message: SendMessage): Promise<SendAck> {
    this.#inFlight += 1;
    let slot = false;
    try {
      // A connection first (posts never queue inside the pool, so a claim is posted at once), then a token.
      slot = await this.#takeSlot();
      if (slot) await this.#takeToken();
      if (this.#closing || !slot) return { id: message.id, result: 'overloaded' };
      return await this.#claimAndPost(message);
    } catch (error) {
      // The database failed (the post's own failures are answers): the worker tries again with backoff.
      this.#o.logger.warn({ err: error, id: message.id }, 'sending through the Cloud API failed; retrying later');
      return { id: message.id, result: 'overloaded' };
    } finally {
      if (slot) this.#releaseSlot();
      this.#inFlight -= 1;
      this.#finishIfIdle();
    }
  }

  /** Resolves true with one of the shard's connection slots, or false when the session closes first. */
  #takeSlot(): Promise<boolean> {
    if (this.#closing) return Promise.resolve(false);
    if (this.#slotsFree > 0) {
      this.#slotsFree -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next !== undefined && !this.#closing) next(true);
    else {
      next?.(false);
      this.#slotsFree += 1;
    }
  }

  /** Claims the message under the fence, then posts it; the claim's answer decides when there is nothing to post. */
  async #claimAndPost(message: SendMessage): Promise<SendAck> {
    const claimedAtMs = Date.now();
    // The claim's age is judged by every coreapp on the database clock, never on its own.
    const claim = await this.#o.store.claimSend(message.id, this.#fence, await this.#o.store.nowMs(), this.#o.reclaimAfterMs ?? cloudReclaimAfterMs);
    switch (claim.kind) {
      case 'fenced':
        return { id: message.id, result: 'stale_epoch', error: { code: 1018, title: 'Not Primary Coreapp', details: `epoch ${this.#fence.epoch} is no longer the epoch of shard ${this.#fence.shard}` } };
      case 'accepted':
      case 'not_pending':
        return { id: message.id, result: 'duplicate' };
      case 'in_doubt':
        return { id: message.id, result: 'overloaded' };
      case 'claimed':
        break;
    }
    // A pause between the claim and the post could outlast our ownership: look again instead.
    if (Date.now() - claimedAtMs > coreappPauseRecheckMs || this.#closing) {
      await this.#o.store.release(message.id, this.#fence.epoch);
      return { id: message.id, result: 'overloaded' };
    }
    return await this.#post(message);
  }

  async #post(message: SendMessage): Promise<SendAck> {
    let answer: { status: number; json: unknown };
    try {
      answer = await this.#client.post(toCloudMessage(message.content, message.to, message.id));
    } catch (error) {
      // Refused before anything was sent: certainly not at the Cloud API.
      if ((error as { code?: unknown }).code === 'ECONNREFUSED') await this.#o.store.release(message.id, this.#fence.epoch);
      // Otherwise no answer: the API may have the message. The claim stays, in doubt, until a status settles it.
      else this.#o.logger.warn({ err: error, id: message.id }, 'Cloud API request failed without an answer; the message is in doubt');
      return { id: message.id, result: 'overloaded' };
    }
    const wamid = acceptedWamid(answer);
    if (wamid !== null) {
      this.#bucket.succeeded();
      // The message is at the Cloud API whatever happens next: a failed write here is settled by its statuses.
      await this.#recordAccepted(message.id, wamid).catch((error: unknown) => this.#o.logger.warn({ err: error, id: message.id }, 'could not record the wamid'));
      return { id: message.id, result: 'sent' };
    }
    await this.#o.store.release(message.id, this.#fence.epoch);
    return this.#onError(message, answer);
  }

  /**
   * Records accepted sends in groups: answers arriving within a few ms of each other share one
   * transaction (each caller waits for its group's commit), so the database sees one write per
   * group rather than one per message.
   */
  #recordAccepted(messageId: string, wamid: string): Promise<void> {
    let group = this.#acceptedGroup;
    if (group === null || group.entries.length >= storeBatchSizeMax) {
      const next: AcceptedGroup = { entries: [], done: Promise.resolve() };
      next.done = new Promise<void>((resolve) => setTimeout(resolve, ACCEPTED_FLUSH_MS)).then(() => {
        if (this.#acceptedGroup === next) this.#acceptedGroup = null;
        return this.#o.store.recordAccepted(next.entries, Date.now());
      });
      this.#acceptedGroup = next;
      group = next;
    }
    group.entries.push({ messageId, wamid });
    return group.done;
  }

  #onError(message: SendMessage, answer: { status: number; json: unknown }): SendAck {
    const error = graphError(answer.json);
    const classified = classifyCloudError(answer.status, error.code, error.message, error.details);
    const now = Date.now();
    switch (classified.kind) {
      case 'rate_limited': {
        const pauseMs = this.#bucket.rateLimited(now);
        this.#o.logger.debug({ code: error.code, pauseMs }, 'Cloud API rate limit; pausing this shard');
        return { id: message.id, result: 'overloaded' };
      }
      case 'transient':
        return { id: message.id, result: 'overloaded' };
      case 'auth':
        this.#client.tokenRejected(now);
        if (now - this.#lastAuthLogMs > 10_000) {
          this.#lastAuthLogMs = now;
          this.#o.logger.error({ code: error.code, status: answer.status }, 'the Cloud API refused the access token (expired or missing a permission); messages wait until it is fixed');
        }
        this.#bucket.rateLimited(now);
        return { id: message.id, result: 'overloaded' };
      case 'permanent':
        return { id: message.id, result: 'rejected', error: classified.error };
    }
  }

  /** Waits for a token, first come first served (one timer for all waiters). */
  #takeToken(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#pumpTimer !== null) return;
    while (this.#waiters.length > 0) {
      const waitMs = this.#bucket.take(Date.now());
      if (waitMs > 0) {
        this.#pumpTimer = setTimeout(() => {
          this.#pumpTimer = null;
          this.#pump();
        }, waitMs);
        return;
      }
      this.#waiters.shift()?.();
    }
  }

  #finishIfIdle(): void {
    if (!this.#closing || this.#inFlight > 0 || this.#closeInfo !== null || this.#polling) return;
    this.#closeInfo = { code: 1000, reason: 'closed' };
    this.#resolveClosed(this.#closeInfo);
  }

  // ---- events ------------------------------------------------------------------------------------

  #schedulePoll(delayMs: number): void {
    if (this.#closing) return;
    this.#pollTimer = setTimeout(() => void this.#poll(), delayMs);
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    let full = false;
    try {
      const stored = await this.#o.store.pendingEvents(this.#buckets, cloudEventsReadMax);
      full = stored.length === cloudEventsReadMax;
      const events = await this.#toUpstreamEvents(stored);
      if (events.length > 0 && !this.#closing) this.#options.onEvents(events);
      if (Date.now() >= this.#nextPruneAtMs) {
        this.#nextPruneAtMs = Date.now() + cloudEventsPruneIntervalMs;
        await this.#o.store.pruneEvents(this.#buckets, Date.now() - cloudEventsRetentionMs, storeBatchSizeMax);
      }
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'reading the Cloud webhook inbox failed; retrying');
    } finally {
      this.#polling = false;
      this.#finishIfIdle();
    }
    this.#schedulePoll(full ? 0 : (this.#o.pollIntervalMs ?? cloudEventsPollIntervalMs));
  }

  /**
   * Maps inbox events to worker events; events the worker has no use for are marked done here.
   * Every status proves the Cloud API has its message: claims left in doubt are settled first, in
   * one call (a read when nothing is in doubt).
   */
  async #toUpstreamEvents(stored: readonly StoredCloudEvent[]): Promise<UpstreamEvent[]> {
    const now = Date.now();
    const fresh = stored.filter((row) => {
      const handedAt = this.#handed.get(row.seq);
      return handedAt === undefined || now - handedAt >= cloudEventsRedeliveryMs;
    });
    const parsed = fresh.map((row) => ({ row, event: JSON.parse(row.payload) as CloudWebhookEvent }));
    const settled: AcceptedSend[] = [];
    for (const { event } of parsed) if (event.kind === 'status' && event.opaque !== null) settled.push({ messageId: event.opaque, wamid: event.wamid });
    await this.#o.store.recordAccepted(settled, now);
    const out: UpstreamEvent[] = [];
    const done: number[] = [];
    for (const { row, event } of parsed) {
      const upstream = await this.#toUpstreamEvent(row.seq, event);
      if (upstream === null) done.push(row.seq);
      else {
        this.#handed.set(row.seq, now);
        out.push(upstream);
      }
    }
    if (done.length > 0) await this.#o.store.markEventsDone(done);
    return out;
  }

  async #toUpstreamEvent(seq: number, event: CloudWebhookEvent): Promise<UpstreamEvent | null> {
    if (event.kind === 'message') {
      if (event.text === null) {
        this.#o.logger.warn({ type: event.type, id: event.wamid }, 'an inbound Cloud message of a type not forwarded yet (only text is); skipped');
        return null;
      }
      return { event: seq, kind: 'message', id: event.wamid, from: event.from, timestamp: event.timestamp, type: 'text', text: { body: event.text }, profile: { name: event.name } };
    }
    const id = event.opaque ?? (await this.#o.store.messageIdOf(event.wamid));
    if (id === null) {
      this.#o.logger.warn({ wamid: event.wamid, status: event.status }, 'a Cloud status for a message Shardgate did not send; skipped');
      return null;
    }
    // Cloud's `sent` only settles the claim (done above): the worker sent our `sent` when the post was accepted.
    if (event.status === 'sent') return null;
    const errors = event.errors.map((e) => onPremStatusError(e.code, e.title, e.details));
    return {
      event: seq,
      kind: 'status',
      id,
      recipient_id: event.recipientId,
      status: event.status,
      timestamp: event.timestamp,
      ...(event.status === 'failed' ? { errors: errors.length > 0 ? errors : [{ code: 1000, title: 'Generic error', details: 'the Cloud API reported the message failed' }] } : {}),
    };
  }
}

/** The wamid of a successful send answer, or null. */
function acceptedWamid(answer: { status: number; json: unknown }): string | null {
  if (answer.status < 200 || answer.status >= 300 || typeof answer.json !== 'object' || answer.json === null) return null;
  const messages = (answer.json as { messages?: unknown }).messages;
  const id = Array.isArray(messages) ? (messages[0] as { id?: unknown } | undefined)?.id : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
}

/** Graph's `{"error":{"code","message","error_data":{"details"}}}`, as far as present. */
function graphError(json: unknown): { code: number | null; message: string; details: string } {
  const error = typeof json === 'object' && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof error !== 'object' || error === null) return { code: null, message: '', details: '' };
  const e = error as { code?: unknown; message?: unknown; error_data?: { details?: unknown } };
  return {
    code: typeof e.code === 'number' ? e.code : null,
    message: typeof e.message === 'string' ? e.message : '',
    details: typeof e.error_data?.details === 'string' ? e.error_data.details : '',
  };
}
