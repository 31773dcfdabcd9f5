/**
 * Commands whose usage is settled but whose implementation is not in this version yet. Each has its
 * real flags and usage line; running it says plainly that it is not available and exits 1.
 */
import { Option, type Command } from 'commander';

function notAvailable(name: string): () => never {
  return () => {
    process.stderr.write(`shardgate ${name}: not available in this version of Shardgate yet\n`);
    process.exit(1);
  };
}

export function registerPendingCommands(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks and write bench/results/')
    .addOption(new Option('--quick', 'short runs (two minutes in all)'))
    .addOption(new Option('--db <url>', 'database URL to benchmark against'))
    .action(notAvailable('bench'));
}
