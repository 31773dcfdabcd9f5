/**
 * UserStore on SQL. Only hashes are stored. Invariants:
 *
 * - `createUser` is a plain INSERT and a duplicate-key error means "taken". (MySQL's INSERT IGNORE
 *   would also turn a too-long value into a silent truncation, so it is not used here.)
 * - `deleteUser` deletes the user and its tokens in one transaction.
 * - `findToken` only finds tokens whose user still exists: a token minted while its user was being
 *   deleted (created after the transaction's DELETE of tokens) stays unusable.
 * - Revocation only moves live (unrevoked) tokens, so the counts report what the call changed.
 *
 * `listUsers` sorts by UTF-16 code units in code, because collations differ between dialects.
 */
import type { Kysely, Selectable } from 'kysely';
import type { TokenRecord, UserRecord, UserRole, UserStore } from '../../ports/user-store.js';
import type { Database } from './database.js';
import type { Schema, TokensTable, UsersTable } from './schema.js';

type Db = Kysely<Schema>;
type UserUpdate = { readonly passwordHash?: string; readonly role?: UserRole; readonly mustChangePassword?: boolean };

const USER_COLUMNS = ['username', 'password_hash', 'role', 'must_change_password', 'created_at_ms', 'updated_at_ms'] as const;
const USER_ROLES: readonly UserRole[] = ['ADMIN', 'USER'];

export class KyselyUserStore implements UserStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async createUser(user: UserRecord): Promise<boolean> {
    try {
      await this.#db
        .insertInto('users')
        .values({
          username: user.username,
          password_hash: user.passwordHash,
          role: user.role,
          must_change_password: user.mustChangePassword ? 1 : 0,
          created_at_ms: user.createdAtMs,
          updated_at_ms: user.updatedAtMs,
        })
        .execute();
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async getUser(username: string): Promise<UserRecord | null> {
    const row = await this.#db.selectFrom('users').select(USER_COLUMNS).where('username', '=', username).executeTakeFirst();
    return row === undefined ? null : toUser(row);
  }

  async listUsers(): Promise<readonly UserRecord[]> {
    const rows = await this.#db.selectFrom('users').select(USER_COLUMNS).execute();
    return rows.map(toUser).sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  async updateUser(username: string, update: UserUpdate, nowMs: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('users')
      .set({
        updated_at_ms: nowMs,
        ...(update.passwordHash !== undefined ? { password_hash: update.passwordHash } : {}),
        ...(update.role !== undefined ? { role: update.role } : {}),
        ...(update.mustChangePassword !== undefined ? { must_change_password: update.mustChangePassword ? 1 : 0 } : {}),
      })
      .where('username', '=', username)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteUser(username: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('users').where('username', '=', username).executeTakeFirst();
      await trx.deleteFrom('tokens').where('username', '=', username).execute();
      return Number(deleted.numDeletedRows) > 0;
    });
  }

  async createToken(token: Omit<TokenRecord, 'revoked'>): Promise<void> {
    await this.#db
      .insertInto('tokens')
      .values({
        token_hash: token.tokenHash,
        username: token.username,
        created_at_ms: token.createdAtMs,
        expires_at_ms: token.expiresAtMs,
        revoked: 0,
      })
      .execute();
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    const row = await this.#db
      .selectFrom('tokens')
      .innerJoin('users', 'users.username', 'tokens.username')
      .select(['tokens.token_hash', 'tokens.username', 'tokens.created_at_ms', 'tokens.expires_at_ms', 'tokens.revoked'])
      .where('tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row === undefined ? null : toToken(row);
  }

  async revokeToken(tokenHash: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('token_hash', '=', tokenHash)
      .where('revoked', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async revokeTokensOf(username: string): Promise<number> {
    const result = await this.#db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('username', '=', username)
      .where('revoked', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async deleteDeadTokens(nowMs: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('tokens')
      .where((eb) => eb.or([eb('expires_at_ms', '<=', nowMs), eb('revoked', '=', 1)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  get #db(): Db {
    return this.#database.db;
  }
}

/** A unique-key violation, as better-sqlite3, pg and mysql2 report it. */
function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505' || code === 'ER_DUP_ENTRY';
}

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    username: row.username,
    passwordHash: row.password_hash,
    role: toRole(row.role),
    mustChangePassword: Number(row.must_change_password) !== 0,
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

function toRole(value: string): UserRole {
  const role = USER_ROLES.find((r) => r === value);
  if (role === undefined) throw new Error(`users row has an unknown role '${value}'`);
  return role;
}

function toToken(row: Selectable<TokensTable>): TokenRecord {
  return {
    tokenHash: row.token_hash,
    username: row.username,
    createdAtMs: Number(row.created_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    revoked: Number(row.revoked) !== 0,
  };
}
