/**
 * The On-Prem envelope of every API answer: `meta` on success and failure, and failures as
 * `{"errors":[{"code","title","details"}],"meta":{…}}` built from a registry entry
 * (`src/core/errors.ts`). Handlers and hooks throw `ApiError`; the one error handler renders it.
 */
import { truncateText } from '../../core/bounds.js';
import { type ErrorName, type ErrorSpec, ShardgateError } from '../../core/errors.js';

export interface Meta {
  readonly api_status: 'stable';
  readonly version: string;
}

export function metaOf(version: string): Meta {
  return Object.freeze({ api_status: 'stable', version });
}

/** A registry error, plus the `Retry-After` seconds the answer should carry (for 429 and 503). */
export class ApiError extends ShardgateError {
  readonly retryAfterSeconds: number | null;

  constructor(name: ErrorName, details: string, retryAfterSeconds: number | null = null, cause?: unknown) {
    super(name, details, cause === undefined ? undefined : { cause });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface ErrorBody {
  readonly errors: readonly { readonly code: number; readonly title: string; readonly details: string }[];
  readonly meta: Meta;
}

export function errorBody(spec: ErrorSpec, details: string, meta: Meta): ErrorBody {
  return { errors: [{ code: spec.onPremCode, title: spec.title, details }], meta };
}

/** Cuts client-provided text quoted in `details` so an error never echoes a megabyte back. */
export function quote(text: string, max = 120): string {
  const cut = truncateText(text, max);
  return JSON.stringify(cut.length < text.length ? `${cut}…` : cut);
}
