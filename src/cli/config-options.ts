/**
 * Shared CLI plumbing: the configuration flags every role accepts, turning commander's options into
 * a validated `Config`, and running an action so that a bad setting prints one line (exit 2) and
 * never a stack trace.
 */
import { Option, type Command } from 'commander';
import { CONFIG_SETTINGS, ConfigError, parseConfig, type Config, type ConfigKey } from '../core/config.js';

/** Adds the configuration flags (each also settable by its SHARDGATE_* environment variable). */
export function addConfigOptions(command: Command, keys: readonly ConfigKey[]): Command {
  const help: Record<ConfigKey, string> = {
    databaseUrl: 'database URL: sqlite:<path> | postgres://… | mysql://…',
    dataDir: 'data directory (default ./data)',
    host: 'address to listen on (default 127.0.0.1)',
    apiPort: 'public API port (default 9090)',
    internalPort: 'internal cluster API port (default 9091)',
    simPort: 'simulator port (default 7070)',
    clusterSecret: 'shared secret that authenticates internal cluster calls',
    logLevel: 'fatal | error | warn | info | debug | trace | silent (default info)',
    upstream: 'sim | cloud (default sim)',
  };
  for (const key of keys) {
    const setting = CONFIG_SETTINGS[key];
    const placeholder = key === 'databaseUrl' ? '<url>' : key === 'dataDir' ? '<dir>' : '<value>';
    command.addOption(new Option(`${setting.flag} ${placeholder}`, `${help[key]} [env ${setting.env}]`));
  }
  return command;
}

/** Builds the frozen config from commander's parsed options and the process environment. */
export function configFrom(options: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const key of Object.keys(CONFIG_SETTINGS) as ConfigKey[]) {
    const value = options[key];
    if (typeof value === 'string') flags[key] = value;
  }
  // commander names `--port` "port"; the config key is apiPort.
  if (typeof options['port'] === 'string') flags.apiPort = options['port'];
  if (typeof options['data'] === 'string') flags.dataDir = options['data'];
  return parseConfig({ flags, env });
}

/**
 * Runs a command action. A configuration error becomes one line on stderr and exit status 2; any
 * other failure (database unreachable, port taken) one line and exit status 1, with the stack only
 * when SHARDGATE_DEBUG is set.
 */
export function runAction<A extends unknown[]>(action: (...args: A) => Promise<void> | void) {
  return async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`shardgate: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`shardgate: ${describeError(error)}\n`);
      if (process.env['SHARDGATE_DEBUG']) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
      process.exit(1);
    }
  };
}

/** One line for an error, including the errors an AggregateError (e.g. a refused dual-stack connect) wraps. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e) => describeError(e)).join('; ');
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.message || error.name}${typeof code === 'string' && !error.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(error);
}
