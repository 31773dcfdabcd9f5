/**
 * The checker of the fault-injection suite. After a scenario it combines three independent records —
 * the client's history (`HistoryLoad`), the network's record (`/sim/report`, `/sim/messages`) and the
 * business's webhook log (`WebhookLog`) — with the cluster's event log and topology, and decides each
 * invariant of DESIGN §7 that a black-box run can observe:
 *
 * | id | observed as |
 * |---|---|
 * | I1 | the simulator's `max_connections_per_shard` ≤ 1, no `connections_exceeded` and no `epochs_shared` (two nodes under one epoch) |
 * | I2 | every id answered 201 arrived upstream (polled until a deadline) |
 * | I3 | no Idempotency-Key answered with two different ids (a retry that created a second message) |
 * | I4 | no stale-epoch send (simulator) |
 * | I5 | the affected shard's longest gap between two arrivals upstream after the fault, within the bound |
 * | I6 | every non-2xx answer is an On-Prem error object; no request failed after its retries (unless the scenario allows it) |
 * | I7 | one master per lease epoch, epochs increasing in the event log |
 * | I8 | every accepted message's statuses reach the webhook as sent → delivered → read, and per contact the `sent` webhooks arrive in the order the network received the messages |
 * | I9 | at the end one connected primary per shard, unchanged over a settle window; failovers within the scenario's expectation (more are false failovers) |
 * | ORDER | the simulator saw no per-recipient order violation and no misrouted send |
 *
 * The summary line of each run goes to test-results/faults.json; a failing run throws one error
 * naming every broken invariant and the messages concerned, after its nodes' logs were saved.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../support/wait-for.js';
import { logDirOf, RESULTS_DIR, type FaultCluster } from './fault-cluster.js';
import type { HistoryLoad } from './history-load.js';
import type { WebhookLog } from './webhook-log.js';
import { simArrivals } from '../../support/sim-arrivals.js';

export interface SimReport {
  readonly ok: boolean;
  readonly messages_unique: number;
  readonly duplicates: number;
  readonly stale_epoch_sends: number;
  readonly misrouted: number;
  readonly order_violations: number;
  readonly connections_exceeded: number;
  readonly epochs_shared: number;
  readonly max_connections_per_shard: number;
  readonly violations: readonly { kind: string; message_id: string | null; node: string | null; epoch: number | null; details: string }[];
}

export interface Expectations {
  readonly scenario: string;
  /** The shard whose unavailability is measured (I5), or null when none is affected. */
  readonly affectedShard: number | null;
  /** When the fault began (ms). */
  readonly faultAtMs: number;
  /** I5 bound on the affected shard's longest gap (ms); null: measured and reported only. */
  readonly unavailableMaxMs: number | null;
  /** The failovers the fault justifies at most; more are false failovers (I9). */
  readonly failoversMax: number;
  /** Requests that may fail after their retries (I6); default 0. */
  readonly failedAllowed?: number;
}

export interface Summary {
  readonly scenario: string;
  readonly dialect: string;
  readonly accepted: number;
  readonly failed_requests: number;
  readonly retried_attempts: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly resends_deduplicated: number;
  readonly stale_sends: number;
  readonly max_connections_per_shard: number;
  readonly unavailable_ms: number | null;
  readonly failovers: number;
  readonly false_failovers: number;
  readonly ok: boolean;
  readonly broken: readonly string[];
  readonly duration_ms: number;
}

export interface Violation {
  readonly invariant: string;
  readonly details: string;
  readonly messages: readonly string[];
}

export const FAULTS_JSON = join(RESULTS_DIR, 'faults.json');

async function missing(cluster: FaultCluster, ids: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += 1_000) {
    const response = await fetch(`${cluster.simUrl}/sim/messages/missing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ids.slice(i, i + 1_000) }),
    });
    out.push(...((await response.json()) as { missing: string[] }).missing);
  }
  return out;
}

/** Every message the network took, in arrival order, with its time and shard. */
export async function arrivals(cluster: FaultCluster): Promise<{ id: string; atMs: number; shard: number }[]> {
  return simArrivals(cluster.simUrl);
}

export async function simReport(cluster: FaultCluster): Promise<SimReport> {
  return (await (await fetch(`${cluster.simUrl}/sim/report`)).json()) as SimReport;
}

/**
 * The longest time `shard` went without an arrival after `fromMs`: gaps between consecutive arrivals
 * that end after `fromMs`, each counted from `fromMs` at the earliest (a shard idle before the fault
 * is not unavailable before it).
 */
export function longestGapMs(list: readonly { atMs: number; shard: number }[], shard: number, fromMs: number): number {
  const times = list.filter((a) => a.shard === shard).map((a) => a.atMs).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i += 1) {
    if ((times[i] as number) >= fromMs) gap = Math.max(gap, (times[i] as number) - Math.max(times[i - 1] as number, fromMs));
  }
  return gap;
}

/**
 * Waits for the run to settle (every accepted id upstream, every webhook in), then checks. Writes the
 * summary; throws when an invariant broke. The load must be stopped.
 */
export async function checkRun(cluster: FaultCluster, load: HistoryLoad, webhook: WebhookLog | null, expect: Expectations, startedAtMs: number): Promise<Summary> {
  const violations = await collectViolations(cluster, load, webhook, expect);
  const summary = summarize(cluster, load, expect, violations, startedAtMs);
  recordSummary(summary.summary);
  if (violations.length > 0) {
    const dir = logDirOf(expect.scenario, cluster.dialect);
    cluster.saveLogs(dir);
    writeFileSync(join(dir, 'history.json'), JSON.stringify(load.history, null, 1));
    const text = formatViolations(expect.scenario, cluster.dialect, violations, dir);
    writeFileSync(join(dir, 'violations.txt'), `${text}\n\n${JSON.stringify(violations, null, 1)}\n`);
    throw new Error(text);
  }
  return summary.summary;
}

export function formatViolations(scenario: string, dialect: string, violations: readonly Violation[], dir: string): string {
  const lines = violations.map((v) => `  ${v.invariant}: ${v.details}${v.messages.length > 0 ? ` — messages: ${v.messages.slice(0, 8).join(', ')}${v.messages.length > 8 ? `, … (${v.messages.length})` : ''}` : ''}`);
  return `FAULTS ${scenario} on ${dialect}: ${violations.length} invariant(s) broken\n${lines.join('\n')}\n  logs and history: ${dir}`;
}

const unavailableMs = new WeakMap<Expectations, number | null>();
const failoverCount = new WeakMap<Expectations, number>();
const report = new WeakMap<Expectations, SimReport>();

async function collectViolations(cluster: FaultCluster, load: HistoryLoad, webhook: WebhookLog | null, expect: Expectations): Promise<Violation[]> {
  const v: Violation[] = [];
  const ok = load.ok;
  const ids = ok.map((o) => o.id as string);

  // I2: every 201 upstream, given time to drain.
  let lost = [...ids];
  await waitFor('every accepted message upstream', async () => {
    lost = await missing(cluster, lost);
    return lost.length === 0;
  }, 60_000, 250).catch(() => undefined);
  if (lost.length > 0) v.push({ invariant: 'I2 no loss', details: `${lost.length} of ${ids.length} messages answered 201 never reached the network`, messages: lost });

  // I8: statuses at the webhook.
  if (webhook !== null) {
    // A lost message (I2) has no statuses to wait for.
    const lostSet = new Set(lost);
    const incomplete = (): string[] => ids.filter((id) => !lostSet.has(id) && !(webhook.statuses.get(id) ?? []).includes('read'));
    await waitFor('every status at the webhook', () => incomplete().length === 0, 90_000, 250).catch(() => undefined);
    const noRead = incomplete();
    if (noRead.length > 0) v.push({ invariant: 'I8 webhooks', details: `${noRead.length} accepted messages never got their read status at the webhook`, messages: noRead });
    const misordered = ids.filter((id) => {
      const seen = webhook.statuses.get(id) ?? [];
      const firsts = seen.filter((s, i) => seen.indexOf(s) === i);
      return firsts.length > 0 && firsts.join(',') !== ['sent', 'delivered', 'read'].slice(0, firsts.length).join(',');
    });
    if (misordered.length > 0) v.push({ invariant: 'I8 webhooks', details: `${misordered.length} messages' statuses arrived out of order (not sent → delivered → read)`, messages: misordered });
  }

  const sim = await simReport(cluster);
  report.set(expect, sim);
  const list = await arrivals(cluster);

  if (webhook !== null) {
    // I8, per contact: the `sent` webhooks of one recipient in the order the network received the messages.
    const okSet = new Set(ids);
    const upstreamOrder = new Map<string, string[]>();
    const recipientOf = new Map(ok.map((o) => [o.id as string, o.to]));
    for (const a of list) {
      const to = recipientOf.get(a.id);
      if (to !== undefined) upstreamOrder.set(to, [...(upstreamOrder.get(to) ?? []), a.id]);
    }
    const hookOrder = new Map<string, string[]>();
    for (const a of webhook.arrivals) {
      if (a.status === 'sent' && okSet.has(a.id)) {
        const to = recipientOf.get(a.id) as string;
        hookOrder.set(to, [...(hookOrder.get(to) ?? []), a.id]);
      }
    }
    const outOfOrder: string[] = [];
    for (const [to, order] of upstreamOrder) {
      const hooks = hookOrder.get(to) ?? [];
      const expected = order.filter((id) => hooks.includes(id));
      if (expected.join(',') !== hooks.join(',')) outOfOrder.push(to);
    }
    if (outOfOrder.length > 0) v.push({ invariant: 'I8 webhooks', details: `the sent webhooks of ${outOfOrder.length} contacts arrived in another order than the sends`, messages: outOfOrder });
  }

  // I1, I4, order: the network's own record.
  if (sim.max_connections_per_shard > 1 || sim.connections_exceeded > 0 || sim.epochs_shared > 0) {
    v.push({
      invariant: 'I1 one connection per shard',
      details: `max ${sim.max_connections_per_shard} connections held one shard; ${sim.connections_exceeded} times exceeded; ${sim.epochs_shared} connections under an epoch another node held`,
      messages: [],
    });
  }
  if (sim.stale_epoch_sends > 0) {
    const stale = sim.violations.filter((x) => x.kind === 'stale_epoch_send');
    const by = [...new Set(stale.map((x) => `${cluster.nodes.find((n) => n.nodeId === x.node)?.name ?? x.node} epoch ${x.epoch}`))].join('; ');
    v.push({ invariant: 'I4 no stale-epoch send', details: `${sim.stale_epoch_sends} sends after losing the shard (by ${by})`, messages: stale.map((x) => x.message_id ?? '?') });
  }
  if (sim.order_violations > 0 || sim.misrouted > 0) {
    const bad = sim.violations.filter((x) => x.kind === 'order_violation' || x.kind === 'misrouted');
    v.push({ invariant: 'ORDER', details: `${sim.order_violations} per-recipient order violations, ${sim.misrouted} misrouted sends`, messages: bad.map((x) => x.message_id ?? '?') });
  }

  // I3: one message per Idempotency-Key.
  const doubled = load.history.filter((o) => new Set(o.attempts.filter((a) => a.status === 201).map((a) => a.id)).size > 1);
  if (doubled.length > 0) v.push({ invariant: 'I3 no duplicate', details: `${doubled.length} Idempotency-Keys were answered with two different message ids`, messages: doubled.map((o) => o.key) });

  // I5: the affected shard's outage.
  let gap: number | null = null;
  if (expect.affectedShard !== null) {
    gap = longestGapMs(list, expect.affectedShard, expect.faultAtMs);
    if (expect.unavailableMaxMs !== null && gap > expect.unavailableMaxMs) {
      v.push({ invariant: 'I5 bounded unavailability', details: `shard ${expect.affectedShard} sent nothing for ${gap} ms (bound ${expect.unavailableMaxMs} ms)`, messages: [] });
    }
  }
  unavailableMs.set(expect, gap);

  // I6: clear errors; no request failed after its retries.
  const unclear = load.history.flatMap((o) => o.attempts.filter((a) => a.status !== null && a.status !== 201 && !a.clearError).map((a) => `${o.key}: ${a.status} ${a.error ?? ''}`));
  if (unclear.length > 0) v.push({ invariant: 'I6 honest API', details: `${unclear.length} error answers without an On-Prem error object`, messages: unclear });
  const failed = load.failed;
  if (failed.length > (expect.failedAllowed ?? 0)) {
    const last = failed.map((o) => `${o.key} (${o.attempts.at(-1)?.status ?? 'no answer'} ${o.attempts.at(-1)?.error?.slice(0, 80) ?? ''})`);
    v.push({ invariant: 'I6 honest API', details: `${failed.length} requests failed after every retry (allowed ${expect.failedAllowed ?? 0})`, messages: last });
  }

  // I7: one master per lease epoch, epochs increasing.
  const events = await cluster.events();
  const leases = events.filter((e) => e.kind === 'lease_acquired').sort((a, b) => a.seq - b.seq);
  const holders = new Map<number, Set<string>>();
  let previous = -Infinity;
  for (const e of leases) {
    const epoch = Number(e.data['epoch']);
    holders.set(epoch, new Set([...(holders.get(epoch) ?? []), String(e.nodeId)]));
    // The same epoch again is the same holder taking its own lease back (an epoch changes with the
    // holder); two holders of one epoch are caught below.
    if (epoch < previous) v.push({ invariant: 'I7 one primary master per epoch', details: `lease epoch ${epoch} acquired after epoch ${previous}`, messages: [] });
    previous = Math.max(previous, epoch);
  }
  for (const [epoch, set] of holders) {
    if (set.size > 1) v.push({ invariant: 'I7 one primary master per epoch', details: `lease epoch ${epoch} held by ${[...set].join(' and ')}`, messages: [] });
  }

  // I9: one healthy primary per shard at the end, stable; no failover the fault does not explain.
  try {
    const first = await cluster.waitForPrimaries(30_000, (await cluster.topology()).shards ?? 1);
    const settleUntil = Date.now() + 2_000;
    await waitFor('the primaries to stay put for 2 s', async () => {
      const now = await cluster.waitForPrimaries(5_000, first.size);
      for (const [shard, node] of now) if (first.get(shard)?.node_id !== node.node_id) throw new Error(`shard ${shard} changed primary during the settle window (flapping)`);
      return Date.now() >= settleUntil;
    }, 10_000, 250);
  } catch (error) {
    v.push({ invariant: 'I9 one healthy primary per shard', details: (error as Error).message, messages: [] });
  }
  // A failover is a promotion that took a shard from an owner (every `failover` event has one, and a
  // promotion planned for another reason has none): counting those misses none.
  const failovers = events.filter((e) => e.kind === 'promoted' && e.data['replaces'] != null).length;
  failoverCount.set(expect, failovers);
  if (failovers > expect.failoversMax) {
    v.push({ invariant: 'I9 no false failover', details: `${failovers} failovers, the fault explains at most ${expect.failoversMax}`, messages: [] });
  }
  return v;
}

function summarize(cluster: FaultCluster, load: HistoryLoad, expect: Expectations, violations: readonly Violation[], startedAtMs: number): { summary: Summary } {
  const sim = report.get(expect) as SimReport;
  const lost = violations.find((x) => x.invariant === 'I2 no loss')?.messages.length ?? 0;
  const duplicated = violations.find((x) => x.invariant === 'I3 no duplicate')?.messages.length ?? 0;
  const failovers = failoverCount.get(expect) ?? 0;
  return {
    summary: {
      scenario: expect.scenario,
      dialect: cluster.dialect,
      accepted: load.ok.length,
      failed_requests: load.failed.length,
      retried_attempts: load.history.reduce((n, o) => n + o.attempts.length - 1, 0),
      lost,
      duplicated,
      resends_deduplicated: sim.duplicates,
      stale_sends: sim.stale_epoch_sends,
      max_connections_per_shard: sim.max_connections_per_shard,
      unavailable_ms: unavailableMs.get(expect) ?? null,
      failovers,
      false_failovers: Math.max(0, failovers - expect.failoversMax),
      ok: violations.length === 0,
      broken: [...new Set(violations.map((x) => x.invariant))],
      duration_ms: Date.now() - startedAtMs,
    },
  };
}

/** Replaces this scenario's line in test-results/faults.json (one line per scenario and dialect). */
export function recordSummary(summary: Summary): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const all = readSummaries().filter((s) => !(s.scenario === summary.scenario && s.dialect === summary.dialect));
  all.push(summary);
  writeFileSync(FAULTS_JSON, `${JSON.stringify(all, null, 1)}\n`);
  process.stdout.write(`FAULTS ${JSON.stringify(summary)}\n`);
}

export function readSummaries(): Summary[] {
  try {
    return JSON.parse(readFileSync(FAULTS_JSON, 'utf8')) as Summary[];
  } catch {
    return [];
  }
}

/** The table printed at the end of a run. */
export function formatTable(summaries: readonly Summary[]): string {
  const header = ['scenario', 'dialect', 'accepted', 'failed', 'lost', 'dup', 'stale', 'max_conn', 'unavail_ms', 'failovers', 'false_fo', 'result'];
  const rows = summaries.map((s) => [
    s.scenario, s.dialect, String(s.accepted), String(s.failed_requests), String(s.lost), String(s.duplicated), String(s.stale_sends),
    String(s.max_connections_per_shard), s.unavailable_ms === null ? '-' : String(s.unavailable_ms), String(s.failovers), String(s.false_failovers),
    `${s.ok ? 'ok' : `FAIL ${s.broken.join(', ')}`}${s.scenario.startsWith('broken-') ? ' (deliberately broken build: must fail)' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
