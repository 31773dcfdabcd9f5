/**
 * API users and their bearer tokens. Only hashes are stored: the password hash (a slow KDF computed
 * by the caller) and a hash of each token, never the token itself. Deleting a user deletes its tokens.
 */
export type UserRole = 'ADMIN' | 'USER';

export interface UserRecord {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: UserRole;
  readonly mustChangePassword: boolean;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface TokenRecord {
  readonly tokenHash: string;
  readonly username: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly revoked: boolean;
}

export interface UserStore {
  /** False when the username is taken. */
  createUser(user: UserRecord): Promise<boolean>;
  getUser(username: string): Promise<UserRecord | null>;
  /** Ordered by username. */
  listUsers(): Promise<readonly UserRecord[]>;
  updateUser(
    username: string,
    update: { readonly passwordHash?: string; readonly role?: UserRole; readonly mustChangePassword?: boolean },
    nowMs: number,
  ): Promise<boolean>;
  deleteUser(username: string): Promise<boolean>;
  createToken(token: Omit<TokenRecord, 'revoked'>): Promise<void>;
  findToken(tokenHash: string): Promise<TokenRecord | null>;
  revokeToken(tokenHash: string): Promise<boolean>;
  /** Revokes every token of the user; returns how many were live. */
  revokeTokensOf(username: string): Promise<number>;
  /** Forgets tokens that can never be used again (expired at `nowMs`, or revoked); returns how many. */
  deleteDeadTokens(nowMs: number): Promise<number>;
}
