/**
 * `UpstreamClient` over the simulator's WebSocket protocol (docs/upstream-protocol.md, types in
 * src/core/upstream-protocol.ts). One `connect` is one WebSocket for one (account, shard, epoch):
 * `hello` out, `welcome` in, then `send`/`acks` and `events`/`ack` until either side closes.
 *
 * Matching acks to sends: the network answers every `send` frame's messages in order, and frames in
 * the order it read them; with a rate limit it may split (and join) the acks of consecutive frames
 * across several `acks` frames, but never reorders them (protocol §4, §6). So the client keeps one
 * FIFO of the messages it sent and hands each incoming ack to the oldest unanswered message; an ack
 * naming another id is a broken stream and closes the session (1002).
 *
 * Bounds: the handshake must finish within `upstreamConnectTimeoutMs`; at most
 * `upstreamPendingSendMessagesMax` messages wait for acks (a send beyond is refused at once); frames
 * are cut to the welcome's `send_batch_messages_max` and `frame_bytes_max`, acks to `ack_batch_events_max`.
 */
import { WebSocket, type RawData } from 'ws';
import {
  nodeIdLengthMax,
  upstreamCloseTimeoutMs,
  upstreamConnectTimeoutMs,
  upstreamFrameBytesReadMax,
  upstreamPendingSendMessagesMax,
} from '../../core/limits.js';
import {
  SIM_PROTOCOL,
  type ErrorFrame,
  type HelloFrame,
  type SendAck,
  type SendMessage,
  type ServerFrame,
  type SimEvent,
  type WelcomeFrame,
} from '../../core/upstream-protocol.js';
import {
  UpstreamRefusedError,
  type UpstreamClient,
  type UpstreamCloseInfo,
  type UpstreamConnectOptions,
  type UpstreamSession,
} from '../../ports/upstream-client.js';

export interface SimUpstreamClientOptions {
  /** Bound on opening the socket and receiving `welcome` (default `upstreamConnectTimeoutMs`). */
  readonly connectTimeoutMs?: number;
}

/** Room left in a frame for `{"type":"send","epoch":…,"messages":[…]}` around the messages. */
const SEND_FRAME_OVERHEAD_BYTES = 128;
/** RFC 6455 close code for a peer that broke the protocol. */
const CLOSE_PROTOCOL_ERROR = 1002;

export class SimUpstreamClient implements UpstreamClient {
  readonly #wsUrl: string;
  readonly #connectTimeoutMs: number;

  /** `wsUrl` is the simulator's WebSocket endpoint, `ws://host:port/upstream`. */
  constructor(wsUrl: string, options: SimUpstreamClientOptions = {}) {
    this.#wsUrl = wsUrl;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? upstreamConnectTimeoutMs;
  }

  /**
   * Opens a session. Resolves on `welcome`; rejects with `UpstreamRefusedError` when the network
   * closes the connection before it (stale epoch 4002, wrong shard count 4003, unauthorized 4004, …),
   * with a plain Error when the network cannot be reached or the handshake times out.
   */
  connect(options: UpstreamConnectOptions): Promise<UpstreamSession> {
    const ws = new WebSocket(this.#wsUrl, {
      perMessageDeflate: false,
      maxPayload: upstreamFrameBytesReadMax,
      handshakeTimeout: this.#connectTimeoutMs,
    });
    const session = new SimUpstreamSession(ws, options);
    return session.handshake(this.#connectTimeoutMs);
  }
}

interface PendingSend {
  readonly ids: readonly string[];
  readonly acks: SendAck[];
  readonly resolve: (acks: readonly SendAck[]) => void;
  readonly reject: (error: Error) => void;
}

class SimUpstreamSession implements UpstreamSession {
  readonly closed: Promise<UpstreamCloseInfo>;
  readonly #ws: WebSocket;
  readonly #options: UpstreamConnectOptions;
  #welcome: WelcomeFrame | null = null;
  /** The last `error` frame: the details of a refusal or of a close. */
  #error: ErrorFrame | null = null;
  /** Sends waiting for acks, oldest first; `#pendingHead` indexes the oldest. */
  #pending: PendingSend[] = [];
  #pendingHead = 0;
  #pendingMessages = 0;
  #closeInfo: UpstreamCloseInfo | null = null;
  #resolveClosed!: (info: UpstreamCloseInfo) => void;
  #onWelcome: ((welcome: WelcomeFrame) => void) | null = null;

  constructor(ws: WebSocket, options: UpstreamConnectOptions) {
    this.#ws = ws;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString()));
    // 'close' follows every 'error' (also a failed connection attempt), so errors need no handling of their own.
    ws.on('error', () => undefined);
  }

  /** Sends hello once the socket is open; resolves with this session on welcome. */
  handshake(timeoutMs: number): Promise<UpstreamSession> {
    return new Promise<UpstreamSession>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`upstream handshake timed out after ${timeoutMs} ms`));
        this.#ws.terminate();
      }, timeoutMs);
      this.#onWelcome = () => {
        clearTimeout(timer);
        resolve(this);
      };
      void this.closed.then((info) => {
        clearTimeout(timer);
        if (this.#welcome !== null) return;
        reject(this.#refusal(info));
      });
      this.#ws.once('open', () => this.#ws.send(JSON.stringify(this.#hello())));
    });
  }

  send(messages: readonly SendMessage[]): Promise<readonly SendAck[]> {
    if (messages.length === 0) return Promise.resolve([]);
    if (this.#closeInfo !== null || this.#ws.readyState !== WebSocket.OPEN || this.#welcome === null) {
      return Promise.reject(new Error('upstream session is closed'));
    }
    if (this.#pendingMessages + messages.length > upstreamPendingSendMessagesMax) {
      return Promise.reject(new Error(`more than ${upstreamPendingSendMessagesMax} messages would wait for acks`));
    }
    const frames = this.#frames(messages);
    return Promise.all(frames.map((frame) => this.#sendFrame(frame))).then((parts) => parts.flat());
  }

  ack(eventNumbers: readonly number[]): void {
    if (this.#welcome === null || this.#ws.readyState !== WebSocket.OPEN) return; // Unacked events are redelivered.
    const max = this.#welcome.limits.ack_batch_events_max;
    for (let i = 0; i < eventNumbers.length; i += max) {
      this.#ws.send(JSON.stringify({ type: 'ack', events: eventNumbers.slice(i, i + max) }));
    }
  }

  async close(): Promise<void> {
    if (this.#closeInfo !== null) return;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000, 'done');
    else this.#ws.terminate();
    const timer = setTimeout(() => this.#ws.terminate(), upstreamCloseTimeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  #hello(): HelloFrame {
    const o = this.#options;
    return {
      type: 'hello',
      protocol: SIM_PROTOCOL.version,
      account: o.account,
      credentials: o.credentials,
      shard: o.shard,
      shards: o.shards,
      epoch: o.epoch,
      node: o.nodeId.slice(0, nodeIdLengthMax),
    };
  }

  /** Cuts a batch into frames within the welcome's message and byte limits. */
  #frames(messages: readonly SendMessage[]): SendMessage[][] {
    const limits = (this.#welcome as WelcomeFrame).limits;
    const bytesMax = limits.frame_bytes_max - SEND_FRAME_OVERHEAD_BYTES;
    const frames: SendMessage[][] = [];
    let current: SendMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      const size = Buffer.byteLength(JSON.stringify(message)) + 1;
      if (current.length > 0 && (current.length >= limits.send_batch_messages_max || bytes + size > bytesMax)) {
        frames.push(current);
        current = [];
        bytes = 0;
      }
      current.push(message);
      bytes += size;
    }
    frames.push(current);
    return frames;
  }

  #sendFrame(messages: readonly SendMessage[]): Promise<readonly SendAck[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ids: messages.map((m) => m.id), acks: [], resolve, reject });
      this.#pendingMessages += messages.length;
      this.#ws.send(JSON.stringify({ type: 'send', epoch: this.#options.epoch, messages }));
    });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const frame = isBinary ? null : parseServerFrame(data.toString());
    if (frame === null) return this.#breakOff('the network sent a frame that is not a protocol frame');
    switch (frame.type) {
      case 'welcome':
        if (this.#welcome !== null) return this.#breakOff('a second welcome');
        this.#welcome = frame;
        return this.#onWelcome?.(frame);
      case 'acks':
        return this.#onAcks(frame.acks);
      case 'events':
        if (this.#welcome === null) return this.#breakOff('events before welcome');
        return this.#deliver(frame.events);
      case 'error':
        this.#error = frame;
        return;
    }
  }

  #deliver(events: readonly SimEvent[]): void {
    try {
      this.#options.onEvents(events);
    } catch (error) {
      // The receiver could not take the events: they stay unacked and the network redelivers them.
      this.#breakOff(`onEvents threw: ${(error as Error).message}`);
    }
  }

  #onAcks(acks: readonly SendAck[]): void {
    for (const ack of acks) {
      const head = this.#pending[this.#pendingHead];
      const expected = head?.ids[head.acks.length];
      if (head === undefined || expected !== ack.id) {
        return this.#breakOff(`an ack for ${JSON.stringify(ack.id)} where ${JSON.stringify(expected ?? null)} was expected`);
      }
      head.acks.push(ack);
      if (head.acks.length === head.ids.length) {
        this.#pendingHead += 1;
        this.#pendingMessages -= head.ids.length;
        head.resolve(head.acks);
      }
    }
    if (this.#pendingHead > 64 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
  }

  /** The stream cannot be trusted any more: close it; pending sends reject on close. */
  #breakOff(details: string): void {
    this.#error ??= { type: 'error', code: CLOSE_PROTOCOL_ERROR, reason: 'protocol_error', details };
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(CLOSE_PROTOCOL_ERROR, 'protocol_error');
    else this.#ws.terminate();
  }

  #onClose(code: number, reason: string): void {
    if (this.#closeInfo !== null) return;
    const info = { code, reason: reason === '' ? (this.#error?.reason ?? '') : reason };
    this.#closeInfo = info;
    const error = new Error(`upstream session closed (${info.code} ${info.reason})${this.#error === null ? '' : `: ${this.#error.details}`}`);
    const pending = this.#pending.slice(this.#pendingHead);
    this.#pending = [];
    this.#pendingHead = 0;
    this.#pendingMessages = 0;
    for (const send of pending) send.reject(error);
    this.#resolveClosed(info);
  }

  /** Why the connection ended before welcome: a refusal by the network, or a transport failure. */
  #refusal(info: UpstreamCloseInfo): Error {
    const error = this.#error;
    if (error !== null && error.code >= 4000 && error.code < 5000) return new UpstreamRefusedError(error.code, error.reason, error.details);
    if (info.code >= 4000 && info.code < 5000) return new UpstreamRefusedError(info.code, info.reason, 'closed before welcome');
    return new Error(`upstream connection to the network failed before welcome (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`);
  }
}

/** Parses a frame from the network, checking just what the client relies on. */
function parseServerFrame(text: string): ServerFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const frame = raw as Record<string, unknown>;
  switch (frame['type']) {
    case 'welcome':
      return typeof frame['limits'] === 'object' && frame['limits'] !== null ? (raw as ServerFrame) : null;
    case 'acks':
      return Array.isArray(frame['acks']) ? (raw as ServerFrame) : null;
    case 'events':
      return Array.isArray(frame['events']) ? (raw as ServerFrame) : null;
    case 'error':
      return typeof frame['code'] === 'number' ? (raw as ServerFrame) : null;
    default:
      return null;
  }
}
