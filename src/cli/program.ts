/**
 * The `shardgate` command line: one sub-command per role and tool. `buildProgram()` only declares
 * the commands (tests call it without running anything); `main.ts` parses the real argv.
 */
import { Command } from 'commander';
import { registerClusterCommand } from './commands/cluster.js';
import { registerDbCommand } from './commands/db.js';
import { registerPendingCommands } from './commands/pending.js';
import { registerRoleCommands } from './commands/roles.js';
import { registerSimCommand } from './commands/sim.js';
import { registerStartCommand } from './commands/start.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('shardgate')
    .description('Shardgate: a highly available messaging API gateway compatible with the WhatsApp Business On-Premises API')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) });
  registerPendingCommands(program);
  registerStartCommand(program);
  registerRoleCommands(program);
  registerClusterCommand(program);
  registerSimCommand(program);
  registerDbCommand(program);
  sortCommands(program);
  return program;
}

/** Lists commands in the order an operator meets them, whatever order they were registered in. */
function sortCommands(program: Command): void {
  const order = ['start', 'cluster', 'master', 'coreapp', 'webapp', 'sim', 'db', 'bench'];
  const commands = program.commands as Command[];
  commands.sort((a, b) => order.indexOf(a.name()) - order.indexOf(b.name()));
}
