import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord, UserRecord, UserStore } from '../../src/ports/user-store.js';
import { CONTRACT_TARGETS, type TargetInstance } from '../support/contract-targets.js';

const CREATED_MS = 1_700_000_000_000;
const EXPIRES_MS = 1_800_000_000_000;

for (const target of CONTRACT_TARGETS) {
  describe.skipIf(target.skipReason !== null)(`${target.name}: UserStore`, () => {
    let instance: TargetInstance;
    let users: UserStore;
    let n = 0;
    const freshName = (name = 'user') => `${name}${++n}`;
    const freshHash = () => `sha256-${(++n).toString(16).padStart(64, '0')}`;
    /** A user with `count` live tokens; returns the token hashes. */
    const userWithTokens = async (username: string, count: number) => {
      expect(await users.createUser(user(username))).toBe(true);
      const hashes = Array.from({ length: count }, freshHash);
      for (const hash of hashes) await users.createToken(token(hash, username));
      return hashes;
    };

    beforeAll(async () => {
      instance = await target.create();
      users = instance.stores.users;
    });
    afterAll(async () => instance?.dispose());

    it('creates a user once; a taken name is refused and the first record kept', async () => {
      const name = freshName();
      const first = user(name, { role: 'ADMIN', mustChangePassword: true });
      expect(await users.createUser(first)).toBe(true);
      expect(await users.getUser(name)).toEqual(first);
      expect(await users.createUser(user(name, { passwordHash: 'other', role: 'USER' }))).toBe(false);
      expect(await users.getUser(name)).toEqual(first);
    });

    it('names that differ only in case or trailing space are different users on every dialect', async () => {
      const base = freshName('Case');
      expect(await users.createUser(user(base, { role: 'ADMIN' }))).toBe(true);
      expect(await users.createUser(user(base.toLowerCase(), { role: 'USER' }))).toBe(true);
      expect(await users.createUser(user(`${base} `, { role: 'USER' }))).toBe(true);
      expect((await users.getUser(base))?.role).toBe('ADMIN');
      expect((await users.getUser(base.toLowerCase()))?.role).toBe('USER');
      expect(await users.getUser(base.toUpperCase())).toBeNull();
    });

    it('round-trips every field, booleans as booleans and times past 32 bits', async () => {
      const name = freshName();
      const record = user(name, { mustChangePassword: false, createdAtMs: CREATED_MS + 1, updatedAtMs: CREATED_MS + 2 });
      await users.createUser(record);
      const stored = await users.getUser(name);
      expect(stored).toEqual(record);
      expect(stored?.mustChangePassword).toBe(false);
      expect(await users.getUser(freshName('nobody'))).toBeNull();
    });

    it('lists users ordered by name in code-unit order', async () => {
      // Under a case-insensitive or locale collation these would sort differently.
      const names = ['ls-bob', 'ls-Zed', 'ls-amy', 'ls_x', 'ls-Amos'];
      for (const name of names) await users.createUser(user(name));
      const listed = (await users.listUsers()).map((u) => u.username);
      expect(listed.filter((name) => names.includes(name))).toEqual(['ls-Amos', 'ls-Zed', 'ls-amy', 'ls-bob', 'ls_x']);
      expect(listed).toEqual([...listed].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });

    it('updateUser changes only the given fields and stamps updatedAtMs; unknown users are false', async () => {
      const name = freshName();
      const original = user(name);
      await users.createUser(original);
      expect(await users.updateUser(name, { role: 'ADMIN' }, CREATED_MS + 10)).toBe(true);
      expect(await users.getUser(name)).toEqual({ ...original, role: 'ADMIN', updatedAtMs: CREATED_MS + 10 });
      expect(await users.updateUser(name, { passwordHash: 'new-hash', mustChangePassword: false }, CREATED_MS + 20)).toBe(true);
      expect(await users.getUser(name)).toEqual({
        ...original,
        role: 'ADMIN',
        passwordHash: 'new-hash',
        mustChangePassword: false,
        updatedAtMs: CREATED_MS + 20,
      });
      expect(await users.updateUser(name, { mustChangePassword: true }, CREATED_MS + 30)).toBe(true);
      expect((await users.getUser(name))?.mustChangePassword).toBe(true);
      expect(await users.updateUser(freshName('nobody'), { role: 'ADMIN' }, CREATED_MS)).toBe(false);
    });

    it('finds a token with its revoked flag, expired or not; revokeToken is true once', async () => {
      const name = freshName();
      const [live, expired] = [freshHash(), freshHash()];
      await users.createUser(user(name));
      await users.createToken(token(live, name));
      await users.createToken({ ...token(expired, name), expiresAtMs: CREATED_MS - 1 });
      expect(await users.findToken(live)).toEqual({ ...token(live, name), revoked: false });
      expect(await users.findToken(expired)).toEqual({ ...token(expired, name), expiresAtMs: CREATED_MS - 1, revoked: false });
      expect(await users.revokeToken(live)).toBe(true);
      expect(await users.findToken(live)).toEqual({ ...token(live, name), revoked: true });
      expect(await users.revokeToken(live)).toBe(false);
      expect(await users.findToken(expired)).toMatchObject({ revoked: false });
      expect(await users.revokeToken(freshHash())).toBe(false);
      expect(await users.findToken(freshHash())).toBeNull();
    });

    it('revokeTokensOf revokes all tokens of one user and counts only the live ones', async () => {
      const [alice, bob] = [freshName('alice'), freshName('bob')];
      const aliceTokens = await userWithTokens(alice, 3);
      const [bobToken] = await userWithTokens(bob, 1);
      await users.revokeToken(aliceTokens[0] as string);
      expect(await users.revokeTokensOf(alice)).toBe(2);
      for (const hash of aliceTokens) expect(await users.findToken(hash)).toMatchObject({ revoked: true });
      expect(await users.revokeTokensOf(alice)).toBe(0);
      expect(await users.findToken(bobToken as string)).toMatchObject({ username: bob, revoked: false });
      expect(await users.revokeTokensOf(freshName('nobody'))).toBe(0);
    });

    it('deleteUser removes the user and its tokens only; a second delete is false', async () => {
      const [alice, bob] = [freshName('alice'), freshName('bob')];
      const aliceTokens = await userWithTokens(alice, 2);
      const [bobToken] = await userWithTokens(bob, 1);
      expect(await users.deleteUser(alice)).toBe(true);
      expect(await users.getUser(alice)).toBeNull();
      for (const hash of aliceTokens) expect(await users.findToken(hash)).toBeNull();
      expect(await users.revokeTokensOf(alice)).toBe(0);
      expect(await users.findToken(bobToken as string)).toMatchObject({ username: bob, revoked: false });
      expect(await users.deleteUser(alice)).toBe(false);
      // A new user of the same name does not inherit the old tokens.
      expect(await users.createUser(user(alice))).toBe(true);
      for (const hash of aliceTokens) expect(await users.findToken(hash)).toBeNull();
    });

    it('a token whose user does not exist (minted during a delete) is never found', async () => {
      const name = freshName('ghost');
      const hash = freshHash();
      await users.createToken(token(hash, name));
      expect(await users.findToken(hash)).toBeNull();
    });

    it('a second connection sees users, updates, revocations and deletes of the first, and vice versa', async () => {
      const other = (await instance.connect()).users;
      const name = freshName();
      const [hash] = await userWithTokens(name, 1);
      expect(await other.getUser(name)).toEqual(user(name));
      expect(await other.findToken(hash as string)).toMatchObject({ username: name, revoked: false });
      expect(await other.updateUser(name, { role: 'ADMIN' }, CREATED_MS + 5)).toBe(true);
      expect(await users.getUser(name)).toMatchObject({ role: 'ADMIN', updatedAtMs: CREATED_MS + 5 });
      expect(await other.revokeTokensOf(name)).toBe(1);
      expect(await users.findToken(hash as string)).toMatchObject({ revoked: true });
      expect(await users.deleteUser(name)).toBe(true);
      expect(await other.getUser(name)).toBeNull();
      expect((await other.listUsers()).some((u) => u.username === name)).toBe(false);
    });

    // Last: it removes the revoked and expired tokens other tests left behind.
    it('deleteDeadTokens forgets expired and revoked tokens, keeps live ones', async () => {
      const name = freshName('gc');
      const [live, revoked] = await userWithTokens(name, 2);
      const expired = freshHash();
      await users.createToken({ ...token(expired, name), expiresAtMs: CREATED_MS + 5 });
      expect(await users.revokeToken(revoked as string)).toBe(true);
      expect(await users.deleteDeadTokens(CREATED_MS + 5)).toBeGreaterThanOrEqual(2);
      expect(await users.findToken(revoked as string)).toBeNull();
      expect(await users.findToken(expired)).toBeNull();
      expect(await users.findToken(live as string)).toMatchObject({ username: name, revoked: false });
      expect(await users.deleteDeadTokens(CREATED_MS + 5)).toBe(0);
    });
  });
}

function user(username: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    username,
    passwordHash: `scrypt$16384$8$1$salt$${username}`,
    role: 'USER',
    mustChangePassword: true,
    createdAtMs: CREATED_MS,
    updatedAtMs: CREATED_MS,
    ...overrides,
  };
}

function token(tokenHash: string, username: string): Omit<TokenRecord, 'revoked'> {
  return { tokenHash, username, createdAtMs: CREATED_MS, expiresAtMs: EXPIRES_MS };
}
