/**
 * On-Prem's rules for usernames and passwords, and the generator of the first admin password.
 * Passwords: 8–64 characters with at least one digit, one upper-case letter, one lower-case letter
 * and one special character from On-Prem's list. Usernames: 4–32 characters; we also restrict them to
 * letters, digits and `._@-` so that they survive Basic auth (no `:`) and logs unambiguously.
 */
import { randomInt } from 'node:crypto';
import {
  generatedPasswordLength,
  passwordLengthMax,
  passwordLengthMin,
  usernameLengthMax,
  usernameLengthMin,
} from '../../core/limits.js';

/** On-Prem's special characters: !"#$%&'()*+,-./:;<=>?@[]^_`{|}~ (and backslash, as ASCII punctuation). */
const SPECIAL = /[!-/:-@[-`{-~]/;
export const USERNAME_PATTERN = `^[A-Za-z0-9._@-]{${usernameLengthMin},${usernameLengthMax}}$`;
const USERNAME = new RegExp(USERNAME_PATTERN);

export const PASSWORD_POLICY =
  `${passwordLengthMin} to ${passwordLengthMax} characters with at least one digit, one upper-case letter, ` +
  'one lower-case letter and one special character (!"#$%&\'()*+,-./:;<=>?@[]^_`{|}~)';

/** Null when the password satisfies the policy, else one sentence naming the field and the rule. */
export function passwordProblem(field: string, password: string): string | null {
  const length = [...password].length;
  const ok =
    length >= passwordLengthMin &&
    length <= passwordLengthMax &&
    /[0-9]/.test(password) &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    SPECIAL.test(password);
  return ok ? null : `${field} must be ${PASSWORD_POLICY}`;
}

export function isValidUsername(username: string): boolean {
  return USERNAME.test(username);
}

/**
 * A random password satisfying the policy, made of characters that need no quoting in a shell or a
 * URL (the CLI prints it inside a curl command): one of each required class, the rest mixed, shuffled.
 */
export function generatePassword(length = generatedPasswordLength): string {
  const lower = 'abcdefghijkmnopqrstuvwxyz';
  const upper = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  const digits = '23456789';
  const special = '-_.';
  const all = lower + upper + digits + special;
  const pick = (alphabet: string): string => alphabet[randomInt(alphabet.length)] as string;
  const chars = [pick(lower), pick(upper), pick(digits), pick(special)];
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
