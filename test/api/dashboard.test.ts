/**
 * The dashboard on a webapp (memory stores, manual clock): the page and its script are served
 * locally with a strict CSP, the stream needs a token, and its snapshots show the shard map, pending
 * messages per shard, queues and events. Streams are read over a real socket (inject cannot stream):
 * every subscriber gets the same frames and the webapp reads once per interval, not per subscriber.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDashboard } from '../../src/dashboard/dashboard-plugin.js';
import type { DashboardSnapshot } from '../../src/dashboard/dashboard-types.js';
import type { SnapshotHub } from '../../src/dashboard/snapshot-hub.js';
import { readTopology } from '../../src/roles/gateway/cluster-topology.js';
import { MASTER_LEASE } from '../../src/roles/gateway/gateway-node.js';
import { waitFor } from '../support/wait-for.js';
import { NODE_ID, startApi, type ApiHarness } from './support/api-harness.js';

interface StreamReader {
  readonly events: { name: string; data: string }[];
  snapshots(): DashboardSnapshot[];
  close(): void;
}

/** Reads `GET /v1/dashboard/stream` as the page does (fetch, SSE framing). */
async function openStream(url: string, token: string): Promise<StreamReader> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/dashboard/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: { name: string; data: string }[] = [];
  void (async () => {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined) events.push({ name, data });
      }
    }
  })();
  return {
    events,
    snapshots: () => events.filter((e) => e.name === 'snapshot').map((e) => JSON.parse(e.data) as DashboardSnapshot),
    close: () => controller.abort(),
  };
}

describe('dashboard: page, stream and snapshots', () => {
  let h: ApiHarness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  async function withDashboard(intervalMs = 1_000): Promise<{ h: ApiHarness; hub: SnapshotHub }> {
    const harness = await startApi({ registeredShards: 2 });
    h = harness;
    const { hub } = await registerDashboard(harness.app, {
      stores: harness.stores,
      nodeId: NODE_ID,
      mode: 'single',
      masterLease: MASTER_LEASE,
      topology: (s) => readTopology(harness.stores, s),
      intervalMs,
    });
    return { h: harness, hub };
  }

  it('serves the page, its stylesheet and its script from the webapp, with a CSP that allows only itself', async () => {
    const { h } = await withDashboard();
    const page = await h.request({ method: 'GET', url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.body).toContain('<script type="module" src="/dashboard/app.js">');
    expect(page.body).not.toMatch(/https?:\/\//);
    const script = await h.request({ method: 'GET', url: '/dashboard/app.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toContain('/v1/dashboard/stream');
    expect((await h.request({ method: 'GET', url: '/dashboard/dashboard.css' })).headers['content-type']).toMatch(/^text\/css/);
  });

  it('the stream refuses a request without a valid token (401, the On-Prem error body)', async () => {
    const { h } = await withDashboard();
    expect((await h.request({ method: 'GET', url: '/v1/dashboard/stream' })).statusCode).toBe(401);
    expect((await h.request({ method: 'GET', url: '/v1/dashboard/stream', token: 'not-a-token' })).statusCode).toBe(401);
  });

  it('streams a hello with the caller and role, then snapshots: shard map with pending per shard, queues, events', async () => {
    const { h } = await withDashboard(50);
    const token = await h.tokenFor('admin');
    await h.createUser('viewer');
    const viewerToken = await h.tokenFor('viewer');
    const map = await h.stores.shardMap.current();
    const generation = map?.generation.generation ?? -1;
    await h.stores.shardMap.assign(generation, 0, NODE_ID, 1, h.clock.nowMs());
    for (const [i, shard] of [0, 1, 1, 1].entries()) {
      await h.stores.messages.insert({ id: `m-${i}`, generation, shard, recipient: '15550001', payload: '{}', idempotencyKey: null, createdAtMs: h.clock.nowMs() });
    }
    await h.stores.events.append({ atMs: h.clock.nowMs(), kind: 'failover', nodeId: NODE_ID, data: { shard: 0, epoch: 2, from: 'gone:000000000000', failoverMs: 1234 } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const admin = await openStream(url, token);
    const viewer = await openStream(url, viewerToken);
    try {
      await waitFor('a snapshot on both streams', () => admin.snapshots().length > 0 && viewer.snapshots().length > 0, 5_000);
      expect(JSON.parse(admin.events[0]?.data ?? '{}')).toMatchObject({ username: 'admin', role: 'ADMIN' });
      expect(JSON.parse(viewer.events[0]?.data ?? '{}')).toMatchObject({ username: 'viewer', role: 'USER' });
      const s = admin.snapshots()[0] as DashboardSnapshot;
      expect(s.mode).toBe('single');
      expect(s.served_by).toBe(NODE_ID);
      expect(s.generation).toEqual({ generation, shards: 2, state: 'active' });
      expect(s.shards.map((x) => [x.shard, x.owner, x.pending])).toEqual([
        [0, NODE_ID, 1],
        [1, null, 3],
      ]);
      expect(s.queues).toEqual({ pending_messages: 4, pending_webhooks: 0, dead_webhooks: 0 });
      expect(s.account).toEqual({ state: 'registered', wa_id: '16315550000', cc: '1', phone_number: '6315550000' });
      expect(JSON.stringify(s)).not.toContain('secret-credentials');
      expect(s.settings).toEqual({ heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 });
      expect(s.events[0]).toMatchObject({ kind: 'failover', node_id: NODE_ID, data: { failoverMs: 1234 } });
      expect(s.throughput.points).toHaveLength(s.throughput.window_ms / s.throughput.bucket_ms);
    } finally {
      admin.close();
      viewer.close();
    }
  });

  it('reads one snapshot per interval for all subscribers, and the webapp closes with streams open', async () => {
    const { h: api, hub } = await withDashboard(30);
    const token = await api.tokenFor('admin');
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const streams = await Promise.all([1, 2, 3, 4].map(() => openStream(url, token)));
    await waitFor('five snapshots on every stream', () => streams.every((s) => s.snapshots().length >= 5), 10_000);
    await waitFor('all four subscribed', () => hub.subscribers === 4, 2_000);
    const received = Math.max(...streams.map((s) => s.snapshots().length));
    // One read per frame (plus one in flight), not one per subscriber.
    expect(hub.reads).toBeLessThanOrEqual(received + 1);
    await api.app.close();
    h = null; // closed here
    expect(hub.subscribers).toBe(0);
  });
});
