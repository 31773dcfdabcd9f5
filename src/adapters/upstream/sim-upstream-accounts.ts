/**
 * `UpstreamAccounts` over the simulator's HTTP API (docs/upstream-protocol.md §9): registration
 * (request a code, verify it), the account's shard count, and contact checks.
 *
 * Errors: the network refusing a request (any 4xx: a bad number, a wrong or expired code, wrong
 * credentials) is the caller's problem and becomes `ShardgateError('PARAMETER_INVALID')` with the
 * network's details; a network that cannot be reached, times out (`upstreamHttpTimeoutMs`) or
 * fails (5xx) becomes `ShardgateError('INTERNAL')`, which is retryable.
 */
import { fetch } from 'undici';
import { ShardgateError } from '../../core/errors.js';
import { upstreamHttpTimeoutMs, type ShardCount } from '../../core/limits.js';
import type { ContactCheck, ContactStatus, UpstreamAccounts } from '../../ports/upstream-client.js';

export interface SimUpstreamAccountsOptions {
  /** Bound on one HTTP call (default `upstreamHttpTimeoutMs`). */
  readonly timeoutMs?: number;
}

type Json = Record<string, unknown>;

const CONTACT_STATUSES: readonly ContactStatus[] = ['valid', 'invalid', 'processing', 'failed'];

export class SimUpstreamAccounts implements UpstreamAccounts {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  /** `httpUrl` is the simulator's HTTP base URL, `http://host:port`. */
  constructor(httpUrl: string, options: SimUpstreamAccountsOptions = {}) {
    this.#baseUrl = httpUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? upstreamHttpTimeoutMs;
  }

  async requestCode(cc: string, phoneNumber: string, _method: 'sms' | 'voice'): Promise<{ readonly waId: string }> {
    // The simulator has no SMS or voice call: the code is read back with GET /sim/accounts/<wa_id>/code.
    const body = await this.#post('/sim/accounts', { cc, phone_number: phoneNumber });
    return { waId: stringAt(body, 'account', 'wa_id') };
  }

  async verify(waId: string, code: string): Promise<{ readonly credentials: string }> {
    const body = await this.#post(`/sim/accounts/${encodeURIComponent(waId)}/verify`, { code });
    return { credentials: stringAt(body, 'account', 'credentials') };
  }

  async setShards(waId: string, credentials: string, shards: ShardCount): Promise<void> {
    await this.#post(`/sim/accounts/${encodeURIComponent(waId)}/shards`, { shards }, { authorization: `Bearer ${credentials}` });
  }

  async checkContacts(inputs: readonly string[]): Promise<readonly ContactCheck[]> {
    const body = await this.#post('/sim/contacts', { contacts: inputs });
    const contacts = body['contacts'];
    if (!Array.isArray(contacts)) throw malformed('contacts is not a list');
    return contacts.map(toContactCheck);
  }

  async #post(path: string, payload: unknown, headers: Record<string, string> = {}): Promise<Json> {
    let response;
    try {
      response = await fetch(`${this.#baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new ShardgateError('INTERNAL', `the upstream network at ${this.#baseUrl} cannot be reached: ${(error as Error).message}`, { cause: error });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw malformed(`POST ${path} answered ${response.status} without a JSON body`, error);
    }
    if (response.status >= 400 && response.status < 500) throw new ShardgateError('PARAMETER_INVALID', networkDetails(body, response.status));
    if (response.status < 200 || response.status >= 300) {
      throw new ShardgateError('INTERNAL', `the upstream network failed: ${networkDetails(body, response.status)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed(`POST ${path} answered a body that is not an object`);
    return body as Json;
  }
}

/** The details of the network's On-Prem error body, or the status when there is none. */
function networkDetails(body: unknown, status: number): string {
  const errors = typeof body === 'object' && body !== null ? (body as Json)['errors'] : undefined;
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  if (typeof first === 'object' && first !== null) {
    const { title, details } = first as Json;
    if (typeof details === 'string' && details !== '') return details;
    if (typeof title === 'string') return title;
  }
  return `HTTP ${status}`;
}

function stringAt(body: Json, object: string, field: string): string {
  const inner = body[object];
  const value = typeof inner === 'object' && inner !== null ? (inner as Json)[field] : undefined;
  if (typeof value !== 'string') throw malformed(`${object}.${field} is missing`);
  return value;
}

function toContactCheck(raw: unknown): ContactCheck {
  if (typeof raw !== 'object' || raw === null) throw malformed('a contact is not an object');
  const { input, status, wa_id: waId } = raw as Json;
  if (typeof input !== 'string' || !CONTACT_STATUSES.includes(status as ContactStatus)) throw malformed('a contact lacks input or status');
  return typeof waId === 'string' ? { input, status: status as ContactStatus, wa_id: waId } : { input, status: status as ContactStatus };
}

function malformed(details: string, cause?: unknown): ShardgateError {
  return new ShardgateError('INTERNAL', `the upstream network answered unexpectedly: ${details}`, { cause });
}
