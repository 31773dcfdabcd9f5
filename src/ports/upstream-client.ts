/**
 * The upstream messaging network as the coreapps and the webapp see it. Two adapters implement it:
 * the simulator's (`src/adapters/upstream/sim-upstream-client.ts`, over the protocol of
 * `src/core/upstream-protocol.ts`) and the WhatsApp Cloud API's (`cloud-upstream-client.ts`);
 * nothing in the roles knows which network is behind it.
 *
 * Invariants: a session belongs to one (account, shard, epoch), and sends under a stale epoch are
 * refused — by the network (the simulator accepts one session per (account, shard), the highest
 * epoch's) or by the adapter's database fence (the Cloud API, which holds no session), answered
 * `stale_epoch`. A session can end at any time (`closed` resolves) — the caller must then re-check
 * its ownership before connecting again.
 */
import type { ShardCount } from '../core/limits.js';
import type { SendAck, SendMessage, SimEvent } from '../core/upstream-protocol.js';

export type { SendAck, SendMessage, SimEvent as UpstreamEvent };

export interface UpstreamCloseInfo {
  /** WebSocket close code (4001 replaced, 4002 stale epoch, … see docs/upstream-protocol.md). */
  readonly code: number;
  readonly reason: string;
}

export interface UpstreamConnectOptions {
  readonly account: string;
  readonly credentials: string;
  readonly shard: number;
  readonly shards: ShardCount;
  readonly epoch: number;
  /**
   * The shard-map generation of the ownership. Upstreams that do not fence by connection (the Cloud
   * API) fence every send in the database with (generation, shard, epoch) and need it.
   */
  readonly generation?: number;
  readonly nodeId: string;
  /** Called with statuses and inbound messages; acknowledge each with `session.ack` once durable. */
  readonly onEvents: (events: readonly SimEvent[]) => void;
}

export interface UpstreamSession {
  /** Sends a batch (at most the network's batch limit); resolves with one ack per message, in order. */
  send(messages: readonly SendMessage[]): Promise<readonly SendAck[]>;
  /** Acknowledges events so the network stops redelivering them. */
  ack(eventNumbers: readonly number[]): void;
  /** Closes the session (normal closure). */
  close(): Promise<void>;
  /** Resolves once the session has ended, for whatever reason; pending sends then reject. */
  readonly closed: Promise<UpstreamCloseInfo>;
}

/** Thrown by `connect` when the network refuses the handshake (stale epoch, wrong shards, …). */
export class UpstreamRefusedError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, details: string) {
    super(`upstream refused the connection: ${reason} (${code}): ${details}`);
    this.name = 'UpstreamRefusedError';
    this.code = code;
    this.reason = reason;
  }
}

export interface UpstreamClient {
  connect(options: UpstreamConnectOptions): Promise<UpstreamSession>;
}

export type ContactStatus = 'valid' | 'invalid' | 'processing' | 'failed';

export interface ContactCheck {
  readonly input: string;
  readonly status: ContactStatus;
  /** Present for valid numbers. */
  readonly wa_id?: string;
}

/** Account registration and contact checks (HTTP calls to the network, not per shard). */
export interface UpstreamAccounts {
  /** Asks the network to send a registration code to cc + phone_number; returns the wa_id. */
  requestCode(cc: string, phoneNumber: string, method: 'sms' | 'voice'): Promise<{ readonly waId: string }>;
  /** Verifies the code; returns the credentials the coreapps present when connecting. */
  verify(waId: string, code: string): Promise<{ readonly credentials: string }>;
  /** Changes the account's shard count at the network (existing connections are closed). */
  setShards(waId: string, credentials: string, shards: ShardCount): Promise<void>;
  checkContacts(inputs: readonly string[]): Promise<readonly ContactCheck[]>;
}
