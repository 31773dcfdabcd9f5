/**
 * Configuration: one validated, frozen object built from CLI flags and the environment. Parsing is
 * pure (the caller passes the flags and environment it read) so that every rule is unit-tested.
 * A bad value throws `ConfigError`, whose message is one line naming the setting and what is allowed;
 * the CLI prints that line and exits with status 2, never a stack trace.
 */
import {
  apiPortDefault,
  clusterSecretLengthMin,
  internalPortDefault,
  portMax,
  portMin,
  simPortDefault,
} from './limits.js';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** Where the database is. `url` is the connection URL as given (for postgres and mysql). */
export type DatabaseLocation =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgres'; readonly url: string }
  | { readonly dialect: 'mysql'; readonly url: string };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type UpstreamKind = 'sim' | 'cloud';

export interface Config {
  readonly database: DatabaseLocation;
  readonly dataDir: string;
  readonly host: string;
  readonly apiPort: number;
  readonly internalPort: number;
  readonly simPort: number;
  /** Shared by every node of a cluster; internal calls without it are refused. Null: not configured. */
  readonly clusterSecret: string | null;
  readonly logLevel: LogLevel;
  readonly upstream: UpstreamKind;
}

export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

/** A raw value with the name the user knows it by (flag or environment variable). */
interface Raw {
  readonly value: string;
  readonly source: string;
}

export interface ConfigSources {
  /** Parsed CLI flags by config key (undefined when not given). */
  readonly flags: Readonly<Partial<Record<ConfigKey, string | number | undefined>>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type ConfigKey =
  | 'databaseUrl'
  | 'dataDir'
  | 'host'
  | 'apiPort'
  | 'internalPort'
  | 'simPort'
  | 'clusterSecret'
  | 'logLevel'
  | 'upstream';

/** The flag and environment variable of each setting; a flag wins over the environment. */
export const CONFIG_SETTINGS: Readonly<Record<ConfigKey, { readonly flag: string; readonly env: string }>> = Object.freeze({
  databaseUrl: { flag: '--database-url', env: 'SHARDGATE_DATABASE_URL' },
  dataDir: { flag: '--data', env: 'SHARDGATE_DATA_DIR' },
  host: { flag: '--host', env: 'SHARDGATE_HOST' },
  apiPort: { flag: '--port', env: 'SHARDGATE_PORT' },
  internalPort: { flag: '--internal-port', env: 'SHARDGATE_INTERNAL_PORT' },
  simPort: { flag: '--sim-port', env: 'SHARDGATE_SIM_PORT' },
  clusterSecret: { flag: '--cluster-secret', env: 'SHARDGATE_CLUSTER_SECRET' },
  logLevel: { flag: '--log-level', env: 'SHARDGATE_LOG_LEVEL' },
  upstream: { flag: '--upstream', env: 'SHARDGATE_UPSTREAM' },
});

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const UPSTREAMS: readonly UpstreamKind[] = ['sim', 'cloud'];

function raw(sources: ConfigSources, key: ConfigKey): Raw | undefined {
  const setting = CONFIG_SETTINGS[key];
  const flag = sources.flags[key];
  if (flag !== undefined) return { value: String(flag), source: setting.flag };
  const env = sources.env[setting.env];
  if (env !== undefined && env !== '') return { value: env, source: setting.env };
  return undefined;
}

/**
 * Parses a database URL: `sqlite:<path>` (also `sqlite://<path>`), `postgres://…` (or
 * `postgresql://…`), `mysql://…` (or `mariadb://…`). `source` names the setting in errors.
 */
export function parseDatabaseUrl(value: string, source = CONFIG_SETTINGS.databaseUrl.env): DatabaseLocation {
  const allowed = 'allowed: sqlite:<path> | postgres://user@host:port/db | mysql://user@host:port/db';
  const fail = (why: string): never => {
    throw new ConfigError(source, `invalid ${source}=${redactUrl(value)}: ${why} (${allowed})`);
  };
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/|\.|[^/])/, '');
    if (path === '') fail('the sqlite path is empty');
    return Object.freeze({ dialect: 'sqlite', path });
  }
  const scheme = /^([a-z0-9+]+):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'mysql' || scheme === 'mariadb') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('not a valid URL');
    }
    if (url.hostname === '') fail('the host is missing');
    if (url.pathname.replace(/^\//, '') === '') fail('the database name is missing');
    const dialect = scheme.startsWith('postgres') ? 'postgres' : 'mysql';
    return Object.freeze({ dialect, url: value });
  }
  return fail('unknown scheme');
}

/** Hides the password of a URL so configuration errors and logs never print secrets. */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

function parsePort(r: Raw | undefined, fallback: number): number {
  if (r === undefined) return fallback;
  const n = Number(r.value);
  if (!/^[0-9]+$/.test(r.value.trim()) || !Number.isInteger(n) || n < portMin || n > portMax) {
    throw new ConfigError(r.source, `invalid ${r.source}=${r.value}: allowed: an integer port ${portMin}-${portMax}`);
  }
  return n;
}

function parseChoice<T extends string>(r: Raw | undefined, allowed: readonly T[], fallback: T): T {
  if (r === undefined) return fallback;
  const value = r.value.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(r.source, `invalid ${r.source}=${r.value}: allowed: ${allowed.join(' | ')}`);
  }
  return value as T;
}

function parseSecret(r: Raw | undefined): string | null {
  if (r === undefined) return null;
  if (r.value.length < clusterSecretLengthMin) {
    throw new ConfigError(r.source, `invalid ${r.source}: allowed: a secret of at least ${clusterSecretLengthMin} characters`);
  }
  return r.value;
}

/** Builds the frozen configuration, or throws `ConfigError` for the first bad setting. */
export function parseConfig(sources: ConfigSources): Config {
  const dataDirRaw = raw(sources, 'dataDir');
  const dataDir = (dataDirRaw?.value ?? './data').replace(/\/+$/, '') || '/';
  const dbRaw = raw(sources, 'databaseUrl');
  const database = dbRaw === undefined
    ? Object.freeze({ dialect: 'sqlite' as const, path: `${dataDir}/shardgate.db` })
    : parseDatabaseUrl(dbRaw.value, dbRaw.source);
  const apiPort = parsePort(raw(sources, 'apiPort'), apiPortDefault);
  const internalPort = parsePort(raw(sources, 'internalPort'), internalPortDefault);
  if (apiPort === internalPort && apiPort !== 0) {
    throw new ConfigError(
      CONFIG_SETTINGS.internalPort.flag,
      `invalid ${CONFIG_SETTINGS.internalPort.flag}=${internalPort}: allowed: a port different from the API port ${apiPort}`,
    );
  }
  return Object.freeze({
    database,
    dataDir,
    host: raw(sources, 'host')?.value ?? '127.0.0.1',
    apiPort,
    internalPort,
    simPort: parsePort(raw(sources, 'simPort'), simPortDefault),
    clusterSecret: parseSecret(raw(sources, 'clusterSecret')),
    logLevel: parseChoice(raw(sources, 'logLevel'), LOG_LEVELS, 'info'),
    upstream: parseChoice(raw(sources, 'upstream'), UPSTREAMS, 'sim'),
  });
}

/** `0.0.0.0` / `::` listen on every address but cannot be reached at: a cluster node then needs an advertised address. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
