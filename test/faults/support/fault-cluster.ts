/**
 * A cluster for the fault-injection suite, launched node by node (not through `cluster up`) so that
 * each node can sit behind its own fault proxies:
 *
 * - on PostgreSQL every node reaches the database through a `FaultProxy` of its own (its
 *   `--database-url` names the proxy), so one node — or all — can be cut from the database;
 * - every coreapp listens on a port of its own and advertises a proxy in front of it
 *   (`--advertise-port`), so the masters' heartbeats (and the webapps' dispatches) can be cut while
 *   its database path stays up.
 *
 * With `netns` (root only), every node runs in a network namespace of its own instead, on three
 * networks (database, cluster, upstream) that a partition takes away one at a time (`netns-lab.ts`);
 * the proxies are not used then.
 *
 * Each node's output goes to a log file of the run; `saveLogs` copies them for a failed scenario.
 * Nodes can be killed, paused, terminated and restarted in place (same ports, same proxies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpClusterTransport } from '../../../src/adapters/http/internal-api.js';
import { openDatabase } from '../../../src/adapters/kysely/database.js';
import { createKyselyStores } from '../../../src/adapters/kysely/kysely-stores.js';
import { migrateToLatest } from '../../../src/adapters/kysely/migrate.js';
import { READY_PREFIX } from '../../../src/cli/commands/roles.js';
import { DEMO_ACCOUNT, demoCredentials } from '../../../src/cli/commands/start.js';
import { parseDatabaseUrl } from '../../../src/core/config.js';
import type { ShardCount } from '../../../src/core/limits.js';
import type { ClusterEvent } from '../../../src/ports/event-log-store.js';
import type { Stores } from '../../../src/ports/stores.js';
import { readTopology, type Topology, type TopologyNode } from '../../../src/roles/gateway/cluster-topology.js';
import type { ContractTarget, TargetInstance } from '../../support/contract-targets.js';
import { adminToken } from '../../support/admin-login.js';
import { waitFor } from '../../support/wait-for.js';
import { NetnsLab, type LabNode, type Network } from './netns-lab.js';
import { ProxyHost, type RemoteProxy } from './proxy-host.js';

const BIN = fileURLToPath(new URL('../../../bin/shardgate.js', import.meta.url));
export const ADMIN_PASSWORD = 'Faults-admin-Passw0rd!';
const SECRET = 'fault-suite-cluster-secret-0123456789';

export type Role = 'master' | 'coreapp' | 'webapp';

export interface FaultClusterOptions {
  readonly masters?: number;
  readonly coreapps?: number;
  readonly webapps?: number;
  readonly shards?: ShardCount;
  /** Extra environment for every node (the deliberately broken builds use it). */
  readonly env?: Readonly<Record<string, string>>;
  /** Every node in a network namespace of its own; partitions cut networks (see netns-lab.ts). */
  readonly netns?: boolean;
}

/** One node process and what stays when it is restarted: name, ports, proxies. */
export class FaultNode {
  child: ChildProcess | null = null;
  nodeId = '';
  apiUrl: string | null = null;
  exited: Promise<void> = Promise.resolve();
  alive = false;

  constructor(
    readonly name: string,
    readonly role: Role,
    readonly logPath: string,
    /** The proxy between this node and the database (PostgreSQL only), or null. */
    readonly dbProxy: RemoteProxy | null,
    /** The proxy the other nodes reach this coreapp's internal API through, or null. */
    readonly internalProxy: RemoteProxy | null,
    readonly internalPort: number,
    readonly apiPort: number,
    /** The node's network namespace (a `netns` cluster), or null. */
    readonly lab: LabNode | null = null,
  ) {}

  /** The address the node listens on, and that the others and the test reach it at. */
  get host(): string {
    return this.lab?.address('cluster') ?? '127.0.0.1';
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }
}

/** A node's process exited before its ready line; `output` is the end of what it printed. */
class NodeExitedError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class FaultCluster {
  readonly nodes: FaultNode[] = [];
  readonly stores: Stores;
  readonly dialect: string;
  readonly databaseUrl: string;
  readonly dir: string;
  simUrl = '';
  #sim: ChildProcess | null = null;
  /** Holds every proxy, in a process of its own (see src/testing/fault-proxy-host.ts). */
  readonly proxies = new ProxyHost();
  #credentials = '';
  #token: string | null = null;
  #logs: WriteStream[] = [];
  readonly #env: Readonly<Record<string, string>>;
  readonly #shards: ShardCount;
  /** The network namespaces of a `netns` cluster, and the port the database is forwarded on there. */
  readonly lab: NetnsLab | null;
  #labDbPort = 0;

  private constructor(dialect: string, databaseUrl: string, stores: Stores, dir: string, options: FaultClusterOptions) {
    this.dialect = dialect;
    this.databaseUrl = databaseUrl;
    this.stores = stores;
    this.dir = dir;
    this.#env = options.env ?? {};
    this.#shards = options.shards ?? 1;
    this.lab = options.netns === true ? NetnsLab.create() : null;
  }

  static async start(instance: TargetInstance, options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const location = instance.location;
    if (location === null) throw new Error('a fault cluster needs an SQL database');
    const databaseUrl = location.dialect === 'sqlite' ? `sqlite:${location.path}` : location.url;
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-faults-'));
    mkdirSync(join(dir, 'logs'));
    const database = openDatabase(parseDatabaseUrl(databaseUrl), { poolSize: 2 });
    await migrateToLatest(database);
    const stores = createKyselyStores(database);
    const cluster = new FaultCluster(location.dialect, databaseUrl, stores, dir, options);
    try {
      await cluster.#boot(options);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  async #boot(options: FaultClusterOptions): Promise<void> {
    this.#credentials = await demoCredentials(this.stores, Date.now(), this.#shards);
    if (this.lab !== null && this.dialect !== 'sqlite') {
      const url = new URL(this.databaseUrl);
      this.#labDbPort = await this.lab.forward('db', { host: url.hostname, port: Number(url.port || 5432) });
    }
    await this.#startSim();
    for (let i = 1; i <= (options.masters ?? 2); i += 1) await this.addNode('master', `master-${i}`);
    await Promise.all([
      ...Array.from({ length: options.coreapps ?? this.#shards + 1 }, (_, i) => this.addNode('coreapp', `coreapp-${i + 1}`)),
      ...Array.from({ length: options.webapps ?? 1 }, (_, i) => this.addNode('webapp', `webapp-${i + 1}`)),
    ]);
    await this.waitForPrimaries();
  }

  async #startSim(): Promise<void> {
    const log = createWriteStream(join(this.dir, 'logs', 'sim.log'));
    this.#logs.push(log);
    const args = ['sim', '--host', this.lab?.hostAddress('upstream') ?? '127.0.0.1', '--port', '0', '--account', `${DEMO_ACCOUNT.waId}:${this.#credentials}`, '--shards', String(this.#shards), '--receipt-delay-ms', '5', '--read-delay-ms', '5'];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, SHARDGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#sim = child;
    child.stderr?.pipe(log);
    let url: string | null = null;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      log.write(`${line}\n`);
      const match = /(http:\/\/[\d.:]+)/.exec(line);
      if (url === null && match?.[1] && /listening|simulator/i.test(line)) url = match[1].replace(/\/$/, '');
    });
    this.simUrl = await waitFor('the simulator to listen', () => {
      if (child.exitCode !== null) throw new Error('the simulator exited at start');
      return url ?? undefined;
    }, 30_000, 20);
  }

  /** Creates a node (its proxies and ports, or its namespace) and starts its process. */
  async addNode(role: Role, name: string): Promise<FaultNode> {
    if (this.lab !== null) {
      const node = new FaultNode(name, role, join(this.dir, 'logs', `${name}.log`), null, null, await freePort(), role === 'webapp' ? await freePort() : 0, this.lab.addNode(name));
      this.nodes.push(node);
      await this.launch(node);
      return node;
    }
    let dbProxy: RemoteProxy | null = null;
    if (this.dialect !== 'sqlite') {
      const url = new URL(this.databaseUrl);
      dbProxy = await this.proxies.create({ host: url.hostname, port: Number(url.port || 5432) });
    }
    // A port found free can be taken by another process (an outgoing connection's ephemeral port)
    // before the node binds it: then the node exits at once, and it is started again on new ports.
    for (let attempt = 1; ; attempt++) {
      const internalPort = await freePort();
      const internalProxy = role === 'coreapp' ? await this.proxies.create({ host: '127.0.0.1', port: internalPort }) : null;
      const apiPort = role === 'webapp' ? await freePort() : 0;
      const node = new FaultNode(name, role, join(this.dir, 'logs', `${name}.log`), dbProxy, internalProxy, internalPort, apiPort);
      this.nodes.push(node);
      try {
        await this.launch(node);
        return node;
      } catch (error) {
        if (attempt >= 3 || !(error instanceof NodeExitedError) || !error.output.includes('EADDRINUSE')) throw error;
        this.nodes.splice(this.nodes.indexOf(node), 1);
      }
    }
  }

  #nodeDatabaseUrl(node: FaultNode): string {
    if (node.lab !== null && this.lab !== null && this.dialect !== 'sqlite') {
      const url = new URL(this.databaseUrl);
      url.hostname = this.lab.hostAddress('db');
      url.port = String(this.#labDbPort);
      return url.toString();
    }
    if (node.dbProxy === null) return this.databaseUrl;
    const url = new URL(this.databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(node.dbProxy.port);
    return url.toString();
  }

  /** Starts (or restarts) the node's process and waits for its ready line. */
  async launch(node: FaultNode): Promise<void> {
    const args = [node.role, '--host', node.host, '--internal-port', String(node.internalPort), '--upstream-url', this.simUrl];
    if (node.internalProxy !== null) args.push('--advertise-port', String(node.internalProxy.port));
    if (node.role === 'webapp') args.push('--port', String(node.apiPort));
    const log = createWriteStream(node.logPath, { flags: 'a' });
    this.#logs.push(log);
    log.write(`--- ${new Date().toISOString()} start ${node.name}: ${args.join(' ')}\n`);
    const command = node.lab !== null && this.lab !== null ? this.lab.command(node.lab, [process.execPath, BIN, ...args]) : { file: process.execPath, args: [BIN, ...args] };
    const child = spawn(command.file, command.args, {
      env: {
        ...process.env,
        SHARDGATE_CLUSTER_SECRET: SECRET,
        SHARDGATE_DATABASE_URL: this.#nodeDatabaseUrl(node),
        SHARDGATE_LOG_LEVEL: 'info',
        SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        // As in production: the deliberately broken builds need NODE_ENV=test (vitest's own value).
        NODE_ENV: 'production',
        ...this.#env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    node.child = child;
    node.alive = true;
    node.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      node.alive = false;
      log.write(`--- ${new Date().toISOString()} ${node.name} exited ${signal ?? code}\n`);
      resolve();
    }));
    child.stderr?.pipe(log, { end: false });
    // The end of what it printed, for the error if it exits before it is ready.
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stderr?.on('data', keep);
    child.stdout?.on('data', keep);
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let ready: { node_id: string; api_url: string | null } | null = null;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith(READY_PREFIX)) ready = JSON.parse(line.slice(READY_PREFIX.length)) as { node_id: string; api_url: string | null };
      else log.write(`${line}\n`);
    });
    const started = await waitFor(`${node.name} ready`, () => (node.alive ? (ready ?? undefined) : null), 60_000, 20);
    if (started === null) {
      await closed; // its output is complete once its pipes closed
      throw new NodeExitedError(`${node.name} exited before it was ready; its last output:\n${output.split('\n').slice(-20).join('\n')}`, output);
    }
    node.nodeId = started.node_id;
    node.apiUrl = started.api_url;
  }

  /** A `netns` cluster: the node's packets to `network` vanish until `heal`. */
  cut(node: FaultNode, network: Network): void {
    if (this.lab === null || node.lab === null) throw new Error('cut() needs a netns cluster');
    this.lab.cut(node.lab, network);
  }

  heal(node: FaultNode, network: Network): void {
    if (this.lab === null || node.lab === null) throw new Error('heal() needs a netns cluster');
    this.lab.heal(node.lab, network);
  }

  node(name: string): FaultNode {
    const node = this.nodes.find((n) => n.name === name || n.nodeId === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  nodeById(nodeId: string): FaultNode {
    return this.node(nodeId);
  }

  get apiUrls(): string[] {
    return this.nodes.filter((n) => n.role === 'webapp').map((n) => `http://${n.host}:${n.apiPort}`);
  }

  /** SIGKILL; returns when the process is gone, with the time the signal left. */
  async kill9(node: FaultNode): Promise<number> {
    const at = Date.now();
    node.child?.kill('SIGKILL');
    await node.exited;
    return at;
  }

  signal(node: FaultNode, signal: NodeJS.Signals): number {
    const at = Date.now();
    node.child?.kill(signal);
    return at;
  }

  /** SIGTERM (a clean stop: hand-over, lease release) and wait for the exit. */
  async terminate(node: FaultNode): Promise<void> {
    node.child?.kill('SIGTERM');
    await node.exited;
  }

  async topology(): Promise<Topology> {
    return readTopology(this.stores, 5);
  }

  /** Every shard has exactly one connected primary coreapp; returns them by shard. */
  async waitForPrimaries(timeoutMs = 60_000, shards: number = this.#shards): Promise<Map<number, TopologyNode>> {
    return waitFor(`one connected primary coreapp for each of ${shards} shard(s)`, async () => {
      const t = await this.topology();
      const connected = t.nodes.filter((n) => n.role === 'coreapp' && n.gateway_status === 'connected' && n.shard !== null);
      const byShard = new Map<number, TopologyNode>();
      for (const n of connected) {
        if (byShard.has(n.shard as number)) return undefined;
        byShard.set(n.shard as number, n);
      }
      return t.shards === shards && byShard.size === shards ? byShard : undefined;
    }, timeoutMs, 50);
  }

  async primaryCoreapp(shard = 0): Promise<FaultNode> {
    const primaries = await this.waitForPrimaries(30_000, (await this.topology()).shards ?? this.#shards);
    return this.nodeById((primaries.get(shard) as TopologyNode).node_id);
  }

  async primaryMaster(): Promise<FaultNode> {
    const node = await waitFor('a primary master', async () => (await this.topology()).nodes.find((n) => n.role === 'primary_master' && n.alive), 30_000, 20);
    return this.nodeById(node.node_id);
  }

  async events(): Promise<ClusterEvent[]> {
    return [...(await this.stores.events.latest(2_000))];
  }

  async token(): Promise<string> {
    if (this.#token !== null) return this.#token;
    this.#token = await adminToken(this.apiUrls[0] as string, ADMIN_PASSWORD);
    return this.#token;
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${this.apiUrls[0]}${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  /** Settings for the scenario (fast failure detection unless given otherwise) and the webhook URL. */
  /**
   * Applies settings, and waits until every live master judges by the failure-detection intervals
   * given: a shortened `unhealthy_interval` is phased in (the old value stays the floor for one old
   * interval, docs/control-plane.md), and a fault injected before that would be detected late.
   */
  async configure(settings: Record<string, unknown>): Promise<void> {
    const answer = await this.api('PATCH', '/v1/settings/application', settings);
    if (answer.status !== 200) throw new Error(`settings refused: ${answer.status} ${JSON.stringify(answer.body)}`);
    const heartbeat = settings['heartbeat_interval'];
    const unhealthy = settings['unhealthy_interval'];
    const dbLiveness = settings['db_liveness_interval'];
    if (typeof heartbeat !== 'number' || typeof unhealthy !== 'number' || typeof dbLiveness !== 'number') return;
    const transport = new HttpClusterTransport(SECRET);
    try {
      const masters = this.nodes.filter((n) => n.role === 'master' && n.alive);
      await waitFor('the new failure-detection intervals in force on every master', async () => {
        const answers = await Promise.all(masters.map((m) => transport.status(`http://${m.host}:${m.internalPort}`).catch(() => null)));
        return answers.every(
          (a) =>
            a !== null &&
            a['heartbeat_ms'] === Math.round(heartbeat * 1_000) &&
            a['unhealthy_ms'] === Math.max(Math.round(unhealthy * 1_000), 3 * Math.round(heartbeat * 1_000)) &&
            a['db_liveness_ms'] === Math.round(dbLiveness * 1_000),
        );
      }, 30_000, 50);
    } finally {
      await transport.close();
    }
  }

  /** Copies every node's log (and the simulator's) to `dir`. */
  saveLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const name of ['sim', ...this.nodes.map((n) => n.name)]) {
      try {
        copyFileSync(join(this.dir, 'logs', `${name}.log`), join(dir, `${name}.log`));
      } catch {
        // A node that never started has no log.
      }
    }
  }

  /** Kills every process, closes every proxy and removes the run directory. */
  async stop(): Promise<void> {
    for (const node of this.nodes) {
      if (node.alive) {
        node.child?.kill('SIGCONT');
        node.child?.kill('SIGKILL');
        await node.exited;
      }
    }
    if (this.#sim !== null && this.#sim.exitCode === null) {
      const sim = this.#sim;
      const gone = new Promise((resolve) => sim.on('exit', resolve));
      sim.kill('SIGKILL');
      await gone;
    }
    await this.proxies.stop();
    await this.lab?.destroy();
    for (const log of this.#logs) log.end();
    await this.stores.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Where a failed scenario's logs are kept: test-results/faults/<scenario>-<dialect>/. */
export function logDirOf(scenario: string, dialect: string): string {
  return join(RESULTS_DIR, 'faults', `${scenario}-${dialect}`);
}

export const RESULTS_DIR = fileURLToPath(new URL('../../../test-results', import.meta.url));

/**
 * A fresh database of `target`, a fault cluster on it, and everything stopped and dropped afterwards;
 * when the scenario fails, every node's log is kept under `logDirOf(scenario, dialect)` first.
 */
export async function withFaultCluster<T>(target: ContractTarget, scenario: string, options: FaultClusterOptions, work: (cluster: FaultCluster) => Promise<T>): Promise<T> {
  const instance = await target.create();
  let cluster: FaultCluster | null = null;
  try {
    cluster = await FaultCluster.start(instance, options);
    const result = await work(cluster);
    if (process.env['FAULTS_KEEP_LOGS'] === '1') cluster.saveLogs(logDirOf(scenario, target.name));
    return result;
  } catch (error) {
    if (cluster !== null) {
      const dir = logDirOf(scenario, target.name);
      cluster.saveLogs(dir);
      throw new Error(`${(error as Error).message}\n(every node's log is kept in ${dir})`, { cause: error });
    }
    throw error;
  } finally {
    await cluster?.stop();
    await instance.dispose();
  }
}
