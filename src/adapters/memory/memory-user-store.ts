/**
 * The in-memory twin of KyselyUserStore: two Maps of frozen records. As in SQL, deleting a user
 * deletes its tokens, a token is found only while its user exists, revocation only moves live
 * tokens, and users are listed in code-unit order of their names.
 */
import type { TokenRecord, UserRecord, UserRole, UserStore } from '../../ports/user-store.js';

type UserUpdate = { readonly passwordHash?: string; readonly role?: UserRole; readonly mustChangePassword?: boolean };

export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, UserRecord>();
  readonly #tokens = new Map<string, TokenRecord>();

  async createUser(user: UserRecord): Promise<boolean> {
    if (this.#users.has(user.username)) return false;
    this.#users.set(user.username, Object.freeze({
      username: user.username,
      passwordHash: user.passwordHash,
      role: user.role,
      mustChangePassword: user.mustChangePassword,
      createdAtMs: user.createdAtMs,
      updatedAtMs: user.updatedAtMs,
    }));
    return true;
  }

  async getUser(username: string): Promise<UserRecord | null> {
    return this.#users.get(username) ?? null;
  }

  async listUsers(): Promise<readonly UserRecord[]> {
    return [...this.#users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  async updateUser(username: string, update: UserUpdate, nowMs: number): Promise<boolean> {
    const current = this.#users.get(username);
    if (current === undefined) return false;
    this.#users.set(
      username,
      Object.freeze({
        ...current,
        passwordHash: update.passwordHash ?? current.passwordHash,
        role: update.role ?? current.role,
        mustChangePassword: update.mustChangePassword ?? current.mustChangePassword,
        updatedAtMs: nowMs,
      }),
    );
    return true;
  }

  async deleteUser(username: string): Promise<boolean> {
    const existed = this.#users.delete(username);
    for (const [hash, token] of this.#tokens) if (token.username === username) this.#tokens.delete(hash);
    return existed;
  }

  async createToken(token: Omit<TokenRecord, 'revoked'>): Promise<void> {
    if (this.#tokens.has(token.tokenHash)) throw new Error('token hash already stored');
    this.#tokens.set(token.tokenHash, Object.freeze({
      tokenHash: token.tokenHash,
      username: token.username,
      createdAtMs: token.createdAtMs,
      expiresAtMs: token.expiresAtMs,
      revoked: false,
    }));
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    const token = this.#tokens.get(tokenHash);
    return token !== undefined && this.#users.has(token.username) ? token : null;
  }

  async revokeToken(tokenHash: string): Promise<boolean> {
    const token = this.#tokens.get(tokenHash);
    if (token === undefined || token.revoked) return false;
    this.#tokens.set(tokenHash, Object.freeze({ ...token, revoked: true }));
    return true;
  }

  async revokeTokensOf(username: string): Promise<number> {
    const live = [...this.#tokens.values()].filter((token) => token.username === username && !token.revoked);
    for (const token of live) this.#tokens.set(token.tokenHash, Object.freeze({ ...token, revoked: true }));
    return live.length;
  }

  async deleteDeadTokens(nowMs: number): Promise<number> {
    let deleted = 0;
    for (const [hash, token] of this.#tokens) {
      if (token.revoked || token.expiresAtMs <= nowMs) {
        this.#tokens.delete(hash);
        deleted++;
      }
    }
    return deleted;
  }
}
