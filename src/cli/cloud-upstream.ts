/**
 * The composition of `--upstream cloud` for every command: the Cloud settings read from the
 * environment (secrets also from files), the Cloud account record the coreapps serve, and the
 * adapters. Secrets live only in the returned objects: nothing here logs them, and configuration
 * errors name the setting, never its value.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CloudUpstreamAccounts } from '../adapters/upstream/cloud-upstream-accounts.js';
import { CloudUpstreamClient } from '../adapters/upstream/cloud-upstream-client.js';
import { ACCOUNT_SETTINGS_KEY, accountFromStored } from '../core/account.js';
import { parseCloudConfig, type CloudConfig } from '../core/cloud-config.js';
import type { ShardCount } from '../core/limits.js';
import type { Stores } from '../ports/stores.js';

/** Reads the Cloud settings from `env` (files named by `*_FILE` are read here). */
export function cloudConfigFrom(env: NodeJS.ProcessEnv = process.env): CloudConfig {
  return parseCloudConfig(env, (path) => readFileSync(path, 'utf8'));
}

export function cloudUpstreamClient(config: CloudConfig, stores: Stores, logger: Logger): CloudUpstreamClient {
  const file = config.accessTokenFile;
  return new CloudUpstreamClient({
    config,
    store: stores.cloud,
    logger: logger.child({ component: 'cloud-api' }),
    ...(file === null ? {} : { reloadToken: () => readFileSync(file, 'utf8').trim() }),
  });
}

export function cloudUpstreamAccounts(): CloudUpstreamAccounts {
  return new CloudUpstreamAccounts();
}

/**
 * How the Cloud number appears in the account record and in `POST /v1/account/shards`: country code
 * `0` (no real country has it) and the phone number ID as `phone_number`. The Cloud API names the
 * number by its ID; its display number is not needed to send.
 */
export const CLOUD_ACCOUNT_CC = '0';

/**
 * Stores the Cloud number as the registered account (wa_id = the phone number ID) unless an account
 * is already registered, so coreapps start serving without `/v1/account`. Returns false when another
 * account was found and left alone.
 */
export async function registerCloudAccount(stores: Stores, config: CloudConfig, nowMs: number, shards: ShardCount = 1): Promise<boolean> {
  const existing = accountFromStored(await stores.settings.get(ACCOUNT_SETTINGS_KEY));
  if (existing?.state === 'registered') return existing.wa_id === config.phoneNumberId;
  await stores.settings.set(
    {
      [ACCOUNT_SETTINGS_KEY]: {
        state: 'registered',
        wa_id: config.phoneNumberId,
        cc: CLOUD_ACCOUNT_CC,
        phone_number: config.phoneNumberId,
        credentials: 'cloud',
        shards,
        registered_at_ms: nowMs,
      },
    },
    nowMs,
  );
  return true;
}
