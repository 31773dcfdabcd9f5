/**
 * The error registry: every error Shardgate reports, with our stable code, the On-Prem numeric code
 * that clients of the On-Premises API already handle, the HTTP status, and whether retrying can help.
 * `docs/errors.md` is generated from this table and a test keeps the two in sync. Codes are never
 * reused: retire an entry by marking it deprecated, never by giving its code new meaning.
 */

export interface ErrorSpec {
  /** Our stable identifier, `SG_ERR_<AREA>_<WHAT>`. */
  readonly code: string;
  /** The On-Premises API error code sent in `errors[].code`. */
  readonly onPremCode: number;
  /** The On-Premises title sent in `errors[].title`. */
  readonly title: string;
  readonly httpStatus: number;
  /** True when the same request may succeed if sent again later. */
  readonly retryable: boolean;
  /** One sentence for operators: when this happens. */
  readonly description: string;
}

function spec(
  code: string,
  onPremCode: number,
  title: string,
  httpStatus: number,
  retryable: boolean,
  description: string,
): ErrorSpec {
  return Object.freeze({ code, onPremCode, title, httpStatus, retryable, description });
}

export const ERRORS = Object.freeze({
  GENERIC: spec('SG_ERR_GENERIC', 1000, 'Generic error', 500, true, 'An unexpected failure; the details say what.'),
  MESSAGE_TOO_LONG: spec('SG_ERR_MESSAGE_TOO_LONG', 1001, 'Message too long', 400, false, 'A text body is longer than 4096 characters.'),
  INVALID_RECIPIENT_TYPE: spec('SG_ERR_INVALID_RECIPIENT_TYPE', 1002, 'Invalid recipient type', 400, false, 'recipient_type is not "individual".'),
  ACCESS_DENIED: spec('SG_ERR_ACCESS_DENIED', 1005, 'Access denied', 403, false, 'The caller is authenticated but not allowed to do this (for example, not an admin).'),
  NOT_FOUND: spec('SG_ERR_NOT_FOUND', 1006, 'Resource not found', 404, false, 'The named user, message or resource does not exist.'),
  PARAMETER_MISSING: spec('SG_ERR_PARAMETER_MISSING', 1008, 'Required parameter is missing', 400, false, 'A required field of the request is absent.'),
  PARAMETER_INVALID: spec('SG_ERR_PARAMETER_INVALID', 1009, 'Parameter value is not valid', 400, false, 'A field has a value outside what is allowed.'),
  SERVICE_NOT_READY: spec('SG_ERR_SERVICE_NOT_READY', 1011, 'Service not ready', 500, true, 'The gateway is starting, or no account is registered yet.'),
  INTERNAL: spec('SG_ERR_INTERNAL', 1014, 'Internal error', 500, true, 'An internal component failed; the request may be retried.'),
  TOO_MANY_REQUESTS: spec('SG_ERR_TOO_MANY_REQUESTS', 1015, 'Too many requests', 429, true, 'The caller exceeded a rate limit.'),
  OVERLOADED: spec('SG_ERR_OVERLOADED', 1016, 'System overloaded', 503, true, 'A bounded queue is full; retry with backoff.'),
  NOT_PRIMARY_MASTER: spec('SG_ERR_NOT_PRIMARY_MASTER', 1017, 'Not Primary Master', 500, true, 'The node that received the request does not hold the master lease.'),
  NOT_PRIMARY_COREAPP: spec('SG_ERR_NOT_PRIMARY_COREAPP', 1018, 'Not Primary Coreapp', 500, true, 'The coreapp that received the request does not own the shard.'),
  DATABASE: spec('SG_ERR_DATABASE', 1023, 'Database error occurred', 500, true, 'The database could not be reached or refused the operation.'),
  PASSWORD_CHANGE_REQUIRED: spec('SG_ERR_PASSWORD_CHANGE_REQUIRED', 1024, 'Password Change Required', 401, false, 'The user must change the initial password before using the API.'),
  INVALID_REQUEST: spec('SG_ERR_INVALID_REQUEST', 1025, 'Invalid Request', 400, false, 'The request is malformed (bad JSON, wrong content type).'),
  UNAUTHORIZED: spec('SG_ERR_UNAUTHORIZED', 1005, 'Access denied', 401, false, 'Missing, expired or revoked credentials.'),
  USER_EXISTS: spec('SG_ERR_USER_EXISTS', 1014, 'Internal error', 409, false, 'POST /v1/users names an existing user (On-Prem answered 500 with this code and title; the request is not retryable, so we answer 409).'),
  BODY_TOO_LARGE: spec('SG_ERR_BODY_TOO_LARGE', 1025, 'Invalid Request', 413, false, 'The request body is larger than the configured body limit.'),
} as const);

export type ErrorName = keyof typeof ERRORS;

/**
 * An operating error with a registry entry. Thrown by stores and roles for conditions the caller is
 * expected to handle (a programmer error is an assertion instead and crashes the process).
 */
export class ShardgateError extends Error {
  readonly spec: ErrorSpec;
  readonly details: string;

  constructor(name: ErrorName, details: string, options?: { cause?: unknown }) {
    super(`${ERRORS[name].title}: ${details}`, options);
    this.name = 'ShardgateError';
    this.spec = ERRORS[name];
    this.details = details;
  }
}

/** Renders the registry as the markdown table of `docs/errors.md`. */
export function renderErrorsMarkdown(): string {
  const rows = Object.values(ERRORS).map(
    (e) => `| \`${e.code}\` | ${e.onPremCode} | ${e.title} | ${e.httpStatus} | ${e.retryable ? 'yes' : 'no'} | ${e.description} |`,
  );
  return [
    '# Errors',
    '',
    'Every error Shardgate reports. The API body keeps the On-Premises shape:',
    '`{"errors":[{"code": <On-Prem code>, "title": "...", "details": "..."}]}`.',
    'This file is generated from `src/core/errors.ts`; `test/unit/errors.test.ts` fails when they differ',
    '(regenerate with `UPDATE_DOCS=1 npx vitest run test/unit/errors.test.ts`).',
    '',
    '| code | On-Prem code | title | HTTP | retryable | when |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
