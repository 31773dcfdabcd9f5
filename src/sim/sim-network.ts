/**
 * The simulated messaging network: accounts, one connection per (account, shard) with epoch fencing,
 * de-duplicated sends, receipts, inbound traffic, per-connection rate limits, and the checker.
 *
 * It does no I/O of its own and never reads the clock: the transport calls `connect`, `receive` and
 * `disconnect` with the time, and a scheduler calls `tick(nowMs)` whenever `onWake` fires or
 * `nextWakeMs` comes. Frames go out through each connection's `SimPeer`. Unit tests drive it with
 * fake peers and a manual clock; `startSim` drives it with `ws` sockets and timers.
 */
import { ERRORS, type ErrorSpec } from '../core/errors.js';
import {
  simAckBatchEventsMax,
  simConnBufferedBytesMax,
  simConnSendQueueMessagesMax,
  simConnectionsMax,
  simEventsInFlightMax,
  simEventsPerFrameMax,
  simFrameBytesMax,
  simInboundPerTickMax,
  simInboundTextLengthMax,
  simPendingEventsPerAccountMax,
  simRateBurstMs,
  simSendBatchMessagesMax,
  simTickIntervalMsMax,
  simTickReceiptsMax,
  type ShardCount,
} from '../core/limits.js';
import { isShardCount, shardOf } from '../core/shard-hash.js';
import { decideHandshake } from './decide-handshake.js';
import { DueQueue } from './due-queue.js';
import { SIM_INVALID_NUMBER_ERROR, isInvalidNumber } from './is-invalid-number.js';
import { isWaId, parseClientFrame, parseSendMessage } from './parse-client-frame.js';
import { SeededRandom } from '../core/seeded-random.js';
import { SimAccounts, failure, type SimAccount, type SimResult, type SimShardSlot } from './sim-accounts.js';
import { SimChecker, type CheckerSnapshot, type ShardCounts } from './sim-checker.js';
import { SimConnection, type SimPeer } from './sim-connection.js';
import type { ResolvedSimOptions } from './sim-options.js';
import { TokenBucket } from '../core/token-bucket.js';
import {
  SIM_CLOSE_REASONS,
  SIM_PROTOCOL,
  type AckFrame,
  type HelloFrame,
  type MessageEvent,
  type ReceiptStatus,
  type SendAck,
  type SendFrame,
  type SimCloseReason,
  type SimErrorObject,
  type StatusEvent,
  type WelcomeFrame,
} from '../core/upstream-protocol.js';

/** A receipt waiting for its due time. */
interface ReceiptItem {
  readonly account: SimAccount;
  readonly id: string;
  readonly to: string;
  readonly invalid: boolean;
  /** The text to auto-reply to, or null. */
  readonly body: string | null;
}

export interface SimShardReport extends ShardCounts {
  /** The account's current shard count. */
  readonly shards: number;
  readonly connected: boolean;
  readonly epoch_max: number | null;
  readonly node: string | null;
  readonly events_unsent: number;
  readonly events_in_flight: number;
}

/** The body of `GET /sim/report`. Fields are described in docs/upstream-protocol.md. */
export interface SimReport extends Omit<CheckerSnapshot, 'per_shard'> {
  readonly inbound_unacked: number;
  readonly receipts_pending: number;
  readonly receipts_scheduled: number;
  readonly connections_open: number;
  readonly per_shard: readonly SimShardReport[];
  readonly seed: number;
}

export interface InboundCreated {
  readonly id: string;
  readonly account: string;
  readonly shard: number;
  readonly event: number;
}

function errorObject(spec: ErrorSpec, details: string): SimErrorObject {
  return { code: spec.onPremCode, title: spec.title, details };
}

function unixSeconds(nowMs: number): string {
  return String(Math.floor(nowMs / 1000));
}

/** The text body of a message's content, if it has one (for auto-replies). */
function textOf(content: Readonly<Record<string, unknown>>): string | null {
  const text = content['text'];
  if (typeof text !== 'object' || text === null) return null;
  const body = (text as Record<string, unknown>)['body'];
  return typeof body === 'string' ? body : null;
}

export class SimNetwork {
  readonly options: ResolvedSimOptions;
  readonly checker: SimChecker;
  readonly accounts: SimAccounts;
  private readonly random: SeededRandom;
  private readonly connections = new Set<SimConnection>();
  private readonly handshaking = new Set<SimConnection>();
  /** Slots that have a holder: the ones whose events are flushed. */
  private readonly held = new Set<SimShardSlot>();
  /** Rate-limited connections with queued sends. */
  private readonly limited = new Set<SimConnection>();
  private readonly deliveredQueue = new DueQueue<ReceiptItem>();
  private readonly readQueue = new DueQueue<ReceiptItem>();
  private readonly contacts: readonly string[];
  private readonly inboundPrefix: string;
  private nextConnectionId = 1;
  private nextEvent = 1;
  private nextInbound = 1;
  private inboundCredit = 0;
  private inboundAtMs: number;
  /** Set by a flush that left events unsent because a socket's buffer was full. */
  private blocked = false;
  private wakeHook: () => void = () => undefined;

  constructor(options: ResolvedSimOptions, nowMs: number) {
    this.options = options;
    this.random = new SeededRandom(options.seed);
    this.checker = new SimChecker(options.messageIdsMax);
    this.accounts = new SimAccounts(this.random);
    this.inboundPrefix = this.random.hex(8).toUpperCase();
    this.contacts = this.makeContacts(options.contacts);
    this.inboundAtMs = nowMs;
    for (const seed of options.accounts) this.accounts.preregister(seed.waId, seed.credentials, seed.shards ?? 1);
  }

  /** `hook` is called when work became due now (the scheduler should call `tick` soon, once). */
  onWake(hook: () => void): void {
    this.wakeHook = hook;
  }

  /** The simulated contacts, in generation order (deterministic from the seed). */
  contactList(): readonly string[] {
    return this.contacts;
  }

  // ---- connections ------------------------------------------------------------------------------

  /** A transport connection opened; it must send `hello` before the handshake timeout. */
  connect(peer: SimPeer, nowMs: number): SimConnection {
    const conn = new SimConnection(this.nextConnectionId, peer, nowMs);
    this.nextConnectionId += 1;
    this.connections.add(conn);
    if (this.connections.size > simConnectionsMax) {
      this.refuse(conn, 'capacity', `the simulator accepts at most ${simConnectionsMax} connections`);
      return conn;
    }
    this.handshaking.add(conn);
    this.wakeHook();
    return conn;
  }

  /** One text frame arrived on `conn`. */
  receive(conn: SimConnection, text: string, nowMs: number): void {
    // A connection whose hello was refused never held a shard: whatever it still sends is ignored.
    if (conn.state === 'closed' || (conn.state === 'released' && conn.hello === null)) return;
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return this.protocolError(conn, parsed.details);
    const frame = parsed.value;
    if (conn.state === 'handshaking') {
      if (frame.type !== 'hello') return this.protocolError(conn, `the first frame must be hello, not ${frame.type}`);
      return this.onHello(conn, frame, nowMs);
    }
    if (frame.type === 'hello') return this.protocolError(conn, 'hello was already received on this connection');
    if (frame.type === 'send') return this.onSend(conn, frame, nowMs);
    return this.onAck(conn, frame);
  }

  /** A binary frame arrived: the protocol is text only. */
  receiveBinary(conn: SimConnection): void {
    if (conn.state !== 'closed') this.protocolError(conn, 'binary frames are not part of the protocol');
  }

  /** The transport connection is gone (closed by either side, or broken). */
  disconnect(conn: SimConnection): void {
    this.unhold(conn);
    conn.state = 'closed';
    conn.clearQueue();
    this.connections.delete(conn);
    this.handshaking.delete(conn);
    this.limited.delete(conn);
  }

  /** Closes every connection (the simulator is stopping). */
  closeAll(): void {
    for (const conn of this.connections) {
      this.unhold(conn);
      if (conn.state !== 'closed') conn.state = 'released';
      conn.peer.close(SIM_PROTOCOL.goingAway, 'going_away');
    }
  }

  private onHello(conn: SimConnection, hello: HelloFrame, nowMs: number): void {
    this.handshaking.delete(conn);
    const account = this.accounts.get(hello.account);
    const slot = account?.slots[hello.shard];
    const decision = decideHandshake(hello, account, { epochMax: slot?.epochMax ?? null, held: slot?.holder != null });
    if (decision.kind === 'refuse') {
      const refused = this.checker.activity.handshakes_refused;
      const name = SIM_CLOSE_REASONS[decision.reason];
      refused[name] = (refused[name] ?? 0) + 1;
      return this.refuse(conn, decision.reason, decision.details);
    }
    // decideHandshake accepts only a registered account, whose slots cover every shard index.
    this.hold(conn, hello, account as SimAccount, slot as SimShardSlot, nowMs);
  }

  /** `conn` takes the slot, replacing its holder if there is one. */
  private hold(conn: SimConnection, hello: HelloFrame, account: SimAccount, slot: SimShardSlot, nowMs: number): void {
    if (slot.holder !== null) {
      this.checker.activity.connections_replaced += 1;
      this.refuse(slot.holder, 'replaced', `a connection with epoch ${hello.epoch} took shard ${hello.shard} of account ${hello.account}`);
    }
    conn.hello = hello;
    conn.account = account;
    conn.slot = slot;
    conn.state = 'holding';
    slot.epochMax = hello.epoch;
    slot.holder = conn;
    this.held.add(slot);
    this.checker.activity.handshakes_accepted += 1;
    this.checker.connectionOpened(account.waId, hello.shard, hello.shards, hello.epoch, hello.node, nowMs);
    const rate = this.options.connRatePerSecond;
    const burst = rate === null ? null : Math.max(1, Math.ceil((rate * simRateBurstMs) / 1000));
    if (rate !== null && burst !== null) conn.bucket = new TokenBucket(rate, burst, nowMs);
    conn.peer.send(JSON.stringify(this.welcome(hello, rate, burst)));
    this.wakeHook();
  }

  private welcome(hello: HelloFrame, rate: number | null, burst: number | null): WelcomeFrame {
    return {
      type: 'welcome',
      protocol: SIM_PROTOCOL.version,
      account: hello.account,
      shard: hello.shard,
      shards: hello.shards,
      epoch: hello.epoch,
      rate_per_second: rate,
      burst,
      redelivery_ms: this.options.redeliveryMs,
      limits: {
        send_batch_messages_max: simSendBatchMessagesMax,
        ack_batch_events_max: simAckBatchEventsMax,
        events_in_flight_max: simEventsInFlightMax,
        frame_bytes_max: simFrameBytesMax,
      },
    };
  }

  /** Stops `conn` holding its shard (if it does): its in-flight events go back to the outbox. */
  private unhold(conn: SimConnection): void {
    if (conn.state !== 'holding' || conn.slot === null || conn.account === null || conn.hello === null) return;
    const slot = conn.slot;
    if (slot.holder === conn) {
      slot.holder = null;
      slot.outbox.detach();
      this.held.delete(slot);
    }
    this.checker.connectionClosed(conn.account.waId, conn.hello.shard);
    conn.state = 'released';
  }

  /** Tells the peer why, and closes it with the reason's close code. */
  private refuse(conn: SimConnection, reason: SimCloseReason, details: string): void {
    this.unhold(conn);
    this.handshaking.delete(conn);
    this.limited.delete(conn);
    conn.clearQueue();
    if (conn.state === 'closed') return;
    conn.state = 'released';
    // Read again, or the peer's answer to our close frame would never be seen.
    if (conn.readingPaused) {
      conn.readingPaused = false;
      conn.peer.setReading(true);
    }
    const code = SIM_PROTOCOL.closeCodes[reason];
    conn.peer.send(JSON.stringify({ type: 'error', code, reason: SIM_CLOSE_REASONS[reason], details }));
    conn.peer.close(code, SIM_CLOSE_REASONS[reason]);
  }

  private protocolError(conn: SimConnection, details: string): void {
    this.checker.activity.protocol_errors += 1;
    this.refuse(conn, 'protocolError', details);
  }

  // ---- outbound ---------------------------------------------------------------------------------

  private onSend(conn: SimConnection, frame: SendFrame, nowMs: number): void {
    const hello = conn.hello as HelloFrame;
    if (frame.epoch !== hello.epoch) {
      return this.protocolError(conn, `send.epoch ${frame.epoch} differs from the hello's epoch ${hello.epoch}`);
    }
    if (conn.bucket === null || conn.state !== 'holding') {
      const acks: SendAck[] = [];
      for (const raw of frame.messages) acks.push(this.processSend(conn, raw, nowMs));
      conn.peer.send(JSON.stringify({ type: 'acks', acks }));
      this.wakeHook();
      return;
    }
    for (const raw of frame.messages) conn.queue.push({ raw });
    this.limited.add(conn);
    this.drainLimited(conn, nowMs);
    this.checker.activity.sends_rate_limited += Math.min(frame.messages.length, conn.queued);
    if (conn.queued > simConnSendQueueMessagesMax && !conn.readingPaused) {
      conn.readingPaused = true;
      conn.peer.setReading(false);
    }
  }

  /** Processes the sends of a rate-limited connection for which tokens are available. */
  private drainLimited(conn: SimConnection, nowMs: number): void {
    const bucket = conn.bucket;
    if (conn.state !== 'holding' || bucket === null) {
      conn.clearQueue();
      this.limited.delete(conn);
      return;
    }
    const granted = bucket.take(conn.queued, nowMs);
    if (granted > 0) {
      const acks = conn.dequeue(granted).map((queued) => this.processSend(conn, queued.raw, nowMs));
      conn.peer.send(JSON.stringify({ type: 'acks', acks }));
      this.wakeHook();
    }
    if (conn.readingPaused && conn.queued <= simConnSendQueueMessagesMax / 2) {
      conn.readingPaused = false;
      conn.peer.setReading(true);
    }
    if (conn.queued === 0) this.limited.delete(conn);
  }

  private processSend(conn: SimConnection, raw: unknown, nowMs: number): SendAck {
    const parsed = parseSendMessage(raw);
    if (!parsed.ok) {
      this.checker.activity.sends_rejected += 1;
      return { id: parsed.id, result: 'rejected', error: errorObject(ERRORS.PARAMETER_INVALID, parsed.details) };
    }
    const account = conn.account as SimAccount;
    const slot = conn.slot as SimShardSlot;
    const hello = conn.hello as HelloFrame;
    const message = parsed.value;
    const verdict = this.checker.observeSend({
      account: account.waId,
      shard: hello.shard,
      shards: hello.shards,
      epoch: hello.epoch,
      epochMax: slot.epochMax ?? hello.epoch,
      holds: conn.state === 'holding' && slot.holder === conn,
      node: hello.node,
      message,
      full: account.receiptsPending + account.inboundUnacked >= simPendingEventsPerAccountMax,
      nowMs,
    });
    switch (verdict) {
      case 'sent':
        this.scheduleReceipts(account, message.id, message.to, message.content, nowMs);
        return { id: message.id, result: 'sent' };
      case 'duplicate':
        return { id: message.id, result: 'duplicate' };
      case 'misrouted': {
        const expected = shardOf(message.to, hello.shards);
        const details = `recipient ${message.to} belongs to shard ${expected} of ${hello.shards}, not shard ${hello.shard}`;
        return { id: message.id, result: 'misrouted', error: errorObject(ERRORS.PARAMETER_INVALID, details) };
      }
      case 'stale_epoch':
        return { id: message.id, result: 'stale_epoch', error: errorObject(ERRORS.NOT_PRIMARY_COREAPP, 'this connection no longer holds the shard') };
      case 'overloaded':
        this.checker.activity.sends_overloaded += 1;
        return { id: message.id, result: 'overloaded', error: errorObject(ERRORS.OVERLOADED, 'the network is holding too much; retry later') };
    }
  }

  private scheduleReceipts(account: SimAccount, id: string, to: string, content: Readonly<Record<string, unknown>>, nowMs: number): void {
    const delay = this.options.deliveredDelayMs;
    if (delay === null) return;
    const invalid = isInvalidNumber(to, this.options.invalidSuffix);
    const body = this.options.autoReply && !invalid ? textOf(content) : null;
    this.deliveredQueue.push(nowMs + delay, { account, id, to, invalid, body });
    account.receiptsPending += 1;
    if (delay === 0) this.wakeHook();
  }

  // ---- events to the coreapp --------------------------------------------------------------------

  private onAck(conn: SimConnection, frame: AckFrame): void {
    const slot = conn.slot;
    const account = conn.account;
    if (slot === null || account === null) return;
    for (const n of frame.events) {
      const entry = slot.outbox.ack(n);
      if (entry === undefined) continue;
      this.checker.activity.events_acked += 1;
      if (entry.event.kind === 'status') account.receiptsPending -= 1;
      else account.inboundUnacked -= 1;
    }
    if (slot.holder !== null && slot.outbox.hasSendable(simEventsInFlightMax)) this.wakeHook();
  }

  private emitStatus(item: ReceiptItem, status: ReceiptStatus, nowMs: number): void {
    const account = item.account;
    const n = this.nextEvent;
    this.nextEvent += 1;
    const event: StatusEvent =
      status === 'failed'
        ? { event: n, kind: 'status', id: item.id, recipient_id: item.to, status, timestamp: unixSeconds(nowMs), errors: [SIM_INVALID_NUMBER_ERROR] }
        : { event: n, kind: 'status', id: item.id, recipient_id: item.to, status, timestamp: unixSeconds(nowMs) };
    const slot = account.slots[shardOf(item.to, account.shards)] as SimShardSlot;
    slot.outbox.push(n, item.to, event);
    this.checker.activity.receipts_emitted += 1;
    if (status === 'failed') this.checker.activity.messages_failed += 1;
  }

  private createInbound(account: SimAccount, from: string, text: string, nowMs: number): InboundCreated {
    const n = this.nextEvent;
    this.nextEvent += 1;
    const id = this.inboundPrefix + this.nextInbound.toString(16).toUpperCase().padStart(12, '0');
    this.nextInbound += 1;
    const shard = shardOf(from, account.shards);
    const event: MessageEvent = {
      event: n,
      kind: 'message',
      id,
      from,
      timestamp: unixSeconds(nowMs),
      type: 'text',
      text: { body: text.slice(0, simInboundTextLengthMax) },
      profile: { name: `Contact ${from.slice(-4)}` },
    };
    (account.slots[shard] as SimShardSlot).outbox.push(n, from, event);
    account.inboundUnacked += 1;
    this.checker.activity.inbound_created += 1;
    this.wakeHook();
    return { id, account: account.waId, shard, event: n };
  }

  private accountFull(account: SimAccount): boolean {
    return account.receiptsPending + account.inboundUnacked >= simPendingEventsPerAccountMax;
  }

  // ---- scheduler --------------------------------------------------------------------------------

  /** Does everything due at `nowMs`: timeouts, receipts, inbound traffic, rate-limited sends, flushes. */
  tick(nowMs: number): void {
    for (const conn of this.handshaking) {
      if (conn.openedAtMs + this.options.handshakeTimeoutMs <= nowMs) {
        this.refuse(conn, 'handshakeTimeout', `no hello within ${this.options.handshakeTimeoutMs} ms`);
      }
    }
    this.emitDueReceipts(nowMs);
    this.generateInbound(nowMs);
    for (const conn of this.limited) this.drainLimited(conn, nowMs);
    this.blocked = false;
    for (const slot of this.held) this.flush(slot, nowMs);
  }

  /** When `tick` should run next (at most `simTickIntervalMsMax` from now). */
  nextWakeMs(nowMs: number): number {
    let next = nowMs + simTickIntervalMsMax;
    const consider = (at: number | null): void => {
      if (at !== null && at < next) next = at;
    };
    for (const conn of this.handshaking) consider(conn.openedAtMs + this.options.handshakeTimeoutMs);
    consider(this.deliveredQueue.nextDueMs());
    consider(this.readQueue.nextDueMs());
    if (this.options.inboundRatePerSecond > 0) consider(nowMs + Math.max(1, Math.ceil(1000 / this.options.inboundRatePerSecond)));
    for (const conn of this.limited) consider(conn.bucket?.nextTokenMs(nowMs) ?? null);
    for (const slot of this.held) consider(slot.outbox.nextRedeliveryMs(this.options.redeliveryMs));
    if (this.blocked) consider(nowMs + 10);
    return Math.max(nowMs, next);
  }

  private emitDueReceipts(nowMs: number): void {
    const read = this.options.readDelayMs;
    for (const item of this.deliveredQueue.popDue(nowMs, simTickReceiptsMax)) {
      this.emitStatus(item, item.invalid ? 'failed' : 'delivered', nowMs);
      if (!item.invalid && read !== null) {
        this.readQueue.push(nowMs + read, item);
        item.account.receiptsPending += 1;
      }
      if (item.body !== null) {
        if (this.accountFull(item.account)) this.checker.activity.inbound_deferred += 1;
        else this.createInbound(item.account, item.to, `auto-reply: ${item.body}`, nowMs);
      }
    }
    for (const item of this.readQueue.popDue(nowMs, simTickReceiptsMax)) this.emitStatus(item, 'read', nowMs);
    const again = [this.deliveredQueue.nextDueMs(), this.readQueue.nextDueMs()];
    if (again.some((at) => at !== null && at <= nowMs)) this.wakeHook();
  }

  /** Simulated contacts write to every registered account at the inbound rate. */
  private generateInbound(nowMs: number): void {
    const rate = this.options.inboundRatePerSecond;
    const elapsed = Math.min(nowMs - this.inboundAtMs, simTickIntervalMsMax);
    this.inboundAtMs = nowMs;
    if (rate <= 0 || elapsed <= 0) return;
    this.inboundCredit = Math.min(this.inboundCredit + (elapsed * rate) / 1000, simInboundPerTickMax);
    const due = Math.floor(this.inboundCredit);
    if (due === 0) return;
    this.inboundCredit -= due;
    for (const account of this.accounts.list()) {
      if (account.credentials === null) continue;
      for (let i = 0; i < due; i += 1) {
        if (this.accountFull(account)) {
          this.checker.activity.inbound_deferred += due - i;
          break;
        }
        const from = this.contacts[this.random.int(this.contacts.length)] as string;
        this.createInbound(account, from, `hello from ${from}`, nowMs);
      }
    }
  }

  /** Transmits what the slot's holder may receive now, in frames of at most `simEventsPerFrameMax`. */
  private flush(slot: SimShardSlot, nowMs: number): void {
    const conn = slot.holder;
    if (conn === null) return;
    for (;;) {
      if (conn.peer.bufferedBytes() > simConnBufferedBytesMax) {
        this.blocked = true;
        return;
      }
      const { entries, redelivered } = slot.outbox.take(nowMs, this.options.redeliveryMs, simEventsInFlightMax, simEventsPerFrameMax);
      if (entries.length === 0) return;
      this.checker.activity.events_redelivered += redelivered;
      conn.peer.send(JSON.stringify({ type: 'events', events: entries.map((entry) => entry.event) }));
      if (entries.length < simEventsPerFrameMax) return;
    }
  }

  // ---- HTTP-facing operations -------------------------------------------------------------------

  /** Verifies a registration code; rotating credentials disconnects the account's coreapps. */
  verify(waId: string, code: unknown): SimResult<{ waId: string; credentials: string; shards: ShardCount }> {
    const verified = this.accounts.verify(waId, code);
    if (!verified.ok) return verified;
    const { account, rotated } = verified.value;
    if (rotated) this.releaseAll(account, 'unauthorized', 'the account was registered again: its credentials changed');
    return { ok: true, value: { waId, credentials: account.credentials as string, shards: account.shards } };
  }

  /**
   * Changes an account's shard count (authenticated by its credentials). Every connection of the
   * account is closed with shards_changed, and every owed event moves to its shard under the new count.
   */
  setShards(waId: string, credentials: string | null, shards: unknown): SimResult<{ waId: string; shards: ShardCount }> {
    const account = this.accounts.get(waId);
    if (account === undefined || account.credentials === null) return failure(ERRORS.NOT_FOUND, `account ${waId} is not registered`);
    if (credentials === null || credentials !== account.credentials) return failure(ERRORS.UNAUTHORIZED, 'missing or wrong credentials');
    if (!isShardCount(shards)) return failure(ERRORS.PARAMETER_INVALID, 'shards must be 1, 2, 4, 8, 16 or 32');
    if (shards !== account.shards) {
      this.releaseAll(account, 'shardsChanged', `account ${waId} now has ${shards} shards (was ${account.shards})`);
      const owed = account.slots.flatMap((slot) => slot.outbox.drain()).sort((a, b) => a.n - b.n);
      account.shards = shards;
      for (const entry of owed) (account.slots[shardOf(entry.contact, shards)] as SimShardSlot).outbox.push(entry.n, entry.contact, entry.event);
    }
    return { ok: true, value: { waId, shards: account.shards } };
  }

  /** An inbound text from a (simulated) user `from` to account `to` (the only account when omitted). */
  injectInbound(from: unknown, text: unknown, to: unknown, nowMs: number): SimResult<InboundCreated> {
    if (!isWaId(from)) return failure(ERRORS.PARAMETER_INVALID, 'from must be a wa_id of 1-20 digits');
    if (typeof text !== 'string' || text.length === 0 || text.length > simInboundTextLengthMax) {
      return failure(ERRORS.PARAMETER_INVALID, `text must be 1-${simInboundTextLengthMax} characters`);
    }
    const registered = this.accounts.list().filter((account) => account.credentials !== null);
    let account: SimAccount | undefined;
    if (to === undefined || to === null) {
      if (registered.length !== 1) return failure(ERRORS.PARAMETER_MISSING, `to is required when ${registered.length} accounts are registered`);
      account = registered[0];
    } else {
      account = typeof to === 'string' ? registered.find((a) => a.waId === to) : undefined;
    }
    if (account === undefined) return failure(ERRORS.NOT_FOUND, `account ${String(to)} is not registered`);
    if (this.accountFull(account)) return failure(ERRORS.OVERLOADED, 'the account has too many unacknowledged events');
    return { ok: true, value: this.createInbound(account, from, text, nowMs) };
  }

  private releaseAll(account: SimAccount, reason: SimCloseReason, details: string): void {
    for (const slot of account.slots) if (slot.holder !== null) this.refuse(slot.holder, reason, details);
  }

  /** The checker's report, with the network's pending work and per-shard connection state. */
  report(): SimReport {
    const snapshot = this.checker.snapshot();
    let inboundUnacked = 0;
    let receiptsPending = 0;
    for (const account of this.accounts.list()) {
      inboundUnacked += account.inboundUnacked;
      receiptsPending += account.receiptsPending;
    }
    return {
      ok: snapshot.ok,
      violations_total: snapshot.violations_total,
      messages_unique: snapshot.messages_unique,
      duplicates: snapshot.duplicates,
      misrouted: snapshot.misrouted,
      stale_epoch_sends: snapshot.stale_epoch_sends,
      max_connections_per_shard: snapshot.max_connections_per_shard,
      order_violations: snapshot.order_violations,
      connections_exceeded: snapshot.connections_exceeded,
      epochs_shared: snapshot.epochs_shared,
      inbound_unacked: inboundUnacked,
      receipts_pending: receiptsPending,
      receipts_scheduled: this.deliveredQueue.length + this.readQueue.length,
      connections_open: this.held.size,
      message_ids_full: snapshot.message_ids_full,
      activity: snapshot.activity,
      per_shard: this.perShard(snapshot.per_shard),
      violations: snapshot.violations,
      violations_unlisted: snapshot.violations_unlisted,
      seed: this.options.seed,
    };
  }

  private perShard(counted: readonly ShardCounts[]): SimShardReport[] {
    const byKey = new Map(counted.map((c) => [`${c.account}/${c.shard}`, c]));
    const out: SimShardReport[] = [];
    for (const account of this.accounts.list()) {
      for (const slot of account.slots) {
        const key = `${account.waId}/${slot.shard}`;
        const counts = byKey.get(key);
        if (slot.shard >= account.shards && counts === undefined && slot.outbox.size === 0) continue;
        byKey.delete(key);
        out.push({
          ...(counts ?? zeroShardCounts(account.waId, slot.shard)),
          shards: account.shards,
          connected: slot.holder !== null,
          epoch_max: slot.epochMax,
          node: slot.holder?.hello?.node ?? null,
          events_unsent: slot.outbox.unsentCount,
          events_in_flight: slot.outbox.inFlight,
        });
      }
    }
    return out;
  }

  private makeContacts(count: number): string[] {
    const seen = new Set<string>();
    while (seen.size < count) {
      const waId = `1555${this.random.digits(7)}`;
      if (!isInvalidNumber(waId, this.options.invalidSuffix)) seen.add(waId);
    }
    return [...seen];
  }
}

function zeroShardCounts(account: string, shard: number): ShardCounts {
  return {
    account, shard, messages_unique: 0, duplicates: 0, misrouted: 0, stale_epoch_sends: 0, order_violations: 0,
    connections_open: 0, connections_max: 0, connections_total: 0, epochs: [],
  };
}
