/**
 * What a failed call to the network (`UpstreamAccounts`) becomes at the API. The network said no
 * (a wrong registration code, an unknown number: a ShardgateError with a 4xx entry, an
 * UpstreamRefusedError, or any error carrying a 4xx `status`) → 400 / 1009 with the network's
 * details; the network could not be asked (timeout, connection refused, 5xx) → 500 / 1014, which
 * clients retry.
 */
import { ShardgateError } from '../../core/errors.js';
import { UpstreamRefusedError } from '../../ports/upstream-client.js';
import { ApiError } from './api-errors.js';

function clientStatusOf(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  for (const name of ['httpStatus', 'status', 'statusCode']) {
    const value = (error as Record<string, unknown>)[name];
    if (typeof value === 'number' && value >= 400 && value < 500) return value;
  }
  return null;
}

/**
 * The API error for a failed network call. A refusal quotes the network's details (they are about
 * the client's input); a failure does not (it may name internal addresses) — the cause is kept for
 * the log.
 */
export function upstreamFailure(error: unknown, what: string): ApiError {
  if (error instanceof ApiError) return error;
  const unreachable = (): ApiError => new ApiError('INTERNAL', `${what} failed: the network could not be reached or failed; retry later`, null, error);
  if (error instanceof ShardgateError) {
    return error.spec.httpStatus < 500 ? new ApiError('PARAMETER_INVALID', `${what} was refused by the network: ${error.details}`) : unreachable();
  }
  if (error instanceof UpstreamRefusedError) return new ApiError('PARAMETER_INVALID', `${what} was refused by the network: ${error.reason}`);
  if (clientStatusOf(error) !== null) {
    return new ApiError('PARAMETER_INVALID', `${what} was refused by the network: ${error instanceof Error ? error.message : String(error)}`);
  }
  return unreachable();
}
