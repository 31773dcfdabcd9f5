/**
 * A synthetic coreapp for load: one connection to the simulator for one (account, shard), sending
 * batches of messages to recipients of its shard with a bounded window of unacknowledged sends, and
 * acknowledging every event it receives. Used by `bench/sim-throughput.mjs`; also a small reference
 * client of docs/upstream-protocol.md.
 */
import { WebSocket, type RawData } from 'ws';
import type { ShardCount } from '../core/limits.js';
import { shardOf } from '../core/shard-hash.js';
import { SeededRandom } from '../core/seeded-random.js';
import type { SendResult, ServerFrame, WelcomeFrame } from '../core/upstream-protocol.js';

export interface SimLoadClientOptions {
  readonly wsUrl: string;
  readonly account: string;
  readonly credentials: string;
  readonly shard: number;
  readonly shards: ShardCount;
  readonly epoch: number;
  /** Recipients to cycle through; all must belong to `shard` (see `recipientsFor`). */
  readonly recipients: readonly string[];
  /** Messages per send frame (default 100). */
  readonly batchMessages?: number;
  /** Messages allowed open at once (default 5000); see `completeOn`. */
  readonly windowMessages?: number;
  /**
   * When a message stops counting against the window: at its ack (`ack`), at its `delivered` or
   * `failed` status (`delivered`), or at its `read` or `failed` status (`read`, the default). With
   * a status, the sender never outruns the receipts: the measured rate is one the pipeline sustains.
   */
  readonly completeOn?: 'ack' | 'delivered' | 'read';
  /** Prefix of the message ids this client makes (must be unique per client). */
  readonly idPrefix: string;
  /** Bound on waiting for the welcome frame and for outstanding acks (default 10 s). */
  readonly timeoutMs?: number;
}

export interface SimLoadStats {
  /** Messages sent in send frames. */
  sent: number;
  /** Acks received, by result. */
  acks: Record<SendResult, number>;
  /** Status events received, by status. */
  statuses: { delivered: number; read: number; failed: number };
  inbound: number;
  /** Event numbers acknowledged back to the simulator. */
  eventsAcked: number;
}

export class SimLoadClient {
  readonly options: SimLoadClientOptions;
  readonly stats: SimLoadStats = {
    sent: 0,
    acks: { sent: 0, duplicate: 0, misrouted: 0, stale_epoch: 0, rejected: 0, overloaded: 0 },
    statuses: { delivered: 0, read: 0, failed: 0 },
    inbound: 0,
    eventsAcked: 0,
  };
  private ws: WebSocket | null = null;
  private sending = false;
  private seq = 0;
  private inflight = 0;
  /** Messages counted against the window (see `completeOn`). */
  private open = 0;
  private ackWaiters: (() => void)[] = [];
  private closeCode: number | null = null;

  constructor(options: SimLoadClientOptions) {
    this.options = options;
  }

  /** `count` distinct valid wa_ids (never ending in "0000") that belong to `shard` of `shards`. */
  static recipientsFor(shard: number, shards: ShardCount, count: number, seed: number): string[] {
    const random = new SeededRandom(seed);
    const found = new Set<string>();
    while (found.size < count) {
      const waId = `1999${random.digits(7)}`;
      if (!waId.endsWith('0000') && shardOf(waId, shards) === shard) found.add(waId);
    }
    return [...found];
  }

  /** Connects and completes the handshake. Rejects on refusal (with the close code) or timeout. */
  connect(): Promise<WelcomeFrame> {
    const { wsUrl, account, credentials, shard, shards, epoch } = this.options;
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    this.ws = ws;
    return new Promise<WelcomeFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no welcome in time')), this.options.timeoutMs ?? 10_000);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, account, credentials, shard, shards, epoch, node: 'load-client' })));
      ws.on('message', (data: RawData) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'welcome') {
          clearTimeout(timer);
          resolve(frame);
        }
        this.onFrame(frame);
      });
      ws.on('close', (code: number) => {
        this.closeCode = code;
        clearTimeout(timer);
        reject(new Error(`closed with ${code} before welcome`));
        this.release();
      });
      ws.on('error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Sends as fast as the window allows until `stop()`. */
  start(): void {
    this.sending = true;
    this.pump();
  }

  /** Stops sending and waits (bounded) until every message sent was acknowledged. */
  async stop(): Promise<void> {
    this.sending = false;
    const deadline = Date.now() + (this.options.timeoutMs ?? 10_000);
    while (this.inflight > 0 && this.closeCode === null && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.ackWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Closes the connection and waits for it to be closed. */
  close(): Promise<void> {
    const ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'done');
    });
  }

  private pump(): void {
    const ws = this.ws;
    const batch = this.options.batchMessages ?? 100;
    const window = this.options.windowMessages ?? 5_000;
    const recipients = this.options.recipients;
    while (this.sending && ws !== null && ws.readyState === WebSocket.OPEN && this.open + batch <= window) {
      const messages = [];
      for (let i = 0; i < batch; i += 1) {
        this.seq += 1;
        const to = recipients[this.seq % recipients.length] as string;
        messages.push({ id: `${this.options.idPrefix}${this.seq}`, to, seq: this.seq, content: { type: 'text', text: { body: 'load' } } });
      }
      this.inflight += batch;
      this.open += batch;
      this.stats.sent += batch;
      ws.send(JSON.stringify({ type: 'send', epoch: this.options.epoch, messages }));
    }
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === 'acks') {
      let done = 0;
      for (const ack of frame.acks) {
        this.stats.acks[ack.result] += 1;
        // A message the network did not take, or took before, will get no (new) final status.
        if (this.options.completeOn === 'ack' || ack.result !== 'sent') done += 1;
      }
      this.inflight -= frame.acks.length;
      this.open -= done;
      this.release();
      this.pump();
    } else if (frame.type === 'events') {
      const numbers: number[] = [];
      let finals = 0;
      for (const event of frame.events) {
        numbers.push(event.event);
        if (event.kind === 'status') {
          this.stats.statuses[event.status] += 1;
          if (this.isFinal(event.status)) finals += 1;
        } else this.stats.inbound += 1;
      }
      this.open -= finals;
      this.ws?.send(JSON.stringify({ type: 'ack', events: numbers }));
      this.stats.eventsAcked += numbers.length;
      if (finals > 0) this.pump();
    }
  }

  private isFinal(status: 'delivered' | 'read' | 'failed'): boolean {
    const completeOn = this.options.completeOn ?? 'read';
    if (completeOn === 'ack') return false;
    return status === 'failed' || status === completeOn;
  }

  private release(): void {
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const wake of waiters) wake();
  }
}
