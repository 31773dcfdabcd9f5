/**
 * The simulator's options (`startSim(options)`, `shardgate sim` flags), their defaults and their
 * validation. `resolveSimOptions` is pure: the caller passes the seed to use when none is given.
 */
import {
  portMax,
  portMin,
  simConnRatePerSecondMax,
  simContactsDefault,
  simContactsMax,
  simDeliveredDelayMsDefault,
  simHandshakeTimeoutMs,
  simInboundRatePerSecondMax,
  simMessageIdsMax,
  simReadDelayMsDefault,
  simReceiptDelayMsMax,
  simRedeliveryMsDefault,
  simRedeliveryMsMax,
  simRedeliveryMsMin,
  type ShardCount,
} from '../core/limits.js';
import { isShardCount } from '../core/shard-hash.js';
import { isWaId } from './parse-client-frame.js';

/** An account registered when the simulator starts (as if its code had been requested and verified). */
export interface SimAccountSeed {
  readonly waId: string;
  /** Credentials for the handshake; generated from the seed when absent. */
  readonly credentials?: string;
  /** Initial shard count (default 1). */
  readonly shards?: ShardCount;
}

export interface SimOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port to listen on; 0 (the default for `startSim`) picks a free one. */
  readonly port?: number;
  /** Seed of every random choice; a random one is chosen (and reported) when absent. */
  readonly seed?: number;
  /** Delay from accepting a send to its `delivered` (or `failed`) status; null: no statuses at all. */
  readonly deliveredDelayMs?: number | null;
  /** Delay from `delivered` to `read`; null: no `read` statuses. */
  readonly readDelayMs?: number | null;
  /** Recipients whose wa_id ends with this suffix are invalid (`failed`, code 1013); null: none. Default "0000". */
  readonly invalidSuffix?: string | null;
  /** Inbound messages per second from simulated contacts, per registered account (default 0). */
  readonly inboundRatePerSecond?: number;
  /** Sends per second accepted on each connection; null or 0: unlimited (default). */
  readonly connRatePerSecond?: number | null;
  /** When true, each contact answers a delivered message with an inbound "auto-reply: …" message. */
  readonly autoReply?: boolean;
  /** Accounts registered at start. */
  readonly accounts?: readonly SimAccountSeed[];
  /** Unacked events are transmitted again after this long (default 10 s). */
  readonly redeliveryMs?: number;
  /** Size of the simulated contact population that sends inbound messages (default 100). */
  readonly contacts?: number;
  /** Time allowed between connecting and `hello` (default 5 s). */
  readonly handshakeTimeoutMs?: number;
  /** Bound on remembered message ids (default `simMessageIdsMax`; tests lower it). */
  readonly messageIdsMax?: number;
}

export interface ResolvedSimOptions {
  readonly host: string;
  readonly port: number;
  readonly seed: number;
  readonly deliveredDelayMs: number | null;
  readonly readDelayMs: number | null;
  readonly invalidSuffix: string | null;
  readonly inboundRatePerSecond: number;
  readonly connRatePerSecond: number | null;
  readonly autoReply: boolean;
  readonly accounts: readonly SimAccountSeed[];
  readonly redeliveryMs: number;
  readonly contacts: number;
  readonly handshakeTimeoutMs: number;
  readonly messageIdsMax: number;
}

/** A bad option; the message names it and says what is allowed. */
export class SimOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimOptionsError';
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new SimOptionsError(message);
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isFinite(value) && value >= min && value <= max;
}

function delay(value: number | null | undefined, fallback: number, name: string): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  check(Number.isInteger(value) && inRange(value, 0, simReceiptDelayMsMax), `${name} must be an integer from 0 to ${simReceiptDelayMsMax} ms`);
  return value;
}

export function resolveSimOptions(options: SimOptions, fallbackSeed: number): ResolvedSimOptions {
  const port = options.port ?? 0;
  check(Number.isInteger(port) && inRange(port, portMin, portMax), `port must be an integer from ${portMin} to ${portMax}`);
  const seed = options.seed ?? fallbackSeed;
  check(Number.isSafeInteger(seed), 'seed must be an integer');
  const invalidSuffix = options.invalidSuffix === undefined ? '0000' : options.invalidSuffix;
  check(invalidSuffix === null || /^[0-9]{0,20}$/.test(invalidSuffix), 'invalid-suffix must be digits (or empty to disable)');
  const inboundRatePerSecond = options.inboundRatePerSecond ?? 0;
  check(inRange(inboundRatePerSecond, 0, simInboundRatePerSecondMax), `inbound rate must be from 0 to ${simInboundRatePerSecondMax} per second`);
  const connRate = options.connRatePerSecond ?? null;
  check(connRate === null || inRange(connRate, 0, simConnRatePerSecondMax), `conn rate must be from 0 to ${simConnRatePerSecondMax} per second`);
  const redeliveryMs = options.redeliveryMs ?? simRedeliveryMsDefault;
  check(Number.isInteger(redeliveryMs) && inRange(redeliveryMs, simRedeliveryMsMin, simRedeliveryMsMax), `redelivery must be ${simRedeliveryMsMin}-${simRedeliveryMsMax} ms`);
  const contacts = options.contacts ?? simContactsDefault;
  check(Number.isInteger(contacts) && inRange(contacts, 1, simContactsMax), `contacts must be an integer from 1 to ${simContactsMax}`);
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? simHandshakeTimeoutMs;
  check(Number.isInteger(handshakeTimeoutMs) && inRange(handshakeTimeoutMs, 1, 600_000), 'handshake timeout must be 1-600000 ms');
  const messageIdsMax = options.messageIdsMax ?? simMessageIdsMax;
  check(Number.isInteger(messageIdsMax) && inRange(messageIdsMax, 1, simMessageIdsMax), `message id bound must be 1-${simMessageIdsMax}`);
  const accounts = options.accounts ?? [];
  for (const account of accounts) {
    check(isWaId(account.waId), `account ${JSON.stringify(account.waId)} is not a wa_id (1-20 digits)`);
    check(account.shards === undefined || isShardCount(account.shards), 'account shards must be 1, 2, 4, 8, 16 or 32');
    check(account.credentials === undefined || (account.credentials.length > 0 && account.credentials.length <= 256), 'account credentials must be 1-256 characters');
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    seed,
    deliveredDelayMs: delay(options.deliveredDelayMs, simDeliveredDelayMsDefault, 'delivered delay'),
    readDelayMs: delay(options.readDelayMs, simReadDelayMsDefault, 'read delay'),
    invalidSuffix: invalidSuffix === '' ? null : invalidSuffix,
    inboundRatePerSecond,
    connRatePerSecond: connRate === 0 ? null : connRate,
    autoReply: options.autoReply ?? false,
    accounts,
    redeliveryMs,
    contacts,
    handshakeTimeoutMs,
    messageIdsMax,
  };
}
