/**
 * The one place errors become answers. Every failure — thrown by a handler or hook, raised by
 * Fastify (bad JSON, wrong content type, body too large, validation), or an unknown route — is
 * mapped to a registry entry and sent as On-Prem's `{"errors":[…],"meta":…}`. Client mistakes are
 * always a 4xx with a `details` naming what was wrong; only a genuine server fault is a 5xx (and is
 * logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, ShardgateError, type ErrorName, type ErrorSpec } from '../../core/errors.js';
import { ApiError, errorBody, quote, type Meta } from './api-errors.js';
import { describeValidation, type SchemaError } from './validation-errors.js';
import type { ApiApp } from './webapp-context.js';

interface Mapped {
  readonly spec: ErrorSpec;
  readonly details: string;
  readonly retryAfterSeconds: number | null;
}

const FASTIFY_CODES: Readonly<Record<string, (error: FastifyError, request: FastifyRequest) => Mapped>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (_e, request) => {
    const type = request.headers['content-type'];
    return type === undefined || type === ''
      ? mapped('INVALID_REQUEST', 'a request body needs the header Content-Type: application/json')
      : mapped('INVALID_REQUEST', `Content-Type ${quote(type, 60)} is not supported: send application/json`);
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => mapped('INVALID_REQUEST', 'Content-Length does not match the body'),
  FST_ERR_CTP_INVALID_TYPE: () => mapped('INVALID_REQUEST', 'the Content-Type header is not valid'),
  FST_ERR_CTP_EMPTY_TYPE: () => mapped('INVALID_REQUEST', 'the Content-Type header is empty'),
};

function mapped(name: ErrorName, details: string, retryAfterSeconds: number | null = null): Mapped {
  return { spec: ERRORS[name], details, retryAfterSeconds };
}

function mapError(error: FastifyError, request: FastifyRequest, bodyLimitBytes: number): Mapped {
  if (error instanceof ApiError) return { spec: error.spec, details: error.details, retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof ShardgateError) return { spec: error.spec, details: error.details, retryAfterSeconds: null };
  if (Array.isArray(error.validation)) {
    const context = error.validationContext ?? 'body';
    const part = (request as unknown as Record<string, unknown>)[context];
    const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context];
    const problem = describeValidation(error.validation as unknown as SchemaError[], context, part, schema, request.routeOptions.config);
    return mapped(problem.name, problem.details);
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return mapped('BODY_TOO_LARGE', `the request body is larger than ${bodyLimitBytes} bytes`);
  const byCode = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (byCode !== undefined) return byCode(error, request);
  if (status >= 400 && status < 500) return mapped('INVALID_REQUEST', `the request is not valid: ${quote(error.message, 160)}`);
  return mapped('INTERNAL', 'an internal error occurred; the request may be retried');
}

function sendMapped(reply: FastifyReply, meta: Meta, m: Mapped): FastifyReply {
  const { spec } = m;
  if (m.retryAfterSeconds !== null) void reply.header('retry-after', String(m.retryAfterSeconds));
  return reply.code(spec.httpStatus).type('application/json; charset=utf-8').send(errorBody(spec, m.details, meta));
}

/** The path of a request for an error sentence: without the query, cut short. */
function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function installErrorHandling(app: ApiApp, meta: Meta, bodyLimitBytes: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const m = mapError(error, request, bodyLimitBytes);
    // Unexpected failures are errors; a registry 5xx (network unreachable, not ready) is expected
    // operation: warn about the network, stay quiet about the rest (clients see the details).
    if (m.spec.httpStatus >= 500 && !(error instanceof ShardgateError)) request.log.error({ err: error, url: pathOf(request) }, 'request failed');
    else if (m.spec === ERRORS.INTERNAL) request.log.warn({ err: error.cause ?? error, url: pathOf(request) }, m.details);
    return sendMapped(reply, meta, m);
  });
  app.setNotFoundHandler((request, reply) => sendMapped(reply, meta, mapped('NOT_FOUND', `no endpoint ${request.method} ${quote(pathOf(request), 200)}`)));
}

/** Fastify's `frameworkErrors` (e.g. a malformed URL, raised before routing). */
export function frameworkErrorHandler(meta: Meta) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    void sendMapped(reply, meta, mapped('INVALID_REQUEST', `the request URL is not valid: ${quote(error.message, 160)}`));
  };
}
