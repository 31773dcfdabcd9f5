// SimUpstreamClient against a real in-process simulator: handshake, batched sends with acks matched
// in order, events and their acks, and how refusals and closes surface (UpstreamRefusedError codes,
// `closed`, pending sends rejected).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimUpstreamClient } from '../../src/adapters/upstream/sim-upstream-client.js';
import type { ShardCount } from '../../src/core/limits.js';
import { UpstreamRefusedError, type SendMessage, type UpstreamConnectOptions, type UpstreamEvent, type UpstreamSession } from '../../src/ports/upstream-client.js';
import { startSim, type SimHandle } from '../../src/sim/start-sim.js';
import { waitForValue, waitUntil } from '../support/wait-for.js';
import { Digits, printSeedOnFailure, recipientsOn, SEED } from './coreapp-test-support.js';

const ACCOUNT = '15550002222';

describe('SimUpstreamClient', () => {
  const closers: (() => Promise<void>)[] = [];
  const digits = new Digits(SEED);

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function sim(options: Parameters<typeof startSim>[0] = {}): Promise<SimHandle> {
    const handle = await startSim({ seed: SEED, accounts: [{ waId: ACCOUNT, shards: 1 }], ...options });
    closers.push(() => handle.stop());
    return handle;
  }

  function options(handle: SimHandle, overrides: Partial<UpstreamConnectOptions> = {}): UpstreamConnectOptions {
    return {
      account: ACCOUNT,
      credentials: handle.credentialsOf(ACCOUNT) ?? 'none',
      shard: 0,
      shards: 1 as ShardCount,
      epoch: 1,
      nodeId: 'test-node:000000000001',
      onEvents: () => undefined,
      ...overrides,
    };
  }

  async function open(client: SimUpstreamClient, connect: UpstreamConnectOptions): Promise<UpstreamSession> {
    const session = await client.connect(connect);
    closers.push(() => session.close());
    return session;
  }

  function messages(prefix: string, recipients: readonly string[], count: number, firstSeq = 1): SendMessage[] {
    return Array.from({ length: count }, (_, i) => ({
      id: `${prefix}${i}`,
      to: recipients[i % recipients.length] as string,
      seq: firstSeq + i,
      content: { type: 'text', text: { body: `hello ${i}` } },
    }));
  }

  it('handshakes, sends, matches acks in order, receives events and acks them', async () => {
    printSeedOnFailure();
    const handle = await sim({ deliveredDelayMs: 0, readDelayMs: 0 });
    const events: UpstreamEvent[] = [];
    const session = await open(new SimUpstreamClient(handle.wsUrl), options(handle, { onEvents: (batch) => events.push(...batch) }));
    const recipients = recipientsOn(digits, 0, 1, 3);
    const acks = await session.send(messages('a', recipients, 3));
    expect(acks).toEqual([0, 1, 2].map((i) => ({ id: `a${i}`, result: 'sent' })));
    await waitUntil(() => events.length >= 6, 'delivered and read statuses of 3 messages');
    expect(events.map((e) => (e.kind === 'status' ? `${e.id}:${e.status}` : e.id)).sort()).toEqual(
      ['a0:delivered', 'a0:read', 'a1:delivered', 'a1:read', 'a2:delivered', 'a2:read'],
    );
    session.ack(events.map((e) => e.event));
    await waitForValue(() => handle.report().receipts_pending, (n) => n === 0, 'every receipt acked');
    const again = await session.send(messages('a', recipients, 1));
    expect(again).toEqual([{ id: 'a0', result: 'duplicate' }]);
    expect(handle.report()).toMatchObject({ ok: true, messages_unique: 3, duplicates: 1 });
  });

  it('cuts a large batch into frames of the welcome’s limit and keeps concurrent sends apart', async () => {
    printSeedOnFailure();
    const handle = await sim({ deliveredDelayMs: null });
    const session = await open(new SimUpstreamClient(handle.wsUrl), options(handle));
    const recipients = recipientsOn(digits, 0, 1, 50);
    const big = messages('big', recipients, 2_500);
    const small = messages('small', recipients, 7, 10_000);
    const [bigAcks, smallAcks] = await Promise.all([session.send(big), session.send(small)]);
    expect(bigAcks.map((a) => a.id)).toEqual(big.map((m) => m.id));
    expect(smallAcks.map((a) => a.id)).toEqual(small.map((m) => m.id));
    expect([...bigAcks, ...smallAcks].every((a) => a.result === 'sent')).toBe(true);
    expect(handle.report()).toMatchObject({ ok: true, messages_unique: 2_507, activity: { protocol_errors: 0 } });
  });

  it('maps refusals to UpstreamRefusedError with the close code, reason and details', async () => {
    printSeedOnFailure();
    const handle = await sim();
    const client = new SimUpstreamClient(handle.wsUrl);
    const first = await open(client, options(handle, { epoch: 5 }));
    await first.close();
    const stale = await client.connect(options(handle, { epoch: 4 })).catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(UpstreamRefusedError);
    expect(stale).toMatchObject({ code: 4002, reason: 'stale_epoch' });
    expect((stale as Error).message).toMatch(/epoch/);
    await expect(client.connect(options(handle, { epoch: 5, credentials: 'wrong' }))).rejects.toMatchObject({ code: 4004, reason: 'unauthorized' });
    await expect(client.connect(options(handle, { epoch: 5, shards: 2 }))).rejects.toMatchObject({ code: 4003, reason: 'shards_mismatch' });
    // A refused hello does not raise the shard's epoch: epoch 5 is still accepted.
    await open(client, options(handle, { epoch: 5 }));
  });

  it('ends a replaced session: `closed` resolves 4001 and pending sends reject', async () => {
    printSeedOnFailure();
    // One message per second: the acks of a larger batch wait, so a send is pending when B takes over.
    const handle = await sim({ connRatePerSecond: 1, deliveredDelayMs: null });
    const client = new SimUpstreamClient(handle.wsUrl);
    const a = await open(client, options(handle, { epoch: 1 }));
    const pending = a.send(messages('p', recipientsOn(digits, 0, 1, 5), 5));
    const rejected = pending.then(() => 'resolved', (error: unknown) => (error as Error).message);
    await open(client, options(handle, { epoch: 2 }));
    await expect(a.closed).resolves.toEqual({ code: 4001, reason: 'replaced' });
    expect(await rejected).toMatch(/closed \(4001 replaced\)/);
    await expect(a.send(messages('late', recipientsOn(digits, 0, 1, 1), 1))).rejects.toThrow(/closed/);
    expect(handle.report()).toMatchObject({ stale_epoch_sends: 0, connections_exceeded: 0 });
  });

  it('fails with a plain error when the network is unreachable or silent, within the timeout', async () => {
    printSeedOnFailure();
    const unreachable = await new SimUpstreamClient('ws://127.0.0.1:1/upstream').connect(options({ credentialsOf: () => 'x' } as unknown as SimHandle)).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(Error);
    expect(unreachable).not.toBeInstanceOf(UpstreamRefusedError);
    // A TCP server that never answers the WebSocket upgrade.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => {
      silent.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const timedOut = await new SimUpstreamClient(`ws://127.0.0.1:${port}/upstream`, { connectTimeoutMs: 200 })
      .connect(options({ credentialsOf: () => 'x' } as unknown as SimHandle))
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(Error);
    expect(timedOut).not.toBeInstanceOf(UpstreamRefusedError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
