/**
 * `shardgate sim`: the upstream messaging network simulator and its checker, standalone. It prints
 * where it listens (and the credentials of pre-registered accounts), runs until SIGINT or SIGTERM,
 * then closes every connection and exits 0. A bad flag prints one line and exits 2.
 */
import { Option, type Command } from 'commander';
import { simPortDefault, type ShardCount } from '../../core/limits.js';
import { isShardCount } from '../../core/shard-hash.js';
import { SimOptionsError, type SimAccountSeed, type SimOptions } from '../../sim/sim-options.js';
import { startSim } from '../../sim/start-sim.js';

interface SimFlags {
  host: string;
  port: string;
  seed?: string;
  account: string[];
  shards: string;
  receipts: boolean;
  receiptDelayMs: string;
  readDelayMs: string;
  readReceipts: boolean;
  invalidSuffix: string;
  inboundRate: string;
  connRate?: string;
  autoReply?: boolean;
  redeliveryMs?: string;
  contacts?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the upstream messaging network simulator and its checker')
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').default(String(simPortDefault)).env('SHARDGATE_SIM_PORT'))
    .addOption(new Option('--seed <seed>', "seed of the simulator's randomness (default: random, printed)"))
    .addOption(new Option('--account <wa_id[:credentials]>', 'pre-register an account (repeatable); credentials are generated when omitted').argParser(collect).default([]))
    .addOption(new Option('--shards <n>', 'shard count of pre-registered accounts: 1 | 2 | 4 | 8 | 16 | 32').default('1'))
    .addOption(new Option('--receipt-delay-ms <ms>', 'delay from accepting a send to its delivered (or failed) status').default('50'))
    .addOption(new Option('--read-delay-ms <ms>', 'delay from delivered to read').default('100'))
    .addOption(new Option('--no-receipts', 'send no statuses at all (only acks)'))
    .addOption(new Option('--no-read-receipts', 'send no read statuses'))
    .addOption(new Option('--invalid-suffix <digits>', 'recipients whose wa_id ends with these digits fail with code 1013 ("" disables)').default('0000'))
    .addOption(new Option('--inbound-rate <per-second>', 'inbound messages per second from simulated contacts, per account').default('0'))
    .addOption(new Option('--conn-rate <per-second>', 'per-connection send limit (default unlimited)'))
    .addOption(new Option('--auto-reply', 'contacts answer each delivered message'))
    .addOption(new Option('--redelivery-ms <ms>', 'transmit an unacknowledged event again after this long (default 10000)'))
    .addOption(new Option('--contacts <n>', 'size of the simulated contact population (default 100)'))
    .action(async (flags: SimFlags) => {
      let options: SimOptions;
      try {
        options = simOptionsFrom(flags);
      } catch (error) {
        if (error instanceof SimOptionsError) {
          process.stderr.write(`shardgate sim: ${error.message}\n`);
          process.exit(2);
        }
        throw error;
      }
      await runSim(options);
    });
}

function number(flag: string, value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new SimOptionsError(`${flag} must be a number, not ${JSON.stringify(value)}`);
  return n;
}

function accountSeeds(values: readonly string[], shards: ShardCount): SimAccountSeed[] {
  return values.map((value) => {
    const at = value.indexOf(':');
    const waId = at < 0 ? value : value.slice(0, at);
    const credentials = at < 0 ? undefined : value.slice(at + 1);
    return credentials === undefined ? { waId, shards } : { waId, credentials, shards };
  });
}

/** Turns the flags into `SimOptions`; throws `SimOptionsError` naming a bad flag. */
export function simOptionsFrom(flags: SimFlags): SimOptions {
  const shards = number('--shards', flags.shards);
  if (!isShardCount(shards)) throw new SimOptionsError('--shards must be 1, 2, 4, 8, 16 or 32');
  const options: SimOptions = {
    host: flags.host,
    port: number('--port', flags.port),
    accounts: accountSeeds(flags.account, shards),
    deliveredDelayMs: flags.receipts ? number('--receipt-delay-ms', flags.receiptDelayMs) : null,
    readDelayMs: flags.readReceipts ? number('--read-delay-ms', flags.readDelayMs) : null,
    invalidSuffix: flags.invalidSuffix,
    inboundRatePerSecond: number('--inbound-rate', flags.inboundRate),
    connRatePerSecond: flags.connRate === undefined ? null : number('--conn-rate', flags.connRate),
    autoReply: flags.autoReply === true,
  };
  return {
    ...options,
    ...(flags.seed === undefined ? {} : { seed: number('--seed', flags.seed) }),
    ...(flags.redeliveryMs === undefined ? {} : { redeliveryMs: number('--redelivery-ms', flags.redeliveryMs) }),
    ...(flags.contacts === undefined ? {} : { contacts: number('--contacts', flags.contacts) }),
  };
}

async function runSim(options: SimOptions): Promise<void> {
  let sim;
  try {
    sim = await startSim(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`shardgate sim: ${message}\n`);
    process.exit(error instanceof SimOptionsError ? 2 : 1);
  }
  const handle = sim;
  process.stdout.write(`shardgate sim: listening on ${handle.url} (coreapps connect to ${handle.wsUrl}), seed ${handle.seed}\n`);
  for (const account of handle.options.accounts) {
    const credentials = handle.credentialsOf(account.waId) ?? '';
    process.stdout.write(`shardgate sim: account ${account.waId} shards ${account.shards ?? 1} credentials ${credentials}\n`);
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`shardgate sim: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`shardgate sim: ${signal}, stopping\n`);
    handle.stop().then(
      () => {
        process.stdout.write('shardgate sim: stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`shardgate sim: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
