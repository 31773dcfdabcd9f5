import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpClusterTransport, INTERNAL_PATHS, startInternalServer, type InternalHandlers, type InternalServer } from '../../src/adapters/http/internal-api.js';
import type { PeerView } from '../../src/core/master/cluster-view.js';
import { ClusterCallError, NotOwnerError, type DemoteMessage, type PromoteMessage } from '../../src/ports/cluster-transport.js';

const SECRET = 's3cret-s3cret-s3cret';

const servers: InternalServer[] = [];
const transports: HttpClusterTransport[] = [];
const rawServers: Server[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(
    rawServers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function serve(handlers: InternalHandlers): Promise<InternalServer> {
  const server = await startInternalServer({ host: '127.0.0.1', port: 0, secret: SECRET, handlers });
  servers.push(server);
  return server;
}

function client(secret = SECRET, timeoutMs?: number): HttpClusterTransport {
  const transport = new HttpClusterTransport(secret, timeoutMs);
  transports.push(transport);
  return transport;
}

/** A raw request, to see status codes the transport folds away (202 vs 200, 409, 400, 401). */
async function raw(url: string, method: 'GET' | 'POST', body?: unknown, authorization: string | null = `Bearer ${SECRET}`): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (authorization !== null) headers['authorization'] = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text.length === 0 ? null : (JSON.parse(text) as unknown) };
}

async function callError(promise: Promise<unknown>): Promise<ClusterCallError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClusterCallError);
  return error as ClusterCallError;
}

describe('internal API: every route round-trips its shape', () => {
  it('heartbeat: owns null', async () => {
    const server = await serve({ heartbeat: () => ({ nodeId: 'host:aaaaaaaaaaaa', owns: null }) });
    expect(await client().heartbeat(server.url, 1_000)).toEqual({ nodeId: 'host:aaaaaaaaaaaa', owns: null });
  });

  it('heartbeat: owns a claim', async () => {
    const server = await serve({ heartbeat: () => ({ nodeId: 'c1', owns: { generation: 2, shard: 3, epoch: 9 } }) });
    expect(await client().heartbeat(server.url, 1_000)).toEqual({ nodeId: 'c1', owns: { generation: 2, shard: 3, epoch: 9 } });
    // On the wire: snake_case node_id, the claim as is.
    expect(await raw(`${server.url}${INTERNAL_PATHS.heartbeat}`, 'GET')).toEqual({ status: 200, body: { node_id: 'c1', owns: { generation: 2, shard: 3, epoch: 9 } } });
  });

  it('heartbeat: a garbled claim is an error, never "owns nothing"', async () => {
    const server = await serve({ heartbeat: () => ({ nodeId: 'host:aaaaaaaaaaaa', owns: { generation: 1, shard: -1, epoch: 2 } }) });
    const error = await callError(client().heartbeat(server.url, 1_000));
    expect(error.message).toMatch(/malformed ownership claim/);
  });

  it('a wildcard listen address is advertised as given by advertiseHost', async () => {
    const server = await startInternalServer({ host: '0.0.0.0', advertiseHost: '127.0.0.1', port: 0, secret: SECRET, handlers: {} });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('promote: answers 202 and passes lease_epoch as leaseEpoch', async () => {
    const promote = vi.fn<(m: PromoteMessage) => void>();
    const server = await serve({ promote });
    await client().promote(server.url, { generation: 1, shard: 0, epoch: 5, leaseEpoch: 7 });
    expect(promote).toHaveBeenCalledTimes(1);
    expect(promote).toHaveBeenCalledWith({ generation: 1, shard: 0, epoch: 5, leaseEpoch: 7 });
    const answer = await raw(`${server.url}${INTERNAL_PATHS.promote}`, 'POST', { generation: 2, shard: 4, epoch: 6, lease_epoch: 8 });
    expect(answer).toEqual({ status: 202, body: { ok: true } });
    expect(promote).toHaveBeenLastCalledWith({ generation: 2, shard: 4, epoch: 6, leaseEpoch: 8 });
  });

  it('promote: waits for an async handler before answering', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    let settled = false;
    const server = await serve({
      promote: () => {
        entered = true;
        return gate;
      },
    });
    const call = client()
      .promote(server.url, { generation: 1, shard: 0, epoch: 1, leaseEpoch: 1 })
      .then(() => (settled = true));
    // The handler is running (the request arrived) but has not finished: the call must still be pending.
    await vi.waitFor(() => expect(entered).toBe(true), { timeout: 5_000 });
    expect(settled).toBe(false);
    release();
    await call;
    expect(settled).toBe(true);
  });

  it('demote: passes the reason, cut to 100 characters', async () => {
    const demote = vi.fn<(m: DemoteMessage) => void>();
    const server = await serve({ demote });
    await client().demote(server.url, { generation: 1, shard: 2, epoch: 3, reason: 'replaced' });
    expect(demote).toHaveBeenLastCalledWith({ generation: 1, shard: 2, epoch: 3, reason: 'replaced' });
    await client().demote(server.url, { generation: 1, shard: 2, epoch: 3, reason: 'x'.repeat(150) });
    expect(demote).toHaveBeenLastCalledWith({ generation: 1, shard: 2, epoch: 3, reason: 'x'.repeat(100) });
    expect(demote).toHaveBeenCalledTimes(2);
  });

  it("dispatch: 'accepted' (202) and 'not_primary' (409)", async () => {
    const dispatch = vi.fn((shard: number) => (shard === 4 ? 'accepted' : 'not_primary') as 'accepted' | 'not_primary');
    const server = await serve({ dispatch });
    const transport = client();
    expect(await transport.dispatch(server.url, 4)).toBe('accepted');
    expect(await transport.dispatch(server.url, 5)).toBe('not_primary');
    expect(dispatch.mock.calls).toEqual([[4], [5]]);
    expect(await raw(`${server.url}${INTERNAL_PATHS.dispatch}`, 'POST', { shard: 4 })).toEqual({ status: 202, body: { outcome: 'accepted' } });
    expect(await raw(`${server.url}${INTERNAL_PATHS.dispatch}`, 'POST', { shard: 5 })).toEqual({ status: 409, body: { outcome: 'not_primary' } });
  });

  it('peerView', async () => {
    const view: PeerView = { masterId: 'm2', coreapps: [{ coreappId: 'c1', silenceMs: 0 }, { coreappId: 'c2', silenceMs: 1_500 }] };
    const server = await serve({ peerView: () => view });
    expect(await client().peerView(server.url, 1_000)).toEqual(view);
    expect((await raw(`${server.url}${INTERNAL_PATHS.peerView}`, 'GET')).body).toEqual({
      master_id: 'm2',
      coreapps: [
        { coreapp_id: 'c1', silence_ms: 0 },
        { coreapp_id: 'c2', silence_ms: 1_500 },
      ],
    });
  });

  it('settingsChanged', async () => {
    const settingsChanged = vi.fn(async () => {});
    const server = await serve({ settingsChanged });
    await client().settingsChanged(server.url);
    expect(settingsChanged).toHaveBeenCalledTimes(1);
  });

  it('coreappLeaving', async () => {
    const coreappLeaving = vi.fn<(id: string) => void>();
    const server = await serve({ coreappLeaving });
    await client().coreappLeaving(server.url, 'host-b:0123456789ab');
    expect(coreappLeaving.mock.calls).toEqual([['host-b:0123456789ab']]);
  });

  it('coreappBack', async () => {
    const coreappBack = vi.fn<(id: string) => void>();
    const server = await serve({ coreappBack });
    await client().coreappBack(server.url, 'host-b:0123456789ab');
    expect(coreappBack.mock.calls).toEqual([['host-b:0123456789ab']]);
  });

  it('handOver: the ownership goes over, the answer comes back; a coreapp that does not own it answers 409', async () => {
    const handOver = vi.fn(async (o: { generation: number; shard: number; epoch: number }) => {
      if (o.epoch !== 3) throw new NotOwnerError('c1 does not own epoch ' + o.epoch);
      return { released: true, newOwner: 'c2', ms: 42 };
    });
    const server = await serve({ handOver });
    expect(await client().handOver(server.url, { generation: 1, shard: 0, epoch: 3 }, 1_000)).toEqual({ released: true, newOwner: 'c2', ms: 42 });
    expect(handOver.mock.calls).toEqual([[{ generation: 1, shard: 0, epoch: 3 }]]);
    const refused = await callError(client().handOver(server.url, { generation: 1, shard: 0, epoch: 2 }, 1_000));
    expect(refused).toBeInstanceOf(ClusterCallError);
    expect((refused as ClusterCallError).statusCode).toBe(409);
    expect((refused as ClusterCallError).details).toBe('c1 does not own epoch 2');
    expect((await raw(`${server.url}${INTERNAL_PATHS.handOver}`, 'POST', { generation: 1, shard: -1, epoch: 3 })).status).toBe(400);
  });

  it('dbStats', async () => {
    const stats = { messages: { pending: 3, sent: 10 }, size_bytes: 4_096 };
    const server = await serve({ dbStats: async () => ({ nodeId: 'm1', stats }) });
    expect(await client().dbStats(server.url)).toEqual({ nodeId: 'm1', stats });
  });

  it('status', async () => {
    const answer = { node_id: 'm1', role: 'primary_master', lease_epoch: 7 };
    const server = await serve({ status: () => answer });
    expect(await client().status(server.url)).toEqual(answer);
  });
});

describe('internal API: authentication', () => {
  function everyHandler() {
    return {
      heartbeat: vi.fn(() => ({ nodeId: 'c1', owns: null })),
      promote: vi.fn(),
      demote: vi.fn(),
      dispatch: vi.fn(() => 'accepted' as const),
      peerView: vi.fn(() => ({ masterId: 'm1', coreapps: [] })),
      settingsChanged: vi.fn(),
      coreappLeaving: vi.fn(),
      coreappBack: vi.fn(),
      handOver: vi.fn(async () => ({ released: true, newOwner: null, ms: 1 })),
      dbStats: vi.fn(async () => ({ nodeId: 'm1', stats: {} })),
      status: vi.fn(() => ({ node_id: 'm1', role: 'primary_master' })),
    };
  }

  it('a client with the wrong secret gets HTTP 401 on every route and no handler runs', async () => {
    const handlers = everyHandler();
    const server = await serve(handlers);
    const wrong = client('not-the-secret-at-all');
    const url = server.url;
    const calls: (() => Promise<unknown>)[] = [
      () => wrong.heartbeat(url, 1_000),
      () => wrong.promote(url, { generation: 1, shard: 0, epoch: 1, leaseEpoch: 1 }),
      () => wrong.demote(url, { generation: 1, shard: 0, epoch: 1, reason: 'r' }),
      () => wrong.dispatch(url, 0),
      () => wrong.peerView(url, 1_000),
      () => wrong.settingsChanged(url),
      () => wrong.coreappLeaving(url, 'c1'),
      () => wrong.coreappBack(url, 'c1'),
      () => wrong.handOver(url, { generation: 1, shard: 0, epoch: 1 }, 1_000),
      () => wrong.dbStats(url),
      () => wrong.status(url),
    ];
    for (const call of calls) expect((await callError(call())).message).toMatch(/HTTP 401$/);
    for (const handler of Object.values(handlers)) expect(handler).not.toHaveBeenCalled();
    // The right secret reaches them (so the 401s above are about the secret, nothing else).
    await client().coreappLeaving(url, 'c1');
    expect(handlers.coreappLeaving).toHaveBeenCalledTimes(1);
  });

  it('a secret that only starts like the right one is refused', async () => {
    const handlers = everyHandler();
    const server = await serve(handlers);
    expect((await callError(client(`${SECRET}x`).heartbeat(server.url, 1_000))).message).toMatch(/HTTP 401$/);
    expect((await callError(client(SECRET.slice(0, -1)).heartbeat(server.url, 1_000))).message).toMatch(/HTTP 401$/);
    expect(handlers.heartbeat).not.toHaveBeenCalled();
  });

  it('a request without Authorization, or with another scheme, gets 401', async () => {
    const handlers = everyHandler();
    const server = await serve(handlers);
    const url = `${server.url}${INTERNAL_PATHS.coreappLeaving}`;
    expect(await raw(url, 'POST', { coreapp_id: 'c1' }, null)).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect((await raw(url, 'POST', { coreapp_id: 'c1' }, `Basic ${SECRET}`)).status).toBe(401);
    expect((await raw(url, 'POST', { coreapp_id: 'c1' }, SECRET)).status).toBe(401);
    expect((await raw(`${server.url}${INTERNAL_PATHS.heartbeat}`, 'GET', undefined, null)).status).toBe(401);
    expect(handlers.coreappLeaving).not.toHaveBeenCalled();
    expect(handlers.heartbeat).not.toHaveBeenCalled();
    expect(await raw(url, 'POST', { coreapp_id: 'c1' })).toEqual({ status: 200, body: { ok: true } });
  });
});

describe('internal API: malformed requests', () => {
  it.each<[string, string, unknown]>([
    ['promote with a negative shard', INTERNAL_PATHS.promote, { generation: 1, shard: -1, epoch: 1, lease_epoch: 1 }],
    ['promote with a fractional epoch', INTERNAL_PATHS.promote, { generation: 1, shard: 0, epoch: 1.5, lease_epoch: 1 }],
    ['promote with a string generation', INTERNAL_PATHS.promote, { generation: '1', shard: 0, epoch: 1, lease_epoch: 1 }],
    ['promote without lease_epoch', INTERNAL_PATHS.promote, { generation: 1, shard: 0, epoch: 1 }],
    ['promote with a JSON array', INTERNAL_PATHS.promote, [1, 0, 1, 1]],
    ['promote with JSON null', INTERNAL_PATHS.promote, null],
    ['demote without reason', INTERNAL_PATHS.demote, { generation: 1, shard: 0, epoch: 1 }],
    ['demote with a numeric reason', INTERNAL_PATHS.demote, { generation: 1, shard: 0, epoch: 1, reason: 5 }],
    ['demote with a negative epoch', INTERNAL_PATHS.demote, { generation: 1, shard: 0, epoch: -1, reason: 'r' }],
    ['dispatch with a string shard', INTERNAL_PATHS.dispatch, { shard: '3' }],
    ['dispatch without shard', INTERNAL_PATHS.dispatch, {}],
    ['coreappLeaving with an empty id', INTERNAL_PATHS.coreappLeaving, { coreapp_id: '' }],
    ['coreappLeaving with an id of 201 characters', INTERNAL_PATHS.coreappLeaving, { coreapp_id: 'c'.repeat(201) }],
    ['coreappLeaving without an id', INTERNAL_PATHS.coreappLeaving, {}],
  ])('%s: 400 and the handler is not called', async (_name, path, body) => {
    const handlers = { promote: vi.fn(), demote: vi.fn(), dispatch: vi.fn(() => 'accepted' as const), coreappLeaving: vi.fn() };
    const server = await serve(handlers);
    expect(await raw(`${server.url}${path}`, 'POST', body)).toEqual({ status: 400, body: { error: 'bad_request' } });
    for (const handler of Object.values(handlers)) expect(handler).not.toHaveBeenCalled();
  });

  it('the longest accepted coreapp id is 200 characters', async () => {
    const coreappLeaving = vi.fn<(id: string) => void>();
    const server = await serve({ coreappLeaving });
    await client().coreappLeaving(server.url, 'c'.repeat(200));
    expect(coreappLeaving).toHaveBeenCalledWith('c'.repeat(200));
  });

  it('the transport reports a 400 as a ClusterCallError', async () => {
    const promote = vi.fn();
    const server = await serve({ promote });
    const error = await callError(client().promote(server.url, { generation: 1, shard: -1, epoch: 1, leaseEpoch: 1 }));
    expect(error.message).toMatch(/HTTP 400$/);
    expect(promote).not.toHaveBeenCalled();
  });
});

describe('internal API: missing routes and deadlines', () => {
  it('a route whose handler is not given answers 404', async () => {
    const heartbeat = vi.fn(() => ({ nodeId: 'c1', owns: null }));
    const server = await serve({ heartbeat });
    const transport = client();
    expect((await callError(transport.promote(server.url, { generation: 1, shard: 0, epoch: 1, leaseEpoch: 1 }))).message).toMatch(/HTTP 404$/);
    expect((await callError(transport.coreappLeaving(server.url, 'c1'))).message).toMatch(/HTTP 404$/);
    expect((await callError(transport.status(server.url))).message).toMatch(/HTTP 404$/);
    expect((await callError(transport.dbStats(server.url))).message).toMatch(/HTTP 404$/);
    // The route that was given is served.
    expect(await transport.heartbeat(server.url, 1_000)).toEqual({ nodeId: 'c1', owns: null });
  });

  it('a heartbeat to a server that never answers fails after its own deadline', async () => {
    const arrived: IncomingMessage[] = [];
    const silent = createServer((req) => {
      arrived.push(req); // …and never answer.
    });
    rawServers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const transport = client(SECRET, 30_000); // The default deadline is far longer than the heartbeat's.
    const started = performance.now();
    const error = await callError(transport.heartbeat(`http://127.0.0.1:${port}`, 200));
    const elapsed = performance.now() - started;
    expect(error.message).toContain('no answer within 200 ms');
    expect(error.message).toContain(INTERNAL_PATHS.heartbeat);
    expect(arrived).toHaveLength(1);
    expect(arrived[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('a refused connection is a ClusterCallError too', async () => {
    const server = await serve({ heartbeat: () => ({ nodeId: 'c1', owns: null }) });
    const url = server.url;
    await servers.splice(0)[0]?.close();
    const error = await callError(client().heartbeat(url, 1_000));
    expect(error.message).not.toContain('no answer within');
  });
});
