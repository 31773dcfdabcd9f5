/**
 * Shared test support for the simulator: a seed per run (printed when a test fails; replay with
 * SEED=<n>), recipients chosen on a given shard, a fake peer and a raw WebSocket test client.
 */
import { onTestFailed } from 'vitest';
import { testSeed } from '../support/seeded-random.js';
import { WebSocket, type RawData } from 'ws';
import type { ShardCount } from '../../src/core/limits.js';
import { shardOf } from '../../src/core/shard-hash.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { SimPeer } from '../../src/sim/sim-connection.js';
import type { ServerFrame, SimEvent } from '../../src/core/upstream-protocol.js';
import { waitUntil } from '../support/wait-for.js';

/** The run's seed: SEED from the environment, or a random one. Call `printSeedOnFailure()` in each test. */
export const SEED = testSeed();

export function printSeedOnFailure(): void {
  onTestFailed(() => {
    console.error(`simulator test failed with SEED=${SEED} (replay: SEED=${SEED} npx vitest run --project netsim)`);
  });
}

/** A valid wa_id (never ending in "0000") on `shard` of `shards`, different on each call. */
export function recipientOn(random: SeededRandom, shard: number, shards: ShardCount): string {
  for (;;) {
    const waId = `1444${random.digits(7)}`;
    if (!waId.endsWith('0000') && shardOf(waId, shards) === shard) return waId;
  }
}

/** A text message entry of a send frame. */
export function message(id: string, to: string, seq: number): Record<string, unknown> {
  return { id, to, seq, content: { type: 'text', text: { body: `body of ${id}` } } };
}

/** A `SimPeer` that records what the network sends it. */
export class FakePeer implements SimPeer {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | null = null;
  reading = true;
  buffered = 0;

  send(text: string): void {
    if (this.closed === null) this.frames.push(JSON.parse(text) as ServerFrame);
  }

  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }

  setReading(reading: boolean): void {
    this.reading = reading;
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  ofType<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  events(): SimEvent[] {
    return this.ofType('events').flatMap((f) => f.events);
  }
}

/** A raw protocol client over a real WebSocket, recording every frame and the close. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | null = null;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(wsUrl: string) {
    this.ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: RawData) => this.frames.push(JSON.parse(data.toString()) as ServerFrame));
    this.ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => undefined);
  }

  open(): Promise<void> {
    return this.opened;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Stops reading the socket (the client then does not see frames, nor the close, until resumed). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  ofType<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  events(): SimEvent[] {
    return this.ofType('events').flatMap((f) => f.events);
  }

  async waitFrames(type: ServerFrame['type'], count: number, what = `${count} ${type} frame(s)`): Promise<void> {
    await waitUntil(() => this.ofType(type).length >= count, what);
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    await waitUntil(() => this.closed !== null, 'the connection to close');
    return this.closed as { code: number; reason: string };
  }

  /** Closes from the client side and waits until the socket is closed. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.resume();
    const done = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'test done');
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    await done;
  }

  /** Cuts the TCP connection without a closing handshake (a crashed coreapp). */
  terminate(): void {
    this.ws.terminate();
  }
}
