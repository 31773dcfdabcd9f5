/**
 * The upstream wire protocol between a coreapp and the upstream network (the bundled simulator implements
 * the network side), as TypeScript types shared by both sides.
 * `docs/upstream-protocol.md` is the prose version of this file; change both together.
 *
 * Transport: one WebSocket per (account, shard) at `SIM_PROTOCOL.path`; every frame is a UTF-8 JSON
 * object with a `type`. The client speaks first (`hello`); the simulator answers `welcome` or closes
 * with one of `SIM_PROTOCOL.closeCodes`.
 */
import type { ShardCount } from './limits.js';

export const SIM_PROTOCOL = Object.freeze({
  /** Sent in `hello.protocol` and `welcome.protocol`; a different value is refused (protocol_error). */
  version: 1,
  /** The WebSocket path on the simulator's HTTP port. */
  path: '/upstream',
  /** Close codes (RFC 6455 private range 4000–4999) and their close reasons. */
  closeCodes: Object.freeze({
    /** A connection with an epoch ≥ this one's was accepted for the same (account, shard). */
    replaced: 4001,
    /** The hello's epoch is lower than the highest epoch accepted for that (account, shard). */
    staleEpoch: 4002,
    /** The hello's `shards` is not the account's current shard count. */
    shardsMismatch: 4003,
    /** Unknown or unregistered account, or wrong credentials (also when credentials are rotated). */
    unauthorized: 4004,
    /** The account's shard count changed while connected: reconnect with the new count. */
    shardsChanged: 4005,
    /** A malformed frame, a frame out of order, or a frame breaking a documented limit. */
    protocolError: 4006,
    /** No `hello` within the handshake timeout. */
    handshakeTimeout: 4007,
    /** Too many open connections. */
    capacity: 4008,
  }),
  /** Close code when the simulator stops (RFC 6455 "going away"). */
  goingAway: 1001,
});

export type SimCloseReason = keyof typeof SIM_PROTOCOL.closeCodes;

/** The close reason strings sent with each close code (snake_case, as in the docs). */
export const SIM_CLOSE_REASONS: Readonly<Record<SimCloseReason, string>> = Object.freeze({
  replaced: 'replaced',
  staleEpoch: 'stale_epoch',
  shardsMismatch: 'shards_mismatch',
  unauthorized: 'unauthorized',
  shardsChanged: 'shards_changed',
  protocolError: 'protocol_error',
  handshakeTimeout: 'handshake_timeout',
  capacity: 'capacity',
});

// ---- client → simulator -------------------------------------------------------------------------

export interface HelloFrame {
  readonly type: 'hello';
  readonly protocol: number;
  /** The business account's wa_id (cc + number, digits only). */
  readonly account: string;
  readonly credentials: string;
  readonly shard: number;
  readonly shards: ShardCount;
  /** The fencing epoch of this shard's primary coreapp (a non-negative safe integer). */
  readonly epoch: number;
  /** Optional node id of the coreapp, only used in reports. */
  readonly node: string | null;
}

/** One outbound message in a `send` frame. */
export interface SendMessage {
  readonly id: string;
  /** Recipient wa_id (digits only). */
  readonly to: string;
  /** The gateway's per-shard sequence number of this message (positive safe integer). */
  readonly seq: number;
  /** The message body as the gateway stores it, e.g. `{"type":"text","text":{"body":"hi"}}`. */
  readonly content: Readonly<Record<string, unknown>>;
}

export interface SendFrame {
  readonly type: 'send';
  /** Must equal the connection's hello epoch. */
  readonly epoch: number;
  readonly messages: readonly unknown[];
}

export interface AckFrame {
  readonly type: 'ack';
  /** Event numbers received in `events` frames. */
  readonly events: readonly number[];
}

export type ClientFrame = HelloFrame | SendFrame | AckFrame;

// ---- simulator → client -------------------------------------------------------------------------

export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly protocol: number;
  readonly account: string;
  readonly shard: number;
  readonly shards: ShardCount;
  readonly epoch: number;
  /** The per-connection send limit (messages per second), or null when unlimited. */
  readonly rate_per_second: number | null;
  /** Sends accepted at once before the limit applies (null when unlimited). */
  readonly burst: number | null;
  readonly redelivery_ms: number;
  readonly limits: {
    readonly send_batch_messages_max: number;
    readonly ack_batch_events_max: number;
    readonly events_in_flight_max: number;
    readonly frame_bytes_max: number;
  };
}

/**
 * The outcome of one sent message. `sent` and `duplicate` mean the network has the message (it will
 * not be delivered twice); every other result means it was not taken and may be sent again.
 */
export type SendResult = 'sent' | 'duplicate' | 'misrouted' | 'stale_epoch' | 'rejected' | 'overloaded';

export interface SimErrorObject {
  readonly code: number;
  readonly title: string;
  readonly details: string;
}

export interface SendAck {
  readonly id: string;
  readonly result: SendResult;
  readonly error?: SimErrorObject;
}

export interface AcksFrame {
  readonly type: 'acks';
  readonly acks: readonly SendAck[];
}

export type ReceiptStatus = 'delivered' | 'read' | 'failed';

export interface StatusEvent {
  readonly event: number;
  readonly kind: 'status';
  readonly id: string;
  readonly recipient_id: string;
  readonly status: ReceiptStatus;
  /** Unix seconds, as a string (On-Prem's webhook form). */
  readonly timestamp: string;
  readonly errors?: readonly SimErrorObject[];
}

export interface MessageEvent {
  readonly event: number;
  readonly kind: 'message';
  readonly id: string;
  readonly from: string;
  readonly timestamp: string;
  readonly type: 'text';
  readonly text: { readonly body: string };
  readonly profile: { readonly name: string };
}

export type SimEvent = StatusEvent | MessageEvent;

export interface EventsFrame {
  readonly type: 'events';
  readonly events: readonly SimEvent[];
}

/** Sent just before the simulator closes a connection, with more detail than the close reason. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly code: number;
  readonly reason: string;
  readonly details: string;
}

export type ServerFrame = WelcomeFrame | AcksFrame | EventsFrame | ErrorFrame;
