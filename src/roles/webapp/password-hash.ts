/**
 * Password hashing with scrypt (node:crypto). A hash carries its own parameters, so the work factor
 * can be raised later without invalidating stored hashes:
 *
 *     scrypt$<N>$<r>$<p>$<salt base64url>$<key base64url>
 *
 * Verification compares in constant time and refuses parameters beyond `limits.ts` (a corrupted or
 * hostile hash must not make the process allocate gigabytes). Hashing runs on the libuv pool; the
 * number of hashes computed or waiting at once is bounded by a `HashGate` (see below).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import {
  passwordHashConcurrentMax,
  passwordHashWaitingMax,
  passwordScryptBlockSize,
  passwordScryptBlockSizeMax,
  passwordScryptCost,
  passwordScryptCostMax,
  passwordScryptParallelization,
  passwordScryptParallelizationMax,
} from '../../core/limits.js';

const KEY_BYTES = 32;
const SALT_BYTES = 16;

export interface ScryptParams {
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({
  cost: passwordScryptCost,
  blockSize: passwordScryptBlockSize,
  parallelization: passwordScryptParallelization,
});

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.cost,
    r: params.blockSize,
    p: params.parallelization,
    // scrypt needs 128 * N * r bytes; leave headroom so node's default 32 MiB cap never bites.
    maxmem: 256 * params.cost * params.blockSize + 1_048_576,
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

/** Hashes a password with a fresh random salt. `params` exists for tests and future upgrades. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return ['scrypt', params.cost, params.blockSize, params.parallelization, salt.toString('base64url'), key.toString('base64url')].join('$');
}

function parseHash(hash: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [cost, blockSize, parallelization] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const powerOfTwo = Number.isInteger(cost) && cost > 1 && (cost & (cost - 1)) === 0;
  if (!powerOfTwo || cost > passwordScryptCostMax) return null;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > passwordScryptBlockSizeMax) return null;
  if (!Number.isInteger(parallelization) || parallelization < 1 || parallelization > passwordScryptParallelizationMax) return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || key.length === 0) return null;
  return { params: { cost, blockSize, parallelization }, salt, key };
}

/** True when `password` matches `hash`. A malformed hash never matches (and costs no scrypt). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (parsed === null) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the same work as a real verification and returns false: used for unknown users so that
 * response time does not tell which usernames exist.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword('shardgate-dummy-password');
  await verifyPassword(password, await dummyHash);
  return false;
}

/**
 * Bounds password hashing: at most `concurrent` computations run, at most `waitingMax` wait; beyond
 * that `run` returns null at once (the caller answers 429) instead of queueing without limit.
 */
export class HashGate {
  readonly #concurrent: number;
  readonly #waitingMax: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(concurrent = passwordHashConcurrentMax, waitingMax = passwordHashWaitingMax) {
    this.#concurrent = concurrent;
    this.#waitingMax = waitingMax;
  }

  async run<T>(work: () => Promise<T>): Promise<{ readonly value: T } | null> {
    if (this.#running >= this.#concurrent) {
      if (this.#waiting.length >= this.#waitingMax) return null;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return { value: await work() };
    } finally {
      // Hand the slot directly to the next waiter (it is not counted twice), or free it.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
