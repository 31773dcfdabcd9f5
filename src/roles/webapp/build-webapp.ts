/**
 * The webapp: the On-Premises-compatible REST API as a Fastify instance. It never listens — the
 * composition root calls `listen` (or tests call `inject`). Built from `WebappDeps` only; every
 * piece of state (metrics registry, throttles, backlog estimate) belongs to this instance.
 *
 * Request path: onRequest (authenticate per route `config.auth`, then the optional per-user rate
 * limit) → JSON body (size-limited) → TypeBox validation → handler → one error handler. The OpenAPI
 * document (`/docs/json`) and its UI (`/docs`, assets served locally) come from the route schemas.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, metaOf } from './api-errors.js';
import { ApiMetrics } from './api-metrics.js';
import { frameworkErrorHandler, installErrorHandling } from './error-handling.js';
import { LoginThrottle } from './login-throttle.js';
import { HashGate } from './password-hash.js';
import { PendingBacklog } from './pending-backlog.js';
import { authenticateBearer } from './request-auth.js';
import { registerAccountRoutes } from './routes/account-routes.js';
import { registerClusterRoutes } from './routes/cluster-routes.js';
import { registerCloudWebhookRoutes } from './routes/cloud-webhook-routes.js';
import { registerContactRoutes } from './routes/contacts-routes.js';
import { registerMessageRoutes } from './routes/messages-routes.js';
import { registerMonitoringRoutes } from './routes/monitoring-routes.js';
import { registerSettingsRoutes } from './routes/settings-routes.js';
import { registerUserRoutes } from './routes/users-routes.js';
import { typeboxValidatorCompiler } from './typebox-validator.js';
import { UserRateLimiter } from './user-rate-limiter.js';
import type { ApiApp, WebappContext } from './webapp-context.js';
import { AuthCache } from './auth-cache.js';
import { MessageInsertBatcher } from './message-insert-batcher.js';
import { RoutingCache } from './routing-cache.js';
import { assertWebappOptions, type WebappDeps } from './webapp-deps.js';

/** Builds the REST API over `deps`; the caller owns `listen` and `close`. */
export async function buildWebapp(deps: WebappDeps): Promise<FastifyInstance> {
  assertWebappOptions(deps.options);
  const meta = metaOf(deps.version);
  const logging = deps.logger === undefined || deps.logger === false ? { logger: false as const } : { loggerInstance: deps.logger };
  const app = Fastify({
    ...logging,
    ...(deps.options.tls ? { https: { key: deps.options.tls.key, cert: deps.options.tls.cert } } : {}),
    bodyLimit: deps.options.bodyLimitBytes,
    // One log line per request would dominate the cost of a send; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: frameworkErrorHandler(meta),
    // While the webapp stops (SIGTERM), requests still arriving on open keep-alive connections are
    // served (the database stays open until the server has closed) instead of Fastify's own 503,
    // whose body is not an On-Prem error object (I6; found by the fault suite's rolling restart).
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as ApiApp;

  const backlog = new PendingBacklog(deps.stores.messages, deps.clock);
  const ctx: WebappContext = {
    deps,
    meta,
    metrics: new ApiMetrics(deps.nodeId, deps.clock, () => backlog.estimate()),
    backlog,
    loginThrottle: new LoginThrottle(),
    hashGate: new HashGate(),
    inserts: new MessageInsertBatcher(deps.stores),
    routing: new RoutingCache(deps.stores, deps.clock),
    auth: new AuthCache(),
  };

  installJsonParser(app);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // Response schemas document the API; they never filter or reshape what a handler sends.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandling(app, meta, deps.options.bodyLimitBytes);
  app.decorateRequest('apiUser', null);
  installHooks(app, ctx);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Shardgate API',
        version: deps.version,
        description: 'WhatsApp Business On-Premises API compatible REST API. See docs/api.md for the differences from On-Prem.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } } },
    },
  });
  await app.register(async (api: ApiApp) => {
    registerUserRoutes(api, ctx);
    registerAccountRoutes(api, ctx);
    registerMessageRoutes(api, ctx);
    registerContactRoutes(api, ctx);
    registerSettingsRoutes(api, ctx);
    registerMonitoringRoutes(api, ctx);
    registerClusterRoutes(api, ctx);
  });
  const cloudWebhook = deps.cloudWebhook;
  if (cloudWebhook !== undefined) await app.register(async (api: ApiApp) => registerCloudWebhookRoutes(api, ctx, cloudWebhook));
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Not made ready here: the composition root may still register plugins (e.g. a dashboard) before
  // `listen`, and `inject` readies the instance by itself.
  return app as unknown as FastifyInstance;
}

/**
 * JSON is the only body type. An empty body counts as no body (clients post `login` and `logout`
 * with `Content-Type: application/json` and nothing else). A syntax error is reported with the
 * parser's position; `__proto__` and `constructor.prototype` keys are refused (prototype poisoning).
 */
function installJsonParser(app: ApiApp): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text, refusePrototypeKeys));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      done(new ApiError('INVALID_REQUEST', `the request body is not valid JSON: ${message.slice(0, 200)}`), undefined);
    }
  });
}

function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value)) {
    throw new Error(`the key ${JSON.stringify(key)} is not allowed`);
  }
  return value;
}

/** `GET_v1_users_{username}`, On-Prem's style of endpoint label; one label for unknown routes. */
function endpointLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  if (url === undefined || request.is404) return 'unknown';
  return `${request.method}_${url.replace(/^\//, '').replace(/\//g, '_').replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

function installHooks(app: ApiApp, ctx: WebappContext): void {
  const { deps } = ctx;
  const limiter = deps.options.requestsPerSecondPerUser === null ? null : new UserRateLimiter(deps.options.requestsPerSecondPerUser);
  app.addHook('onRequest', async (request) => {
    const level = request.routeOptions.config.auth;
    if (level === undefined || level === 'none') return;
    const user = await authenticateBearer(request.headers.authorization, deps.stores.users, deps.clock, ctx.auth);
    request.apiUser = user;
    if (level === 'admin' && user.role !== 'ADMIN') throw new ApiError('ACCESS_DENIED', 'this endpoint is for the admin user only');
    const wait = limiter === null ? 0 : limiter.take(user.username, deps.clock.nowMs());
    if (wait > 0) {
      ctx.metrics.refused('rate_limit');
      throw new ApiError('TOO_MANY_REQUESTS', `more than ${deps.options.requestsPerSecondPerUser} requests per second for ${user.username}; retry in ${wait} s`, wait);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.observeRequest(endpointLabel(request), reply.statusCode, reply.elapsedTime);
  });
}
