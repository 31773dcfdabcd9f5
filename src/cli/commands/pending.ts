/**
 * Commands whose usage is settled but whose implementation is not in this version yet. Each has its
 * real flags and usage line; running it says plainly that it is not available and exits 1.
 */
import { Option, type Command } from 'commander';
import { addConfigOptions } from '../config-options.js';

function notAvailable(name: string): () => never {
  return () => {
    process.stderr.write(`shardgate ${name}: not available in this version of Shardgate yet\n`);
    process.exit(1);
  };
}

export function registerPendingCommands(program: Command): void {
  const cluster = program.command('cluster').description('run a local multi-process cluster (masters, coreapps, webapp, simulator)');
  addConfigOptions(
    cluster
      .command('up')
      .description('start a local cluster and keep it in the foreground')
      .addOption(new Option('--shards <n>', 'shard count: 1 | 2 | 4 | 8 | 16 | 32').default('1'))
      .addOption(new Option('--coreapps <m>', 'coreapp processes (default shards + 1)'))
      .addOption(new Option('--masters <k>', 'master processes').default('2')),
    ['databaseUrl', 'dataDir', 'host', 'apiPort', 'logLevel'],
  ).action(notAvailable('cluster up'));

  for (const [role, what] of [
    ['master', 'run a master: compete for the master lease, monitor and promote coreapps'],
    ['coreapp', 'run a coreapp: start secondary, own one shard\'s upstream connection when promoted'],
    ['webapp', 'run a webapp: the public REST API, routing each call to its shard\'s coreapp'],
  ] as const) {
    addConfigOptions(program.command(role).description(what), [
      'databaseUrl',
      'dataDir',
      'host',
      ...(role === 'webapp' ? (['apiPort'] as const) : []),
      'internalPort',
      'clusterSecret',
      'logLevel',
    ]).action(notAvailable(role));
  }

  program
    .command('bench')
    .description('run the benchmarks and write bench/results/')
    .addOption(new Option('--quick', 'short runs (two minutes in all)'))
    .addOption(new Option('--db <url>', 'database URL to benchmark against'))
    .action(notAvailable('bench'));
}
