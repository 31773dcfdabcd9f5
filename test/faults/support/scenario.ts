/**
 * One fault scenario: a fresh cluster on a fresh database, fast failure detection, a webhook
 * endpoint, a steady history-keeping load; the scenario's fault in the middle; then the checker.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContractTarget } from '../../support/contract-targets.js';
import { checkRun, type Expectations, type Summary } from './fault-checker.js';
import { logDirOf, withFaultCluster, type FaultCluster, type FaultClusterOptions } from './fault-cluster.js';
import { DEFAULT_RECIPIENTS, HistoryLoad } from './history-load.js';
import { WebhookLog } from './webhook-log.js';

/** The failure-detection settings of a run and the times that follow from them. */
export interface Timing {
  readonly settings: { readonly heartbeat_interval: number; readonly unhealthy_interval: number; readonly db_liveness_interval: number };
  readonly unhealthyMs: number;
  /** A coreapp that stopped writing is dead on the DB path after 2 × db_liveness_interval. */
  readonly dbDeadMs: number;
  readonly leaseTtlMs: number;
}

/**
 * PostgreSQL: heartbeat 0.2 s, unhealthy 1 s, DB liveness 2 s — failovers in about a second.
 * SQLite keeps the defaults (1 s / 5 s / 5 s): its single write lock makes a busy coreapp wait on
 * the lock inside a synchronous call, and with unhealthy_interval 1 s such waits were judged deaths —
 * the first runs of this suite saw healthy coreapps failed over back and forth (docs/faults.md).
 */
export function timingFor(dialect: string): Timing {
  if (dialect === 'sqlite') {
    return { settings: { heartbeat_interval: 1, unhealthy_interval: 5, db_liveness_interval: 5 }, unhealthyMs: 5_000, dbDeadMs: 10_000, leaseTtlMs: 3_000 };
  }
  return { settings: { heartbeat_interval: 0.2, unhealthy_interval: 1, db_liveness_interval: 2 }, unhealthyMs: 1_000, dbDeadMs: 4_000, leaseTtlMs: 3_000 };
}
/** Webhook retries every 200 ms more, at most 1 s apart, so an endpoint that returns is found fast. */
const WEBHOOK_SETTINGS = { callback_backoff_delay_ms: 200, max_callback_backoff_delay_ms: 1_000 } as const;

export interface ScenarioContext {
  readonly cluster: FaultCluster;
  readonly load: HistoryLoad;
  readonly webhook: WebhookLog;
  readonly timing: Timing;
}

export interface ScenarioOptions {
  readonly cluster?: FaultClusterOptions;
  /** Cluster settings for the run (default: `timingFor(dialect)`). */
  readonly timing?: Timing;
  readonly rate?: number;
  readonly recipients?: readonly string[];
  /** Accepted messages to wait for before the fault. */
  readonly warmup?: number;
  /** Accepted messages to wait for after the fault, before the load stops. */
  readonly cooldown?: number;
}

export type FaultOutcome = Omit<Expectations, 'scenario'>;

export async function runScenario(
  target: ContractTarget,
  scenario: string,
  options: ScenarioOptions,
  fault: (ctx: ScenarioContext) => Promise<FaultOutcome>,
): Promise<Summary> {
  const startedAtMs = Date.now();
  return withFaultCluster(target, scenario, options.cluster ?? {}, async (cluster) => {
    const webhook = new WebhookLog(cluster.lab?.hostAddress('upstream'));
    await webhook.up();
    const timing = options.timing ?? timingFor(cluster.dialect);
    await cluster.configure({ ...timing.settings, ...WEBHOOK_SETTINGS, webhooks: { url: webhook.url } });
    const load = new HistoryLoad(() => cluster.apiUrls, () => cluster.token(), { rate: options.rate ?? 50, recipients: options.recipients ?? DEFAULT_RECIPIENTS });
    load.start();
    try {
      await load.waitForMore(options.warmup ?? 50);
      const outcome = await fault({ cluster, load, webhook, timing });
      await load.waitForMore(options.cooldown ?? 50, 60_000);
      await load.stop();
      return await checkRun(cluster, load, webhook, { scenario, ...outcome }, startedAtMs);
    } catch (error) {
      saveHistory(scenario, cluster.dialect, load);
      throw error;
    } finally {
      await load.stop();
      await webhook.down().catch(() => undefined);
    }
  });
}

/** The client's history next to the logs of a failed scenario. */
function saveHistory(scenario: string, dialect: string, load: HistoryLoad): void {
  const dir = logDirOf(scenario, dialect);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.json'), JSON.stringify(load.history, null, 1));
}
