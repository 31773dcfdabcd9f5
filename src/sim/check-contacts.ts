/**
 * The simulator's answer to a contact check (`POST /sim/contacts`, the network side of On-Prem's
 * `POST /v1/contacts`): an input is `valid` when it normalises to a wa_id of 1–20 digits
 * (`+1 631-555-1000` → `16315551000`) that the network's invalid-number rule does not reject.
 */
import { normaliseWaId } from '../core/shard-hash.js';
import { isInvalidNumber } from './is-invalid-number.js';

export interface SimContactCheck {
  readonly input: string;
  readonly status: 'valid' | 'invalid';
  /** Present for valid inputs. */
  readonly wa_id?: string;
}

export function checkContacts(inputs: readonly string[], invalidSuffix: string | null): SimContactCheck[] {
  return inputs.map((input) => {
    const waId = normaliseWaId(input);
    if (waId === null || isInvalidNumber(waId, invalidSuffix)) return { input, status: 'invalid' };
    return { input, status: 'valid', wa_id: waId };
  });
}
