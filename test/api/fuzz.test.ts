/**
 * Fuzz: ≥ 5,000 random and malformed requests against a real webapp (memory stores, fake network),
 * in concurrent batches. Asserts no 5xx, an On-Prem error body on every error, and a webapp that
 * still serves a valid login and send afterwards. The seed is printed on failure; `SEED=<n>` replays;
 * `FUZZ_VERBOSE=1` prints how many answers had each status (to see how deep the run reached).
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import type { InjectOptions } from 'fastify';
import { hashToken, newToken } from '../../src/roles/webapp/api-tokens.js';
import { seededRandom, testSeed } from '../support/seeded-random.js';
import { onPremError, startApi, USER_PASSWORD, type ApiHarness } from './support/api-harness.js';
import { FuzzRequests, type FuzzTokens } from './support/fuzz-requests.js';

const REQUESTS = 5_000;
const BATCH = 25;

/** Tokens minted straight into the store, so fuzzed logouts and password changes cannot starve the run. */
async function mintTokens(h: ApiHarness): Promise<FuzzTokens> {
  if ((await h.stores.users.getUser('alice')) === null) await h.createUser('alice');
  const mint = async (username: string) => {
    const { token } = newToken();
    await h.stores.users.createToken({ tokenHash: hashToken(token), username, createdAtMs: h.clock.nowMs(), expiresAtMs: h.clock.nowMs() + 86_400_000 });
    return token;
  };
  return { admin: await mint('admin'), user: await mint('alice') };
}

function describeRequest(request: InjectOptions): string {
  const payload = request.payload;
  const body = typeof payload === 'string' ? payload.slice(0, 200) : Buffer.isBuffer(payload) ? `<${payload.length} bytes>` : '';
  return `${request.method} ${String(request.url).slice(0, 200)} ${JSON.stringify(request.headers).slice(0, 200)} ${body}`;
}

describe('fuzz', () => {
  it(`survives ${REQUESTS} random and malformed requests without a 5xx`, async () => {
    const seed = testSeed();
    onTestFailed(() => console.error(`fuzz seed: ${seed} (replay with SEED=${seed})`));
    const random = seededRandom(seed);
    const fuzz = new FuzzRequests(random);
    const h = await startApi({ registeredShards: 2, options: { pendingMessagesMax: 10_000_000 } });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    try {
      for (let sent = 0; sent < REQUESTS; sent += BATCH) {
        const tokens = await mintTokens(h);
        h.clock.advance(Math.floor(random() * 100));
        const requests = Array.from({ length: BATCH }, () => fuzz.next(tokens));
        const responses = await Promise.all(requests.map((r) => h.app.inject(r)));
        responses.forEach((response, i) => {
          const request = requests[i] as InjectOptions;
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          if (response.statusCode >= 500) failures.push(`${response.statusCode} ${response.body.slice(0, 300)} ← ${describeRequest(request)}`);
          else if (response.statusCode >= 400 && request.method !== 'HEAD') {
            try {
              onPremError(response);
            } catch (error) {
              failures.push(`${response.statusCode} without On-Prem body: ${String(error).slice(0, 300)} ← ${describeRequest(request)}`);
            }
          }
        });
      }
      expect(failures.slice(0, 10), `seed ${seed}: ${failures.length} bad answers; statuses ${JSON.stringify([...statuses])}`).toEqual([]);
      if (process.env["FUZZ_VERBOSE"] === "1") console.log(JSON.stringify([...statuses].sort((a, b) => a[0] - b[0])));
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(REQUESTS);
      // Still alive: a fresh user logs in and sends a message.
      await h.createUser('survivor', USER_PASSWORD);
      const token = await h.tokenFor('survivor');
      const send = await h.request({ method: 'POST', url: '/v1/messages', token, payload: { to: '16315551234', text: { body: 'after the storm' } } });
      expect(send.statusCode, send.body).toBe(201);
      expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(200);
      // The run reached the handlers, not just the front door.
      expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
