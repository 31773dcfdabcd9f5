/**
 * `UpstreamAccounts` with the WhatsApp Cloud API. The Cloud API has no registration through the
 * gateway (the number is added and verified in Meta's WhatsApp Manager, and the gateway is given its
 * phone number ID and a token), no shards, and no contacts check (Cloud sends to a phone number
 * directly). So: registration calls are refused with an explanation, a shard-count change needs
 * nothing upstream, and a contacts check answers every well-formed number `valid` with its digits as
 * `wa_id` — whether it is on WhatsApp shows later, as a `failed` status (On-Prem 1013).
 */
import { normaliseWaId } from '../../core/shard-hash.js';
import type { ContactCheck, UpstreamAccounts } from '../../ports/upstream-client.js';

export class CloudUpstreamAccounts implements UpstreamAccounts {
  async requestCode(): Promise<{ readonly waId: string }> {
    throw new Error('with --upstream cloud the number is registered in Meta\'s WhatsApp Manager, not through /v1/account (see docs/cloud-api.md)');
  }

  async verify(): Promise<{ readonly credentials: string }> {
    throw new Error('with --upstream cloud the number is registered in Meta\'s WhatsApp Manager, not through /v1/account/verify (see docs/cloud-api.md)');
  }

  async setShards(): Promise<void> {
    // The Cloud API knows nothing of shards: the shard count only splits the work among coreapps.
  }

  async checkContacts(inputs: readonly string[]): Promise<readonly ContactCheck[]> {
    return inputs.map((input) => {
      const waId = normaliseWaId(input);
      return waId === null ? { input, status: 'invalid' } : { input, status: 'valid', wa_id: waId };
    });
  }
}
