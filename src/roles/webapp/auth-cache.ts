/**
 * Remembers a verified bearer token for `authCacheMs`, so a busy client costs two queries (token,
 * user) once per window instead of on every request. This webapp forgets a token the moment it logs
 * it out, and every token of a user whose password changes or who is deleted; another webapp of a
 * cluster notices such a revocation within `authCacheMs`. A token's own expiry is always checked.
 */
import { authCacheEntriesMax, authCacheMs } from '../../core/limits.js';
import type { ApiUser } from './request-auth.js';

interface Entry {
  readonly user: ApiUser;
  readonly tokenExpiresAtMs: number;
  readonly cachedAtMs: number;
}

export class AuthCache {
  readonly #entries = new Map<string, Entry>();
  /** Verifications in flight, by token hash: requests arriving meanwhile wait for the same one. */
  readonly #verifying = new Map<string, Promise<ApiUser>>();

  /**
   * Runs `verify` for a token unless a verification of it is already in flight, whose outcome is then
   * shared. Without this, every request of a busy client that arrives while its token is being
   * re-verified queries the store again: with a slow database those queries outrun the pool and the
   * API stalls (the fault suite's 500 ms database latency).
   */
  singleFlight(tokenHash: string, verify: () => Promise<ApiUser>): Promise<ApiUser> {
    const running = this.#verifying.get(tokenHash);
    if (running !== undefined) return running;
    const verification = verify().finally(() => this.#verifying.delete(tokenHash));
    this.#verifying.set(tokenHash, verification);
    return verification;
  }

  /** The cached user of a token still fresh at `nowMs`, else undefined. */
  get(tokenHash: string, nowMs: number): ApiUser | undefined {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (nowMs - entry.cachedAtMs >= authCacheMs || nowMs >= entry.tokenExpiresAtMs) {
      this.#entries.delete(tokenHash);
      return undefined;
    }
    return entry.user;
  }

  put(user: ApiUser, tokenExpiresAtMs: number, nowMs: number): void {
    if (this.#entries.size >= authCacheEntriesMax) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(user.tokenHash, { user, tokenExpiresAtMs, cachedAtMs: nowMs });
  }

  forgetToken(tokenHash: string): void {
    this.#entries.delete(tokenHash);
  }

  forgetUser(username: string): void {
    for (const [hash, entry] of this.#entries) if (entry.user.username === username) this.#entries.delete(hash);
  }
}
