/**
 * `shardgate master | coreapp | webapp`: one cluster role per process (DESIGN.md §1). Every role
 * needs the database URL and the cluster secret; with `--upstream sim` (the default) coreapps and
 * webapps also the simulator's URL, with `--upstream cloud` the SHARDGATE_CLOUD_* settings.
 *
 * - Masters apply pending schema migrations at start (idempotent, safe concurrently); coreapps and
 *   webapps wait for the schema instead, printing what they wait for.
 * - Logs go to stderr (JSON). Once serving, the process prints one line on stdout:
 *   `SHARDGATE_READY {"node_id",…,"role","pid","internal_url","api_url"}` — what `cluster up` reads.
 * - SIGTERM / SIGINT: a master releases its lease; a primary coreapp hands its shard over (drain,
 *   release, the master promotes a secondary at once); a webapp stops taking requests. A second
 *   signal exits at once.
 */
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { ConfigError, isWildcardHost, type Config } from '../../core/config.js';
import { addConfigOptions, configFrom, runAction } from '../config-options.js';
import { VERSION } from '../version.js';

export const READY_PREFIX = 'SHARDGATE_READY ';

interface RoleFlags extends Record<string, unknown> {
  upstreamUrl?: string;
  advertiseHost?: string;
  advertisePort?: string;
}

type Role = 'master' | 'coreapp' | 'webapp';

const DESCRIPTIONS: Readonly<Record<Role, string>> = {
  master: 'run a master: compete for the master lease, monitor and promote coreapps',
  coreapp: "run a coreapp: start secondary, own one shard's upstream connection when promoted",
  webapp: "run a webapp: the public REST API, routing each call to its shard's coreapp",
};

/** Schema waits by coreapps and webapps report progress this often, and give up after the deadline. */
const schemaWaitReportMs = 2_000;
const schemaWaitDeadlineMs = 120_000;

export function registerRoleCommands(program: Command): void {
  for (const role of ['master', 'coreapp', 'webapp'] as const) {
    const command = program.command(role).description(DESCRIPTIONS[role]);
    command.addOption(
      new Option(
        '--upstream-url <url>',
        role === 'master'
          ? 'with --upstream sim: the upstream network (http://host:port of a running shardgate sim), for shard-count changes'
          : 'with --upstream sim: the upstream network, http://host:port of a running shardgate sim',
      ).env('SHARDGATE_UPSTREAM_URL'),
    );
    command.addOption(
      new Option('--advertise-host <address>', 'the address other nodes reach this one at (required when --host is 0.0.0.0 or ::)').env('SHARDGATE_ADVERTISE_HOST'),
    );
    command.addOption(
      new Option('--advertise-port <port>', 'the internal port other nodes reach this one at, when a port mapping or proxy sits in front (default: --internal-port)').env('SHARDGATE_ADVERTISE_PORT'),
    );
    addConfigOptions(command, ['databaseUrl', 'dataDir', 'host', ...(role === 'webapp' ? (['apiPort'] as const) : []), 'internalPort', 'clusterSecret', 'logLevel', 'upstream']);
    command.action(runAction(async (flags: RoleFlags) => runRole(role, configFrom(flags), flags)));
  }
}

function requireSecret(config: Config): string {
  if (config.clusterSecret === null) {
    throw new ConfigError('--cluster-secret', 'missing --cluster-secret (or SHARDGATE_CLUSTER_SECRET): allowed: the secret shared by every node of the cluster, at least 16 characters');
  }
  return config.clusterSecret;
}

function advertisePortOf(value: string | undefined): number | null {
  if (value === undefined) return null;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) throw new ConfigError('--advertise-port', `invalid --advertise-port=${value}: allowed: a port from 1 to 65535`);
  return port;
}

function requireUpstream(flags: RoleFlags): string {
  const value = flags.upstreamUrl;
  if (value === undefined) throw new ConfigError('--upstream-url', 'missing --upstream-url (or SHARDGATE_UPSTREAM_URL): allowed: http://host:port of a running shardgate sim');
  if (!/^https?:\/\/[^/]+\/?$/.test(value)) throw new ConfigError('--upstream-url', `invalid --upstream-url=${value}: allowed: http://host:port of a running shardgate sim`);
  return value.replace(/\/$/, '');
}

async function runRole(role: Role, config: Config, flags: RoleFlags): Promise<void> {
  const secret = requireSecret(config);
  const advertiseHost = flags.advertiseHost ?? (isWildcardHost(config.host) ? null : config.host);
  if (advertiseHost === null) {
    throw new ConfigError('--advertise-host', `missing --advertise-host: --host ${config.host} listens everywhere, so other nodes need the address to reach this one at`);
  }
  const advertisePort = advertisePortOf(flags.advertisePort);
  const isCloud = config.upstream === 'cloud';
  if (isCloud && flags.upstreamUrl !== undefined) {
    throw new ConfigError('--upstream-url', 'invalid --upstream-url with --upstream cloud: allowed: --upstream-url only with --upstream sim (the Cloud API URL is SHARDGATE_CLOUD_BASE_URL)');
  }
  const upstreamUrl = isCloud || (role === 'master' && flags.upstreamUrl === undefined) ? null : requireUpstream(flags);
  // Coreapps send and webapps verify webhooks: both need the Cloud settings, read and checked before anything starts.
  const cloud = isCloud ? await import('../cloud-upstream.js') : null;
  const cloudConfig = cloud !== null && role !== 'master' ? cloud.cloudConfigFrom() : null;
  const [{ pino }, db, migrate, storesModule, http, clockModule, nodeIdModule] = await Promise.all([
    import('pino'),
    import('../../adapters/kysely/database.js'),
    import('../../adapters/kysely/migrate.js'),
    import('../../adapters/kysely/kysely-stores.js'),
    import('../../adapters/http/internal-api.js'),
    import('../../adapters/memory/system-clock.js'),
    import('../../roles/gateway/node-id.js'),
  ]);
  const logger = pino({ level: config.logLevel, base: { role } }, pino.destination(2));
  const database = db.openDatabase(config.database);
  if (role === 'master') {
    const report = await migrate.migrateToLatest(database);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, 'applied schema migrations');
  } else {
    await waitForSchema(() => migrate.migrationStatus(database));
  }
  const stores = storesModule.createKyselyStores(database);
  const clock = new clockModule.SystemClock();
  const transport = new http.HttpClusterTransport(secret);
  const host = hostname();
  const nodeId = nodeIdModule.newNodeId(host);
  const common = { stores, clock, transport, nodeId, hostname: host, host: config.host, advertiseHost, ...(advertisePort === null ? {} : { advertisePort }), internalPort: config.internalPort, clusterSecret: secret, logger };

  let node: { stop(): Promise<void>; internalUrl: string };
  let apiUrl: string | null = null;
  let onTerm: () => Promise<void>;
  if (role === 'master') {
    const [{ MasterNode }, accountsModule] = await Promise.all([import('../../roles/master/master-node.js'), import('../../adapters/upstream/sim-upstream-accounts.js')]);
    const accounts = cloud !== null ? cloud.cloudUpstreamAccounts() : upstreamUrl === null ? null : new accountsModule.SimUpstreamAccounts(upstreamUrl);
    const master = new MasterNode({ ...common, accounts });
    await master.start();
    node = master;
    onTerm = () => master.stop();
  } else if (role === 'coreapp') {
    const [{ CoreappNode }, upstream] = await Promise.all([import('../../roles/coreapp/coreapp-node.js'), import('../../adapters/upstream/sim-upstream-client.js')]);
    const client = cloud !== null && cloudConfig !== null
      ? cloud.cloudUpstreamClient(cloudConfig, stores, logger)
      : new upstream.SimUpstreamClient(`${(upstreamUrl as string).replace(/^http/, 'ws')}/upstream`);
    const coreapp = new CoreappNode({ ...common, upstream: client });
    await coreapp.start();
    node = coreapp;
    onTerm = () => coreapp.handOver();
  } else {
    const [{ WebappNode }, accounts, dashboard, topology, gateway] = await Promise.all([
      import('../../roles/webapp/webapp-node.js'),
      import('../../adapters/upstream/sim-upstream-accounts.js'),
      import('../../dashboard/dashboard-plugin.js'),
      import('../../roles/gateway/cluster-topology.js'),
      import('../../roles/gateway/gateway-node.js'),
    ]);
    const webapp = new WebappNode({
      ...common,
      accounts: cloud !== null ? cloud.cloudUpstreamAccounts() : new accounts.SimUpstreamAccounts(upstreamUrl as string),
      ...(cloudConfig === null ? {} : { cloudWebhook: { appSecret: cloudConfig.appSecret, verifyToken: cloudConfig.verifyToken } }),
      version: VERSION,
      port: config.apiPort,
      adminPassword: process.env['SHARDGATE_ADMIN_PASSWORD'] || null,
      dbEngine: database.dialect,
      extendApi: (app) =>
        dashboard.registerDashboard(app, {
          stores,
          nodeId,
          mode: 'cluster',
          masterLease: gateway.MASTER_LEASE,
          transport,
          topology: (dbLivenessIntervalS) => topology.readTopology(stores, dbLivenessIntervalS),
          onError: (error) => logger.warn({ err: error }, 'dashboard snapshot failed'),
        }),
    });
    const started = await webapp.start();
    apiUrl = started.apiUrl;
    if (started.admin.created && started.admin.password !== null && !process.env['SHARDGATE_ADMIN_PASSWORD']) {
      process.stderr.write(`shardgate webapp: created user admin with the generated password ${started.admin.password} (shown only this once)\n`);
    }
    node = webapp;
    onTerm = () => webapp.stop();
  }
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ node_id: nodeId, role, pid: process.pid, internal_url: node.internalUrl, api_url: apiUrl })}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write(`shardgate ${role}: second signal, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await onTerm();
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
    }
    await transport.close().catch(() => {});
    await stores.close().catch(() => {});
    logger.flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** Coreapps and webapps never migrate: they wait (with progress, bounded) until a master has. */
async function waitForSchema(status: () => Promise<readonly { readonly appliedAtMs: number | null }[]>): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const current = await status().then(
      (rows) => rows.every((r) => r.appliedAtMs !== null),
      () => false,
    );
    if (current) return;
    const now = Date.now();
    if (now - started > schemaWaitDeadlineMs) throw new Error(`the database schema is not current after ${schemaWaitDeadlineMs / 1_000} s: start a master (it migrates) or run shardgate db migrate`);
    if (now - lastReport >= schemaWaitReportMs) {
      lastReport = now;
      process.stderr.write('shardgate: waiting for a master to migrate the database schema…\n');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
