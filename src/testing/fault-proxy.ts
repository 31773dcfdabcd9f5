/**
 * A TCP fault proxy for the fault-injection suite: listens on a loopback port and forwards every
 * connection to a target, and on command makes that path slow, refused, silent or broken — the
 * network faults a partition produces, without privileges (no iptables, no namespaces).
 *
 * Modes (each reversible with `heal()`):
 * - `latency(toTargetMs, fromTargetMs)`: every chunk is forwarded that much later, in order (a
 *   request to the target waits `toTargetMs`, its answer `fromTargetMs`);
 * - `drop()`: new connections are closed at once (a refused/reset path); existing ones stay;
 * - `blackhole()`: new connections are accepted and hang; existing ones stop forwarding — data in
 *   both directions is held, as a partition holds packets — and `heal()` delivers what was held
 *   (TCP retransmits after a partition heals);
 * - `cut()`: closes every existing connection now (both sides reset), whatever the mode.
 *
 * `partition()` is blackhole + cut: nothing old survives, nothing new gets through.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'blackhole';

interface Pipe {
  readonly client: Socket;
  upstream: Socket | null;
  /** Chunks held while blackholed: [direction, data]. */
  readonly held: { readonly toUpstream: boolean; readonly data: Buffer }[];
  /** Per-direction time the last delayed chunk is due, so chunks never overtake each other. */
  dueUp: number;
  dueDown: number;
  closed: boolean;
}

export class FaultProxy {
  readonly #target: { readonly host: string; readonly port: number };
  readonly #server: Server;
  readonly #pipes = new Set<Pipe>();
  #mode: ProxyMode = 'pass';
  #latencyUpMs = 0;
  #latencyDownMs = 0;
  /** Connections accepted since start (counting refused ones), for tests and logs. */
  accepted = 0;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /** Listens on 127.0.0.1 (`port` 0: any free port); returns the port. */
  async start(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.#server.address() as AddressInfo).port;
    return this.port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  get connections(): number {
    return this.#pipes.size;
  }

  /** Chunks of data held (blackholed or partitioned) and not yet delivered, over every connection. */
  get heldChunks(): number {
    let n = 0;
    for (const pipe of this.#pipes) n += pipe.held.length;
    return n;
  }

  latency(toTargetMs: number, fromTargetMs = 0): void {
    this.#latencyUpMs = Math.max(0, toTargetMs);
    this.#latencyDownMs = Math.max(0, fromTargetMs);
  }

  drop(): void {
    this.#mode = 'drop';
  }

  blackhole(): void {
    this.#mode = 'blackhole';
  }

  /** Closes every open connection (clients see a reset). */
  cut(): void {
    for (const pipe of [...this.#pipes]) this.#close(pipe);
  }

  /** No old connection survives and no new one gets through, until `heal()`. */
  partition(): void {
    this.blackhole();
    this.cut();
  }

  /** Back to forwarding without delay; held data is delivered, hung connections go through. */
  heal(): void {
    this.#mode = 'pass';
    this.#latencyUpMs = 0;
    this.#latencyDownMs = 0;
    for (const pipe of [...this.#pipes]) {
      if (pipe.upstream === null) this.#connectUpstream(pipe);
      const held = pipe.held.splice(0);
      for (const chunk of held) this.#forward(pipe, chunk.toUpstream, chunk.data);
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(client: Socket): void {
    this.accepted += 1;
    if (this.#mode === 'drop') {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const pipe: Pipe = { client, upstream: null, held: [], dueUp: 0, dueDown: 0, closed: false };
    this.#pipes.add(pipe);
    client.on('data', (data: Buffer) => this.#onData(pipe, true, data));
    client.on('error', () => this.#close(pipe));
    client.on('close', () => this.#close(pipe));
    if (this.#mode === 'pass') this.#connectUpstream(pipe);
  }

  #connectUpstream(pipe: Pipe): void {
    if (pipe.closed) return;
    const upstream = connect(this.#target.port, this.#target.host);
    upstream.setNoDelay(true);
    pipe.upstream = upstream;
    upstream.on('data', (data: Buffer) => this.#onData(pipe, false, data));
    upstream.on('error', () => this.#close(pipe));
    upstream.on('close', () => this.#close(pipe));
  }

  #onData(pipe: Pipe, toUpstream: boolean, data: Buffer): void {
    if (this.#mode === 'blackhole' || pipe.upstream === null || pipe.held.length > 0) {
      pipe.held.push({ toUpstream, data });
      return;
    }
    this.#forward(pipe, toUpstream, data);
  }

  #forward(pipe: Pipe, toUpstream: boolean, data: Buffer): void {
    const write = (): void => {
      if (pipe.closed) return;
      const to = toUpstream ? pipe.upstream : pipe.client;
      to?.write(data);
    };
    const latencyMs = toUpstream ? this.#latencyUpMs : this.#latencyDownMs;
    if (latencyMs === 0 && (toUpstream ? pipe.dueUp : pipe.dueDown) <= Date.now()) return write();
    const due = Math.max(Date.now() + latencyMs, toUpstream ? pipe.dueUp : pipe.dueDown);
    if (toUpstream) pipe.dueUp = due;
    else pipe.dueDown = due;
    setTimeout(write, due - Date.now()); // the injected delay itself, not synchronization
  }

  #close(pipe: Pipe): void {
    if (pipe.closed) return;
    pipe.closed = true;
    this.#pipes.delete(pipe);
    pipe.client.resetAndDestroy();
    pipe.upstream?.resetAndDestroy();
  }
}
