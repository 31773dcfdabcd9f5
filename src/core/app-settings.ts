/**
 * The application settings of `/v1/settings/application`: On-Prem names and defaults, plus our
 * `db_liveness_interval` and `webhooks.secret`. Stored as one JSON object under the settings key
 * `application`; `PATCH` merges only the fields given. Validation is pure and names the offending
 * field in one sentence (the API turns it into error 1009 / 1008).
 */
import {
  callbackBackoffDelayMsDefault,
  callbackBackoffDelayMsMin,
  dbLivenessIntervalSecondsDefault,
  dbLivenessIntervalSecondsMax,
  dbLivenessIntervalSecondsMin,
  heartbeatIntervalSecondsDefault,
  heartbeatIntervalSecondsMax,
  heartbeatIntervalSecondsMin,
  maxCallbackBackoffDelayMsDefault,
  maxCallbackBackoffDelayMsMax,
  unhealthyIntervalHeartbeatsMin,
  unhealthyIntervalSecondsDefault,
  unhealthyIntervalSecondsMax,
  unhealthyIntervalSecondsMin,
  webhookConcurrentRequestsAllowed,
  webhookConcurrentRequestsDefault,
  webhookSecretLengthMax,
  webhookSecretLengthMin,
  webhookUrlLengthMax,
} from './limits.js';

/** The settings key the application settings are stored under. */
export const APPLICATION_SETTINGS_KEY = 'application';

export interface WebhookSettings {
  /** Where callbacks go; null when not configured (callbacks then wait in the queue). */
  readonly url: string | null;
  readonly max_concurrent_requests: number;
  readonly message: { readonly sent: boolean; readonly delivered: boolean; readonly read: boolean };
  /** HMAC-SHA256 key for `X-Hub-Signature-256`; null: callbacks are not signed. Never returned by GET. */
  readonly secret: string | null;
}

export interface ApplicationSettings {
  readonly callback_persist: boolean;
  readonly callback_backoff_delay_ms: number;
  readonly max_callback_backoff_delay_ms: number;
  readonly heartbeat_interval: number;
  readonly unhealthy_interval: number;
  readonly db_liveness_interval: number;
  readonly pass_through: boolean;
  readonly notify_user_change_number: boolean;
  readonly show_security_notifications: boolean;
  readonly verbose_logging: boolean;
  readonly log_level: 'error' | 'warn' | 'info' | 'debug';
  readonly media: { readonly auto_download: readonly string[] };
  readonly webhooks: WebhookSettings;
}

export const DEFAULT_APPLICATION_SETTINGS: ApplicationSettings = deepFreeze({
  callback_persist: true,
  callback_backoff_delay_ms: callbackBackoffDelayMsDefault,
  max_callback_backoff_delay_ms: maxCallbackBackoffDelayMsDefault,
  heartbeat_interval: heartbeatIntervalSecondsDefault,
  unhealthy_interval: unhealthyIntervalSecondsDefault,
  db_liveness_interval: dbLivenessIntervalSecondsDefault,
  pass_through: false,
  notify_user_change_number: true,
  show_security_notifications: true,
  verbose_logging: false,
  log_level: 'info',
  media: { auto_download: [] },
  webhooks: {
    url: null,
    max_concurrent_requests: webhookConcurrentRequestsDefault,
    message: { sent: true, delivered: true, read: true },
    secret: null,
  },
});

export class SettingsValidationError extends Error {
  readonly field: string;
  constructor(field: string, details: string) {
    super(details);
    this.name = 'SettingsValidationError';
    this.field = field;
  }
}

const MEDIA_TYPES = ['audio', 'document', 'voice', 'video', 'image', 'sticker'];
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Accepts a number or a numeric string (On-Prem sends some numbers as strings). */
function numberField(field: string, value: unknown, min: number, max: number, integer: boolean): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new SettingsValidationError(field, `${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function booleanField(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new SettingsValidationError(field, `${field} must be true or false`);
  return value;
}

function webhookUrl(value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > webhookUrlLengthMax) {
    throw new SettingsValidationError('webhooks.url', `webhooks.url must be an http(s) URL of at most ${webhookUrlLengthMax} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsValidationError('webhooks.url', 'webhooks.url is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SettingsValidationError('webhooks.url', 'webhooks.url must use https (or http)');
  }
  return value;
}

function rejectUnknown(prefix: string, patch: Json, known: readonly string[]): void {
  for (const key of Object.keys(patch)) {
    if (!known.includes(key)) throw new SettingsValidationError(`${prefix}${key}`, `${prefix}${key} is not an application setting`);
  }
}

function patchWebhooks(current: WebhookSettings, patch: unknown): WebhookSettings {
  if (!isObject(patch)) throw new SettingsValidationError('webhooks', 'webhooks must be an object');
  rejectUnknown('webhooks.', patch, ['url', 'max_concurrent_requests', 'message', 'secret']);
  let next = { ...current };
  if ('url' in patch) next = { ...next, url: webhookUrl(patch['url']) };
  if ('max_concurrent_requests' in patch) {
    const n = numberField('webhooks.max_concurrent_requests', patch['max_concurrent_requests'], 1, 1_000, true);
    if (!(webhookConcurrentRequestsAllowed as readonly number[]).includes(n)) {
      throw new SettingsValidationError('webhooks.max_concurrent_requests', `webhooks.max_concurrent_requests must be one of ${webhookConcurrentRequestsAllowed.join(', ')}`);
    }
    next = { ...next, max_concurrent_requests: n };
  }
  if ('message' in patch) {
    const m = patch['message'];
    if (!isObject(m)) throw new SettingsValidationError('webhooks.message', 'webhooks.message must be an object');
    rejectUnknown('webhooks.message.', m, ['sent', 'delivered', 'read']);
    const message = { ...next.message };
    for (const key of ['sent', 'delivered', 'read'] as const) {
      if (key in m) message[key] = booleanField(`webhooks.message.${key}`, m[key]);
    }
    next = { ...next, message };
  }
  if ('secret' in patch) next = { ...next, secret: webhookSecret(patch['secret']) };
  return next;
}

function webhookSecret(value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string' || value.length < webhookSecretLengthMin || value.length > webhookSecretLengthMax) {
    throw new SettingsValidationError('webhooks.secret', `webhooks.secret must be a string of ${webhookSecretLengthMin} to ${webhookSecretLengthMax} characters`);
  }
  return value;
}

type Patcher = (current: ApplicationSettings, value: unknown) => ApplicationSettings;

const PATCHERS: Readonly<Record<string, Patcher>> = {
  callback_persist: (c, v) => ({ ...c, callback_persist: booleanField('callback_persist', v) }),
  callback_backoff_delay_ms: (c, v) => ({ ...c, callback_backoff_delay_ms: numberField('callback_backoff_delay_ms', v, callbackBackoffDelayMsMin, maxCallbackBackoffDelayMsMax, true) }),
  max_callback_backoff_delay_ms: (c, v) => ({ ...c, max_callback_backoff_delay_ms: numberField('max_callback_backoff_delay_ms', v, callbackBackoffDelayMsMin, maxCallbackBackoffDelayMsMax, true) }),
  heartbeat_interval: (c, v) => ({ ...c, heartbeat_interval: numberField('heartbeat_interval', v, heartbeatIntervalSecondsMin, heartbeatIntervalSecondsMax, false) }),
  unhealthy_interval: (c, v) => ({ ...c, unhealthy_interval: numberField('unhealthy_interval', v, unhealthyIntervalSecondsMin, unhealthyIntervalSecondsMax, false) }),
  db_liveness_interval: (c, v) => ({ ...c, db_liveness_interval: numberField('db_liveness_interval', v, dbLivenessIntervalSecondsMin, dbLivenessIntervalSecondsMax, false) }),
  pass_through: (c, v) => ({ ...c, pass_through: booleanField('pass_through', v) }),
  notify_user_change_number: (c, v) => ({ ...c, notify_user_change_number: booleanField('notify_user_change_number', v) }),
  show_security_notifications: (c, v) => ({ ...c, show_security_notifications: booleanField('show_security_notifications', v) }),
  verbose_logging: (c, v) => ({ ...c, verbose_logging: booleanField('verbose_logging', v) }),
  log_level: (c, v) => {
    if (typeof v !== 'string' || !LOG_LEVELS.includes(v)) throw new SettingsValidationError('log_level', `log_level must be one of ${LOG_LEVELS.join(', ')}`);
    return { ...c, log_level: v as ApplicationSettings['log_level'] };
  },
  media: (c, v) => {
    const list = isObject(v) ? v['auto_download'] : undefined;
    if (!isObject(v) || !Array.isArray(list) || !list.every((t) => typeof t === 'string' && MEDIA_TYPES.includes(t))) {
      throw new SettingsValidationError('media.auto_download', `media.auto_download must be a list of ${MEDIA_TYPES.join(', ')}`);
    }
    rejectUnknown('media.', v, ['auto_download']);
    return { ...c, media: { auto_download: [...new Set(list as string[])] } };
  },
  webhooks: (c, v) => ({ ...c, webhooks: patchWebhooks(c.webhooks, v) }),
  // Deprecated On-Prem alias of webhooks.message.sent.
  sent_status: (c, v) => ({ ...c, webhooks: { ...c.webhooks, message: { ...c.webhooks.message, sent: booleanField('sent_status', v) } } }),
};

/**
 * Applies a PATCH body to the current settings: only the given fields change. Throws
 * `SettingsValidationError` naming the first bad field; checks the relations between fields last.
 */
export function applySettingsPatch(current: ApplicationSettings, patch: unknown): ApplicationSettings {
  if (!isObject(patch)) throw new SettingsValidationError('body', 'the body must be a JSON object of settings');
  let next = current;
  for (const [key, value] of Object.entries(patch)) {
    const patcher = PATCHERS[key];
    if (patcher === undefined) throw new SettingsValidationError(key, `${key} is not an application setting`);
    next = patcher(next, value);
  }
  checkRelations(next);
  return deepFreeze(next);
}

function checkRelations(s: ApplicationSettings): void {
  if (s.unhealthy_interval < unhealthyIntervalHeartbeatsMin * s.heartbeat_interval) {
    throw new SettingsValidationError('unhealthy_interval', `unhealthy_interval must be at least ${unhealthyIntervalHeartbeatsMin} × heartbeat_interval (${unhealthyIntervalHeartbeatsMin * s.heartbeat_interval} s)`);
  }
  if (s.max_callback_backoff_delay_ms < s.callback_backoff_delay_ms) {
    throw new SettingsValidationError('max_callback_backoff_delay_ms', 'max_callback_backoff_delay_ms must be at least callback_backoff_delay_ms');
  }
}

/** The stored object (possibly from an older version, possibly missing) over the defaults. */
export function settingsFromStored(stored: unknown): ApplicationSettings {
  if (!isObject(stored)) return DEFAULT_APPLICATION_SETTINGS;
  const webhooks = isObject(stored['webhooks']) ? stored['webhooks'] : {};
  const message = isObject(webhooks['message']) ? webhooks['message'] : {};
  return deepFreeze({
    ...DEFAULT_APPLICATION_SETTINGS,
    ...stored,
    webhooks: { ...DEFAULT_APPLICATION_SETTINGS.webhooks, ...webhooks, message: { ...DEFAULT_APPLICATION_SETTINGS.webhooks.message, ...message } },
  } as ApplicationSettings);
}

/** The settings as `GET /v1/settings/application` shows them: the webhook secret is never returned. */
export function publicSettings(settings: ApplicationSettings, waId: string | null): Record<string, unknown> {
  const { secret, ...webhooks } = settings.webhooks;
  return { ...settings, wa_id: waId, webhooks: { ...webhooks, secret_configured: secret !== null } };
}

/** The delay before attempt `attempts + 1` of a callback: linear steps, capped (On-Prem's rule). */
export function callbackBackoffMs(settings: ApplicationSettings, attempts: number): number {
  return Math.min(settings.callback_backoff_delay_ms * Math.max(1, attempts), settings.max_callback_backoff_delay_ms);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
