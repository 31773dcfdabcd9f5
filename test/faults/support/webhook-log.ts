/**
 * The business's webhook endpoint for the fault suite: records every status callback (de-duplicated
 * by the stable event id, in arrival order) and can go down and come back on the same port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StatusArrival {
  readonly id: string;
  readonly status: string;
  readonly recipient: string;
  readonly atMs: number;
}

export class WebhookLog {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #seen = new Set<string>();
  /** Every first arrival of an event, in order. */
  readonly arrivals: StatusArrival[] = [];
  /** Message id → its statuses in arrival order. */
  readonly statuses = new Map<string, string[]>();
  /** Deliveries answered while up (repeats included). */
  deliveries = 0;
  port = 0;

  /** `host`: the address to listen on (in a network-namespace run, the host's address on the upstream network). */
  constructor(readonly host = '127.0.0.1') {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.deliveries += 1;
        const eventId = String(request.headers['x-shardgate-event-id'] ?? '');
        if (eventId !== '' && !this.#seen.has(eventId)) {
          this.#seen.add(eventId);
          const parsed = JSON.parse(body) as { statuses?: { id: string; status: string; recipient_id?: string }[] };
          for (const s of parsed.statuses ?? []) {
            this.arrivals.push({ id: s.id, status: s.status, recipient: s.recipient_id ?? '', atMs: Date.now() });
            this.statuses.set(s.id, [...(this.statuses.get(s.id) ?? []), s.status]);
          }
        }
        response.writeHead(200).end();
      });
    });
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://${this.host}:${this.port}/webhook`;
  }

  /** Listens (again) on its host, on the same port as before once it has one. */
  async up(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.port, this.host, () => resolve());
    });
    this.port = (this.#server.address() as AddressInfo).port;
    return this.url;
  }

  /** Stops listening and drops every open connection: the endpoint is unreachable until `up()`. */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
