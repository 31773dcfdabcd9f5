/**
 * The `admin` user, created on first start. On-Prem shipped a well-known `admin`/`secret` login that
 * had to be changed on first use; Shardgate ships no default password at all: the admin password is
 * the one the operator gives (`SHARDGATE_ADMIN_PASSWORD`) or a generated one, returned once so the
 * CLI can print it.
 */
import { ShardgateError } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Stores } from '../../ports/stores.js';
import { generatePassword, passwordProblem } from './credentials-policy.js';
import { hashPassword } from './password-hash.js';

export const ADMIN_USERNAME = 'admin';

/**
 * Creates `admin` (role ADMIN) unless it exists. Returns the password only when it created the user
 * (the given one, or the generated one); an existing admin is left untouched (its password is not
 * reset, even when one is given). A given password must satisfy the policy, or this throws a
 * ShardgateError (PARAMETER_INVALID) naming the rule.
 */
export async function ensureAdminUser(
  stores: Stores,
  clock: Clock,
  password: string | null,
): Promise<{ username: 'admin'; password: string | null; created: boolean }> {
  if ((await stores.users.getUser(ADMIN_USERNAME)) !== null) return { username: ADMIN_USERNAME, password: null, created: false };
  if (password !== null) {
    const problem = passwordProblem('the admin password', password);
    if (problem !== null) throw new ShardgateError('PARAMETER_INVALID', problem);
  }
  const chosen = password ?? generatePassword();
  const nowMs = clock.nowMs();
  const created = await stores.users.createUser({
    username: ADMIN_USERNAME,
    passwordHash: await hashPassword(chosen),
    role: 'ADMIN',
    mustChangePassword: false,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  });
  // Another process may have created it between our read and our write: then it is theirs.
  return created ? { username: ADMIN_USERNAME, password: chosen, created: true } : { username: ADMIN_USERNAME, password: null, created: false };
}
