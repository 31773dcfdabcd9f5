/**
 * Builds a webapp over memory stores, a manual clock and fake upstreams, with helpers to log in and
 * call it through `inject()`. Users are created with a cheap scrypt cost (the hash carries its
 * parameters) so that logins take milliseconds in tests.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ACCOUNT_SETTINGS_KEY, type AccountRecord } from '../../../src/core/account.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { createMemoryStores } from '../../../src/adapters/memory/memory-stores.js';
import type { UserRole } from '../../../src/ports/user-store.js';
import type { Stores } from '../../../src/ports/stores.js';
import { buildWebapp } from '../../../src/roles/webapp/build-webapp.js';
import { hashPassword, type ScryptParams } from '../../../src/roles/webapp/password-hash.js';
import { DEFAULT_WEBAPP_OPTIONS, type GatewayStatus, type WebappOptions } from '../../../src/roles/webapp/webapp-deps.js';
import { FakeUpstreamAccounts, RecordingDispatch } from './fake-upstream.js';

export const CHEAP_SCRYPT: ScryptParams = { cost: 1_024, blockSize: 8, parallelization: 1 };
export const ADMIN_PASSWORD = 'Admin-pass1';
export const USER_PASSWORD = 'User-pass1';
export const VERSION = '0.0.0-test';
export const NODE_ID = 'testhost:0123456789ab';

export interface ApiHarness {
  readonly app: FastifyInstance;
  readonly stores: Stores;
  readonly clock: ManualClock;
  readonly upstream: FakeUpstreamAccounts;
  readonly dispatch: RecordingDispatch;
  gatewayStatus: GatewayStatus;
  request(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  login(username: string, password: string, body?: unknown): Promise<LightMyRequestResponse>;
  tokenFor(username: string, password?: string): Promise<string>;
  createUser(username: string, password?: string, role?: UserRole, mustChangePassword?: boolean): Promise<void>;
  register(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly options?: Partial<WebappOptions>;
  /** Registers the account and initialises a shard map of this many shards (default: not registered). */
  readonly registeredShards?: 1 | 2 | 4 | 8 | 16 | 32;
  /** Serve the Cloud API webhook with these secrets. */
  readonly cloudWebhook?: { readonly appSecret: string; readonly verifyToken: string };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function startApi(harness: HarnessOptions = {}): Promise<ApiHarness> {
  const clock = new ManualClock();
  const stores = createMemoryStores(clock);
  const upstream = new FakeUpstreamAccounts();
  const dispatch = new RecordingDispatch();
  const state = { gatewayStatus: 'connected' as GatewayStatus };
  const app = await buildWebapp({
    stores,
    clock,
    nodeId: NODE_ID,
    version: VERSION,
    dispatch,
    upstream,
    gatewayStatus: () => state.gatewayStatus,
    support: () => ({ db_engine: 'MEMORY', multi_connect: false }),
    options: { ...DEFAULT_WEBAPP_OPTIONS, ...harness.options },
    logger: false,
    ...(harness.cloudWebhook === undefined ? {} : { cloudWebhook: harness.cloudWebhook }),
  });
  const createUser = async (username: string, password = USER_PASSWORD, role: UserRole = 'USER', mustChangePassword = false): Promise<void> => {
    const nowMs = clock.nowMs();
    const ok = await stores.users.createUser({ username, passwordHash: await hashPassword(password, CHEAP_SCRYPT), role, mustChangePassword, createdAtMs: nowMs, updatedAtMs: nowMs });
    if (!ok) throw new Error(`user ${username} exists`);
  };
  await createUser('admin', ADMIN_PASSWORD, 'ADMIN');
  const request = async (options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse> => {
    const { token, ...rest } = options;
    const headers = { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...rest.headers };
    return app.inject({ ...rest, headers });
  };
  const login = (username: string, password: string, body?: unknown) =>
    request({ method: 'POST', url: '/v1/users/login', headers: { authorization: basic(username, password) }, ...(body === undefined ? {} : { payload: body as object }) });
  const h: ApiHarness = {
    app,
    stores,
    clock,
    upstream,
    dispatch,
    get gatewayStatus() {
      return state.gatewayStatus;
    },
    set gatewayStatus(value: GatewayStatus) {
      state.gatewayStatus = value;
    },
    request,
    login,
    tokenFor: async (username, password) => {
      const response = await login(username, password ?? (username === 'admin' ? ADMIN_PASSWORD : USER_PASSWORD));
      if (response.statusCode !== 200) throw new Error(`login of ${username} failed: ${response.body}`);
      return (response.json() as { users: [{ token: string }] }).users[0].token;
    },
    createUser,
    register: async () => {
      const account: AccountRecord = { state: 'registered', wa_id: '16315550000', cc: '1', phone_number: '6315550000', credentials: 'secret-credentials', shards: harness.registeredShards ?? 1, registered_at_ms: clock.nowMs() };
      await stores.settings.set({ [ACCOUNT_SETTINGS_KEY]: account }, clock.nowMs());
      await stores.shardMap.initialize(harness.registeredShards ?? 1, clock.nowMs());
    },
    close: () => app.close(),
  };
  if (harness.registeredShards !== undefined) await h.register();
  return h;
}

/** The one error of an On-Prem error body. */
export function onPremError(response: LightMyRequestResponse): { code: number; title: string; details: string } {
  const body = response.json() as { errors?: { code: number; title: string; details: string }[]; meta?: unknown };
  const error = body.errors?.[0];
  if (error === undefined || body.errors?.length !== 1) throw new Error(`not an On-Prem error body: ${response.body}`);
  if (typeof body.meta !== 'object') throw new Error(`error body without meta: ${response.body}`);
  return error;
}
