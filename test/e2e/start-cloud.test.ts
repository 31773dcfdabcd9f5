/**
 * `shardgate start --upstream cloud` as a real process against the fake Graph API: the access token
 * comes from a file, the other secrets from the environment; messages posted to `/v1/messages` reach
 * the Cloud API once each in On-Prem → Cloud form, the fake's signed status webhooks come back through
 * `/cloud/webhook` and reach the business webhook in On-Prem form — and no secret appears anywhere in
 * the process's output, even at log level trace.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { FakeGraphApi } from '../support/fake-graph-api.js';
import { testSeed } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';
import { killAll, shardgate } from './processes.js';
import { adminToken } from '../support/admin-login.js';

const ADMIN_PASSWORD = 'Cloud-admin-Passw0rd!';
const TOKEN = 'EAAGm0PX4ZCpsBAFAKETOKEN-do-not-print-1234567890';
const APP_SECRET = 'app-secret-do-not-print-0987654321';
const VERIFY_TOKEN = 'verify-token-do-not-print-5555';
const PHONE_NUMBER_ID = '106540352242922';
const MESSAGES = 60;

const temp = mkdtempSync(join(tmpdir(), 'shardgate-cloud-start-'));
let receiver: Server | null = null;
afterAll(() => {
  killAll();
  receiver?.close();
  rmSync(temp, { recursive: true, force: true });
});

describe('e2e: shardgate start --upstream cloud', () => {
  it('sends through the Cloud API, statuses come back in On-Prem form, and no secret is ever printed', async () => {
    const seed = testSeed();
    onTestFailed(() => console.error(`start-cloud failed with SEED=${seed}`));
    const graph = new FakeGraphApi({ phoneNumberId: PHONE_NUMBER_ID, token: TOKEN, appSecret: APP_SECRET, seed, rateLimitRate: 0.05, serverErrorRate: 0.05 });
    await graph.start();
    const hooks: { statuses?: { id: string; status: string; recipient_id: string }[] }[] = [];
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        hooks.push(JSON.parse(body) as (typeof hooks)[number]);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const tokenFile = join(temp, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

    const proc = shardgate(['start', '--upstream', 'cloud', '--port', '0', '--data', temp, '--log-level', 'trace'], {
      SHARDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SHARDGATE_CLOUD_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      SHARDGATE_CLOUD_ACCESS_TOKEN_FILE: tokenFile,
      SHARDGATE_CLOUD_APP_SECRET: APP_SECRET,
      SHARDGATE_CLOUD_VERIFY_TOKEN: VERIFY_TOKEN,
      SHARDGATE_CLOUD_BASE_URL: graph.url,
      SHARDGATE_CLOUD_RATE_PER_SECOND: '200',
    });
    try {
      const api = (await proc.waitForOutput(/API\s+(http:\/\/\S+)/))[1] as string;
      graph.setWebhookUrl(`${api}/cloud/webhook`);
      const challenge = await fetch(`${api}/cloud/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=4242`);
      expect(await challenge.text()).toBe('4242');
      const auth = { authorization: `Bearer ${await adminToken(api, ADMIN_PASSWORD)}`, 'content-type': 'application/json' };
      const patched = await fetch(`${api}/v1/settings/application`, { method: 'PATCH', headers: auth, body: JSON.stringify({ webhooks: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook` } }) });
      expect(patched.status).toBe(200);
      const ids: string[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const to = `1631555${String(2000 + (i % 6)).padStart(4, '0')}`;
        const response = await fetch(`${api}/v1/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ to, type: 'text', preview_url: i === 0, text: { body: `cloud ${i}` } }) });
        const body = (await response.json()) as { messages?: { id: string }[] };
        expect(response.status, JSON.stringify(body)).toBe(201);
        ids.push(body.messages![0]!.id);
      }
      const statuses = (): Map<string, string[]> => {
        const out = new Map<string, string[]>();
        for (const hook of hooks) for (const s of hook.statuses ?? []) out.set(s.id, [...(out.get(s.id) ?? []), s.status]);
        return out;
      };
      await waitFor('sent, delivered and read for every message at the business webhook', () => ids.every((id) => statuses().get(id)?.join() === 'sent,delivered,read'), 60_000, 100);
      expect(graph.duplicates()).toEqual(new Map());
      expect(new Set(graph.accepted.map((m) => m.opaque))).toEqual(new Set(ids));
      const first = graph.accepted.find((m) => m.opaque === ids[0]);
      expect(first?.body).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315552000', type: 'text', text: { preview_url: true, body: 'cloud 0' }, biz_opaque_callback_data: ids[0] });
    } finally {
      await proc.stop('SIGTERM');
      await graph.stop();
    }
    const output = proc.output();
    expect(output.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, APP_SECRET, VERIFY_TOKEN]) expect(output).not.toContain(secret);
  });
});
