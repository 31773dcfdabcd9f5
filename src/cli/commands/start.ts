/**
 * `shardgate start`: the whole gateway in one process on embedded defaults — SQLite under ./data,
 * the network simulator in-process with a pre-registered demo account (unless --upstream-url names
 * an external one), the API on http://127.0.0.1:9090. Prints how to log in and send a first
 * message; Ctrl-C (or SIGTERM) shuts down cleanly, a second Ctrl-C exits at once.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ACCOUNT_SETTINGS_KEY, accountFromStored } from '../../core/account.js';
import { ConfigError, type Config } from '../../core/config.js';
import type { ShardCount } from '../../core/limits.js';
import { addConfigOptions, configFrom, runAction } from '../config-options.js';
import { VERSION } from '../version.js';

/** The demo business number the embedded simulator registers (a US test number). */
export const DEMO_ACCOUNT = { cc: '1', phoneNumber: '6505550100', waId: '16505550100' } as const;

interface StartFlags extends Record<string, unknown> {
  upstreamUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerStartCommand(program: Command): void {
  addConfigOptions(
    program
      .command('start')
      .description('run the whole gateway in one process (webapp + coreapp + master) on embedded defaults')
      .addOption(new Option('--upstream-url <url>', 'an external simulator (http://host:port) instead of the in-process one').env('SHARDGATE_UPSTREAM_URL'))
      .addOption(new Option('--tls-cert <file>', 'serve the API over HTTPS with this PEM certificate (with --tls-key)').env('SHARDGATE_TLS_CERT'))
      .addOption(new Option('--tls-key <file>', 'the PEM private key of --tls-cert').env('SHARDGATE_TLS_KEY')),
    ['databaseUrl', 'dataDir', 'host', 'apiPort', 'simPort', 'logLevel', 'upstream'],
  ).action(runAction(async (flags: StartFlags) => runStart(configFrom(flags), flags)));
}

async function runStart(config: Config, flags: StartFlags): Promise<void> {
  if (config.upstream === 'cloud' && flags.upstreamUrl !== undefined) {
    throw new ConfigError('--upstream-url', 'invalid --upstream-url with --upstream cloud: allowed: --upstream-url only with --upstream sim (the Cloud API URL is SHARDGATE_CLOUD_BASE_URL)');
  }
  // Read (and checked) before anything starts, so a missing Cloud setting is one line and exit 2.
  const cloud = config.upstream === 'cloud' ? (await import('../cloud-upstream.js')) : null;
  const cloudConfig = cloud === null ? null : cloud.cloudConfigFrom();
  const upstreamUrl = flags.upstreamUrl === undefined ? null : parseUpstreamUrl(flags.upstreamUrl);
  const tls = readTls(flags);
  const adminPassword = process.env['SHARDGATE_ADMIN_PASSWORD'] || null;
  // Heavy modules load only when the command runs, so `--help` stays instant.
  const [{ pino }, db, migrate, stores, upstream, accountsModule, gateway, nodeIdModule, simModule, clockModule, dashboard, topology] = await Promise.all([
    import('pino'),
    import('../../adapters/kysely/database.js'),
    import('../../adapters/kysely/migrate.js'),
    import('../../adapters/kysely/kysely-stores.js'),
    import('../../adapters/upstream/sim-upstream-client.js'),
    import('../../adapters/upstream/sim-upstream-accounts.js'),
    import('../../roles/gateway/gateway-node.js'),
    import('../../roles/gateway/node-id.js'),
    import('../../sim/start-sim.js'),
    import('../../adapters/memory/system-clock.js'),
    import('../../dashboard/dashboard-plugin.js'),
    import('../../roles/gateway/cluster-topology.js'),
  ]);
  const logger = pino({ level: config.logLevel, base: undefined });
  const database = db.openDatabase(config.database);
  await migrate.migrateToLatest(database);
  const kysely = stores.createKyselyStores(database);
  const clock = new clockModule.SystemClock();

  let sim: Awaited<ReturnType<typeof simModule.startSim>> | null = null;
  if (cloud !== null && cloudConfig !== null) {
    if (!(await cloud.registerCloudAccount(kysely, cloudConfig, clock.nowMs()))) {
      logger.warn('another account is registered in this database; the Cloud number is not served until it is removed');
    }
  } else if (upstreamUrl === null) {
    const credentials = await demoCredentials(kysely, clock.nowMs());
    // The in-process simulator takes any free port unless one was asked for (7070 is `shardgate sim`'s).
    const simPort = flags['simPort'] !== undefined || process.env['SHARDGATE_SIM_PORT'] ? config.simPort : 0;
    sim = await simModule.startSim({ host: '127.0.0.1', port: simPort, accounts: [{ waId: DEMO_ACCOUNT.waId, credentials, shards: 1 }] });
  }
  const httpUrl = sim?.url ?? upstreamUrl ?? '';
  const nodeId = nodeIdModule.newNodeId();
  const node = new gateway.GatewayNode({
    stores: kysely,
    clock,
    nodeId,
    version: VERSION,
    upstream: cloud !== null && cloudConfig !== null ? cloud.cloudUpstreamClient(cloudConfig, kysely, logger) : new upstream.SimUpstreamClient(`${httpUrl.replace(/^http/, 'ws')}/upstream`),
    accounts: cloud !== null ? cloud.cloudUpstreamAccounts() : new accountsModule.SimUpstreamAccounts(httpUrl),
    ...(cloudConfig === null ? {} : { cloudWebhook: { appSecret: cloudConfig.appSecret, verifyToken: cloudConfig.verifyToken } }),
    host: config.host,
    port: config.apiPort,
    adminPassword,
    logger,
    dbEngine: database.dialect,
    webappOptions: { tls },
    extendApi: (app) =>
      dashboard.registerDashboard(app, {
        stores: kysely,
        nodeId,
        mode: 'single',
        masterLease: gateway.MASTER_LEASE,
        topology: (dbLivenessIntervalS) => topology.readTopology(kysely, dbLivenessIntervalS),
        onError: (error) => logger.warn({ err: error }, 'dashboard snapshot failed'),
      }),
  });
  const started = await node.start();
  const upstreamLine = cloudConfig !== null
    ? `WhatsApp Cloud API ${cloudConfig.baseUrl}/${cloudConfig.apiVersion}/${cloudConfig.phoneNumberId} (webhook: ${started.apiUrl}/cloud/webhook)`
    : sim === null ? `external simulator at ${httpUrl}` : `simulator in-process at ${sim.url}`;
  printBanner(started.apiUrl, started.admin, upstreamLine);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write('shardgate: second signal, exiting now\n');
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`shardgate: ${signal}, shutting down (in-flight work finishes or stays durable)\n`);
    await node.stop();
    await sim?.stop();
    await kysely.close();
    process.stderr.write('shardgate: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** Reads the TLS key pair named by --tls-cert/--tls-key: both or neither, readable PEM files. */
function readTls(flags: StartFlags): { key: Buffer; cert: Buffer } | null {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return null;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new ConfigError('--tls-cert', 'invalid TLS settings: allowed: both --tls-cert and --tls-key, or neither');
  }
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(flag, `invalid ${flag}=${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'} (allowed: a readable PEM file)`);
    }
  };
  return { cert: read('--tls-cert', flags.tlsCert), key: read('--tls-key', flags.tlsKey) };
}

function parseUpstreamUrl(value: string): string {
  if (!/^https?:\/\/[^/]+\/?$/.test(value)) {
    throw new ConfigError('--upstream-url', `invalid --upstream-url=${value}: allowed: http://host:port of a running shardgate sim`);
  }
  return value.replace(/\/$/, '');
}

/**
 * The demo account's credentials: the ones already stored (so a restart keeps working), else new
 * ones, stored as a registered account so the gateway can send at once.
 */
export async function demoCredentials(stores: import('../../ports/stores.js').Stores, nowMs: number, shards: ShardCount = 1): Promise<string> {
  const existing = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
  if (existing?.state === 'registered' && existing.wa_id === DEMO_ACCOUNT.waId) return existing.credentials;
  if (existing !== null) return randomBytes(16).toString('hex'); // Another account is registered; the demo one stays unused.
  const credentials = randomBytes(16).toString('hex');
  await stores.settings.set(
    {
      [ACCOUNT_SETTINGS_KEY]: {
        state: 'registered',
        wa_id: DEMO_ACCOUNT.waId,
        cc: DEMO_ACCOUNT.cc,
        phone_number: DEMO_ACCOUNT.phoneNumber,
        credentials,
        shards,
        registered_at_ms: nowMs,
      },
    },
    nowMs,
  );
  return credentials;
}

function printBanner(apiUrl: string, admin: { username: string; password: string | null; created: boolean }, upstream: string): void {
  const password = admin.password ?? '<your admin password>';
  const quoted = `'${admin.username}:${password.replace(/'/g, `'\\''`)}'`;
  const lines = [
    '',
    `Shardgate ${VERSION} is running`,
    `  API        ${apiUrl}`,
    `  API docs   ${apiUrl}/docs`,
    `  dashboard  ${apiUrl}/dashboard`,
    `  upstream   ${upstream}`,
    admin.created
      ? `  admin      ${admin.username} / ${password}   (${process.env['SHARDGATE_ADMIN_PASSWORD'] ? 'from SHARDGATE_ADMIN_PASSWORD' : 'generated: shown only this once'})`
      : `  admin      ${admin.username} (already created; password not shown again)`,
    '',
    'Log in and send a message:',
    `  TOKEN=$(curl -s -X POST -u ${quoted} ${apiUrl}/v1/users/login | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
    `  curl -s -X POST ${apiUrl}/v1/messages -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `       -d '{"to":"16315551000","type":"text","text":{"body":"Hello from Shardgate"}}'`,
    'Receive statuses on your webhook:',
    `  curl -s -X PATCH ${apiUrl}/v1/settings/application -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `       -d '{"webhooks":{"url":"http://127.0.0.1:8000/webhook"}}'`,
    '',
    'Ctrl-C stops the gateway.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
