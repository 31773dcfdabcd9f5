/**
 * One coreapp connection as the simulator sees it, independent of the socket library: the network
 * talks to it through `SimPeer` (so unit tests drive the network with fake peers and a manual clock).
 *
 * States: `handshaking` (waiting for hello) → `holding` (accepted; holds its (account, shard)) →
 * `released` (the simulator replaced or refused it and is closing it; frames still in flight are
 * read and counted) → `closed` (the socket is gone). A refused hello goes straight to `released`.
 */
import type { TokenBucket } from '../core/token-bucket.js';
import type { HelloFrame } from '../core/upstream-protocol.js';
import type { SimAccount, SimShardSlot } from './sim-accounts.js';

/** What the network needs from a transport connection. */
export interface SimPeer {
  /** Sends one text frame; silently dropped when the connection is no longer open. */
  send(text: string): void;
  /** Starts the closing handshake with this code and reason. */
  close(code: number, reason: string): void;
  /** Stops (false) or resumes (true) reading frames from the socket: back-pressure. */
  setReading(reading: boolean): void;
  /** Bytes queued for sending and not yet written to the socket. */
  bufferedBytes(): number;
}

export type SimConnectionState = 'handshaking' | 'holding' | 'released' | 'closed';

/** A well-formed message waiting for a token of a rate-limited connection. */
export interface QueuedSend {
  readonly raw: unknown;
}

export class SimConnection {
  readonly id: number;
  readonly peer: SimPeer;
  readonly openedAtMs: number;
  state: SimConnectionState = 'handshaking';
  hello: HelloFrame | null = null;
  account: SimAccount | null = null;
  slot: SimShardSlot | null = null;
  /** Null when the connection is not rate limited. */
  bucket: TokenBucket | null = null;
  /** Sends waiting for tokens, oldest first: `queue[queueHead..]`. */
  queue: QueuedSend[] = [];
  queueHead = 0;
  readingPaused = false;

  constructor(id: number, peer: SimPeer, openedAtMs: number) {
    this.id = id;
    this.peer = peer;
    this.openedAtMs = openedAtMs;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Removes up to `n` queued sends, oldest first. */
  dequeue(n: number): QueuedSend[] {
    const out = this.queue.slice(this.queueHead, this.queueHead + n);
    this.queueHead += out.length;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return out;
  }

  clearQueue(): void {
    this.queue = [];
    this.queueHead = 0;
  }
}
