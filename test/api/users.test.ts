import { afterEach, describe, expect, it } from 'vitest';
import { apiTokenTtlMsDefault, loginFailureWindowMs, loginFailuresMax } from '../../src/core/limits.js';
import { ensureAdminUser } from '../../src/roles/webapp/admin-user.js';
import { formatExpiresAfter, hashToken } from '../../src/roles/webapp/api-tokens.js';
import { generatePassword, passwordProblem } from '../../src/roles/webapp/credentials-policy.js';
import { HashGate, hashPassword, verifyPassword } from '../../src/roles/webapp/password-hash.js';
import { ADMIN_PASSWORD, basic, CHEAP_SCRYPT, onPremError, startApi, USER_PASSWORD, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
afterEach(async () => h?.close());

describe('POST /v1/users/login', () => {
  it('returns a bearer token with On-Prem expires_after, stored only as a hash', async () => {
    h = await startApi();
    const response = await h.login('admin', ADMIN_PASSWORD);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.meta).toEqual({ api_status: 'stable', version: '0.0.0-test' });
    const [{ token, expires_after }] = body.users;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expires_after).toBe(formatExpiresAfter(h.clock.nowMs() + apiTokenTtlMsDefault));
    expect(expires_after).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
    expect(await h.stores.users.findToken(hashToken(token))).toMatchObject({ username: 'admin', revoked: false });
    expect(await h.stores.users.findToken(token)).toBeNull();
  });

  it('refuses missing, malformed and wrong credentials with 401 / 1005', async () => {
    h = await startApi();
    const missing = await h.request({ method: 'POST', url: '/v1/users/login' });
    expect(missing.statusCode).toBe(401);
    expect(onPremError(missing)).toMatchObject({ code: 1005, title: 'Access denied' });
    expect(onPremError(missing).details).toMatch(/Basic/);
    const malformed = await h.request({ method: 'POST', url: '/v1/users/login', headers: { authorization: 'Basic %%%' } });
    expect(malformed.statusCode).toBe(401);
    for (const [user, password] of [['admin', 'Wrong-pass1'], ['nobody', ADMIN_PASSWORD], ['x', 'y']] as const) {
      const response = await h.login(user, password);
      expect(response.statusCode).toBe(401);
      expect(onPremError(response)).toEqual({ code: 1005, title: 'Access denied', details: 'wrong username or password' });
    }
  });

  it(`slows failed logins per (user, address): ${loginFailuresMax} failures, then 429 / 1015 with Retry-After until the window ends`, async () => {
    h = await startApi();
    for (let i = 0; i < loginFailuresMax; i++) expect((await h.login('admin', 'Wrong-pass1')).statusCode).toBe(401);
    const throttled = await h.login('admin', ADMIN_PASSWORD);
    expect(throttled.statusCode).toBe(429);
    expect(onPremError(throttled).code).toBe(1015);
    expect(throttled.headers['retry-after']).toBe(String(loginFailureWindowMs / 1_000));
    // Another address is not affected.
    const elsewhere = await h.app.inject({ method: 'POST', url: '/v1/users/login', remoteAddress: '10.0.0.9', headers: { authorization: basic('admin', ADMIN_PASSWORD) } });
    expect(elsewhere.statusCode).toBe(200);
    h.clock.advance(loginFailureWindowMs - 10_000);
    expect((await h.login('admin', ADMIN_PASSWORD)).headers['retry-after']).toBe('10');
    h.clock.advance(10_000);
    expect((await h.login('admin', ADMIN_PASSWORD)).statusCode).toBe(200);
  });

  it('a success resets the failure count', async () => {
    h = await startApi();
    for (let i = 0; i < loginFailuresMax - 1; i++) await h.login('admin', 'Wrong-pass1');
    expect((await h.login('admin', ADMIN_PASSWORD)).statusCode).toBe(200);
    for (let i = 0; i < loginFailuresMax - 1; i++) await h.login('admin', 'Wrong-pass1');
    expect((await h.login('admin', ADMIN_PASSWORD)).statusCode).toBe(200);
  });

  it('requires new_password when a change is due (1024), checks the policy, then only the new one works', async () => {
    h = await startApi();
    await h.createUser('alice', USER_PASSWORD, 'USER', true);
    const due = await h.login('alice', USER_PASSWORD);
    expect(due.statusCode).toBe(401);
    expect(onPremError(due).code).toBe(1024);
    const weak = await h.login('alice', USER_PASSWORD, { new_password: 'weakpass' });
    expect(weak.statusCode).toBe(400);
    expect(onPremError(weak)).toMatchObject({ code: 1009 });
    expect(onPremError(weak).details).toMatch(/^new_password must be 8 to 64 characters/);
    const changed = await h.login('alice', USER_PASSWORD, { new_password: 'Brand-new1' });
    expect(changed.statusCode).toBe(200);
    expect((await h.login('alice', USER_PASSWORD)).statusCode).toBe(401);
    expect((await h.login('alice', 'Brand-new1')).statusCode).toBe(200);
  });

  it('refuses unknown body fields and non-string new_password', async () => {
    h = await startApi();
    const unknown = await h.login('admin', ADMIN_PASSWORD, { password: 'x' });
    expect(onPremError(unknown)).toMatchObject({ code: 1009, details: 'password is not a known parameter' });
    const wrongType = await h.login('admin', ADMIN_PASSWORD, { new_password: 5 });
    expect(onPremError(wrongType)).toMatchObject({ code: 1009, details: 'new_password must be a string' });
  });
});

describe('bearer tokens', () => {
  it('names the reason: missing, not Bearer, malformed, unknown, revoked, expired', async () => {
    h = await startApi({ options: { tokenTtlMs: 3_600_000 } });
    const token = await h.tokenFor('admin');
    const health = (authorization?: string) => h.request({ method: 'GET', url: '/v1/health', headers: authorization === undefined ? {} : { authorization } });
    const cases: [string | undefined, RegExp][] = [
      [undefined, /missing Authorization header/],
      [`Basic ${token}`, /must be "Bearer <token>"/],
      ['Bearer abc', /malformed/],
      [`Bearer ${'A'.repeat(43)}`, /unknown/],
    ];
    for (const [authorization, details] of cases) {
      const response = await health(authorization);
      expect(response.statusCode).toBe(401);
      expect(onPremError(response).code).toBe(1005);
      expect(onPremError(response).details).toMatch(details);
    }
    expect((await health(`bearer ${token}`)).statusCode).toBe(200);
    h.clock.advance(3_600_000);
    const expired = await health(`Bearer ${token}`);
    expect(expired.statusCode).toBe(401);
    expect(onPremError(expired).details).toMatch(/expired/);
  });

  it('logout revokes exactly the token used', async () => {
    h = await startApi();
    const first = await h.tokenFor('admin');
    const second = await h.tokenFor('admin');
    const out = await h.request({ method: 'POST', url: '/v1/users/logout', token: first });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ meta: { api_status: 'stable', version: '0.0.0-test' } });
    const after = await h.request({ method: 'GET', url: '/v1/health', token: first });
    expect(after.statusCode).toBe(401);
    expect(onPremError(after).details).toMatch(/revoked/);
    expect((await h.request({ method: 'GET', url: '/v1/health', token: second })).statusCode).toBe(200);
  });
});

describe('POST /v1/users', () => {
  it('lets the admin create a user who can then log in (201 {users:[{username}]})', async () => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const created = await h.request({ method: 'POST', url: '/v1/users', token: admin, payload: { username: 'bob.smith', password: 'Bob-pass1' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().users).toEqual([{ username: 'bob.smith' }]);
    expect((await h.login('bob.smith', 'Bob-pass1')).statusCode).toBe(200);
    expect(await h.stores.users.getUser('bob.smith')).toMatchObject({ role: 'USER', mustChangePassword: false });
  });

  it('answers On-Prem 1014 "Unable to create user. Already exist?" for an existing user (HTTP 409)', async () => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const again = await h.request({ method: 'POST', url: '/v1/users', token: admin, payload: { username: 'admin', password: 'Other-pass1' } });
    expect(again.statusCode).toBe(409);
    expect(onPremError(again)).toEqual({ code: 1014, title: 'Internal error', details: 'Unable to create user. Already exist?' });
  });

  it('is for the admin only (403 / 1005)', async () => {
    h = await startApi();
    await h.createUser('alice');
    const alice = await h.tokenFor('alice');
    const response = await h.request({ method: 'POST', url: '/v1/users', token: alice, payload: { username: 'carol', password: 'Carol-pass1' } });
    expect(response.statusCode).toBe(403);
    expect(onPremError(response)).toMatchObject({ code: 1005, title: 'Access denied' });
    expect(await h.stores.users.getUser('carol')).toBeNull();
  });

  it.each([
    [{ username: 'abc', password: 'Good-pass1' }, 1009, /^username must be 4 to 32 characters/],
    [{ username: 'x'.repeat(33), password: 'Good-pass1' }, 1009, /^username must be 4 to 32/],
    [{ username: 'has:colon', password: 'Good-pass1' }, 1009, /^username must be/],
    [{ username: 'carol', password: 'Sh-rt1' }, 1009, /^password must be 8 to 64/],
    [{ username: 'carol', password: `Long-pass1${'x'.repeat(60)}` }, 1009, /^password must be 8 to 64/],
    [{ username: 'carol', password: 'no-upper-1' }, 1009, /^password must be/],
    [{ username: 'carol', password: 'NO-LOWER-1' }, 1009, /^password must be/],
    [{ username: 'carol', password: 'No-digits-here' }, 1009, /^password must be/],
    [{ username: 'carol', password: 'NoSpecial12' }, 1009, /^password must be/],
    [{ username: 'carol' }, 1008, /^password is required$/],
    [{ password: 'Good-pass1' }, 1008, /^username is required$/],
    [{ username: 'carol', password: 'Good-pass1', role: 'ADMIN' }, 1009, /^role is not a known parameter$/],
    [{ username: 7, password: 'Good-pass1' }, 1009, /^username must be a string$/],
  ])('validates %j → %i', async (payload, code, details) => {
    h = await startApi();
    const admin = await h.tokenFor('admin');
    const response = await h.request({ method: 'POST', url: '/v1/users', token: admin, payload });
    expect(response.statusCode).toBe(400);
    expect(onPremError(response).code).toBe(code);
    expect(onPremError(response).details).toMatch(details);
  });
});

describe('GET|PUT|DELETE /v1/users/{username}', () => {
  async function withAlice(): Promise<{ admin: string; alice: string }> {
    h = await startApi();
    await h.createUser('alice');
    await h.createUser('bobby');
    return { admin: await h.tokenFor('admin'), alice: await h.tokenFor('alice') };
  }

  it('GET: the admin reads anyone, a user only itself, unknown users are 404 / 1006', async () => {
    const { admin, alice } = await withAlice();
    const byAdmin = await h.request({ method: 'GET', url: '/v1/users/alice', token: admin });
    expect(byAdmin.json().users).toEqual([{ username: 'alice', ROLES: 'ROLE_USER' }]);
    expect((await h.request({ method: 'GET', url: '/v1/users/alice', token: alice })).statusCode).toBe(200);
    const other = await h.request({ method: 'GET', url: '/v1/users/bobby', token: alice });
    expect(other.statusCode).toBe(403);
    expect(onPremError(other).code).toBe(1005);
    const unknown = await h.request({ method: 'GET', url: '/v1/users/nobody', token: admin });
    expect(unknown.statusCode).toBe(404);
    expect(onPremError(unknown)).toMatchObject({ code: 1006, title: 'Resource not found', details: 'no user "nobody"' });
  });

  it('PUT: a password change revokes every token of that user', async () => {
    const { admin, alice } = await withAlice();
    const second = await h.tokenFor('alice');
    const changed = await h.request({ method: 'PUT', url: '/v1/users/alice', token: alice, payload: { password: 'Changed-pass2' } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().users).toEqual([{ username: 'alice' }]);
    for (const token of [alice, second]) expect((await h.request({ method: 'GET', url: '/v1/health', token })).statusCode).toBe(401);
    expect((await h.login('alice', USER_PASSWORD)).statusCode).toBe(401);
    expect((await h.login('alice', 'Changed-pass2')).statusCode).toBe(200);
    // The admin's own token is untouched; the admin may change others.
    expect((await h.request({ method: 'PUT', url: '/v1/users/bobby', token: admin, payload: { password: 'Bobby-pass3' } })).statusCode).toBe(200);
    expect((await h.login('bobby', 'Bobby-pass3')).statusCode).toBe(200);
  });

  it('PUT: policy, other users and unknown users', async () => {
    const { admin, alice } = await withAlice();
    const weak = await h.request({ method: 'PUT', url: '/v1/users/alice', token: alice, payload: { password: 'weak' } });
    expect(onPremError(weak).code).toBe(1009);
    expect((await h.request({ method: 'PUT', url: '/v1/users/bobby', token: alice, payload: { password: 'Bobby-pass3' } })).statusCode).toBe(403);
    expect((await h.request({ method: 'PUT', url: '/v1/users/nobody', token: admin, payload: { password: 'Bobby-pass3' } })).statusCode).toBe(404);
    expect(onPremError(await h.request({ method: 'PUT', url: '/v1/users/alice', token: alice, payload: {} })).code).toBe(1008);
  });

  it('DELETE: admin only, never the admin itself; the user and its tokens are gone', async () => {
    const { admin, alice } = await withAlice();
    expect((await h.request({ method: 'DELETE', url: '/v1/users/bobby', token: alice })).statusCode).toBe(403);
    const self = await h.request({ method: 'DELETE', url: '/v1/users/admin', token: admin });
    expect(self.statusCode).toBe(403);
    expect(onPremError(self).details).toBe('the admin user cannot be deleted');
    const deleted = await h.request({ method: 'DELETE', url: '/v1/users/alice', token: admin });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().users).toEqual([{ username: 'alice' }]);
    expect((await h.request({ method: 'GET', url: '/v1/health', token: alice })).statusCode).toBe(401);
    expect((await h.request({ method: 'DELETE', url: '/v1/users/alice', token: admin })).statusCode).toBe(404);
  });
});

describe('ensureAdminUser', () => {
  it('creates admin once with a generated password satisfying the policy, shown once', async () => {
    h = await startApi();
    await h.stores.users.deleteUser('admin');
    const first = await ensureAdminUser(h.stores, h.clock, null);
    expect(first).toMatchObject({ username: 'admin', created: true });
    expect(first.password).not.toBeNull();
    expect(passwordProblem('p', first.password as string)).toBeNull();
    expect(await h.stores.users.getUser('admin')).toMatchObject({ role: 'ADMIN', mustChangePassword: false });
    expect((await h.login('admin', first.password as string)).statusCode).toBe(200);
    expect(await ensureAdminUser(h.stores, h.clock, 'Another-pass1')).toEqual({ username: 'admin', password: null, created: false });
  });

  it('uses the given password, and refuses one that breaks the policy', async () => {
    h = await startApi();
    await h.stores.users.deleteUser('admin');
    await expect(ensureAdminUser(h.stores, h.clock, 'secret')).rejects.toThrow(/the admin password must be 8 to 64/);
    expect(await ensureAdminUser(h.stores, h.clock, 'Given-pass9')).toEqual({ username: 'admin', password: 'Given-pass9', created: true });
    expect((await h.login('admin', 'Given-pass9')).statusCode).toBe(200);
  });
});

describe('password hashing', () => {
  it('stores scrypt parameters and salt in the hash; verifies in constant time; refuses malformed hashes', async () => {
    const hash = await hashPassword('Some-pass1');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await hashPassword('Some-pass1')).not.toBe(hash);
    expect(await verifyPassword('Some-pass1', hash)).toBe(true);
    expect(await verifyPassword('Some-pass2', hash)).toBe(false);
    const cheap = await hashPassword('Some-pass1', CHEAP_SCRYPT);
    expect(await verifyPassword('Some-pass1', cheap)).toBe(true);
    for (const bad of ['', 'plain', 'scrypt$3$8$1$c2FsdA$a2V5', 'scrypt$1073741824$8$1$c2FsdA$a2V5', 'bcrypt$1$2$3$4$5']) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });

  it('HashGate bounds concurrent and waiting work', async () => {
    const gate = new HashGate(1, 1);
    let release: () => void = () => {};
    const blocker = new Promise<void>((resolve) => (release = resolve));
    const running = gate.run(() => blocker);
    const waiting = gate.run(async () => 'second');
    expect(await gate.run(async () => 'third')).toBeNull();
    release();
    expect(await running).toEqual({ value: undefined });
    expect(await waiting).toEqual({ value: 'second' });
    expect(await gate.run(async () => 'fourth')).toEqual({ value: 'fourth' });
  });

  it('generated passwords satisfy the policy and need no shell quoting', () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword();
      expect(passwordProblem('p', password)).toBeNull();
      expect(password).toMatch(/^[A-Za-z0-9._-]{20}$/);
    }
  });
});

describe('verified tokens are remembered briefly, but never past a revocation on this webapp', () => {
  it('a password change or a delete ends the user’s sessions at once, cached or not', async () => {
    h = await startApi();
    await h.createUser('carol');
    await h.createUser('dave');
    const admin = await h.tokenFor('admin');
    const carol = await h.tokenFor('carol');
    const dave = await h.tokenFor('dave');
    const health = (token: string) => h.request({ method: 'GET', url: '/v1/health', token });
    // Both tokens are verified (and now remembered).
    expect((await health(carol)).statusCode).toBe(200);
    expect((await health(dave)).statusCode).toBe(200);
    const changed = await h.request({ method: 'PUT', url: '/v1/users/carol', token: admin, payload: { password: 'Carol-new-pass2' } });
    expect(changed.statusCode).toBe(200);
    expect((await health(carol)).statusCode).toBe(401);
    expect((await h.request({ method: 'DELETE', url: '/v1/users/dave', token: admin })).statusCode).toBe(200);
    expect((await health(dave)).statusCode).toBe(401);
    await h.close();
  });
});
