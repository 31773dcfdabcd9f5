/**
 * A process that hosts fault proxies for the fault-injection suite, driven over the IPC channel of
 * `child_process.fork`. The proxies live here, not in the test process, so that whatever stalls the
 * test process (a synchronous SQLite read waiting on a lock, a large report to parse) never delays
 * the traffic they forward: a stalled proxy would look like the very fault the tests inject.
 *
 * Requests: `{ id, op: 'create', host, port }` → `{ id, port }`; `{ id, op, proxy, args }` with op
 * one of latency | drop | blackhole | cut | partition | heal | close → `{ id }`; errors → `{ id, error }`.
 * The host exits when its parent disconnects.
 */
import { FaultProxy } from './fault-proxy.js';

export interface HostRequest {
  readonly id: number;
  readonly op: 'create' | 'latency' | 'drop' | 'blackhole' | 'cut' | 'partition' | 'heal' | 'close';
  readonly host?: string;
  readonly port?: number;
  readonly proxy?: number;
  readonly args?: readonly number[];
}

export interface HostAnswer {
  readonly id: number;
  readonly port?: number;
  readonly error?: string;
}

const proxies = new Map<number, FaultProxy>();

async function handle(request: HostRequest): Promise<HostAnswer> {
  if (request.op === 'create') {
    const proxy = new FaultProxy({ host: request.host ?? '127.0.0.1', port: request.port ?? 0 });
    const port = await proxy.start();
    proxies.set(port, proxy);
    return { id: request.id, port };
  }
  const proxy = proxies.get(request.proxy ?? -1);
  if (proxy === undefined) return { id: request.id, error: `no proxy on port ${request.proxy}` };
  const args = request.args ?? [];
  switch (request.op) {
    case 'latency':
      proxy.latency(args[0] ?? 0, args[1] ?? 0);
      break;
    case 'drop':
      proxy.drop();
      break;
    case 'blackhole':
      proxy.blackhole();
      break;
    case 'cut':
      proxy.cut();
      break;
    case 'partition':
      proxy.partition();
      break;
    case 'heal':
      proxy.heal();
      break;
    case 'close':
      await proxy.close();
      proxies.delete(request.proxy as number);
      break;
  }
  return { id: request.id };
}

if (process.send !== undefined) {
  process.on('message', (request: HostRequest) => {
    handle(request).then(
      (answer) => process.send?.(answer),
      (error: unknown) => process.send?.({ id: request.id, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ id: 0 });
}
