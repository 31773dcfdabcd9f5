/**
 * The request and response schemas of the REST API (TypeBox). The same objects validate requests
 * (see `typebox-validator.ts`) and generate the OpenAPI document at `/docs`, so the two cannot drift.
 * Request bodies refuse unknown fields (1009 naming the field); query strings accept them (clients
 * add things like `?retry=1`). Response schemas document; they do not filter what is sent.
 */
import { Type } from 'typebox';
import {
  callbackBackoffDelayMsMin,
  contactInputLengthMax,
  contactsPerRequestMax,
  countryCodeLengthMax,
  dbLivenessIntervalSecondsMax,
  dbLivenessIntervalSecondsMin,
  heartbeatIntervalSecondsMax,
  heartbeatIntervalSecondsMin,
  idempotencyKeyLengthMax,
  maxCallbackBackoffDelayMsMax,
  phoneNumberLengthMax,
  registrationCertLengthMax,
  registrationCodeLengthMax,
  registrationPinLengthMax,
  shardCountMax,
  textBodyLengthMax,
  unhealthyIntervalHeartbeatsMin,
  unhealthyIntervalSecondsMax,
  unhealthyIntervalSecondsMin,
  usernameLengthMax,
  webhookConcurrentRequestsAllowed,
  webhookSecretLengthMax,
  webhookUrlLengthMax,
} from '../../core/limits.js';
import { PASSWORD_POLICY, USERNAME_PATTERN } from './credentials-policy.js';

const strict = { additionalProperties: false } as const;
/** Passwords are checked against the policy by the handler (one sentence for every rule). */
const passwordLengthAccepted = 1_024;

export const Meta = Type.Object({ api_status: Type.String({ examples: ['stable'] }), version: Type.String() });

export const ErrorResponse = Type.Object({
  errors: Type.Array(Type.Object({ code: Type.Integer(), title: Type.String(), details: Type.String() })),
  meta: Meta,
});

export const MetaOnlyResponse = Type.Object({ meta: Meta });

// ---- users ----

export const LoginBody = Type.Object(
  { new_password: Type.Optional(Type.String({ maxLength: passwordLengthAccepted, description: `Sets a new password (required when a change is due). ${PASSWORD_POLICY}.` })) },
  { ...strict, description: 'Optional. Credentials go in the `Authorization: Basic` header.' },
);

export const LoginResponse = Type.Object({
  users: Type.Array(Type.Object({ token: Type.String(), expires_after: Type.String({ examples: ['2025-01-08 12:00:00+00:00'] }) })),
  meta: Meta,
});

export const CreateUserBody = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN, description: '4–32 characters: letters, digits, `._@-`' }),
    password: Type.String({ maxLength: passwordLengthAccepted, description: PASSWORD_POLICY }),
  },
  strict,
);

export const UpdateUserBody = Type.Object({ password: Type.String({ maxLength: passwordLengthAccepted, description: PASSWORD_POLICY }) }, strict);

export const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: usernameLengthMax * 2 }) });

export const UsersResponse = Type.Object({ users: Type.Array(Type.Object({ username: Type.String() })), meta: Meta });

export const UserDetailResponse = Type.Object({
  users: Type.Array(Type.Object({ username: Type.String(), ROLES: Type.Enum(['ROLE_ADMIN', 'ROLE_USER']) })),
  meta: Meta,
});

// ---- account ----

export const AccountBody = Type.Object(
  {
    cc: Type.String({ pattern: `^[0-9]{1,${countryCodeLengthMax}}$`, description: 'Country calling code, digits only', examples: ['1'] }),
    phone_number: Type.String({ pattern: `^[0-9]{1,${phoneNumberLengthMax}}$`, description: 'The number without country code, digits only', examples: ['6315550000'] }),
    method: Type.Enum(['sms', 'voice'], { description: 'How the network sends the registration code' }),
    cert: Type.Optional(Type.String({ maxLength: registrationCertLengthMax, description: 'Verified-name certificate (base64); accepted for compatibility' })),
    pin: Type.Optional(Type.String({ maxLength: registrationPinLengthMax, description: 'Two-step verification PIN; accepted for compatibility' })),
  },
  strict,
);

export const AccountResponse = Type.Object({ account: Type.Array(Type.Object({ vname: Type.Union([Type.String(), Type.Null()]) })), meta: Meta });

export const VerifyBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: registrationCodeLengthMax, description: 'The registration code the network sent' }) }, strict);

export const ShardsResponse = Type.Object({ account: Type.Object({ shards: Type.Integer() }), meta: Meta });

export const SetShardsBody = Type.Object(
  {
    cc: Type.String({ pattern: `^[0-9]{1,${countryCodeLengthMax}}$`, description: 'Country calling code of the registered number', examples: ['1'] }),
    phone_number: Type.String({ pattern: `^[0-9]{1,${phoneNumberLengthMax}}$`, description: 'The registered number without country code', examples: ['6315550000'] }),
    shards: Type.Integer({ description: 'The new shard count: 1, 2, 4, 8, 16 or 32', examples: [4] }),
    pin: Type.Optional(Type.String({ maxLength: registrationPinLengthMax, description: 'Two-step verification PIN; accepted for compatibility' })),
    cert: Type.Optional(Type.String({ maxLength: registrationCertLengthMax, description: 'Verified-name certificate (base64); accepted for compatibility' })),
  },
  strict,
);

// ---- messages ----

export const SendMessageBody = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: contactInputLengthMax, description: 'Recipient phone number or wa_id (`+`, spaces, `-`, `(`, `)` and `.` are ignored)', examples: ['16315551234'] }),
    type: Type.Optional(Type.Enum(['text'], { description: 'Only text messages are supported (default text)' })),
    recipient_type: Type.Optional(Type.Enum(['individual'], { description: 'Only individual recipients are supported' })),
    preview_url: Type.Optional(Type.Boolean({ description: 'Render a preview of the first URL in the body (top-level, as On-Prem)' })),
    text: Type.Object({ body: Type.String({ minLength: 1, maxLength: textBodyLengthMax, description: `At most ${textBodyLengthMax} characters` }) }, strict),
  },
  strict,
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: idempotencyKeyLengthMax,
      description: 'Retries with the same key (per user) return the first message id and never send twice',
    }),
  ),
});

export const SendMessageResponse = Type.Object({
  contacts: Type.Array(Type.Object({ input: Type.String(), wa_id: Type.String() })),
  messages: Type.Array(Type.Object({ id: Type.String() })),
  meta: Meta,
});

export const MessageIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const MarkReadBody = Type.Object({ status: Type.Enum(['read']) }, strict);

// ---- contacts ----

export const ContactsBody = Type.Object(
  {
    blocking: Type.Optional(Type.Enum(['wait', 'no_wait'], { description: 'Accepted for compatibility; checks always complete before the answer' })),
    contacts: Type.Array(Type.String({ maxLength: contactInputLengthMax }), { minItems: 1, maxItems: contactsPerRequestMax }),
    force_check: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const ContactsResponse = Type.Object({
  contacts: Type.Array(
    Type.Object({ input: Type.String(), status: Type.Enum(['valid', 'invalid', 'processing', 'failed']), wa_id: Type.Optional(Type.String()) }),
  ),
  meta: Meta,
});

// ---- settings ----

/** Ranges and relations are checked by `applySettingsPatch`, which names the rule broken. */
const numberLike = (description: string) =>
  Type.Union([Type.Number(), Type.String()], { description: `${description} (a number, or a numeric string as On-Prem sent)` });

export const SettingsPatchBody = Type.Object(
  {
    callback_persist: Type.Optional(Type.Boolean()),
    callback_backoff_delay_ms: Type.Optional(numberLike(`Linear backoff step for webhook retries, ms (${callbackBackoffDelayMsMin}–${maxCallbackBackoffDelayMsMax})`)),
    max_callback_backoff_delay_ms: Type.Optional(numberLike(`Cap of the webhook retry delay, ms (at least callback_backoff_delay_ms, at most ${maxCallbackBackoffDelayMsMax})`)),
    heartbeat_interval: Type.Optional(numberLike(`Seconds between master heartbeats (${heartbeatIntervalSecondsMin}–${heartbeatIntervalSecondsMax})`)),
    unhealthy_interval: Type.Optional(numberLike(`Seconds without heartbeat before failover (${unhealthyIntervalSecondsMin}–${unhealthyIntervalSecondsMax}, at least ${unhealthyIntervalHeartbeatsMin} heartbeats)`)),
    db_liveness_interval: Type.Optional(numberLike(`Seconds between node liveness updates, ours (${dbLivenessIntervalSecondsMin}–${dbLivenessIntervalSecondsMax})`)),
    pass_through: Type.Optional(Type.Boolean()),
    notify_user_change_number: Type.Optional(Type.Boolean()),
    show_security_notifications: Type.Optional(Type.Boolean()),
    verbose_logging: Type.Optional(Type.Boolean()),
    log_level: Type.Optional(Type.Enum(['error', 'warn', 'info', 'debug'])),
    media: Type.Optional(Type.Object({ auto_download: Type.Array(Type.Enum(['audio', 'document', 'voice', 'video', 'image', 'sticker'])) }, strict)),
    webhooks: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Type.Union([Type.String({ maxLength: webhookUrlLengthMax }), Type.Null()], { description: 'https (or http) URL; null or "" to clear' })),
          max_concurrent_requests: Type.Optional(numberLike(`Webhook requests in flight: ${webhookConcurrentRequestsAllowed.join(', ')}`)),
          message: Type.Optional(Type.Object({ sent: Type.Optional(Type.Boolean()), delivered: Type.Optional(Type.Boolean()), read: Type.Optional(Type.Boolean()) }, strict)),
          secret: Type.Optional(
            Type.Union([Type.String({ maxLength: webhookSecretLengthMax }), Type.Null()], {
              description: 'Ours: HMAC-SHA256 key for X-Hub-Signature-256; write-only (GET shows secret_configured)',
            }),
          ),
        },
        strict,
      ),
    ),
    sent_status: Type.Optional(Type.Boolean({ description: 'Deprecated On-Prem alias of webhooks.message.sent' })),
  },
  strict,
);

export const SettingsResponse = Type.Object({
  settings: Type.Object({ application: Type.Object({}, { additionalProperties: true }) }),
  meta: Meta,
});

// ---- monitoring ----

export const FormatQuery = Type.Object({ format: Type.Optional(Type.Enum(['json', 'prometheus'])) });

const GatewayStatusEnum = Type.Enum(['connected', 'connecting', 'disconnected', 'uninitialized', 'unregistered']);

/** Single instance: `{gateway_status}`; cluster: keyed by node id, each `{gateway_status, role}`. */
export const HealthResponse = Type.Object({
  health: Type.Union([
    Type.Object({ gateway_status: GatewayStatusEnum }),
    Type.Record(Type.String(), Type.Object({ gateway_status: GatewayStatusEnum, role: Type.Enum(['primary_master', 'secondary_master', 'coreapp']) })),
  ]),
  meta: Meta,
});

export const SupportResponse = Type.Object({ support: Type.Object({}, { additionalProperties: true }), meta: Meta });

export const StatsResponse = Type.Object({ stats: Type.Object({}, { additionalProperties: true }), meta: Meta });

export const MetricsResponse = Type.Object({ metrics: Type.Object({}, { additionalProperties: true }), meta: Meta });

export const ShardParams = Type.Object({ shard: Type.Integer({ minimum: 0, maximum: shardCountMax - 1, description: 'The shard number (0 … shards − 1)' }) }, strict);

export const HandoverResponse = Type.Object({
  handover: Type.Object({
    shard: Type.Integer(),
    generation: Type.Integer(),
    from: Type.String({ description: 'The coreapp that owned the shard and handed it over' }),
    to: Type.Union([Type.String(), Type.Null()], { description: 'The coreapp the master promoted, if it did within the wait' }),
    released: Type.Boolean({ description: 'Whether the owner released the shard-map row (under its epoch)' }),
    ms: Type.Integer({ description: 'How long the handover took at the owner' }),
  }),
  meta: Meta,
});

