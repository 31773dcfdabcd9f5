/**
 * Test support for the coreapp: a seed per run (printed when a test fails; replay with SEED=<n>),
 * real SQLite stores on a temporary file, recipients on a given shard, a tiny webhook receiver on
 * node:http, and helpers to set up a shard's ownership and accepted messages.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFailed } from 'vitest';
import { openDatabase } from '../../src/adapters/kysely/database.js';
import { createKyselyStores } from '../../src/adapters/kysely/kysely-stores.js';
import { migrateToLatest } from '../../src/adapters/kysely/migrate.js';
import { applySettingsPatch, DEFAULT_APPLICATION_SETTINGS, type ApplicationSettings } from '../../src/core/app-settings.js';
import type { ShardCount } from '../../src/core/limits.js';
import { shardOf } from '../../src/core/shard-hash.js';
import type { Stores } from '../../src/ports/stores.js';
import { seededRandom, testSeed } from '../support/seeded-random.js';

export const SEED = testSeed();

export function printSeedOnFailure(): void {
  onTestFailed(() => {
    console.error(`coreapp test failed with SEED=${SEED} (replay: SEED=${SEED} npx vitest run --project coreapp)`);
  });
}

/** A deterministic source of digits for this run. */
export class Digits {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }
  digits(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += Math.floor(this.#next() * 10).toString();
    return out;
  }
}

/** `count` distinct wa_ids on `shard` of `shards`: valid ones never end in "0000", invalid ones always do. */
export function recipientsOn(digits: Digits, shard: number, shards: ShardCount, count: number, valid = true): string[] {
  const found = new Set<string>();
  while (found.size < count) {
    const waId = valid ? `1777${digits.digits(7)}` : `1778${digits.digits(3)}0000`;
    if (valid === !waId.endsWith('0000') && shardOf(waId, shards) === shard) found.add(waId);
  }
  return [...found];
}

export interface TestStores {
  readonly stores: Stores;
  dispose(): Promise<void>;
}

/** Migrated SQLite stores on a fresh temporary file. */
export async function openTestStores(): Promise<TestStores> {
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-coreapp-'));
  const database = openDatabase({ dialect: 'sqlite', path: join(dir, 'gateway.db') });
  await migrateToLatest(database);
  const stores = createKyselyStores(database);
  return {
    stores,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The application settings with `patch` applied (validated as the API would). */
export function settingsWith(patch: Record<string, unknown>): ApplicationSettings {
  return applySettingsPatch(DEFAULT_APPLICATION_SETTINGS, patch);
}

export interface Fence {
  readonly generation: number;
  readonly shard: number;
  readonly shards: ShardCount;
  readonly epoch: number;
}

/** Creates the shard map if needed and assigns `shard` to `owner` under the next epoch. */
export async function promote(stores: Stores, shard: number, shards: ShardCount, owner: string): Promise<Fence> {
  const map = (await stores.shardMap.current()) ?? (await stores.shardMap.initialize(shards, Date.now()));
  const current = map.assignments.find((a) => a.shard === shard);
  if (current === undefined) throw new Error(`no shard ${shard}`);
  const assigned = await stores.shardMap.assign(map.generation.generation, shard, owner, current.epoch, Date.now());
  if (assigned === null) throw new Error('assign lost a race');
  return { generation: assigned.generation, shard, shards, epoch: assigned.epoch };
}

export interface AcceptedMessage {
  readonly id: string;
  readonly recipient: string;
  readonly body: string;
}

/** Inserts text messages as the webapp does (On-Prem request body as payload), round-robin over recipients. */
export async function acceptMessages(stores: Stores, fence: Fence, recipients: readonly string[], count: number, prefix: string): Promise<AcceptedMessage[]> {
  const out: AcceptedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const recipient = recipients[i % recipients.length] as string;
    const id = `${prefix}${String(i).padStart(5, '0')}`;
    const body = `message ${i} to ${recipient}`;
    const payload = JSON.stringify({ to: recipient, type: 'text', recipient_type: 'individual', text: { body } });
    await stores.messages.insert({ id, generation: fence.generation, shard: fence.shard, recipient, payload, idempotencyKey: null, createdAtMs: Date.now() });
    out.push({ id, recipient, body });
  }
  return out;
}

export interface ReceivedWebhook {
  readonly eventId: string;
  readonly signature: string | null;
  readonly contentType: string | null;
  readonly raw: string;
  readonly body: Record<string, unknown>;
  /** The HTTP status the receiver answered. */
  readonly answered: number;
}

/** A webhook receiver that records every request and answers `answer` (or holds requests until released). */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  answer: number | 'hold' = 200;
  inFlight = 0;
  maxInFlight = 0;
  readonly #held: { raw: string; finish: (status: number) => void }[] = [];
  readonly #server: Server;
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/webhook`;
  }

  /** Requests answered 2xx: what counts as delivered. */
  delivered(): ReceivedWebhook[] {
    return this.requests.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Closes the port (connections are refused until `listen()` again). */
  async stopListening(): Promise<void> {
    this.release(503);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Answers every held request with `status`. */
  release(status = 200): void {
    for (const held of this.#held.splice(0)) held.finish(status);
  }

  /** Answers the oldest held request with `status`. */
  releaseOne(status = 200): void {
    this.#held.shift()?.finish(status);
  }

  /** The bodies of the requests held now. */
  heldBodies(): Record<string, unknown>[] {
    return this.#held.map((h) => JSON.parse(h.raw) as Record<string, unknown>);
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.stopListening();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const raw = Buffer.concat(chunks).toString('utf8');
      const finish = (status: number): void => {
        this.inFlight -= 1;
        this.requests.push({
          eventId: String(req.headers['x-shardgate-event-id'] ?? ''),
          signature: typeof req.headers['x-hub-signature-256'] === 'string' ? req.headers['x-hub-signature-256'] : null,
          contentType: req.headers['content-type'] ?? null,
          raw,
          body: JSON.parse(raw) as Record<string, unknown>,
          answered: status,
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
      };
      if (this.answer === 'hold') this.#held.push({ raw, finish });
      else finish(this.answer);
    });
  }
}

/** The signature the gateway must send for `raw` with `secret`. */
export function expectedSignature(secret: string, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw, 'utf8').digest('hex')}`;
}

/** A delivered status webhook, flattened: `{id, recipient_id, status, timestamp, errors?}`. */
export interface StatusHook {
  readonly id: string;
  readonly recipient_id: string;
  readonly status: string;
  readonly timestamp: string;
  readonly errors?: readonly { code: number; title: string }[];
}

export function statusOf(hook: ReceivedWebhook): StatusHook | null {
  const statuses = hook.body['statuses'];
  return Array.isArray(statuses) ? (statuses[0] as StatusHook) : null;
}
