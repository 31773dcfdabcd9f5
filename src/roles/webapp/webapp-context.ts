/**
 * What every route module of the webapp shares: the dependencies, the `meta` envelope, the metrics
 * and the bounded protections (login throttle, hash gate, backlog estimate). Built once per webapp
 * by `buildWebapp`; nothing here is module-global, so many webapps can live in one process.
 */
import type { AuthCache } from './auth-cache.js';
import type { MessageInsertBatcher } from './message-insert-batcher.js';
import type { RoutingCache } from './routing-cache.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Meta } from './api-errors.js';
import type { ApiMetrics } from './api-metrics.js';
import type { LoginThrottle } from './login-throttle.js';
import type { HashGate } from './password-hash.js';
import type { PendingBacklog } from './pending-backlog.js';
import type { ApiUser, AuthLevel } from './request-auth.js';
import type { ValidationRules } from './validation-errors.js';
import type { WebappDeps } from './webapp-deps.js';

declare module 'fastify' {
  interface FastifyContextConfig extends ValidationRules {
    /** Who may call the route: nobody needs a token ('none'), any user, or the admin only. */
    auth?: AuthLevel;
  }
  interface FastifyRequest {
    /** The caller, set by the auth hook on routes with `auth` 'user' or 'admin'. */
    apiUser: ApiUser | null;
  }
}

export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface WebappContext {
  readonly deps: WebappDeps;
  readonly meta: Meta;
  readonly metrics: ApiMetrics;
  readonly backlog: PendingBacklog;
  readonly loginThrottle: LoginThrottle;
  readonly hashGate: HashGate;
  /** Group commit of accepted messages. */
  readonly inserts: MessageInsertBatcher;
  /** The account and shard map sends are routed by. */
  readonly routing: RoutingCache;
  /** Recently verified bearer tokens. */
  readonly auth: AuthCache;
}

/** The authenticated caller of a route declared with `auth: 'user'` or `'admin'`. */
export function callerOf(request: FastifyRequest): ApiUser {
  const user = request.apiUser;
  if (user === null) throw new Error(`route ${request.routeOptions.url ?? '?'} reads the caller but is not authenticated`);
  return user;
}
