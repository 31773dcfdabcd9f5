/**
 * The Cloud API adapter on a real cluster (`shardgate cluster up --upstream cloud`: masters, coreapps
 * and a webapp as processes) against the fake Graph API, which answers a seeded share of sends with
 * 130429 and transient 5xx and posts signed status webhooks to the webapp's `/cloud/webhook`.
 * 2,000 messages over 4 shards, one message in flight per recipient at the client, and a kill -9 of a
 * primary coreapp in the middle. The fake's record is the oracle: every message accepted exactly
 * once, in order per recipient; the business webhook gets sent, delivered and read for every message,
 * in order, in On-Prem form.
 */
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { shardOf } from '../../src/core/shard-hash.js';
import { SQL_TARGETS, type ContractTarget } from '../support/contract-targets.js';
import { FakeGraphApi } from '../support/fake-graph-api.js';
import { testSeed } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';
import { killAll } from '../e2e/processes.js';
import { StatusReceiver, withCluster, type ClusterOptions, type TestCluster } from './support/cluster.js';

afterAll(() => killAll());

const PHONE_NUMBER_ID = '106540352242922';
const TOKEN = 'EAAG-cluster-test-token';
const APP_SECRET = 'cluster-app-secret-0123456789';
const SHARDS = 4;
const MESSAGES = 2_000;
const RECIPIENTS = 100;

interface OnPremStatus {
  readonly id: string;
  readonly recipient_id: string;
  readonly status: string;
  readonly timestamp: string;
}

/** Business webhook receiver: statuses by message id in arrival order, de-duplicated by event id; any shape problem recorded. */
class BusinessWebhook extends StatusReceiver {
  readonly problems: string[] = [];

  constructor() {
    super((raw, body) => {
      const keys = JSON.stringify(Object.keys(body));
      if (keys !== '["statuses"]' || body.statuses?.length !== 1) this.problems.push(`body ${raw}`);
      for (const s of (body.statuses ?? []) as OnPremStatus[]) {
        if (JSON.stringify(Object.keys(s).sort()) !== '["id","recipient_id","status","timestamp"]' || !/^[0-9]+$/.test(s.timestamp)) this.problems.push(`status ${JSON.stringify(s)}`);
      }
    });
  }
}

function cloudEnv(baseUrl: string): Record<string, string> {
  return {
    SHARDGATE_CLOUD_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    SHARDGATE_CLOUD_ACCESS_TOKEN: TOKEN,
    SHARDGATE_CLOUD_APP_SECRET: APP_SECRET,
    SHARDGATE_CLOUD_VERIFY_TOKEN: 'cluster-verify',
    SHARDGATE_CLOUD_BASE_URL: baseUrl,
    SHARDGATE_CLOUD_RATE_PER_SECOND: '400',
  };
}

/**
 * Posts `perRecipient` messages to each recipient, one request in flight per recipient (so each
 * recipient's order is the order of its 201s), all recipients at once; `afterEach` runs after every
 * answer; stops early when `until()` is true; with `paceMs`, each recipient waits that long between messages.
 */
async function sendAll(
  apiUrl: string,
  token: string,
  recipients: readonly string[],
  perRecipient: number,
  afterEach: () => void,
  until: () => boolean = () => false,
  paceMs = 0,
): Promise<{ sent: Map<string, string[]>; errors: string[] }> {
  const sent = new Map<string, string[]>(recipients.map((r) => [r, []]));
  const errors: string[] = [];
  await Promise.all(recipients.map(async (to, k) => {
    for (let i = 0; i < perRecipient && !until(); i++) {
      const response = await fetch(`${apiUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to, type: 'text', text: { body: `${to} #${i}` } }),
      });
      const body = (await response.json()) as { messages?: { id: string }[] };
      const id = body.messages?.[0]?.id;
      if (response.status !== 201 || id === undefined) errors.push(`${response.status} ${JSON.stringify(body)}`);
      else sent.get(to)?.push(id);
      afterEach();
      // Pacing of the load, not synchronization (recipients a millisecond apart, so they do not move in step).
      if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs + k));
    }
  }));
  return { sent, errors };
}

const sqlite = SQL_TARGETS.find((t) => t.name === 'sqlite');
if (sqlite === undefined) throw new Error('no sqlite target');
const postgres = SQL_TARGETS.find((t) => t.name === 'postgres');
if (postgres === undefined) throw new Error('no postgres target');
const UNHEALTHY_MS = 5_000;

interface CloudRun {
  readonly cluster: TestCluster;
  readonly graph: FakeGraphApi;
  readonly business: BusinessWebhook;
}

/**
 * A cluster on the Cloud adapter: a seeded fake Graph API answering 130429 and 5xx at the given
 * rates, the business webhook, the cluster wired to both; the seed is printed when the test fails;
 * everything is stopped afterwards.
 */
async function withCloudCluster(
  target: ContractTarget,
  options: Omit<ClusterOptions, 'cloudEnv'>,
  faults: { readonly rateLimitRate: number; readonly serverErrorRate: number },
  work: (run: CloudRun) => Promise<void>,
): Promise<void> {
  const seed = testSeed();
  onTestFailed(() => console.error(`Cloud cluster test failed with SEED=${seed}`));
  const graph = new FakeGraphApi({ phoneNumberId: PHONE_NUMBER_ID, token: TOKEN, appSecret: APP_SECRET, seed, ...faults });
  await graph.start();
  const business = new BusinessWebhook();
  await business.start();
  try {
    await withCluster(target, { ...options, cloudEnv: cloudEnv(graph.url) }, async (cluster) => {
      graph.setWebhookUrl(`${cluster.file.api_url}/cloud/webhook`);
      expect((await cluster.api('PATCH', '/v1/settings/application', { webhooks: { url: business.url } })).status).toBe(200);
      await work({ cluster, graph, business });
    });
  } finally {
    await business.stop();
    await graph.stop();
  }
}

/**
 * Every message answered 201 reached the fake Graph API exactly once, in each recipient's order, and
 * its sent, delivered and read statuses reached the business webhook in On-Prem's shape.
 */
async function expectEachOnceInOrder({ graph, business }: CloudRun, sent: ReadonlyMap<string, readonly string[]>, upstreamMs = 60_000): Promise<void> {
  const ids = [...sent.values()].flat();
  await waitFor('every message at the fake Graph API', () => new Set(graph.accepted.map((m) => m.opaque)).size >= ids.length, upstreamMs, 200);
  await waitFor('sent, delivered and read for every message at the business webhook', () => ids.every((id) => business.statuses.get(id)?.join() === 'sent,delivered,read'), 60_000, 200);
  expect(graph.duplicates()).toEqual(new Map());
  expect(graph.accepted).toHaveLength(ids.length);
  const arrived = graph.byRecipient();
  for (const [to, mine] of sent) expect(arrived.get(to), `order for ${to}`).toEqual(mine);
  expect(business.problems.slice(0, 3)).toEqual([]);
}

// SQLite has one write lock per file and a stopped process keeps what it holds, so a pause under
// load is taken on PostgreSQL (as the simulator's SIGSTOP test does; docs/operations.md).
describe.skipIf(postgres.skipReason !== null)('postgres: the Cloud API adapter through a pause', () => {
  it('SIGSTOP the primary coreapp past unhealthy_interval, then SIGCONT: nothing is posted twice or out of order, the resumed coreapp becomes secondary; each message accepted once, in order, every status delivered', async () => {
    await withCloudCluster(postgres, { masters: 2, coreapps: 2, shards: 1 }, { rateLimitRate: 0.03, serverErrorRate: 0.02 }, async (cloud) => {
      const { cluster, graph } = cloud;
      const before = await cluster.waitForPrimary(0);
      const name = cluster.nameOf(before.node_id);
      const recipients = Array.from({ length: 20 }, (_, i) => `1631555${String(5000 + i).padStart(4, '0')}`);
      const token = await cluster.token();
      let stoppedAt = 0;
      // The API takes messages faster than one shard drains them: most are still waiting when the pause comes.
      const sending = sendAll(cluster.file.api_url, token, recipients, 30, () => {
        if (stoppedAt === 0 && graph.accepted.length >= 100) stoppedAt = cluster.signal(name, 'SIGSTOP');
      });
      await waitFor('the pause', () => {
        if (stoppedAt === 0 && graph.accepted.length >= 100) stoppedAt = cluster.signal(name, 'SIGSTOP');
        return stoppedAt > 0;
      }, 60_000, 20);
      await cluster.waitForPrimary(0, 30_000, before.node_id);
      await waitFor('the pause to last 2 × unhealthy_interval', () => Date.now() - stoppedAt >= 2 * UNHEALTHY_MS, 3 * UNHEALTHY_MS, 50);
      const resumedAt = cluster.signal(name, 'SIGCONT');
      const run = await sending;
      expect(run.errors).toEqual([]);
      await expectEachOnceInOrder(cloud, run.sent);
      await waitFor('the resumed coreapp to be secondary', async () => {
        const node = (await cluster.topology()).nodes.find((n) => n.node_id === before.node_id);
        return node !== undefined && node.shard === null && node.gateway_status === 'disconnected';
      }, 15_000, 50);
      expect(resumedAt).toBeGreaterThan(stoppedAt);
    });
  });
});

describe('sqlite: the Cloud API adapter through the control plane', () => {
  it('kill -9 the primary master, SIGTERM the primary coreapp (handover), then kill every master and start one again, all while sending: no API error, each message accepted once, in order, every status delivered', async () => {
    await withCloudCluster(sqlite, { masters: 2, coreapps: 2, shards: 1 }, { rateLimitRate: 0.02, serverErrorRate: 0.02 }, async (cloud) => {
      const { cluster, graph } = cloud;
      const recipients = Array.from({ length: 20 }, (_, i) => `1631555${String(6000 + i).padStart(4, '0')}`);
      const token = await cluster.token();
      let stop = false;
      // 20 recipients, one request in flight each, a message every 100 ms each: about 200 msg/s,
      // below the adapter's 400/s, so the backlog stays small and every step happens under traffic.
      const sending = sendAll(cluster.file.api_url, token, recipients, Number.MAX_SAFE_INTEGER, () => {}, () => stop, 90);
      const upstreamAtLeast = (n: number) => waitFor(`${n} messages at the fake Graph API`, () => graph.accepted.length >= n, 60_000, 20);

      await upstreamAtLeast(200);
      const master = await cluster.primaryMaster();
      cluster.kill9(cluster.nameOf(master.node_id));
      await waitFor('the other master to hold the lease', async () => {
        const holder = (await cluster.topology()).lease?.holder;
        return holder !== undefined && holder !== null && holder !== master.node_id;
      }, 15_000, 20);

      await upstreamAtLeast(graph.accepted.length + 200);
      const before = await cluster.waitForPrimary(0);
      cluster.signal(cluster.nameOf(before.node_id), 'SIGTERM');
      const after = await cluster.waitForPrimary(0, 15_000, before.node_id);

      await upstreamAtLeast(graph.accepted.length + 200);
      const survivor = await cluster.primaryMaster();
      cluster.kill9(cluster.nameOf(survivor.node_id));
      const leaderlessFrom = graph.accepted.length;
      await upstreamAtLeast(leaderlessFrom + 200); // the primary coreapp goes on without any master
      const restarted = await cluster.startMaster();
      await waitFor('the restarted master to hold the lease', async () => (await cluster.topology()).lease?.holder === restarted.nodeId, 15_000, 20);
      await upstreamAtLeast(graph.accepted.length + 100);
      stop = true;
      const run = await sending;

      expect(run.errors.slice(0, 3)).toEqual([]);
      await expectEachOnceInOrder(cloud, run.sent);
      expect((await cluster.topology()).nodes.find((n) => n.node_id === after.node_id)?.gateway_status).toBe('connected');
      expect(await cluster.events('failover')).toEqual([]);
      process.stdout.write(
        `CLOUD control plane: ${graph.accepted.length} messages through a master kill -9, a SIGTERM handover and every master down ` +
          `(after ${leaderlessFrom} messages upstream) until one restarted; 0 API errors, 0 duplicates\n`,
      );
    });
  });
});

describe('sqlite: the Cloud API adapter on a cluster', () => {
  it('a shard-count change 2 → 4 while sending: each message accepted once, in order per recipient, every status delivered', async () => {
    await withCloudCluster(sqlite, { masters: 2, coreapps: 5, shards: 2 }, { rateLimitRate: 0.03, serverErrorRate: 0.02 }, async (cloud) => {
      const { cluster, graph } = cloud;
      const recipients = Array.from({ length: 40 }, (_, i) => `1631555${String(4000 + i).padStart(4, '0')}`);
      const token = await cluster.token();
      let change: Promise<{ status: number; body: Record<string, unknown> }> | null = null;
      const run = await sendAll(cluster.file.api_url, token, recipients, 15, () => {
        if (change === null && graph.accepted.length >= 200) change = cluster.api('POST', '/v1/account/shards', { cc: '0', phone_number: PHONE_NUMBER_ID, shards: 4 });
      });
      expect(run.errors).toEqual([]);
      const changed = await (change ?? cluster.api('POST', '/v1/account/shards', { cc: '0', phone_number: PHONE_NUMBER_ID, shards: 4 }));
      expect(changed.status, JSON.stringify(changed.body)).toBe(201);
      expect((await cluster.api('GET', '/v1/account/shards')).body['account']).toEqual({ shards: 4 });
      await expectEachOnceInOrder(cloud, run.sent, 90_000);
    });
  });

  it(`${MESSAGES} messages over ${SHARDS} shards through 130429s, 5xx and a kill -9 of a primary coreapp: each accepted once, in order, every status delivered`, async () => {
    await withCloudCluster(sqlite, { masters: 2, coreapps: SHARDS + 1, shards: SHARDS }, { rateLimitRate: 0.05, serverErrorRate: 0.03 }, async (cloud) => {
      const { cluster, graph } = cloud;
      expect(cluster.file.sim).toBeNull();
      const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `1631555${String(3000 + i).padStart(4, '0')}`);
      expect(new Set(recipients.map((r) => shardOf(r, SHARDS))).size).toBe(SHARDS);
      const victimShard = shardOf(recipients[0] as string, SHARDS);
      const victim = await cluster.waitForPrimary(victimShard);
      const token = await cluster.token();

      let killedAt = 0;
      let killedUpstream = 0;
      const startedAt = Date.now();
      const run = await sendAll(cluster.file.api_url, token, recipients, MESSAGES / RECIPIENTS, () => {
        if (killedAt === 0 && graph.accepted.length >= MESSAGES / 3) {
          killedUpstream = graph.accepted.length;
          killedAt = cluster.kill9(cluster.nameOf(victim.node_id));
        }
      });
      const sent = run.sent;
      expect(run.errors).toEqual([]);
      expect([...sent.values()].flat()).toHaveLength(MESSAGES);
      if (killedAt === 0) killedAt = cluster.kill9(cluster.nameOf(victim.node_id));
      await cluster.waitForPrimary(victimShard, 60_000, victim.node_id);

      const sentAt = Date.now();
      await expectEachOnceInOrder(cloud, sent, 90_000);
      const doneAt = Date.now();
      expect(graph.answered.rateLimited).toBeGreaterThan(0);
      expect(graph.answered.serverError).toBeGreaterThan(0);
      process.stdout.write(
        `CLOUD cluster: ${MESSAGES} messages, ${graph.answered.rateLimited} × 130429, ${graph.answered.serverError} × 5xx, kill -9 of ${cluster.nameOf(victim.node_id)} (shard ${victimShard}) ` +
          `after ${killedUpstream} accepted upstream; API sends took ${sentAt - startedAt} ms, the rest upstream and every webhook ${doneAt - sentAt} ms\n`,
      );
    });
  });
});
