/**
 * What the webapp (the public REST API) receives from its composition root. The webapp never reads
 * the process environment, the wall clock or the network on its own: everything comes in here, so
 * `buildWebapp` can be driven by `inject()` with memory stores, a manual clock and fake upstreams.
 */
import type { Logger } from 'pino';
import {
  apiBodyBytesDefault,
  apiBodyBytesMax,
  apiBodyBytesMin,
  apiTokenTtlMsDefault,
  apiTokenTtlMsMax,
  apiTokenTtlMsMin,
  pendingMessagesMaxDefault,
  pendingMessagesMaxMax,
  requestsPerSecondPerUserMax,
} from '../../core/limits.js';
import type { Clock } from '../../ports/clock.js';
import type { ShardDispatch } from '../../ports/shard-dispatch.js';
import type { Stores } from '../../ports/stores.js';
import type { UpstreamAccounts } from '../../ports/upstream-client.js';

export type GatewayStatus = 'connected' | 'connecting' | 'disconnected' | 'uninitialized' | 'unregistered';
export type ClusterHealthRole = 'primary_master' | 'secondary_master' | 'coreapp';

export interface HandoverResult {
  readonly shard: number;
  readonly generation: number;
  readonly from: string;
  readonly to: string | null;
  readonly released: boolean;
  readonly ms: number;
}

export interface WebappOptions {
  /** Accepted-but-unsent messages at which new sends get 503 / 1016 with `Retry-After`. */
  readonly pendingMessagesMax: number;
  /** Lifetime of a bearer token issued by `POST /v1/users/login` (default 7 days). */
  readonly tokenTtlMs: number;
  /** Requests per second per user beyond which requests get 429 / 1015; null (the default): no limit. */
  readonly requestsPerSecondPerUser: number | null;
  /** Largest request body; larger bodies get 413. */
  readonly bodyLimitBytes: number;
  /** Serve HTTPS with this PEM key and certificate (as the On-Prem webapp did); null: plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer } | null;
}

export const DEFAULT_WEBAPP_OPTIONS: WebappOptions = Object.freeze({
  pendingMessagesMax: pendingMessagesMaxDefault,
  tokenTtlMs: apiTokenTtlMsDefault,
  requestsPerSecondPerUser: null,
  bodyLimitBytes: apiBodyBytesDefault,
});

export interface WebappDeps {
  readonly stores: Stores;
  readonly clock: Clock;
  /** This node's id (`<hostname>:<12 hex>`), the key of `/v1/stats/db` and the `node` metric label. */
  readonly nodeId: string;
  /** The version reported in every `meta` envelope and in the OpenAPI document. */
  readonly version: string;
  /** Told which shard has a new message, after the message is durable. A hint, never the only path. */
  readonly dispatch: ShardDispatch;
  /** Registration and contact checks at the network. */
  readonly upstream: UpstreamAccounts;
  /** The single-instance `gateway_status` of `GET /v1/health`. */
  gatewayStatus(): GatewayStatus;
  /** Node-specific fields merged into `GET /v1/support` (e.g. `db_engine`, `shards`). */
  support(): Record<string, unknown>;
  /**
   * Cluster mode: `GET /v1/health` in the cluster form (keyed by node id, each with `gateway_status`
   * and `role`) and `GET /v1/support` keyed by node id. Absent: the single-instance forms.
   */
  readonly cluster?: {
    health(): Promise<Record<string, { readonly gateway_status: GatewayStatus; readonly role: ClusterHealthRole }>>;
    support(): Promise<Record<string, Record<string, unknown>>>;
    /** `/v1/stats/db` as the primary master computed it; null when no master answers (the webapp computes it). */
    dbStats(): Promise<{ readonly nodeId: string; readonly stats: unknown } | null>;
    /** Called after this webapp changed the application settings, so the primary master broadcasts at once. */
    settingsChanged(): void;
    /** Asks the primary master to change the shard count; resolves when every new shard is served. */
    changeShards(shards: number): Promise<void>;
    /**
     * Asks the coreapp that owns `shard` to hand it over gracefully; throws `ApiError` (404 no such
     * shard, 400 no owner now, 500 retryable when the owner moved on or did not answer).
     */
    handOver(shard: number): Promise<HandoverResult>;
  };
  readonly options: WebappOptions;
  /**
   * With `--upstream cloud`: the Meta app secret (webhook signatures) and verify token (subscription
   * handshake) of `/cloud/webhook`. Absent: no Cloud webhook route.
   */
  readonly cloudWebhook?: { readonly appSecret: string; readonly verifyToken: string };
  /** Where the API logs; false or absent: no logging. */
  readonly logger?: Logger | false;
}

/**
 * Throws (a configuration error, caught at start-up) unless every option is within `limits.ts`.
 */
export function assertWebappOptions(options: WebappOptions): void {
  const within = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`webapp option ${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  within('pendingMessagesMax', options.pendingMessagesMax, 1, pendingMessagesMaxMax);
  within('tokenTtlMs', options.tokenTtlMs, apiTokenTtlMsMin, apiTokenTtlMsMax);
  within('bodyLimitBytes', options.bodyLimitBytes, apiBodyBytesMin, apiBodyBytesMax);
  const rate = options.requestsPerSecondPerUser;
  if (rate !== null && !(Number.isFinite(rate) && rate > 0 && rate <= requestsPerSecondPerUserMax)) {
    throw new Error(`webapp option requestsPerSecondPerUser must be null or a number in (0, ${requestsPerSecondPerUserMax}], got ${rate}`);
  }
}
