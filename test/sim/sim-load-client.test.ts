// The synthetic coreapp of the throughput benchmark, briefly against a real simulator: every
// message acked `sent`, every status received, and a clean report.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimLoadClient } from '../../src/sim/sim-load-client.js';
import { startSim, type SimHandle } from '../../src/sim/start-sim.js';
import { SEED, printSeedOnFailure } from './sim-test-support.js';
import { waitForValue } from '../support/wait-for.js';

describe('SimLoadClient', () => {
  let sim: SimHandle | null = null;
  const clients: SimLoadClient[] = [];

  beforeEach(() => printSeedOnFailure());

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await sim?.stop();
    sim = null;
  });

  it('drives two shards with receipts and leaves nothing owed', async () => {
    sim = await startSim({ port: 0, seed: SEED, accounts: [{ waId: '15550009999', credentials: 'c', shards: 2 }], deliveredDelayMs: 0, readDelayMs: 0 });
    for (const shard of [0, 1]) {
      const client = new SimLoadClient({
        wsUrl: sim.wsUrl, account: '15550009999', credentials: 'c', shard, shards: 2, epoch: 1,
        recipients: SimLoadClient.recipientsFor(shard, 2, 20, SEED + shard), batchMessages: 50, windowMessages: 500, idPrefix: `s${shard}-`,
      });
      await client.connect();
      clients.push(client);
    }
    for (const client of clients) client.start();
    const running = sim;
    await waitForValue(() => running.report().messages_unique, (n) => n >= 2_000, 'two thousand messages');
    await Promise.all(clients.map((client) => client.stop()));
    const final = await waitForValue(() => running.report(), (r) => r.receipts_pending === 0, 'every receipt acked');
    const sent = clients.reduce((n, c) => n + c.stats.acks.sent, 0);
    expect(final).toMatchObject({ ok: true, messages_unique: sent, duplicates: 0 });
    for (const client of clients) {
      expect(client.stats.acks.sent).toBe(client.stats.sent);
      expect(client.stats.statuses).toEqual({ delivered: client.stats.sent, read: client.stats.sent, failed: 0 });
    }
  });

  it('finds recipients on the requested shard', () => {
    const recipients = SimLoadClient.recipientsFor(3, 8, 10, SEED);
    expect(new Set(recipients).size).toBe(10);
  });
});
