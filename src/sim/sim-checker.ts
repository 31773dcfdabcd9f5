/**
 * The checker: the bookkeeping behind `GET /sim/report`, the oracle every reliability test and
 * benchmark reads (docs/architecture.md). Pure: the simulator calls it with what it observed and the time;
 * it decides whether a send is new, a duplicate, misrouted or stale, and counts every violation.
 *
 * Violations (each makes `ok` false):
 *   - misrouted: a recipient sent on a connection whose shard is not murmur3(wa_id) % shards (I1/I2);
 *   - stale_epoch_send: a send on a connection that no longer holds its shard, or whose epoch is lower
 *     than the highest accepted for the shard (I4);
 *   - order_violation: a recipient received a message whose gateway sequence is not greater than one
 *     it already received (per-recipient order);
 *   - connections_exceeded: two connections held one (account, shard) at once (I1). The simulator
 *     replaces the older connection before it opens the newer one, so this is its self-check.
 *   - epoch_shared: a node connected under an epoch another node already held for the shard (I1: a
 *     promotion always raises the epoch, so one epoch has one owner; two nodes under one epoch replace
 *     each other's connections without any stale send, and only this shows that fencing is gone).
 * Duplicates are counted but are not violations: a promoted coreapp re-sends what was not acked and
 * the network de-duplicates by id (I3 holds because the duplicate is never delivered).
 */
import { shardOf } from '../core/shard-hash.js';
import { simMessageIdsMax, simMessagesPageMax, simViolationsListedMax, type ShardCount } from '../core/limits.js';
import { OrderTracker } from './order-tracker.js';
import type { SendMessage } from '../core/upstream-protocol.js';

export type CheckerVerdict = 'sent' | 'duplicate' | 'misrouted' | 'stale_epoch' | 'overloaded';

export type ViolationKind = 'misrouted' | 'stale_epoch_send' | 'order_violation' | 'connections_exceeded' | 'epoch_shared';

export interface Violation {
  readonly kind: ViolationKind;
  readonly at_ms: number;
  readonly account: string;
  readonly shard: number;
  readonly shards: number;
  readonly epoch: number | null;
  readonly node: string | null;
  readonly message_id: string | null;
  readonly recipient: string | null;
  readonly seq: number | null;
  readonly details: string;
}

export interface SendObservation {
  readonly account: string;
  readonly shard: number;
  readonly shards: ShardCount;
  /** The connection's epoch. */
  readonly epoch: number;
  /** The highest epoch accepted for this (account, shard). */
  readonly epochMax: number;
  /** False once the connection was replaced or closed by the simulator. */
  readonly holds: boolean;
  readonly node: string | null;
  readonly message: SendMessage;
  /** True when the network cannot take a new message now (its bounded state is full). */
  readonly full: boolean;
  readonly nowMs: number;
}

/** Counters that are not violations but tell what happened; all cleared by `reset()`. */
export interface ActivityCounters {
  handshakes_accepted: number;
  connections_replaced: number;
  handshakes_refused: Record<string, number>;
  protocol_errors: number;
  sends_rejected: number;
  sends_overloaded: number;
  sends_rate_limited: number;
  messages_failed: number;
  receipts_emitted: number;
  inbound_created: number;
  inbound_deferred: number;
  events_acked: number;
  events_redelivered: number;
}

export interface ShardCounts {
  readonly account: string;
  readonly shard: number;
  messages_unique: number;
  duplicates: number;
  misrouted: number;
  stale_epoch_sends: number;
  order_violations: number;
  connections_open: number;
  connections_max: number;
  connections_total: number;
  /** Sends per connection epoch (the newest `simEpochsReportedMax`): when each primary sent first and last. */
  epochs: EpochSends[];
}

export interface EpochSends {
  readonly epoch: number;
  readonly node: string | null;
  /** The simulator's clock (epoch milliseconds) at the first and the latest send under this epoch. */
  readonly first_send_at_ms: number;
  last_send_at_ms: number;
  sends: number;
}

/** Epochs kept per shard in the report. */
export const simEpochsReportedMax = 16;

export interface CheckerSnapshot {
  readonly ok: boolean;
  readonly violations_total: number;
  readonly messages_unique: number;
  readonly duplicates: number;
  readonly misrouted: number;
  readonly stale_epoch_sends: number;
  readonly max_connections_per_shard: number;
  readonly order_violations: number;
  readonly connections_exceeded: number;
  readonly epochs_shared: number;
  readonly message_ids_full: boolean;
  readonly activity: ActivityCounters;
  readonly per_shard: readonly ShardCounts[];
  readonly violations: readonly Violation[];
  readonly violations_unlisted: number;
}

function emptyActivity(): ActivityCounters {
  return {
    handshakes_accepted: 0,
    connections_replaced: 0,
    handshakes_refused: {},
    protocol_errors: 0,
    sends_rejected: 0,
    sends_overloaded: 0,
    sends_rate_limited: 0,
    messages_failed: 0,
    receipts_emitted: 0,
    inbound_created: 0,
    inbound_deferred: 0,
    events_acked: 0,
    events_redelivered: 0,
  };
}

export class SimChecker {
  private readonly ids = new Set<string>();
  private readonly arrival: string[] = [];
  /** Parallel to `arrival`: when each message arrived (the simulator's clock, Unix ms) and on which shard. */
  private readonly arrivalAt: number[] = [];
  private readonly arrivalShard: number[] = [];
  private readonly order = new OrderTracker();
  private readonly shards = new Map<string, ShardCounts>();
  private readonly listed: Violation[] = [];
  private unlisted = 0;
  private duplicates = 0;
  private misrouted = 0;
  private staleEpochSends = 0;
  private orderViolations = 0;
  private connectionsExceeded = 0;
  private epochsShared = 0;
  /** Per (account, shard): the node that first held each epoch (the newest `simEpochsReportedMax`). */
  private readonly epochOwners = new Map<string, Map<number, string>>();
  private maxConnectionsPerShard = 0;
  private readonly idsMax: number;
  /** Counters of what happened; the simulator increments them directly. */
  activity: ActivityCounters = emptyActivity();

  /** `idsMax` bounds the remembered message ids (tests lower it to reach the bound). */
  constructor(idsMax: number = simMessageIdsMax) {
    this.idsMax = idsMax;
  }

  /** Decides what the network does with one well-formed send, and counts it. */
  observeSend(o: SendObservation): CheckerVerdict {
    const counts = this.countsOf(o.account, o.shard);
    const { id, to, seq } = o.message;
    if (!o.holds || o.epoch < o.epochMax) {
      this.staleEpochSends += 1;
      counts.stale_epoch_sends += 1;
      const why = o.epoch < o.epochMax ? `epoch ${o.epoch} < epoch ${o.epochMax} accepted for the shard` : `the connection (epoch ${o.epoch}) was replaced`;
      this.violation(o, 'stale_epoch_send', `send after losing the shard: ${why}`);
      return 'stale_epoch';
    }
    this.countEpochSend(counts, o);
    const expected = shardOf(to, o.shards);
    if (expected !== o.shard) {
      this.misrouted += 1;
      counts.misrouted += 1;
      this.violation(o, 'misrouted', `recipient ${to} belongs to shard ${expected} of ${o.shards}, sent on shard ${o.shard}`);
      return 'misrouted';
    }
    if (this.ids.has(id)) {
      this.duplicates += 1;
      counts.duplicates += 1;
      return 'duplicate';
    }
    if (o.full || this.ids.size >= this.idsMax) return 'overloaded';
    this.ids.add(id);
    this.arrival.push(id);
    this.arrivalAt.push(Math.round(o.nowMs));
    this.arrivalShard.push(o.shard);
    counts.messages_unique += 1;
    const broken = this.order.observe(o.account, to, o.shards, seq, id);
    if (broken !== null) {
      this.orderViolations += 1;
      counts.order_violations += 1;
      this.violation(o, 'order_violation', `seq ${seq} arrived after ${broken.previousId} with seq ${broken.previousSeq} for recipient ${to}`);
    }
    return 'sent';
  }

  /** A connection now holds (account, shard). Call `connectionClosed` when it stops holding it. */
  connectionOpened(account: string, shard: number, shards: number, epoch: number, node: string | null, nowMs: number): void {
    const counts = this.countsOf(account, shard);
    counts.connections_open += 1;
    counts.connections_total += 1;
    counts.connections_max = Math.max(counts.connections_max, counts.connections_open);
    this.maxConnectionsPerShard = Math.max(this.maxConnectionsPerShard, counts.connections_open);
    if (counts.connections_open > 1) {
      this.connectionsExceeded += 1;
      this.record({
        kind: 'connections_exceeded', at_ms: nowMs, account, shard, shards, epoch, node,
        message_id: null, recipient: null, seq: null,
        details: `${counts.connections_open} connections hold shard ${shard} at once`,
      });
    }
    if (node === null) return;
    const key = `${account}\u0000${shard}`;
    const owners = this.epochOwners.get(key) ?? new Map<number, string>();
    this.epochOwners.set(key, owners);
    const owner = owners.get(epoch);
    if (owner === undefined) {
      owners.set(epoch, node);
      if (owners.size > simEpochsReportedMax) owners.delete(Math.min(...owners.keys()));
    } else if (owner !== node) {
      this.epochsShared += 1;
      this.record({
        kind: 'epoch_shared', at_ms: nowMs, account, shard, shards, epoch, node,
        message_id: null, recipient: null, seq: null,
        details: `${node} connected under epoch ${epoch} of shard ${shard}, which ${owner} held: two owners of one epoch`,
      });
    }
  }

  private countEpochSend(counts: ShardCounts, o: SendObservation): void {
    let entry = counts.epochs.find((e) => e.epoch === o.epoch);
    if (entry === undefined) {
      entry = { epoch: o.epoch, node: o.node, first_send_at_ms: Math.round(o.nowMs), last_send_at_ms: Math.round(o.nowMs), sends: 0 };
      counts.epochs.push(entry);
      counts.epochs.sort((a, b) => a.epoch - b.epoch);
      if (counts.epochs.length > simEpochsReportedMax) counts.epochs.shift();
    }
    entry.last_send_at_ms = Math.round(o.nowMs);
    entry.sends += 1;
  }

  connectionClosed(account: string, shard: number): void {
    const counts = this.countsOf(account, shard);
    counts.connections_open = Math.max(0, counts.connections_open - 1);
  }

  /** True when the network received this message id (since the last reset). */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Received message ids in arrival order, from position `after` (exclusive cursor), at most `limit`. */
  messagesPage(after: number, limit: number): { ids: string[]; at_ms: number[]; shards: number[]; next: number | null; total: number } {
    const start = Math.max(0, after);
    const end = Math.min(this.arrival.length, start + Math.min(limit, simMessagesPageMax));
    return {
      ids: this.arrival.slice(start, end),
      at_ms: this.arrivalAt.slice(start, end),
      shards: this.arrivalShard.slice(start, end),
      next: end < this.arrival.length ? end : null,
      total: this.arrival.length,
    };
  }

  /** The ids among `ids` the network never received. */
  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.ids.has(id));
  }

  snapshot(): CheckerSnapshot {
    const violationsTotal = this.misrouted + this.staleEpochSends + this.orderViolations + this.connectionsExceeded + this.epochsShared;
    const perShard = [...this.shards.values()]
      .map((c) => ({ ...c, epochs: c.epochs.map((e) => ({ ...e })) }))
      .sort((a, b) => (a.account === b.account ? a.shard - b.shard : a.account < b.account ? -1 : 1));
    return {
      ok: violationsTotal === 0,
      violations_total: violationsTotal,
      messages_unique: this.ids.size,
      duplicates: this.duplicates,
      misrouted: this.misrouted,
      stale_epoch_sends: this.staleEpochSends,
      max_connections_per_shard: this.maxConnectionsPerShard,
      order_violations: this.orderViolations,
      connections_exceeded: this.connectionsExceeded,
      epochs_shared: this.epochsShared,
      message_ids_full: this.ids.size >= this.idsMax,
      activity: { ...this.activity, handshakes_refused: { ...this.activity.handshakes_refused } },
      per_shard: perShard,
      violations: [...this.listed],
      violations_unlisted: this.unlisted,
    };
  }

  /**
   * Forgets everything observed (ids, order, counters, violations). Connections that are open stay
   * counted as open, and the per-shard maximum restarts from them.
   */
  reset(): void {
    this.ids.clear();
    this.arrival.length = 0;
    this.arrivalAt.length = 0;
    this.arrivalShard.length = 0;
    this.order.clear();
    this.listed.length = 0;
    this.unlisted = 0;
    this.duplicates = 0;
    this.misrouted = 0;
    this.staleEpochSends = 0;
    this.orderViolations = 0;
    this.connectionsExceeded = 0;
    this.epochsShared = 0;
    this.activity = emptyActivity();
    this.maxConnectionsPerShard = 0;
    for (const [key, c] of this.shards) {
      if (c.connections_open === 0) {
        this.shards.delete(key);
        continue;
      }
      this.shards.set(key, { ...zeroCounts(c.account, c.shard), connections_open: c.connections_open, connections_max: c.connections_open });
      this.maxConnectionsPerShard = Math.max(this.maxConnectionsPerShard, c.connections_open);
    }
  }

  private countsOf(account: string, shard: number): ShardCounts {
    const key = `${account}/${shard}`;
    let counts = this.shards.get(key);
    if (counts === undefined) {
      counts = zeroCounts(account, shard);
      this.shards.set(key, counts);
    }
    return counts;
  }

  private violation(o: SendObservation, kind: ViolationKind, details: string): void {
    this.record({
      kind, at_ms: o.nowMs, account: o.account, shard: o.shard, shards: o.shards, epoch: o.epoch, node: o.node,
      message_id: o.message.id, recipient: o.message.to, seq: o.message.seq, details,
    });
  }

  private record(v: Violation): void {
    if (this.listed.length < simViolationsListedMax) this.listed.push(v);
    else this.unlisted += 1;
  }
}

function zeroCounts(account: string, shard: number): ShardCounts {
  return {
    account, shard, messages_unique: 0, duplicates: 0, misrouted: 0, stale_epoch_sends: 0, order_violations: 0,
    connections_open: 0, connections_max: 0, connections_total: 0, epochs: [],
  };
}
