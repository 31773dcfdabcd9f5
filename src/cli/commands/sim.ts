/** `shardgate sim`: the upstream network simulator. */
import { Option, type Command } from 'commander';

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the upstream messaging network simulator and its checker')
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on').default('7070'))
    .addOption(new Option('--seed <seed>', 'seed of the simulator\'s randomness'))
    .action(() => {
      process.stderr.write('shardgate sim: not available in this version of Shardgate yet\n');
      process.exit(1);
    });
}
