/** `shardgate db`: database maintenance (migrations). */
import type { Command } from 'commander';

export function registerDbCommand(program: Command): void {
  program.command('db').description('database maintenance: migrate, status');
}
