import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseDatabaseUrl, redactUrl } from '../../src/core/config.js';

const parse = (flags: Record<string, string> = {}, env: Record<string, string> = {}) => parseConfig({ flags, env });

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has embedded defaults: SQLite under ./data, API on 127.0.0.1:9090', () => {
    const config = parse();
    expect(config).toMatchObject({
      database: { dialect: 'sqlite', path: './data/shardgate.db' },
      dataDir: './data',
      host: '127.0.0.1',
      apiPort: 9090,
      internalPort: 9091,
      clusterSecret: null,
      logLevel: 'info',
      upstream: 'sim',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
  });

  it('reads the environment, and a flag wins over the environment', () => {
    const env = { SHARDGATE_DATABASE_URL: 'postgres://u:p@db:5432/sg', SHARDGATE_PORT: '8080', SHARDGATE_DATA_DIR: '/var/sg/' };
    expect(parse({}, env)).toMatchObject({ database: { dialect: 'postgres' }, apiPort: 8080, dataDir: '/var/sg' });
    expect(parse({ apiPort: '7000', databaseUrl: 'mysql://root@127.0.0.1:3306/test' }, env)).toMatchObject({
      apiPort: 7000,
      database: { dialect: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' },
    });
    expect(parse({ dataDir: '/srv/x' }).database).toEqual({ dialect: 'sqlite', path: '/srv/x/shardgate.db' });
  });

  it('parses every database URL form', () => {
    expect(parseDatabaseUrl('sqlite:./data/x.db')).toEqual({ dialect: 'sqlite', path: './data/x.db' });
    expect(parseDatabaseUrl('sqlite:/abs/x.db')).toEqual({ dialect: 'sqlite', path: '/abs/x.db' });
    expect(parseDatabaseUrl('sqlite:///abs/x.db')).toEqual({ dialect: 'sqlite', path: '/abs/x.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('postgresql://h/db').dialect).toBe('postgres');
    expect(parseDatabaseUrl('mariadb://h/db').dialect).toBe('mysql');
  });

  it.each([
    ['SHARDGATE_DATABASE_URL', { SHARDGATE_DATABASE_URL: 'oracle://h/db' }, /unknown scheme.*sqlite:<path> \| postgres:\/\/.* \| mysql:\/\//],
    ['SHARDGATE_DATABASE_URL', { SHARDGATE_DATABASE_URL: 'postgres://h:5432/' }, /database name is missing/],
    ['SHARDGATE_DATABASE_URL', { SHARDGATE_DATABASE_URL: 'sqlite:' }, /sqlite path is empty/],
    ['SHARDGATE_PORT', { SHARDGATE_PORT: '99999' }, /SHARDGATE_PORT=99999: allowed: an integer port 0-65535/],
    ['SHARDGATE_PORT', { SHARDGATE_PORT: 'http' }, /allowed: an integer port/],
    ['SHARDGATE_LOG_LEVEL', { SHARDGATE_LOG_LEVEL: 'loud' }, /allowed: fatal \| error \| warn \| info \| debug \| trace \| silent/],
    ['SHARDGATE_UPSTREAM', { SHARDGATE_UPSTREAM: 'carrier-pigeon' }, /allowed: sim \| cloud/],
    ['SHARDGATE_CLUSTER_SECRET', { SHARDGATE_CLUSTER_SECRET: 'short' }, /at least 16 characters/],
  ])('rejects a bad %s with one line naming it and what is allowed', (setting, env, message) => {
    const error = errorOf(() => parse({}, env as Record<string, string>));
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(setting);
    expect(error.message).not.toContain('\n');
  });

  it('names the flag when the bad value came from a flag', () => {
    expect(errorOf(() => parse({ apiPort: '-1' })).setting).toBe('--port');
    expect(errorOf(() => parse({ apiPort: '9000', internalPort: '9000' })).message).toMatch(/--internal-port=9000.*different from the API port/);
  });

  it('never prints a database password', () => {
    const error = errorOf(() => parse({}, { SHARDGATE_DATABASE_URL: 'postgres://admin:hunter2@h:5432/' }));
    expect(error.message).not.toContain('hunter2');
    expect(redactUrl('mysql://u:secret@h/db')).toBe('mysql://u:***@h/db');
  });
});
