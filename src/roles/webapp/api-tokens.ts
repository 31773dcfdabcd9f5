/**
 * Bearer tokens and message ids. A token is 32 random bytes (base64url, 43 characters) shown to the
 * client once; only its SHA-256 (hex) is stored, so a leaked database holds no usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { apiTokenBytes, messageIdRandomBytes } from '../../core/limits.js';

const TOKEN_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((apiTokenBytes * 4) / 3)}}$`);

export function newToken(): { readonly token: string; readonly tokenHash: string } {
  const token = randomBytes(apiTokenBytes).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when the text could be a token we issued (checked before any store lookup). */
export function looksLikeToken(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/** On-Prem's `expires_after` form: `YYYY-MM-DD HH:MM:SS+00:00` (UTC). */
export function formatExpiresAfter(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}

/** On-Prem-style outbound message id: `gBEG` and 24 base64url characters (opaque to clients). */
export function newMessageId(): string {
  return `gBEG${randomBytes(messageIdRandomBytes).toString('base64url')}`;
}
