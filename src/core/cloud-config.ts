/**
 * The WhatsApp Cloud API settings (docs/cloud-api.md), from the environment. Pure: the caller passes
 * the environment and a file reader. Each secret comes from `NAME` or from the file named by
 * `NAME_FILE` (not both); error messages name the setting and never print a secret's value.
 */
import { ConfigError } from './config.js';
import { cloudRatePerSecondDefault, cloudRatePerSecondMax } from './limits.js';

export interface CloudConfig {
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** The file the access token was read from (re-read when the API says the token expired), or null. */
  readonly accessTokenFile: string | null;
  readonly appSecret: string;
  readonly verifyToken: string;
  /** e.g. `v21.0`. */
  readonly apiVersion: string;
  /** `https://graph.facebook.com` unless overridden (tests point it at a fake). No trailing slash. */
  readonly baseUrl: string;
  /** Messages per second for the business number, shared by every shard (each takes rate / shards). */
  readonly ratePerSecond: number;
}

export const CLOUD_ENV = Object.freeze({
  phoneNumberId: 'SHARDGATE_CLOUD_PHONE_NUMBER_ID',
  accessToken: 'SHARDGATE_CLOUD_ACCESS_TOKEN',
  appSecret: 'SHARDGATE_CLOUD_APP_SECRET',
  verifyToken: 'SHARDGATE_CLOUD_VERIFY_TOKEN',
  apiVersion: 'SHARDGATE_CLOUD_API_VERSION',
  baseUrl: 'SHARDGATE_CLOUD_BASE_URL',
  ratePerSecond: 'SHARDGATE_CLOUD_RATE_PER_SECOND',
});

export const CLOUD_API_VERSION_DEFAULT = 'v21.0';
export const CLOUD_BASE_URL_DEFAULT = 'https://graph.facebook.com';

type Env = Readonly<Record<string, string | undefined>>;

/** Builds the Cloud settings or throws `ConfigError` for the first missing or bad one. */
export function parseCloudConfig(env: Env, readFile: (path: string) => string): CloudConfig {
  const phoneNumberId = required(env, CLOUD_ENV.phoneNumberId, 'the numeric phone number ID of the business number (WhatsApp Manager → API Setup)');
  if (!/^[0-9]{1,32}$/.test(phoneNumberId)) throw new ConfigError(CLOUD_ENV.phoneNumberId, `invalid ${CLOUD_ENV.phoneNumberId}=${phoneNumberId}: allowed: digits only`);
  const token = secret(env, CLOUD_ENV.accessToken, readFile);
  const apiVersion = env[CLOUD_ENV.apiVersion]?.trim() || CLOUD_API_VERSION_DEFAULT;
  if (!/^v[0-9]{1,3}\.[0-9]{1,3}$/.test(apiVersion)) throw new ConfigError(CLOUD_ENV.apiVersion, `invalid ${CLOUD_ENV.apiVersion}=${apiVersion}: allowed: a Graph API version such as ${CLOUD_API_VERSION_DEFAULT}`);
  const baseUrl = (env[CLOUD_ENV.baseUrl]?.trim() || CLOUD_BASE_URL_DEFAULT).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(baseUrl)) throw new ConfigError(CLOUD_ENV.baseUrl, `invalid ${CLOUD_ENV.baseUrl}=${baseUrl}: allowed: an http(s) URL such as ${CLOUD_BASE_URL_DEFAULT}`);
  return Object.freeze({
    phoneNumberId,
    accessToken: token.value,
    accessTokenFile: token.file,
    appSecret: secret(env, CLOUD_ENV.appSecret, readFile).value,
    verifyToken: secret(env, CLOUD_ENV.verifyToken, readFile).value,
    apiVersion,
    baseUrl,
    ratePerSecond: rate(env[CLOUD_ENV.ratePerSecond]),
  });
}

function required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigError(name, `missing ${name} for --upstream cloud: allowed: ${what}`);
  return value;
}

/** `NAME` or the content of the file `NAME_FILE` (trimmed), never both, never empty. */
function secret(env: Env, name: string, readFile: (path: string) => string): { value: string; file: string | null } {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(name, `invalid ${name} and ${name}_FILE: allowed: one of them, not both`);
  }
  if (file !== undefined && file !== '') {
    let value: string;
    try {
      value = readFile(file).trim();
    } catch (error) {
      throw new ConfigError(`${name}_FILE`, `invalid ${name}_FILE=${file}: ${(error as { code?: string }).code ?? 'unreadable'} (allowed: a readable file holding the secret)`);
    }
    if (value === '') throw new ConfigError(`${name}_FILE`, `invalid ${name}_FILE=${file}: the file is empty (allowed: a file holding the secret)`);
    return { value, file };
  }
  if (direct === undefined || direct.trim() === '') throw new ConfigError(name, `missing ${name} (or ${name}_FILE) for --upstream cloud: allowed: the secret from the Meta app`);
  return { value: direct.trim(), file: null };
}

function rate(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return cloudRatePerSecondDefault;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || n < 1 || n > cloudRatePerSecondMax) {
    throw new ConfigError(CLOUD_ENV.ratePerSecond, `invalid ${CLOUD_ENV.ratePerSecond}=${value}: allowed: an integer from 1 to ${cloudRatePerSecondMax} (Cloud's default tier is ${cloudRatePerSecondDefault})`);
  }
  return n;
}
