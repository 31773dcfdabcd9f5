/**
 * A real local cluster for the HA tests: `shardgate cluster up` (a simulator, masters, coreapps and a
 * webapp, each its own process) on a fresh database of one dialect, plus what the tests do to it —
 * signals to single nodes, a steady client load, the simulator's report and the event log — and what
 * they check: no API error, no loss, a clean checker.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { openDatabase } from '../../../src/adapters/kysely/database.js';
import { createKyselyStores } from '../../../src/adapters/kysely/kysely-stores.js';
import type { ClusterFile, ClusterFileNode } from '../../../src/cli/commands/cluster.js';
import { READY_PREFIX } from '../../../src/cli/commands/roles.js';
import { parseDatabaseUrl } from '../../../src/core/config.js';
import type { ClusterEvent } from '../../../src/ports/event-log-store.js';
import type { Stores } from '../../../src/ports/stores.js';
import { readTopology, type Topology, type TopologyNode } from '../../../src/roles/gateway/cluster-topology.js';
import { shardgate, type Proc } from '../../e2e/processes.js';
import type { ContractTarget, TargetInstance } from '../../support/contract-targets.js';
import { adminToken } from '../../support/admin-login.js';
import { waitFor } from '../../support/wait-for.js';

export const ADMIN_PASSWORD = 'Cluster-admin-Passw0rd!';

export interface SimEpoch {
  readonly epoch: number;
  readonly node: string | null;
  readonly first_send_at_ms: number;
  readonly last_send_at_ms: number;
  readonly sends: number;
}

export interface SimReport {
  readonly ok: boolean;
  readonly violations_total: number;
  readonly messages_unique: number;
  readonly duplicates: number;
  readonly stale_epoch_sends: number;
  readonly misrouted: number;
  readonly order_violations: number;
  readonly max_connections_per_shard: number;
  readonly receipts_pending: number;
  readonly receipts_scheduled: number;
  readonly violations: readonly unknown[];
  readonly per_shard: readonly { readonly shard: number; readonly epochs: readonly SimEpoch[]; readonly connected: boolean; readonly node: string | null }[];
}

export interface ClusterOptions {
  readonly masters?: number;
  readonly coreapps?: number;
  readonly shards?: number;
  /** Run with `--upstream cloud` and these SHARDGATE_CLOUD_* variables instead of the simulator. */
  readonly cloudEnv?: Readonly<Record<string, string>>;
}

export class TestCluster {
  readonly file: ClusterFile;
  readonly proc: Proc;
  readonly stores: Stores;
  readonly databaseUrl: string;
  readonly #dir: string;
  readonly #extra: Proc[] = [];
  /** Every client load started on this cluster, stopped by `stop()` even when a test failed midway. */
  readonly loads = new Set<Load>();
  #token: string | null = null;

  private constructor(file: ClusterFile, proc: Proc, stores: Stores, dir: string, databaseUrl: string) {
    this.file = file;
    this.proc = proc;
    this.stores = stores;
    this.#dir = dir;
    this.databaseUrl = databaseUrl;
  }

  static async start(instance: TargetInstance, options: ClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-cluster-'));
    const location = instance.location;
    if (location === null) throw new Error('a cluster needs an SQL database');
    const databaseUrl = location.dialect === 'sqlite' ? `sqlite:${location.path}` : location.url;
    const proc = shardgate(
      [
        'cluster', 'up', '--data', dir, '--port', '0', '--database-url', databaseUrl,
        '--masters', String(options.masters ?? 2), '--coreapps', String(options.coreapps ?? 3), '--shards', String(options.shards ?? 1),
        ...(options.cloudEnv === undefined ? ['--sim-args', '--receipt-delay-ms 5 --read-delay-ms 5'] : ['--upstream', 'cloud']),
      ],
      { SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, SHARDGATE_LOG_LEVEL: 'info', ...options.cloudEnv },
    );
    await proc.waitForOutput(/Ctrl-C stops the cluster/, 90_000);
    const file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFile;
    const stores = createKyselyStores(openDatabase(parseDatabaseUrl(databaseUrl), { poolSize: 2 }));
    return new TestCluster(file, proc, stores, dir, databaseUrl);
  }

  node(name: string): ClusterFileNode {
    const node = this.file.nodes.find((n) => n.name === name || n.node_id === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** The simulator's URL (clusters on the simulator only). */
  get simUrl(): string {
    if (this.file.sim === null) throw new Error('this cluster runs against the Cloud API, not the simulator');
    return this.file.sim.url;
  }

  nameOf(nodeId: string | null): string {
    return this.file.nodes.find((n) => n.node_id === nodeId)?.name ?? `${nodeId}`;
  }

  async topology(): Promise<Topology> {
    return readTopology(this.stores, 5);
  }

  /** The coreapp that is connected for `shard`, once there is exactly one. */
  async waitForPrimary(shard = 0, timeoutMs = 30_000, not?: string): Promise<TopologyNode> {
    return waitFor(`a connected primary coreapp for shard ${shard}${not ? ` other than ${this.nameOf(not)}` : ''}`, async () => {
      const t = await this.topology();
      const connected = t.nodes.filter((n) => n.role === 'coreapp' && n.shard === shard && n.gateway_status === 'connected' && n.node_id !== not);
      return connected.length === 1 ? connected[0] : undefined;
    }, timeoutMs, 20);
  }

  async primaryMaster(timeoutMs = 30_000): Promise<TopologyNode> {
    return waitFor('a primary master', async () => (await this.topology()).nodes.find((n) => n.role === 'primary_master' && n.alive), timeoutMs, 20);
  }

  signal(name: string, signal: NodeJS.Signals): number {
    const node = this.node(name);
    process.kill(node.pid, signal);
    return Date.now();
  }

  /** SIGKILL; returns the time (ms) just before the signal left. */
  kill9(name: string): number {
    const at = Date.now();
    process.kill(this.node(name).pid, 'SIGKILL');
    return at;
  }

  /** Starts another master process against the same database (cluster up restarts nothing). */
  async startMaster(): Promise<{ nodeId: string; proc: Proc }> {
    const proc = shardgate(['master', '--database-url', this.databaseUrl, '--cluster-secret', this.file.cluster_secret, '--internal-port', '0'], { SHARDGATE_LOG_LEVEL: 'info' });
    this.#extra.push(proc);
    const match = await proc.waitForOutput(new RegExp(`${READY_PREFIX}(\\{.*\\})`), 30_000);
    const ready = JSON.parse(match[1] as string) as { node_id: string };
    return { nodeId: ready.node_id, proc };
  }

  async token(): Promise<string> {
    if (this.#token !== null) return this.#token;
    this.#token = await adminToken(this.file.api_url, ADMIN_PASSWORD);
    return this.#token;
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers = { authorization: `Bearer ${await this.token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    let response: Response;
    try {
      response = await fetch(`${this.file.api_url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      // fetch says only "fetch failed"; the cause (ECONNREFUSED, a connect timeout, a reset) is what tells.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${method} ${path}: ${String(error)} (${cause?.code ?? ''} ${cause?.message ?? ''})`, { cause: error });
    }
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  async simReport(): Promise<SimReport> {
    return (await (await fetch(`${this.simUrl}/sim/report`)).json()) as SimReport;
  }

  /** The ids among `ids` the simulator never received. */
  async missing(ids: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 1_000) {
      const response = await fetch(`${this.simUrl}/sim/messages/missing`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: ids.slice(i, i + 1_000) }),
      });
      out.push(...((await response.json()) as { missing: string[] }).missing);
    }
    return out;
  }

  /** The first send under an epoch that began after `afterMs` (the new primary's first send), or undefined. */
  async firstSendAfter(afterMs: number, shard = 0): Promise<SimEpoch | undefined> {
    const report = await this.simReport();
    return report.per_shard.find((s) => s.shard === shard)?.epochs.find((e) => e.first_send_at_ms > afterMs);
  }

  async events(kind?: string): Promise<ClusterEvent[]> {
    const events = await this.stores.events.latest(500);
    return events.filter((e) => kind === undefined || e.kind === kind);
  }

  /** Stops the cluster (Ctrl-C), every extra process, and removes the data directory. */
  async stop(): Promise<void> {
    for (const load of this.loads) await load.stop().catch(() => {});
    for (const p of this.#extra) await p.stop('SIGKILL').catch(() => {});
    await this.proc.stop('SIGINT').catch(() => {});
    await this.stores.close().catch(() => {});
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * A steady client: `rate` messages per second over a few recipients, each answer recorded. Every
 * 201's id must reach the network; every other answer is an API error.
 */
export class Load {
  readonly accepted: string[] = [];
  readonly errors: string[] = [];
  /** Every request: its recipient, when it started (ms) and the id it got (null: an error). */
  readonly sent: { readonly to: string; readonly startedAtMs: number; id: string | null; finishedAtMs: number | null }[] = [];
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * The load's own keep-alive connections, at most 64: a client opening one connection per request
   * in flight overflowed the webapp's accept queue on a starved machine, and then even the tests'
   * own admin calls (on the default dispatcher) could not connect.
   */
  readonly #agent = new Agent({ connections: 64 });
  #agentClosed = false;

  constructor(
    private readonly cluster: TestCluster,
    private readonly rate: number,
    private readonly recipients: readonly string[] = Array.from({ length: 10 }, (_, i) => `1631555${String(1001 + i).padStart(4, '0')}`),
  ) {}

  start(): void {
    this.cluster.loads.add(this);
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const token = await this.cluster.token();
    const started = Date.now();
    let sent = 0;
    while (this.#running) {
      const due = started + (sent * 1_000) / this.rate;
      const wait = due - Date.now();
      // Pacing of the load, not synchronization. Behind schedule, it still yields every request: a
      // loop that only caught up synchronously could never catch up on a starved machine (each turn
      // slower than the schedule's step), spinning without letting a single response or timer run.
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else await new Promise((r) => setImmediate(r));
      // At most ten seconds of requests in flight: a server that stops answering shows as errors
      // (each request times out), not as an ever-growing client.
      while (this.#running && this.#inFlight.size >= this.rate * 10) await new Promise((r) => setTimeout(r, 10));
      if (!this.#running) break;
      const to = this.recipients[sent % this.recipients.length] as string;
      sent += 1;
      const request = this.#send(token, to);
      this.#inFlight.add(request);
      void request.finally(() => this.#inFlight.delete(request));
    }
  }

  async #send(token: string, to: string): Promise<void> {
    const record: { to: string; startedAtMs: number; id: string | null; finishedAtMs: number | null } = { to, startedAtMs: Date.now(), id: null, finishedAtMs: null };
    this.sent.push(record);
    try {
      const response = await undiciFetch(`${this.cluster.file.api_url}/v1/messages`, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to, type: 'text', text: { body: `load ${Date.now()}` } }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { messages?: { id: string }[] };
      const id = body.messages?.[0]?.id;
      if (response.status === 201 && id !== undefined) {
        this.accepted.push(id);
        record.id = id;
      }
      else this.errors.push(`${response.status} ${JSON.stringify(body)}`);
    } catch (error) {
      this.errors.push(String(error));
    } finally {
      record.finishedAtMs = Date.now();
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all([...this.#inFlight]);
    // stop() may be called again (a test's own finally, then the cluster's): close the pool once.
    if (!this.#agentClosed) {
      this.#agentClosed = true;
      await this.#agent.close();
    }
  }

  /** Waits until at least `n` more messages than now were accepted. */
  async waitForMore(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.accepted.length + n;
    await waitFor(`${n} more accepted messages (errors: ${this.errors.slice(0, 3).join('; ')})`, () => this.accepted.length >= target, timeoutMs, 20);
  }
}

/** Every accepted id reached the network (polled: sends after a failover take a moment). */
export async function expectNoLoss(cluster: TestCluster, ids: readonly string[], timeoutMs = 60_000): Promise<void> {
  let missing: string[] = [...ids];
  await waitFor(`every accepted message upstream (missing ${missing.length}, e.g. ${missing.slice(0, 3).join(', ')})`, async () => {
    missing = await cluster.missing(missing);
    return missing.length === 0;
  }, timeoutMs, 200);
}

/** One fresh database per scenario on `target`, the cluster on it, and everything stopped afterwards. */
export async function withCluster<T>(target: ContractTarget, options: ClusterOptions, work: (cluster: TestCluster) => Promise<T>): Promise<T> {
  const instance = await target.create();
  let cluster: TestCluster | null = null;
  try {
    cluster = await TestCluster.start(instance, options);
    return await work(cluster);
  } catch (error) {
    if (cluster !== null) {
      const tail = cluster.proc.output().slice(-3_000);
      throw new Error(`${(error as Error).message}\n--- cluster up output (tail) ---\n${tail}\n--- logs: ${logTails(cluster)}`, { cause: error });
    }
    throw error;
  } finally {
    await cluster?.stop();
    await instance.dispose();
  }
}

function logTails(cluster: TestCluster): string {
  return cluster.file.nodes
    .map((n) => {
      try {
        const lines = readFileSync(n.log, 'utf8').trim().split('\n');
        return `\n[${n.name}] ${lines.slice(-8).join(`\n[${n.name}] `)}`;
      } catch {
        return `\n[${n.name}] (no log)`;
      }
    })
    .join('');
}


/** A webhook receiver: every status callback, de-duplicated by the event id header, in arrival order. */
export class StatusReceiver {
  readonly #server: Server;
  readonly #seen = new Set<string>();
  /** Message id → its statuses in the order they arrived. */
  readonly statuses = new Map<string, string[]>();
  url = '';

  /** `inspect` sees every new event (raw body and parsed) before its statuses are recorded, e.g. to check its shape. */
  constructor(inspect?: (raw: string, body: { statuses?: { id: string; status: string }[] }) => void) {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const eventId = String(request.headers['x-shardgate-event-id'] ?? '');
        if (eventId !== '' && !this.#seen.has(eventId)) {
          this.#seen.add(eventId);
          const parsed = JSON.parse(body) as { statuses?: { id: string; status: string }[] };
          inspect?.(body, parsed);
          for (const s of parsed.statuses ?? []) this.statuses.set(s.id, [...(this.statuses.get(s.id) ?? []), s.status]);
        }
        response.writeHead(200).end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/webhook`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
