/**
 * `startSim(options)`: runs the network simulator in this process — the HTTP API and the coreapps'
 * WebSocket endpoint on one port — and returns a handle to read it and stop it. `shardgate sim` is
 * this function plus flags and signal handling; tests and `shardgate start` embed it.
 */
import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { simFrameBytesMax, simStopTimeoutMs } from '../core/limits.js';
import { buildSimHttpApi } from './sim-http-api.js';
import { SimNetwork, type SimReport } from './sim-network.js';
import { resolveSimOptions, type ResolvedSimOptions, type SimOptions } from './sim-options.js';
import { SIM_PROTOCOL } from '../core/upstream-protocol.js';
import { SimScheduler } from './sim-scheduler.js';

export interface SimHandle {
  /** `http://host:port`: the HTTP API (`/sim/...`). */
  readonly url: string;
  /** `ws://host:port/upstream`: where coreapps connect. */
  readonly wsUrl: string;
  readonly host: string;
  readonly port: number;
  /** The seed in use (the given one, or the one chosen at random). */
  readonly seed: number;
  readonly options: ResolvedSimOptions;
  /** The network itself, for in-process checks. */
  readonly network: SimNetwork;
  /** The checker's report, as `GET /sim/report` returns it. */
  report(): SimReport;
  /** The credentials of a registered account, or null. */
  credentialsOf(waId: string): string | null;
  /** Closes every connection (1001 going away), then the server. Waits at most `simStopTimeoutMs` for peers. */
  stop(): Promise<void>;
}

/** A monotonic clock in epoch milliseconds (wall time at start, then never jumps). */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Starts the simulator. Throws `SimOptionsError` for a bad option, or the listen error (e.g. EADDRINUSE). */
export async function startSim(options: SimOptions = {}): Promise<SimHandle> {
  const resolved = resolveSimOptions(options, randomInt(0, 2 ** 31 - 1));
  const network = new SimNetwork(resolved, monotonicNow());
  const scheduler = new SimScheduler((nowMs) => {
    network.tick(nowMs);
    return network.nextWakeMs(monotonicNow());
  }, monotonicNow);
  network.onWake(() => scheduler.wake());
  const app = buildSimHttpApi(network, monotonicNow);
  const wss = new WebSocketServer({ noServer: true, maxPayload: simFrameBytesMax, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://sim').pathname;
    if (path !== SIM_PROTOCOL.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => attach(ws, network, sockets, scheduler));
  });
  await app.listen({ host: resolved.host, port: resolved.port });
  scheduler.wake();
  const port = (app.server.address() as AddressInfo).port;
  const hostForUrl = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}${SIM_PROTOCOL.path}`,
    host: resolved.host,
    port,
    seed: resolved.seed,
    options: resolved,
    network,
    report: () => network.report(),
    credentialsOf: (waId) => network.accounts.get(waId)?.credentials ?? null,
    stop: () => {
      stopping ??= stop(network, scheduler, sockets, wss, () => app.close());
      return stopping;
    },
  };
}

function attach(ws: WebSocket, network: SimNetwork, sockets: Set<WebSocket>, scheduler: SimScheduler): void {
  sockets.add(ws);
  const conn = network.connect(
    {
      send: (text) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
      },
      close: (code, reason) => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      },
      setReading: (reading) => (reading ? ws.resume() : ws.pause()),
      bufferedBytes: () => ws.bufferedAmount,
    },
    monotonicNow(),
  );
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) network.receiveBinary(conn);
    else network.receive(conn, data.toString(), monotonicNow());
  });
  ws.on('close', () => {
    sockets.delete(ws);
    network.disconnect(conn);
    scheduler.wake();
  });
  // A broken socket emits 'close' right after 'error'; the error itself needs no handling here.
  ws.on('error', () => undefined);
}

async function stop(
  network: SimNetwork,
  scheduler: SimScheduler,
  sockets: Set<WebSocket>,
  wss: WebSocketServer,
  closeHttp: () => Promise<void>,
): Promise<void> {
  scheduler.stop();
  network.closeAll();
  const deadline = Date.now() + simStopTimeoutMs;
  while (sockets.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const ws of sockets) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await closeHttp();
}
