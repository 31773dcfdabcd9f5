/**
 * The simulator's rule for numbers that are not on the network: a recipient wa_id is invalid when
 * it ends with the configured suffix (default "0000"; null or "" disables the rule). Deterministic, so
 * a test chooses valid and invalid recipients by their digits alone. A send to an invalid number is
 * accepted (`sent`) and then answered by a `failed` status carrying `SIM_INVALID_NUMBER_ERROR`.
 */
import type { SimErrorObject } from '../core/upstream-protocol.js';

export const SIM_INVALID_NUMBER_ERROR: SimErrorObject = Object.freeze({
  code: 1013,
  title: 'User is not valid',
  details: 'the recipient is not a user of the simulated network',
});

export function isInvalidNumber(waId: string, suffix: string | null): boolean {
  return suffix !== null && suffix.length > 0 && waId.endsWith(suffix);
}
