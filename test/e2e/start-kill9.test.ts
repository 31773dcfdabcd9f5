/**
 * End to end on real processes and sockets: an external simulator, `shardgate start` on SQLite
 * registering through the API, a webhook receiver, 1,000 messages from a concurrent client — and the
 * gateway killed with SIGKILL mid-run and restarted on the same data. Afterwards: exactly 1,000 unique
 * messages upstream, every accepted id among them, no idempotency key answered with two ids, the
 * checker clean, and a `sent` and a `delivered` webhook for every message.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { seededRandom, testSeed } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';
import { killAll, shardgate, type Proc } from './processes.js';

const ADMIN_PASSWORD = 'E2e-admin-Passw0rd!';
const BUSINESS = { cc: '1', phone_number: '6505550199', wa_id: '16505550199' };
const MESSAGES = 1_000;
const CONCURRENCY = 16;

interface Webhook {
  statuses?: { id: string; status: string; recipient_id: string }[];
}

const temp = mkdtempSync(join(tmpdir(), 'shardgate-e2e-'));
let receiver: Server | null = null;
afterAll(() => {
  killAll();
  receiver?.close();
  rmSync(temp, { recursive: true, force: true });
});

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function startReceiver(): Promise<{ url: string; hooks: Webhook[] }> {
  const hooks: Webhook[] = [];
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      hooks.push(JSON.parse(body) as Webhook);
      response.writeHead(200).end();
    });
  });
  return new Promise((resolve) =>
    receiver!.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(receiver!.address() as AddressInfo).port}/webhook`, hooks })),
  );
}

async function startGateway(simUrl: string): Promise<{ proc: Proc; api: string }> {
  const proc = shardgate(['start', '--port', '0', '--data', temp, '--upstream-url', simUrl], { SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const match = await proc.waitForOutput(/API\s+(http:\/\/\S+)/);
  return { proc, api: match[1] as string };
}

async function login(api: string): Promise<string> {
  const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
  const { status, body } = await json(`${api}/v1/users/login`, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
  expect(status, JSON.stringify(body)).toBe(200);
  return ((body['users'] as { token: string }[])[0] as { token: string }).token;
}

describe('e2e: shardgate start, SIGKILL mid-run, restart', () => {
  it('1,000 messages: none lost, none duplicated, every webhook delivered', async () => {
    const seed = testSeed();
    onTestFailed(() => console.error(`e2e failed with SEED=${seed}`));
    const random = seededRandom(seed);

    const sim = shardgate(['sim', '--port', '0', '--receipt-delay-ms', '5', '--read-delay-ms', '5', '--seed', String(seed)]);
    const simUrl = (await sim.waitForOutput(/listening on (http:\/\/\S+)/))[1] as string;
    const { url: webhookUrl, hooks } = await startReceiver();
    let gateway = await startGateway(simUrl);
    let token = await login(gateway.api);
    const auth = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

    // Register the business number through the API, reading the code from the simulator.
    expect((await json(`${gateway.api}/v1/account`, { method: 'POST', headers: auth(), body: JSON.stringify({ cc: BUSINESS.cc, phone_number: BUSINESS.phone_number, method: 'sms' }) })).status).toBe(202);
    const code = (await json(`${simUrl}/sim/accounts/${BUSINESS.wa_id}/code`)).body['code'] as string;
    expect((await json(`${gateway.api}/v1/account/verify`, { method: 'POST', headers: auth(), body: JSON.stringify({ code }) })).status).toBe(201);
    expect((await json(`${gateway.api}/v1/settings/application`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ webhooks: { url: webhookUrl } }) })).status).toBe(200);

    const recipients = Array.from({ length: 50 }, (_, i) => `1415555${String(1000 + i)}`);
    const idsByKey = new Map<string, Set<string>>();
    let next = 0;
    let accepted = 0;
    let killed = false;
    let restarting: Promise<void> | null = null;

    async function sendOne(index: number): Promise<void> {
      const key = `e2e-${seed}-${index}`;
      const body = JSON.stringify({ to: recipients[Math.floor(random() * recipients.length)], type: 'text', text: { body: `message ${index}` } });
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (restarting !== null) await restarting;
        try {
          const { status, body: answer } = await json(`${gateway.api}/v1/messages`, { method: 'POST', headers: { ...auth(), 'idempotency-key': key }, body });
          if (status === 201) {
            const id = ((answer['messages'] as { id: string }[])[0] as { id: string }).id;
            idsByKey.set(key, (idsByKey.get(key) ?? new Set()).add(id));
            return;
          }
          if (status < 500) throw new Error(`send ${index} refused: ${status} ${JSON.stringify(answer)}`);
        } catch (error) {
          if ((error as Error).message.startsWith('send ')) throw error;
        }
        if (Date.now() > deadline) throw new Error(`send ${index} never accepted`);
        await new Promise((resolve) => setTimeout(resolve, 50)); // Client retry pacing, not synchronisation.
      }
    }

    async function client(): Promise<void> {
      while (next < MESSAGES) {
        const index = next++;
        await sendOne(index);
        accepted++;
        if (!killed && accepted >= MESSAGES * 0.4) {
          killed = true;
          restarting = (async () => {
            await gateway.proc.kill9();
            gateway = await startGateway(simUrl);
            token = await login(gateway.api);
          })();
          await restarting;
          restarting = null;
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, () => client()));

    const ids = [...idsByKey.values()].flatMap((set) => [...set]);
    expect(idsByKey.size).toBe(MESSAGES);
    expect([...idsByKey.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set(ids).size).toBe(MESSAGES);

    const report = await waitFor('every message upstream and every receipt delivered', async () => {
      const r = (await json(`${simUrl}/sim/report`)).body;
      return r['messages_unique'] === MESSAGES && r['receipts_pending'] === 0 ? r : undefined;
    }, 60_000, 100);
    expect(report).toMatchObject({ ok: true, misrouted: 0, stale_epoch_sends: 0, order_violations: 0, messages_unique: MESSAGES });
    expect((await json(`${simUrl}/sim/messages/missing`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) })).body['missing']).toEqual([]);

    const seen = await waitFor('a sent and a delivered webhook for every message', () => {
      const byId = new Map<string, string[]>();
      for (const hook of hooks) for (const s of hook.statuses ?? []) byId.set(s.id, [...(byId.get(s.id) ?? []), s.status]);
      return ids.every((id) => byId.get(id)?.includes('sent') && byId.get(id)?.includes('delivered')) ? byId : undefined;
    }, 60_000, 100);
    for (const id of ids) {
      const statuses = seen.get(id) ?? [];
      expect(statuses.indexOf('sent')).toBeLessThan(statuses.indexOf('delivered'));
    }
    console.log(`e2e: ${MESSAGES} accepted (gateway killed with SIGKILL after ${Math.round(MESSAGES * 0.4)}), upstream unique ${String(report['messages_unique'])}, re-sends de-duplicated ${String(report['duplicates'])}, webhooks received ${hooks.length}`);
    expect(await gateway.proc.stop()).toBe(0);
    await sim.stop();
  });
});
