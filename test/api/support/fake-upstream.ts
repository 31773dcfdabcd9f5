/**
 * Test doubles for the webapp's outside world: a scriptable UpstreamAccounts (the network's
 * registration and contact checks) and a ShardDispatch that records notifications.
 */
import { ShardgateError } from '../../../src/core/errors.js';
import type { ShardDispatch } from '../../../src/ports/shard-dispatch.js';
import type { ContactCheck, UpstreamAccounts } from '../../../src/ports/upstream-client.js';
import type { ShardCount } from '../../../src/core/limits.js';

export type UpstreamMode = 'ok' | 'reject' | 'unreachable' | 'failing';

export class FakeUpstreamAccounts implements UpstreamAccounts {
  mode: UpstreamMode = 'ok';
  readonly calls: string[] = [];
  /** The code `verify` accepts. */
  code = '123456';

  #fail(what: string): void {
    if (this.mode === 'reject') throw new ShardgateError('PARAMETER_INVALID', `${what}: wrong code`);
    if (this.mode === 'unreachable') throw new TypeError('fetch failed');
    if (this.mode === 'failing') throw new ShardgateError('INTERNAL', 'the upstream network at http://10.1.2.3:7070 cannot be reached: ECONNREFUSED');
  }

  async requestCode(cc: string, phoneNumber: string, method: 'sms' | 'voice'): Promise<{ readonly waId: string }> {
    this.calls.push(`requestCode ${cc} ${phoneNumber} ${method}`);
    this.#fail('requestCode');
    return { waId: `${cc}${phoneNumber}` };
  }

  async verify(waId: string, code: string): Promise<{ readonly credentials: string }> {
    this.calls.push(`verify ${waId} ${code}`);
    this.#fail('verify');
    if (code !== this.code) throw new ShardgateError('PARAMETER_INVALID', 'the registration code is wrong');
    return { credentials: `credentials-of-${waId}` };
  }

  async setShards(waId: string, _credentials: string, shards: ShardCount): Promise<void> {
    this.calls.push(`setShards ${waId} ${shards}`);
  }

  async checkContacts(inputs: readonly string[]): Promise<readonly ContactCheck[]> {
    this.calls.push(`checkContacts ${inputs.length}`);
    this.#fail('checkContacts');
    return inputs.map((input) => {
      const digits = input.replace(/[^0-9]/g, '');
      return digits.length >= 8 && !digits.startsWith('0') ? { input, status: 'valid', wa_id: digits } : { input, status: 'invalid' };
    });
  }
}

export class RecordingDispatch implements ShardDispatch {
  readonly notified: number[] = [];
  throws = false;
  /** Called synchronously inside `notify` (to observe what is stored at that instant). */
  onNotify: ((shard: number) => void) | null = null;

  notify(shard: number): void {
    if (this.throws) throw new Error('dispatch is down');
    this.onNotify?.(shard);
    this.notified.push(shard);
  }
}
