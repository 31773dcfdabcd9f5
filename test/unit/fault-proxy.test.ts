/**
 * The fault proxy of the fault-injection suite, on real loopback sockets against an echo server:
 * it forwards, delays in order, refuses, hangs and holds, cuts, and every fault heals.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/testing/fault-proxy.js';
import { waitFor } from '../support/wait-for.js';

let echo: Server;
let proxy: FaultProxy;
const sockets: Socket[] = [];

beforeEach(async () => {
  echo = createServer((s) => {
    s.on('error', () => undefined); // the proxy resets connections on purpose
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = new FaultProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
  await proxy.start();
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** A client through the proxy that collects what it reads and whether it was closed. */
function client(): { socket: Socket; received: () => string; closed: () => boolean } {
  const socket = connect(proxy.port, '127.0.0.1');
  sockets.push(socket);
  let data = '';
  let closed = false;
  socket.on('data', (d) => (data += d));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return { socket, received: () => data, closed: () => closed };
}

describe('FaultProxy', () => {
  it('forwards both ways', async () => {
    const c = client();
    c.socket.write('hello');
    await waitFor('the echo', () => c.received() === 'hello');
  });

  it('adds latency in order and removes it on heal', async () => {
    proxy.latency(150, 150);
    const c = client();
    const sentAt = Date.now();
    c.socket.write('a');
    c.socket.write('b');
    c.socket.write('c');
    await waitFor('the delayed echo', () => c.received() === 'abc', 5_000);
    // Two hops of 150 ms each (to the target and back).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);
    proxy.heal();
    const healedAt = Date.now();
    c.socket.write('d');
    await waitFor('the prompt echo', () => c.received() === 'abcd', 5_000);
    expect(Date.now() - healedAt).toBeLessThan(290);
  });

  it('drop refuses new connections but keeps existing ones; heal lets them in again', async () => {
    const before = client();
    before.socket.write('x');
    await waitFor('the first echo', () => before.received() === 'x');
    proxy.drop();
    const refused = client();
    await waitFor('the refused connection closed', () => refused.closed());
    before.socket.write('y');
    await waitFor('the old connection still works', () => before.received() === 'xy');
    proxy.heal();
    const after = client();
    after.socket.write('z');
    await waitFor('a new connection after heal', () => after.received() === 'z');
  });

  it('blackhole holds data of existing and new connections, and heal delivers it', async () => {
    const old = client();
    old.socket.write('1');
    await waitFor('the first echo', () => old.received() === '1');
    proxy.blackhole();
    old.socket.write('2');
    const fresh = client();
    fresh.socket.write('n');
    // Both writes reached the proxy and are held there (a held chunk is delivered only by heal()).
    await waitFor('both writes held by the proxy', () => proxy.heldChunks === 2);
    expect(old.received()).toBe('1');
    expect(fresh.received()).toBe('');
    expect(old.closed() || fresh.closed()).toBe(false);
    proxy.heal();
    await waitFor('held data delivered', () => old.received() === '12' && fresh.received() === 'n');
  });

  it('cut closes every existing connection; partition also hangs new ones until heal', async () => {
    const a = client();
    a.socket.write('a');
    await waitFor('the echo', () => a.received() === 'a');
    expect(proxy.connections).toBe(1);
    proxy.cut();
    await waitFor('the cut connection closed', () => a.closed());
    proxy.partition();
    const b = client();
    b.socket.write('b');
    await waitFor('the write held by the proxy', () => proxy.heldChunks === 1);
    expect(b.received()).toBe('');
    proxy.heal();
    await waitFor('through after heal', () => b.received() === 'b');
  });
});
