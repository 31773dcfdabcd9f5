import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from './support/api-harness.js';

describe('TLS for the public API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-tls-'));
  let api: ApiHarness | null = null;
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with the given key and certificate', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    api = await startApi({ options: { tls: { key: readFileSync(join(dir, 'key.pem')), cert } } });
    const address = await api.app.listen({ host: '127.0.0.1', port: 0 });
    expect(address).toMatch(/^https:\/\//);
    const agent = new Agent({ connect: { ca: cert, servername: 'localhost' } });
    const response = await request(`${address}/v1/health`, { dispatcher: agent });
    // Reached over TLS (the certificate verified against its own CA); unauthenticated, so 401 in On-Prem form.
    expect(response.statusCode).toBe(401);
    expect(((await response.body.json()) as { errors: { code: number }[] }).errors[0]?.code).toBe(1005);
    await agent.close();
  });
});
