/**
 * The business account the gateway serves (one per installation, as On-Prem), stored as JSON under
 * the settings key `account`. Registration moves it from `pending` (a code was requested) to
 * `registered` (verified; the credentials are what coreapps present upstream).
 */
import type { ShardCount } from './limits.js';

export const ACCOUNT_SETTINGS_KEY = 'account';

export type AccountRecord =
  | { readonly state: 'pending'; readonly wa_id: string; readonly cc: string; readonly phone_number: string; readonly requested_at_ms: number }
  | {
      readonly state: 'registered';
      readonly wa_id: string;
      readonly cc: string;
      readonly phone_number: string;
      readonly credentials: string;
      readonly shards: ShardCount;
      readonly registered_at_ms: number;
    };

/** Reads a stored account record; anything malformed counts as no account. */
export function accountFromStored(stored: unknown): AccountRecord | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const r = stored as Record<string, unknown>;
  if (typeof r['wa_id'] !== 'string') return null;
  if (r['state'] === 'pending' || (r['state'] === 'registered' && typeof r['credentials'] === 'string')) return r as unknown as AccountRecord;
  return null;
}
