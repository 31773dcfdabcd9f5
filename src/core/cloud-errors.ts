/**
 * What a WhatsApp Cloud API error means for a message, and the On-Premises error it becomes.
 *
 * The Cloud API numbers its messaging errors 13xxxx where the On-Premises API used 1xxx, 2xxx and
 * the webhook codes 4xx/5xx; the correspondences below are the ones observed between the two APIs
 * (On-Prem 1xxx → Cloud 131xxx, 2xxx → 132xxx, 470 → 131047, 471 → 131048, 472 → 130472,
 * 501 → 131051, 429 → 130429). A message whose Cloud error is permanent becomes an On-Prem `failed`
 * status carrying the On-Prem code, so a client written for On-Prem keeps handling it as before; the
 * Cloud code and message stay readable in `details`.
 *
 * Kinds (what the sender does):
 * - `rate_limited`: the number, app or recipient pair is over a limit — slow down, send again later;
 * - `transient`: a server or network problem — send again later, with backoff;
 * - `auth`: the access token is expired or lacks a permission — nothing can be sent until an
 *   operator fixes the token, so the message waits (it is never failed for our configuration);
 * - `permanent`: this message can never be sent as it is — `failed` with the On-Prem code.
 */

export type CloudErrorKind = 'rate_limited' | 'transient' | 'auth' | 'permanent';

export interface OnPremError {
  readonly code: number;
  readonly title: string;
  readonly details: string;
}

export interface ClassifiedCloudError {
  readonly kind: CloudErrorKind;
  /** The On-Prem error a `failed` status carries (meaningful for `permanent`). */
  readonly error: OnPremError;
}

/** Cloud code → On-Prem code and title, for the codes with a known On-Prem counterpart. */
export const CLOUD_TO_ONPREM: Readonly<Record<number, { readonly code: number; readonly title: string }>> = Object.freeze({
  131001: { code: 1001, title: 'Message too long' },
  131005: { code: 1005, title: 'Access denied' },
  131006: { code: 1006, title: 'Resource not found' },
  131008: { code: 1008, title: 'Required parameter is missing' },
  131009: { code: 1009, title: 'Parameter value is not valid' },
  131021: { code: 1021, title: 'Bad User' },
  131026: { code: 1013, title: 'User is not valid' },
  131031: { code: 1031, title: 'Sender account has been locked' },
  131047: { code: 470, title: 'Re-engagement message' },
  131048: { code: 471, title: 'Spam rate limit hit' },
  131051: { code: 501, title: 'Message type not supported' },
  130472: { code: 472, title: "User's number is part of an experiment" },
  130429: { code: 429, title: 'Rate limit hit' },
  100: { code: 1009, title: 'Parameter value is not valid' },
});

/** Over a limit: wait and send again. 130429 throughput, 131056 pair rate, 4 app calls, 80007 WABA calls. */
const RATE_LIMITED: ReadonlySet<number> = new Set([130429, 131056, 4, 80007, 131057]);
/** Server side, send again: 1/2 API unknown/service, 131000 something went wrong, 131016 service unavailable, 133004 server unavailable. */
const TRANSIENT: ReadonlySet<number> = new Set([1, 2, 131000, 131016, 133004]);
/** Token or permission: 0/190 authentication, 10/200–299 permission, 3 capability. */
function isAuth(code: number): boolean {
  return code === 0 || code === 190 || code === 10 || code === 3 || (code >= 200 && code <= 299);
}

/**
 * Classifies a Cloud error answer. `httpStatus` is the HTTP status of the answer (0 when there was
 * none); `code`, `message` and `details` come from Graph's `{"error":{…}}` body when it had one.
 */
export function classifyCloudError(httpStatus: number, code: number | null, message: string, details: string): ClassifiedCloudError {
  const text = `Cloud API error ${code ?? `HTTP ${httpStatus}`}: ${[message, details].filter((s) => s !== '').join(' — ')}`.slice(0, 1_000);
  const known = code === null ? undefined : CLOUD_TO_ONPREM[code];
  const error = known === undefined ? { code: genericCode(code), title: genericTitle(code), details: text } : { code: known.code, title: known.title, details: text };
  if (code !== null && RATE_LIMITED.has(code)) return { kind: 'rate_limited', error };
  if (httpStatus === 429) return { kind: 'rate_limited', error };
  if (code !== null && isAuth(code)) return { kind: 'auth', error };
  if (httpStatus === 401 || httpStatus === 403) return { kind: 'auth', error };
  if (code !== null && TRANSIENT.has(code)) return { kind: 'transient', error };
  if (httpStatus >= 500 || httpStatus === 0 || httpStatus === 408) return { kind: 'transient', error };
  return { kind: 'permanent', error };
}

/** On-Prem code for a Cloud error code without a known counterpart: 132xxx → 2xxx, else 1000. */
function genericCode(code: number | null): number {
  if (code !== null && code >= 132000 && code <= 132999) return code - 130000;
  return 1000;
}

function genericTitle(code: number | null): string {
  return code !== null && code >= 132000 && code <= 132999 ? 'Template error' : 'Generic error';
}

/** The On-Prem code for an error carried by a Cloud `failed` status (same table). */
export function onPremStatusError(code: number, title: string, details: string): OnPremError {
  const known = CLOUD_TO_ONPREM[code];
  const text = `Cloud API error ${code}: ${[title, details].filter((s) => s !== '').join(' — ')}`.slice(0, 1_000);
  if (known !== undefined) return { code: known.code, title: known.title, details: text };
  return { code: genericCode(code), title: genericTitle(code), details: text };
}
