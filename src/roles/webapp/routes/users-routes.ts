/**
 * `/v1/users`: login (Basic → bearer token), logout, and user management. Only the admin creates and
 * deletes users; a user may read and change itself. Passwords follow On-Prem's policy; a password
 * change revokes every token of that user. Failed logins are throttled per (user, address) and
 * password hashing is bounded (`HashGate`), so a flood of logins costs bounded CPU and memory.
 */
import { passwordLengthMax } from '../../../core/limits.js';
import { ApiError, quote } from '../api-errors.js';
import {
  CreateUserBody,
  ErrorResponse,
  LoginBody,
  LoginResponse,
  MetaOnlyResponse,
  UpdateUserBody,
  UserDetailResponse,
  UsernameParams,
  UsersResponse,
} from '../api-schemas.js';
import { formatExpiresAfter, newToken } from '../api-tokens.js';
import { isValidUsername, passwordProblem } from '../credentials-policy.js';
import { ADMIN_USERNAME } from '../admin-user.js';
import { hashPassword, verifyAgainstNothing, verifyPassword } from '../password-hash.js';
import { parseBasic } from '../request-auth.js';
import { callerOf, type ApiApp, type WebappContext } from '../webapp-context.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const bearer = [{ bearer: [] }];
const usernameRule = { error: 'PARAMETER_INVALID', keywords: ['pattern'], details: () => 'username must be 4 to 32 characters: letters, digits, ".", "_", "@" or "-"' } as const;

/** Runs password work through the gate; a full gate is 429 / 1015, never an unbounded queue. */
async function gated<T>(ctx: WebappContext, work: () => Promise<T>): Promise<T> {
  const result = await ctx.hashGate.run(work);
  if (result === null) {
    ctx.metrics.refused('hash_queue');
    throw new ApiError('TOO_MANY_REQUESTS', 'too many logins and password changes in progress; retry in a second', 1);
  }
  return result.value;
}

function checkPassword(field: string, password: string): void {
  const problem = passwordProblem(field, password);
  if (problem !== null) throw new ApiError('PARAMETER_INVALID', problem);
}

/** Sets a new password hash and revokes every token of the user (sessions end with the old password). */
async function changePassword(ctx: WebappContext, username: string, password: string): Promise<boolean> {
  const { users } = ctx.deps.stores;
  const passwordHash = await gated(ctx, () => hashPassword(password));
  const updated = await users.updateUser(username, { passwordHash, mustChangePassword: false }, ctx.deps.clock.nowMs());
  if (updated) await users.revokeTokensOf(username);
  ctx.auth.forgetUser(username);
  return updated;
}

function mayActOn(caller: { username: string; role: string }, username: string): void {
  if (caller.role !== 'ADMIN' && caller.username !== username) {
    throw new ApiError('ACCESS_DENIED', 'only the admin may read or change other users');
  }
}

export function registerUserRoutes(app: ApiApp, ctx: WebappContext): void {
  registerLogin(app, ctx);
  app.post(
    '/v1/users/logout',
    { schema: { tags: ['users'], summary: 'Revoke the bearer token of this request', security: bearer, response: { 200: MetaOnlyResponse, ...errors } }, config: { auth: 'user' } },
    async (request) => {
      await ctx.deps.stores.users.revokeToken(callerOf(request).tokenHash);
      ctx.auth.forgetToken(callerOf(request).tokenHash);
      return { meta: ctx.meta };
    },
  );
  app.post(
    '/v1/users',
    {
      schema: { tags: ['users'], summary: 'Create a user (admin)', security: bearer, body: CreateUserBody, response: { 201: UsersResponse, ...errors, 409: ErrorResponse } },
      config: { auth: 'admin', fieldRules: { username: usernameRule } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      checkPassword('password', password);
      const nowMs = ctx.deps.clock.nowMs();
      const passwordHash = await gated(ctx, () => hashPassword(password));
      const created = await ctx.deps.stores.users.createUser({ username, passwordHash, role: 'USER', mustChangePassword: false, createdAtMs: nowMs, updatedAtMs: nowMs });
      if (!created) throw new ApiError('USER_EXISTS', 'Unable to create user. Already exist?');
      return reply.code(201).send({ users: [{ username }], meta: ctx.meta });
    },
  );
  registerUserByName(app, ctx);
}

function registerLogin(app: ApiApp, ctx: WebappContext): void {
  const { stores, clock } = ctx.deps;
  app.post(
    '/v1/users/login',
    {
      schema: {
        tags: ['users'],
        summary: 'Log in with Basic auth; returns a bearer token',
        security: [{ basic: [] }],
        body: LoginBody,
        response: { 200: LoginResponse, ...errors, 429: ErrorResponse },
      },
      config: { auth: 'none' },
    },
    async (request) => {
      const credentials = parseBasic(request.headers.authorization);
      if (credentials === null) throw new ApiError('UNAUTHORIZED', 'send "Authorization: Basic <base64 of username:password>"');
      const { username, password } = credentials;
      const wait = ctx.loginThrottle.retryAfterSeconds(username, request.ip, clock.nowMs());
      if (wait > 0) {
        ctx.metrics.refused('login_throttle');
        throw new ApiError('TOO_MANY_REQUESTS', `too many failed logins for ${quote(username)} from this address; retry in ${wait} s`, wait);
      }
      // Names and passwords outside the policy cannot exist: refuse them without spending a hash.
      const plausible = isValidUsername(username) && password.length <= passwordLengthMax;
      const user = plausible ? await stores.users.getUser(username) : null;
      const ok = plausible && (await gated(ctx, () => (user === null ? verifyAgainstNothing(password) : verifyPassword(password, user.passwordHash))));
      if (!ok || user === null) {
        ctx.loginThrottle.recordFailure(username, request.ip, clock.nowMs());
        ctx.metrics.loginFailed();
        throw new ApiError('UNAUTHORIZED', 'wrong username or password');
      }
      ctx.loginThrottle.recordSuccess(username, request.ip);
      const newPassword = request.body.new_password;
      if (newPassword === undefined && user.mustChangePassword) {
        throw new ApiError('PASSWORD_CHANGE_REQUIRED', 'the password must be changed: log in again with {"new_password": "…"}');
      }
      if (newPassword !== undefined) {
        checkPassword('new_password', newPassword);
        await changePassword(ctx, username, newPassword);
      }
      const { token, tokenHash } = newToken();
      const nowMs = clock.nowMs();
      const expiresAtMs = nowMs + ctx.deps.options.tokenTtlMs;
      await stores.users.createToken({ tokenHash, username, createdAtMs: nowMs, expiresAtMs });
      return { users: [{ token, expires_after: formatExpiresAfter(expiresAtMs) }], meta: ctx.meta };
    },
  );
}

function registerUserByName(app: ApiApp, ctx: WebappContext): void {
  const { users } = ctx.deps.stores;
  const notFound = (username: string): ApiError => new ApiError('NOT_FOUND', `no user ${quote(username)}`);
  app.get(
    '/v1/users/:username',
    { schema: { tags: ['users'], summary: 'Read a user (admin, or the user itself)', security: bearer, params: UsernameParams, response: { 200: UserDetailResponse, ...errors } }, config: { auth: 'user' } },
    async (request) => {
      const { username } = request.params;
      mayActOn(callerOf(request), username);
      const user = await users.getUser(username);
      if (user === null) throw notFound(username);
      return { users: [{ username: user.username, ROLES: user.role === 'ADMIN' ? ('ROLE_ADMIN' as const) : ('ROLE_USER' as const) }], meta: ctx.meta };
    },
  );
  app.put(
    '/v1/users/:username',
    {
      schema: { tags: ['users'], summary: "Change a user's password (admin, or the user itself); revokes its tokens", security: bearer, params: UsernameParams, body: UpdateUserBody, response: { 200: UsersResponse, ...errors } },
      config: { auth: 'user' },
    },
    async (request) => {
      const { username } = request.params;
      mayActOn(callerOf(request), username);
      checkPassword('password', request.body.password);
      if ((await users.getUser(username)) === null) throw notFound(username);
      if (!(await changePassword(ctx, username, request.body.password))) throw notFound(username);
      return { users: [{ username }], meta: ctx.meta };
    },
  );
  app.delete(
    '/v1/users/:username',
    { schema: { tags: ['users'], summary: 'Delete a user and its tokens (admin; the admin itself cannot be deleted)', security: bearer, params: UsernameParams, response: { 200: UsersResponse, ...errors } }, config: { auth: 'admin' } },
    async (request) => {
      const { username } = request.params;
      if (username === ADMIN_USERNAME) throw new ApiError('ACCESS_DENIED', 'the admin user cannot be deleted');
      if (!(await users.deleteUser(username))) throw notFound(username);
      ctx.auth.forgetUser(username);
      return { users: [{ username }], meta: ctx.meta };
    },
  );
}
