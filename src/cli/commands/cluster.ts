/**
 * `shardgate cluster up | status | kill`: a local multi-process cluster on one machine.
 *
 * `up` migrates the database, registers the demo account, runs the simulator in its own process,
 * launches `--masters` masters, `--coreapps` coreapps and one webapp as child processes (each
 * `shardgate <role>`), prints every node with its role and pid, and writes `<data>/cluster.json`.
 * It restarts nothing by itself, so a failure stays visible: a node that exits is reported and stays
 * down. Ctrl-C stops everything (webapp, coreapps, masters, then the simulator); a second Ctrl-C kills.
 *
 * `status` prints the live topology as JSON, read from the database (roles, shards, gateway status,
 * liveness age) with each node's pid from cluster.json. `kill` sends SIGKILL to one node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { ConfigError, parseConfig, type Config } from '../../core/config.js';
import { SHARD_COUNTS, type ShardCount } from '../../core/limits.js';
import { addConfigOptions, configFrom, runAction } from '../config-options.js';
import { READY_PREFIX } from './roles.js';
import { DEMO_ACCOUNT, demoCredentials } from './start.js';

const BIN = fileURLToPath(new URL('../../../bin/shardgate.js', import.meta.url));
/** A node that has not printed its ready line by then is reported as failed to start. */
const nodeStartDeadlineMs = 60_000;
/** Ctrl-C waits this long for the nodes to stop before killing them. */
const stopDeadlineMs = 15_000;
const clusterMax = 64;

export const CLUSTER_FILE = 'cluster.json';

export interface ClusterFileNode {
  readonly name: string;
  readonly role: 'master' | 'coreapp' | 'webapp';
  readonly pid: number;
  readonly node_id: string;
  readonly internal_url: string;
  readonly api_url: string | null;
  readonly log: string;
}

/** `<data>/cluster.json`: what `cluster status` and `cluster kill` read (and the tests). */
export interface ClusterFile {
  readonly pid: number;
  readonly started_at: string;
  readonly database_url: string;
  readonly api_url: string;
  readonly cluster_secret: string;
  readonly admin: { readonly username: string; readonly password: string };
  /** The simulator process; null with `--upstream cloud`. */
  readonly sim: { readonly url: string; readonly pid: number } | null;
  readonly upstream: 'sim' | 'cloud';
  readonly shards: number;
  readonly nodes: readonly ClusterFileNode[];
}

interface UpFlags extends Record<string, unknown> {
  masters: string;
  coreapps?: string;
  shards: string;
  webapps: string;
  simArgs?: string;
}

export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run a local multi-process cluster (masters, coreapps, webapp, simulator)');
  addConfigOptions(
    cluster
      .command('up')
      .description('start a local cluster and keep it in the foreground (Ctrl-C stops it)')
      .addOption(new Option('--shards <n>', 'shard count: 1 | 2 | 4 | 8 | 16 | 32').default('1'))
      .addOption(new Option('--coreapps <m>', 'coreapp processes (default shards + 1)'))
      .addOption(new Option('--masters <k>', 'master processes').default('2'))
      .addOption(new Option('--webapps <w>', 'webapp processes (the first serves --port, the others the next ports)').default('1'))
      .addOption(new Option('--sim-args <args>', 'extra flags for the simulator, e.g. "--receipt-delay-ms 10"')),
    ['databaseUrl', 'dataDir', 'host', 'apiPort', 'clusterSecret', 'logLevel', 'upstream'],
  ).action(runAction(async (flags: UpFlags) => clusterUp(configFrom(flags), flags)));

  cluster
    .command('status')
    .description('print the live topology of a local cluster as JSON')
    .addOption(new Option('--data <dir>', 'the cluster\'s data directory (default ./data)'))
    .action(runAction(async (flags: { data?: string }) => clusterStatus(flags.data ?? 'data')));

  cluster
    .command('kill')
    .description('send SIGKILL to one node of a local cluster (by node id, name such as coreapp-1, or pid)')
    .argument('<node>', 'node id, name or pid')
    .addOption(new Option('--data <dir>', 'the cluster\'s data directory (default ./data)'))
    .action(runAction(async (node: string, flags: { data?: string }) => clusterKill(flags.data ?? 'data', node)));
}

function count(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > clusterMax) throw new ConfigError(flag, `invalid ${flag}=${value}: allowed: an integer from ${min} to ${clusterMax}`);
  return n;
}

function shardCount(value: string): ShardCount {
  const n = Number(value);
  if (!(SHARD_COUNTS as readonly number[]).includes(n)) throw new ConfigError('--shards', `invalid --shards=${value}: allowed: ${SHARD_COUNTS.join(' | ')}`);
  return n as ShardCount;
}

function databaseUrlOf(config: Config): string {
  return config.database.dialect === 'sqlite' ? `sqlite:${resolve(config.database.path)}` : config.database.url;
}

interface Child {
  readonly name: string;
  readonly role: ClusterFileNode['role'] | 'sim';
  readonly child: ChildProcess;
  readonly log: string;
  ready: Record<string, unknown> | null;
  exited: boolean;
}

async function clusterUp(config: Config, flags: UpFlags): Promise<void> {
  const shards = shardCount(flags.shards);
  const masters = count('--masters', flags.masters, 2, 0);
  const coreapps = count('--coreapps', flags.coreapps, shards + 1, 1);
  const webapps = count('--webapps', flags.webapps, 1, 1);
  if (coreapps < shards) throw new ConfigError('--coreapps', `invalid --coreapps=${coreapps}: allowed: at least --shards (${shards}); run shards + X coreapps to survive X failures`);
  const dataDir = resolve(config.dataDir);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const secret = config.clusterSecret ?? randomBytes(24).toString('hex');
  const adminPassword = process.env['SHARDGATE_ADMIN_PASSWORD'] || `Sg-${randomBytes(9).toString('base64url')}`;
  const databaseUrl = databaseUrlOf(config);
  const isCloud = config.upstream === 'cloud';
  if (isCloud && flags.simArgs !== undefined) throw new ConfigError('--sim-args', 'invalid --sim-args with --upstream cloud: allowed: --sim-args only with --upstream sim');
  // The Cloud settings are checked here, once, before any node starts (the nodes read the same environment).
  const cloud = isCloud ? await import('../cloud-upstream.js') : null;
  const cloudConfig = cloud === null ? null : cloud.cloudConfigFrom();

  // The database first: schema and the account, so every node finds them.
  const [db, migrate, storesModule] = await Promise.all([
    import('../../adapters/kysely/database.js'),
    import('../../adapters/kysely/migrate.js'),
    import('../../adapters/kysely/kysely-stores.js'),
  ]);
  const database = db.openDatabase(config.database);
  await migrate.migrateToLatest(database);
  const stores = storesModule.createKyselyStores(database);
  const credentials = cloud !== null && cloudConfig !== null ? null : await demoCredentials(stores, Date.now(), shards);
  if (cloud !== null && cloudConfig !== null && !(await cloud.registerCloudAccount(stores, cloudConfig, Date.now(), shards))) {
    await stores.close();
    throw new ConfigError('--database-url', 'another account is registered in this database: allowed: a database of this Cloud number, or a fresh one');
  }
  await stores.close();

  const children: Child[] = [];
  let stopping = false;
  const env = { ...process.env, SHARDGATE_CLUSTER_SECRET: secret, SHARDGATE_DATABASE_URL: databaseUrl, SHARDGATE_LOG_LEVEL: config.logLevel, SHARDGATE_ADMIN_PASSWORD: adminPassword };
  const launch = (name: string, role: Child['role'], args: string[]): Child => {
    const log = join(dataDir, 'logs', `${name}.log`);
    const child = spawn(process.execPath, [BIN, role, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry: Child = { name, role, child, log, ready: null, exited: false };
    const logStream = createWriteStream(log, { flags: 'a' });
    child.stderr?.pipe(logStream);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith(READY_PREFIX)) entry.ready = JSON.parse(line.slice(READY_PREFIX.length)) as Record<string, unknown>;
      else logStream.write(`${line}\n`);
    });
    child.on('exit', (code, signal) => {
      entry.exited = true;
      if (!stopping) process.stdout.write(`cluster: ${name} (pid ${child.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}; not restarted (log: ${log})\n`);
    });
    children.push(entry);
    return entry;
  };
  const waitReady = async (entries: Child[]): Promise<void> => {
    const deadline = Date.now() + nodeStartDeadlineMs;
    for (;;) {
      const failed = entries.find((e) => e.exited && e.ready === null);
      if (failed) throw new Error(`${failed.name} exited before it was ready; see ${failed.log}`);
      if (entries.every((e) => e.ready !== null)) return;
      if (Date.now() > deadline) throw new Error(`${entries.filter((e) => e.ready === null).map((e) => e.name).join(', ')} not ready within ${nodeStartDeadlineMs / 1_000} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stopAll = async (): Promise<void> => {
    stopping = true;
    const order: Child['role'][] = ['webapp', 'coreapp', 'master', 'sim'];
    for (const role of order) {
      const group = children.filter((c) => c.role === role && !c.exited);
      for (const c of group) c.child.kill('SIGTERM');
      const deadline = Date.now() + stopDeadlineMs;
      while (group.some((c) => !c.exited) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const c of group) if (!c.exited) c.child.kill('SIGKILL');
    }
  };

  try {
    process.stdout.write(`cluster: starting ${isCloud ? 'against the WhatsApp Cloud API' : 'the simulator'}, ${masters} master(s), ${coreapps} coreapp(s), ${webapps} webapp(s) for ${shards} shard(s) on ${config.database.dialect}\n`);
    let sim: Child | null = null;
    let upstreamArgs: string[] = ['--upstream', 'cloud'];
    let simUrl: string | null = null;
    if (!isCloud) {
      const simArgs = ['--port', '0', '--account', `${DEMO_ACCOUNT.waId}:${credentials}`, '--shards', String(shards), ...(flags.simArgs?.split(/\s+/).filter(Boolean) ?? [])];
      sim = launch('sim', 'sim', simArgs);
      simUrl = await waitForSimUrl(sim);
      upstreamArgs = ['--upstream', 'sim', '--upstream-url', simUrl];
    }
    const masterChildren = Array.from({ length: masters }, (_, i) => launch(`master-${i + 1}`, 'master', ['--host', config.host, '--internal-port', '0', ...upstreamArgs]));
    await waitReady(masterChildren);
    const coreChildren = Array.from({ length: coreapps }, (_, i) => launch(`coreapp-${i + 1}`, 'coreapp', ['--host', config.host, '--internal-port', '0', ...upstreamArgs]));
    const webChildren = Array.from({ length: webapps }, (_, i) =>
      launch(`webapp-${i + 1}`, 'webapp', ['--host', config.host, '--port', String(config.apiPort === 0 ? 0 : config.apiPort + i), '--internal-port', '0', ...upstreamArgs]),
    );
    await waitReady([...coreChildren, ...webChildren]);
    const nodes: ClusterFileNode[] = children
      .filter((c): c is Child & { role: ClusterFileNode['role'] } => c.role !== 'sim')
      .map((c) => ({
        name: c.name,
        role: c.role,
        pid: c.child.pid as number,
        node_id: String(c.ready?.['node_id']),
        internal_url: String(c.ready?.['internal_url']),
        api_url: typeof c.ready?.['api_url'] === 'string' ? (c.ready['api_url'] as string) : null,
        log: c.log,
      }));
    const apiUrl = nodes.find((n) => n.role === 'webapp')?.api_url as string;
    const file: ClusterFile = {
      pid: process.pid,
      started_at: new Date().toISOString(),
      database_url: databaseUrl,
      api_url: apiUrl,
      cluster_secret: secret,
      admin: { username: 'admin', password: adminPassword },
      sim: sim === null || simUrl === null ? null : { url: simUrl, pid: sim.child.pid as number },
      upstream: isCloud ? 'cloud' : 'sim',
      shards,
      nodes,
    };
    writeFileSync(join(dataDir, CLUSTER_FILE), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    printCluster(file, join(dataDir, CLUSTER_FILE));
  } catch (error) {
    await stopAll();
    throw error;
  }

  let signals = 0;
  const shutdown = async () => {
    signals += 1;
    if (signals > 1) {
      for (const c of children) if (!c.exited) c.child.kill('SIGKILL');
      process.exit(130);
    }
    process.stdout.write('cluster: stopping every node (Ctrl-C again to kill)\n');
    await stopAll();
    rmSync(join(dataDir, CLUSTER_FILE), { force: true });
    process.stdout.write('cluster: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

/** `shardgate sim` prints `… listening on http://host:port` (stdout); the URL is read from there. */
async function waitForSimUrl(sim: Child): Promise<string> {
  let found: string | null = null;
  createInterface({ input: sim.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const match = /(http:\/\/[\d.:[\]a-z]+)/i.exec(line);
    if (found === null && match?.[1] && /listening|simulator/i.test(line)) found = match[1].replace(/\/$/, '');
  });
  const deadline = Date.now() + nodeStartDeadlineMs;
  for (;;) {
    if (found !== null) return found;
    if (sim.exited) throw new Error(`the simulator exited before it was ready; see ${sim.log}`);
    if (Date.now() > deadline) throw new Error('the simulator did not start in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function printCluster(file: ClusterFile, path: string): void {
  const rows = file.nodes.map((n) => `  ${n.name.padEnd(11)} ${n.role.padEnd(8)} pid ${String(n.pid).padEnd(8)} ${n.node_id}  ${n.internal_url}`);
  process.stdout.write(
    [
      '',
      `Shardgate cluster is running (${file.shards} shard${file.shards === 1 ? '' : 's'})`,
      `  API        ${file.api_url}   (admin / ${file.admin.password})`,
      `  dashboard  ${file.api_url}/dashboard`,
      file.sim === null
        ? `  upstream   WhatsApp Cloud API; point the app's webhook at ${file.api_url}/cloud/webhook`
        : `  simulator  ${file.sim.url}   (pid ${file.sim.pid}; checker at ${file.sim.url}/sim/report)`,
      `  state      ${path}`,
      ...rows,
      '',
      'Roles change as masters take the lease and promote coreapps: see `shardgate cluster status`.',
      'Nothing is restarted automatically. Ctrl-C stops the cluster.',
      '',
    ].join('\n'),
  );
}

function readClusterFile(dataDir: string): ClusterFile {
  const path = join(resolve(dataDir), CLUSTER_FILE);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  } catch (error) {
    throw new ConfigError('--data', `no running cluster under ${resolve(dataDir)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'} ${path}); start one with shardgate cluster up`);
  }
}

async function clusterStatus(dataDir: string): Promise<void> {
  const file = readClusterFile(dataDir);
  const config = parseConfig({ flags: { databaseUrl: file.database_url }, env: {} });
  const [db, storesModule, topologyModule, settingsModule] = await Promise.all([
    import('../../adapters/kysely/database.js'),
    import('../../adapters/kysely/kysely-stores.js'),
    import('../../roles/gateway/cluster-topology.js'),
    import('../../core/app-settings.js'),
  ]);
  const stores = storesModule.createKyselyStores(db.openDatabase(config.database));
  try {
    const settings = settingsModule.settingsFromStored(await stores.settings.get(settingsModule.APPLICATION_SETTINGS_KEY));
    const topology = await topologyModule.readTopology(stores, settings.db_liveness_interval);
    const pids = new Map(file.nodes.map((n) => [n.node_id, n]));
    const status = {
      nodes: topology.nodes.map((n) => ({
        node_id: n.node_id,
        name: pids.get(n.node_id)?.name ?? null,
        role: n.role,
        shard: n.shard,
        epoch: n.epoch,
        gateway_status: n.gateway_status,
        pid: pids.get(n.node_id)?.pid ?? null,
        heartbeat_age_ms: n.heartbeat_age_ms,
        alive: n.alive,
        internal_url: n.internal_url,
      })),
      shards: topology.shards,
      generation: topology.generation,
      lease: topology.lease,
      api_url: file.api_url,
      sim: file.sim === null ? null : { url: file.sim.url },
      upstream: file.upstream ?? 'sim',
    };
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  } finally {
    await stores.close();
  }
}

async function clusterKill(dataDir: string, which: string): Promise<void> {
  const file = readClusterFile(dataDir);
  const node = file.nodes.find((n) => n.node_id === which || n.name === which || String(n.pid) === which);
  if (node === undefined) {
    throw new ConfigError('<node>', `no node ${which} in this cluster: allowed: ${file.nodes.map((n) => n.name).join(', ')} (or a node id or pid)`);
  }
  try {
    process.kill(node.pid, 'SIGKILL');
  } catch (error) {
    throw new Error(`could not kill ${node.name} (pid ${node.pid}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  process.stdout.write(`killed ${node.name} (${node.role}, pid ${node.pid}, ${node.node_id}) with SIGKILL\n`);
}
