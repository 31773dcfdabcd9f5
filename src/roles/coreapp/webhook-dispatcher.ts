/**
 * Delivers the durable callback queue (statuses and inbound messages) to `webhooks.url`, for the
 * shards this node owns (DESIGN.md §4.5):
 * - **at least once**: a callback leaves the queue only when the receiver answered 2xx
 *   (`markDelivered`); anything else — another status, a timeout, a refused connection — is counted
 *   and retried after On-Prem's linear backoff (`callback_backoff_delay_ms × attempts`, capped at
 *   `max_callback_backoff_delay_ms`), forever;
 * - **in order per contact**: `callbacks.due` returns only the head of each contact's queue, and a
 *   contact with a request in flight gets no second one;
 * - at most `webhooks.max_concurrent_requests` requests in flight;
 * - a stable `X-Shardgate-Event-Id` header, and `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
 *   exact body>` when `webhooks.secret` is set.
 *
 * `callback_persist: false` is accepted by the settings API but changes nothing here: callbacks are
 * always persisted (the queue is the database), so a restart never loses one.
 *
 * While `webhooks.url` is null callbacks wait in the queue. Requests run concurrently; their outcomes
 * are queued for the loop, which alone writes to the store and reads the next heads (so a head is
 * never read again before its outcome is recorded). Times are the store's clock, like the ones the
 * shard workers write.
 */
import { createHmac } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { Agent, request } from 'undici';
import { callbackBackoffMs, type ApplicationSettings } from '../../core/app-settings.js';
import { coreappStoreRetryDelayMs, storeBatchSizeMax, webhookHeadsReadMax, webhookHeadsRescanMs, webhookOutcomeLingerMs, webhookPollIntervalMsDefault, webhookRequestTimeoutMsDefault, webhookStopDrainMs } from '../../core/limits.js';
import type { StoredCallback } from '../../ports/callback-store.js';
import type { Stores } from '../../ports/stores.js';
import { WakeSignal } from './wake-signal.js';

export interface WebhookDispatcherOptions {
  readonly stores: Stores;
  /** The shards whose callbacks this node delivers (the shards it is primary for). */
  readonly shards: () => readonly number[];
  readonly settings: () => ApplicationSettings;
  readonly logger?: Logger;
  /** How often the queue is read when nobody calls `notify()` (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** Bound on one request: connect, headers and body (default 10 s). */
  readonly fetchTimeoutMs?: number;
}

/** The header naming the callback, stable across retries (receivers de-duplicate with it). */
export const EVENT_ID_HEADER = 'x-shardgate-event-id';
export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<hex HMAC-SHA256 of body with secret>`, the value of `X-Hub-Signature-256`. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

interface InFlight {
  readonly callback: StoredCallback;
  readonly abort: AbortController;
}

interface Outcome {
  readonly callback: StoredCallback;
  /** null: delivered; otherwise why not. */
  readonly error: string | null;
  /** Aborted by `stop()`: not an attempt, the callback stays as it was. */
  readonly aborted: boolean;
}

export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions;
  readonly #log: Logger;
  readonly #signal = new WakeSignal();
  readonly #agent: Agent;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #contactsInFlight = new Set<string>();
  #outcomes: Outcome[] = [];
  /** Due heads read from the store and not yet posted, oldest first within each shard. */
  #heads: StoredCallback[] = [];
  #headsAtMs = 0;
  /** Something changed since the heads were read (callbacks enqueued, outcomes recorded): read again when used up. */
  #headsStale = true;
  /** When the oldest outcome not yet recorded arrived. */
  #firstOutcomeAtMs = 0;
  readonly #pollMs: number;
  #state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  #loopDone: Promise<void> = Promise.resolve();
  /** Rotates which shard is read first, so one busy shard does not starve the others. */
  #rotation = 0;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#pollMs = options.pollIntervalMs ?? webhookPollIntervalMsDefault;
    const timeoutMs = options.fetchTimeoutMs ?? webhookRequestTimeoutMsDefault;
    this.#agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs });
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#loopDone = this.#run();
  }

  /** Callbacks were enqueued, or the settings changed: look now rather than at the next poll. */
  notify(): void {
    this.#headsStale = true;
    this.#signal.wake();
  }

  /**
   * Stops taking callbacks, waits (at most `webhookStopDrainMs`) for the requests in flight and
   * records their outcomes, then aborts the rest; those stay pending in the queue, untouched.
   */
  async stop(): Promise<void> {
    if (this.#state === 'idle') this.#state = 'stopped';
    if (this.#state === 'running') {
      this.#state = 'stopping';
      this.#signal.wake();
    }
    await this.#loopDone;
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      let delayMs = this.#pollMs;
      try {
        delayMs = Math.min(delayMs, await this.#turn());
      } catch (error) {
        this.#log.error({ err: error }, 'webhook dispatcher turn failed; retrying');
        delayMs = coreappStoreRetryDelayMs;
      }
      if (this.#state === 'running') await this.#signal.wait(delayMs);
    }
    await this.#drain();
    this.#state = 'stopped';
  }

  /** One turn: records outcomes when due, posts what the capacity allows; returns how soon to turn again at the latest. */
  async #turn(): Promise<number> {
    const lingerMs = this.#outcomesLingerMs();
    if (lingerMs === 0) await this.#recordOutcomes();
    const settings = this.#o.settings();
    const url = settings.webhooks.url;
    // Finished requests whose outcome is not recorded yet do not count: only requests still running do.
    let capacity = settings.webhooks.max_concurrent_requests - (this.#inFlight.size - this.#outcomes.length);
    if (url === null || capacity <= 0) return lingerMs;
    // The full read of every shard's heads scans the pending callbacks, so under a backlog it is
    // rationed: the contacts just delivered get their next callback by `#refillHeads` instead, and
    // new contacts are looked for at once only when nothing is in flight, else at most every
    // `webhookHeadsRescanMs` (and every poll interval in any case).
    const sinceRead = Date.now() - this.#headsAtMs;
    const rescan = this.#headsStale && (this.#inFlight.size === 0 || sinceRead >= webhookHeadsRescanMs);
    if ((this.#heads.length === 0 && rescan) || sinceRead >= this.#pollMs) await this.#readHeads();
    while (capacity > 0 && this.#heads.length > 0 && this.#state === 'running') {
      const callback = this.#heads.shift() as StoredCallback;
      if (this.#inFlight.has(callback.seq) || this.#contactsInFlight.has(callback.contact)) continue;
      this.#post(callback, url, settings.webhooks.secret);
      capacity -= 1;
    }
    return lingerMs;
  }

  /**
   * 0 when the finished requests' outcomes should be written now: every request has finished, a store
   * batch is full, or the oldest outcome has waited `webhookOutcomeLingerMs`; otherwise how long to
   * wait for more. One commit then records many deliveries instead of one each (a contact's next
   * callback waits for its predecessor's record, so the wait is short).
   */
  #outcomesLingerMs(): number {
    if (this.#outcomes.length === 0) return Number.POSITIVE_INFINITY;
    if (this.#outcomes.length >= this.#inFlight.size || this.#outcomes.length >= storeBatchSizeMax) return 0;
    return Math.max(0, this.#firstOutcomeAtMs + webhookOutcomeLingerMs - Date.now());
  }

  /**
   * Reads the due heads of every shard (one query per shard for up to `webhookHeadsReadMax` contacts,
   * not one per request). A head read stays the head of its contact until this dispatcher records its
   * outcome (later callbacks have higher seqs), so the list can be used up over several turns; it is
   * read again when used up or older than the poll interval.
   */
  async #readHeads(): Promise<void> {
    const now = await this.#o.stores.nowMs();
    const shards = [...this.#o.shards()].sort((a, b) => a - b);
    this.#rotation = (this.#rotation + 1) % Math.max(1, shards.length);
    const heads: StoredCallback[] = [];
    for (const shard of [...shards.slice(this.#rotation), ...shards.slice(0, this.#rotation)]) {
      // Heads of contacts in flight come back too; they are skipped when taken from the list.
      heads.push(...(await this.#o.stores.callbacks.due(shard, now, webhookHeadsReadMax)));
    }
    this.#heads = heads.filter((c) => !this.#contactsInFlight.has(c.contact));
    this.#headsAtMs = Date.now();
    this.#headsStale = false;
  }

  #post(callback: StoredCallback, url: string, secret: string | null): void {
    const abort = new AbortController();
    this.#inFlight.set(callback.seq, { callback, abort });
    this.#contactsInFlight.add(callback.contact);
    const headers: Record<string, string> = { 'content-type': 'application/json', [EVENT_ID_HEADER]: callback.eventId };
    if (secret !== null) headers[SIGNATURE_HEADER] = webhookSignature(secret, callback.payload);
    const timeoutMs = this.#o.fetchTimeoutMs ?? webhookRequestTimeoutMsDefault;
    // One controller and one timer per request: AbortSignal.any over AbortSignal.timeout cost a
    // twentieth of the coreapp's CPU at a few thousand webhooks per second.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    void request(url, { method: 'POST', headers, body: callback.payload, signal: abort.signal, dispatcher: this.#agent })
      .then(async (response) => {
        await response.body.dump();
        const ok = response.statusCode >= 200 && response.statusCode < 300;
        return ok ? null : `HTTP ${response.statusCode}`;
      })
      .catch((error: unknown) => (timedOut ? `no answer within ${timeoutMs} ms` : describe(error)))
      .then((error) => {
        clearTimeout(timer);
        if (this.#outcomes.length === 0) this.#firstOutcomeAtMs = Date.now();
        this.#outcomes.push({ callback, error, aborted: abort.signal.aborted && !timedOut });
        this.#signal.wake();
      });
  }

  /**
   * Writes the outcomes of finished requests in one transaction (one commit for many callbacks). A
   * failed write leaves them all queued for the next turn; both writes only touch pending rows, so
   * writing an outcome twice changes nothing.
   */
  async #recordOutcomes(): Promise<void> {
    if (this.#outcomes.length === 0) return;
    const { stores, settings } = this.#o;
    const outcomes = this.#outcomes.slice(0, storeBatchSizeMax);
    const now = await stores.nowMs();
    const backoff = settings();
    await stores.inTransaction(async (tx) => {
      await tx.callbacks.markDeliveredMany(outcomes.filter((o) => o.error === null).map((o) => o.callback.seq));
      for (const { callback, error, aborted } of outcomes) {
        if (error !== null && !aborted) await tx.callbacks.recordFailure(callback.seq, now + callbackBackoffMs(backoff, callback.attempts + 1), error);
      }
    });
    this.#outcomes.splice(0, outcomes.length);
    this.#firstOutcomeAtMs = Date.now();
    for (const { callback, error, aborted } of outcomes) {
      this.#inFlight.delete(callback.seq);
      this.#contactsInFlight.delete(callback.contact);
      if (error !== null && !aborted) {
        this.#log.warn({ eventId: callback.eventId, attempts: callback.attempts + 1, error }, 'webhook not delivered; will retry');
      }
    }
    if (this.#state === 'running') await this.#refillHeads(outcomes.filter((o) => o.error === null).map((o) => o.callback.contact), now);
  }

  /**
   * The next callback of each contact just delivered becomes its head: look those up (one indexed
   * lookup each) and put the due ones of this node's shards first, rather than reading every head
   * again. A contact whose head is now in another shard, or not due, is left to the full read.
   */
  async #refillHeads(contacts: readonly string[], now: number): Promise<void> {
    if (contacts.length === 0) return;
    const shards = new Set(this.#o.shards());
    const listed = new Set(this.#heads.map((c) => c.contact));
    const next = (await this.#o.stores.callbacks.headsOf(contacts.filter((c) => !listed.has(c))))
      .filter((c) => shards.has(c.shard) && c.nextAttemptAtMs <= now && !this.#contactsInFlight.has(c.contact))
      .sort((a, b) => a.seq - b.seq);
    this.#heads = [...next, ...this.#heads];
  }

  async #drain(): Promise<void> {
    const deadline = Date.now() + webhookStopDrainMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      await this.#recordOutcomes().catch((error: unknown) => this.#log.error({ err: error }, 'recording webhook outcomes failed'));
      if (this.#inFlight.size > 0) await this.#signal.wait(deadline - Date.now());
    }
    for (const { abort } of this.#inFlight.values()) abort.abort();
    // An aborted request settles at once; the bound only guards against a stuck one.
    const abortDeadline = Date.now() + webhookStopDrainMs;
    while (this.#inFlight.size > this.#outcomes.length && Date.now() < abortDeadline) await this.#signal.wait(abortDeadline - Date.now());
    await this.#recordOutcomes().catch((error: unknown) => this.#log.error({ err: error }, 'recording webhook outcomes failed'));
    await this.#agent.destroy();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: unknown }).code;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${detail}`;
  }
  return String(error);
}
