/**
 * Who is calling. Every endpoint but login (and the docs) takes `Authorization: Bearer <token>`;
 * login takes `Authorization: Basic`. Failures are 401 / 1005 with a `details` that says which of
 * missing, malformed, unknown, expired or revoked it was (a token is a random secret, so naming the
 * reason leaks nothing an attacker could use).
 */
import type { Clock } from '../../ports/clock.js';
import type { UserRole, UserStore } from '../../ports/user-store.js';
import { ApiError } from './api-errors.js';
import type { AuthCache } from './auth-cache.js';
import { hashToken, looksLikeToken } from './api-tokens.js';

export type AuthLevel = 'none' | 'user' | 'admin';

export interface ApiUser {
  readonly username: string;
  readonly role: UserRole;
  readonly tokenHash: string;
}

function denied(details: string): ApiError {
  return new ApiError('UNAUTHORIZED', details);
}

/** Resolves `Authorization: Bearer <token>` to a user, or throws 401 / 1005 (1024 if a change is due). */
export async function authenticateBearer(header: string | undefined, users: UserStore, clock: Clock, cache?: AuthCache): Promise<ApiUser> {
  if (header === undefined || header === '') throw denied('missing Authorization header: send "Authorization: Bearer <token>" from POST /v1/users/login');
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (match === null) throw denied('the Authorization header must be "Bearer <token>"');
  const token = match[1] as string;
  if (!looksLikeToken(token)) throw denied('the bearer token is malformed');
  const tokenHash = hashToken(token);
  if (cache === undefined) return verifyToken(tokenHash, users, clock);
  return cache.get(tokenHash, clock.nowMs()) ?? cache.singleFlight(tokenHash, () => verifyToken(tokenHash, users, clock, cache));
}

async function verifyToken(tokenHash: string, users: UserStore, clock: Clock, cache?: AuthCache): Promise<ApiUser> {
  const record = await users.findToken(tokenHash);
  if (record === null) throw denied('the bearer token is unknown');
  if (record.revoked) throw denied('the bearer token was revoked (logged out, or the password changed)');
  if (clock.nowMs() >= record.expiresAtMs) throw denied('the bearer token has expired: log in again');
  const user = await users.getUser(record.username);
  if (user === null) throw denied('the bearer token is unknown');
  if (user.mustChangePassword) throw new ApiError('PASSWORD_CHANGE_REQUIRED', 'the password must be changed: log in with {"new_password": …}');
  const verified = { username: user.username, role: user.role, tokenHash };
  cache?.put(verified, record.expiresAtMs, clock.nowMs());
  return verified;
}

/** Parses `Authorization: Basic base64(username:password)`; null when absent or malformed. */
export function parseBasic(header: string | undefined): { readonly username: string; readonly password: string } | null {
  if (header === undefined) return null;
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
