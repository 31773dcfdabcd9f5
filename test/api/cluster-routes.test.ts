/**
 * `POST /v1/cluster/shards/{shard}/handover` on a single-process webapp: admin only, the shard number
 * validated, and refused with an explanation (one process runs one coreapp). The cluster path (a real
 * coreapp handing over and a master promoting another) runs in test/browser/dashboard.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { onPremError, startApi, type ApiHarness } from './support/api-harness.js';

describe('POST /v1/cluster/shards/{shard}/handover (single process)', () => {
  let h: ApiHarness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('needs the admin, validates the shard, and explains that one process has nobody to hand over to', async () => {
    h = await startApi({ registeredShards: 1 });
    expect((await h.request({ method: 'POST', url: '/v1/cluster/shards/0/handover' })).statusCode).toBe(401);
    await h.createUser('viewer');
    const user = await h.request({ method: 'POST', url: '/v1/cluster/shards/0/handover', token: await h.tokenFor('viewer') });
    expect(user.statusCode).toBe(403);
    const admin = await h.tokenFor('admin');
    for (const bad of ['32', '-1', 'x']) {
      expect((await h.request({ method: 'POST', url: `/v1/cluster/shards/${bad}/handover`, token: admin })).statusCode, bad).toBe(400);
    }
    const single = await h.request({ method: 'POST', url: '/v1/cluster/shards/0/handover', token: admin });
    expect(single.statusCode).toBe(400);
    expect(onPremError(single)).toMatchObject({ code: 1009, details: expect.stringContaining('one coreapp') });
  });
});
