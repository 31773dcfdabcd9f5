// SimUpstreamAccounts against a real in-process simulator: registration (request a code, verify),
// the shard count, contact checks, and the mapping of the network's errors to ShardgateError.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimUpstreamAccounts } from '../../src/adapters/upstream/sim-upstream-accounts.js';
import { ShardgateError } from '../../src/core/errors.js';
import { startSim, type SimHandle } from '../../src/sim/start-sim.js';
import { printSeedOnFailure, SEED } from './coreapp-test-support.js';

describe('SimUpstreamAccounts', () => {
  let sim: SimHandle;
  let accounts: SimUpstreamAccounts;

  beforeEach(async () => {
    printSeedOnFailure();
    sim = await startSim({ seed: SEED });
    accounts = new SimUpstreamAccounts(sim.url);
  });

  afterEach(async () => {
    await sim.stop();
  });

  async function codeOf(waId: string): Promise<string> {
    const response = await fetch(`${sim.url}/sim/accounts/${waId}/code`);
    return ((await response.json()) as { code: string }).code;
  }

  it('registers an account: code requested, verified, credentials returned; shard count changed', async () => {
    const { waId } = await accounts.requestCode('1', '6315551000', 'sms');
    expect(waId).toBe('16315551000');
    const { credentials } = await accounts.verify(waId, await codeOf(waId));
    expect(credentials).toBe(sim.credentialsOf(waId));
    await accounts.setShards(waId, credentials, 4);
    expect(sim.network.accounts.get(waId)?.shards).toBe(4);
  });

  it('turns the network’s 4xx answers into PARAMETER_INVALID with its details', async () => {
    const badNumber = await accounts.requestCode('+1', '555', 'sms').catch((e: unknown) => e);
    expect(badNumber).toBeInstanceOf(ShardgateError);
    expect(badNumber).toMatchObject({ spec: { code: 'SG_ERR_PARAMETER_INVALID', onPremCode: 1009 }, details: 'cc must be 1-3 digits' });
    const { waId } = await accounts.requestCode('1', '6315552000', 'voice');
    await expect(accounts.verify(waId, '000000x')).rejects.toMatchObject({ spec: { code: 'SG_ERR_PARAMETER_INVALID' } });
    const { credentials } = await accounts.verify(waId, await codeOf(waId));
    await expect(accounts.setShards(waId, 'wrong', 2)).rejects.toMatchObject({ spec: { code: 'SG_ERR_PARAMETER_INVALID' } });
    await expect(accounts.setShards(waId, credentials, 3 as 2)).rejects.toMatchObject({ spec: { code: 'SG_ERR_PARAMETER_INVALID' } });
    await expect(accounts.verify('19999999999', '123456')).rejects.toMatchObject({ spec: { code: 'SG_ERR_PARAMETER_INVALID' } });
  });

  it('checks contacts: valid numbers normalised to their wa_id, the invalid-number rule applied', async () => {
    const checked = await accounts.checkContacts(['+1 631-555-1234', '16315550000', 'not a number']);
    expect(checked).toEqual([
      { input: '+1 631-555-1234', status: 'valid', wa_id: '16315551234' },
      { input: '16315550000', status: 'invalid' },
      { input: 'not a number', status: 'invalid' },
    ]);
  });

  it('reports an unreachable network as INTERNAL (retryable)', async () => {
    const nowhere = new SimUpstreamAccounts('http://127.0.0.1:1', { timeoutMs: 2_000 });
    const error = await nowhere.checkContacts(['1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardgateError);
    expect(error).toMatchObject({ spec: { code: 'SG_ERR_INTERNAL', retryable: true } });
  });
});
