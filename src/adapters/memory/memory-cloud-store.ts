/**
 * The in-memory twin of KyselyCloudStore. `claimSend` reads the message and the shard map and writes
 * the claim without an await in between, which makes it as atomic as the SQL statement it mirrors.
 */
import { clampLimit } from '../../core/bounds.js';
import { storeBatchSizeMax } from '../../core/limits.js';
import type { AcceptedSend, ClaimResult, CloudStore, NewCloudEvent, StoredCloudEvent } from '../../ports/cloud-store.js';
import type { Clock } from '../../ports/clock.js';
import type { MessageStore, ShardFence } from '../../ports/message-store.js';
import type { ShardEpochSource } from './memory-message-store.js';

interface Claim {
  state: 'posting' | 'accepted';
  epoch: number;
  wamid: string | null;
  updatedAtMs: number;
}

export class MemoryCloudStore implements CloudStore {
  readonly #messages: MessageStore;
  readonly #shardMap: ShardEpochSource;
  readonly #claims = new Map<string, Claim>();
  readonly #byWamid = new Map<string, string>();
  /** Index `seq - 1`; a pruned event leaves an empty slot. */
  readonly #events: ((StoredCloudEvent & { done: boolean }) | undefined)[] = [];
  readonly #eventIds = new Set<string>();

  readonly #clock: Clock;

  constructor(messages: MessageStore, shardMap: ShardEpochSource, clock: Clock) {
    this.#messages = messages;
    this.#shardMap = shardMap;
    this.#clock = clock;
  }

  async nowMs(): Promise<number> {
    return this.#clock.nowMs();
  }

  async claimSend(messageId: string, fence: ShardFence, nowMs: number, reclaimAfterMs: number): Promise<ClaimResult> {
    const message = await this.#messages.get(messageId);
    const claim = this.#claims.get(messageId);
    if (claim?.state === 'accepted') return { kind: 'accepted', wamid: claim.wamid };
    if (message === null || message.status !== 'accepted') return { kind: 'not_pending' };
    const owner = this.#shardMap.isOpen(fence.generation) && this.#shardMap.currentEpoch(fence.generation, fence.shard) === fence.epoch;
    const takeable = claim === undefined || claim.updatedAtMs <= nowMs - reclaimAfterMs;
    if (owner && takeable && message.generation === fence.generation && message.shard === fence.shard) {
      this.#claims.set(messageId, { state: 'posting', epoch: fence.epoch, wamid: null, updatedAtMs: nowMs });
      return { kind: 'claimed' };
    }
    if (claim !== undefined && owner) return { kind: 'in_doubt', sinceMs: claim.updatedAtMs };
    return { kind: 'fenced' };
  }

  async recordAccepted(entries: readonly AcceptedSend[], nowMs: number): Promise<void> {
    for (const { messageId, wamid } of entries) {
      const claim = this.#claims.get(messageId);
      if (claim?.state === 'accepted') continue;
      this.#claims.set(messageId, { state: 'accepted', epoch: claim?.epoch ?? 0, wamid, updatedAtMs: nowMs });
      this.#byWamid.set(wamid, messageId);
    }
  }

  async release(messageId: string, epoch: number): Promise<void> {
    const claim = this.#claims.get(messageId);
    if (claim?.state === 'posting' && claim.epoch === epoch) this.#claims.delete(messageId);
  }

  async messageIdOf(wamid: string): Promise<string | null> {
    return this.#byWamid.get(wamid) ?? null;
  }

  async insertEvents(events: readonly NewCloudEvent[]): Promise<number> {
    let created = 0;
    for (const event of events) {
      if (this.#eventIds.has(event.eventId)) continue;
      this.#eventIds.add(event.eventId);
      this.#events.push({ ...event, seq: this.#events.length + 1, done: false });
      created += 1;
    }
    return created;
  }

  async pendingEvents(buckets: readonly number[], limit: number): Promise<readonly StoredCloudEvent[]> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    const wanted = new Set(buckets);
    const out: StoredCloudEvent[] = [];
    for (const event of this.#events) {
      if (out.length >= bounded) break;
      if (event !== undefined && !event.done && wanted.has(event.bucket)) {
        const { done: _done, ...stored } = event;
        out.push(stored);
      }
    }
    return out;
  }

  async markEventsDone(seqs: readonly number[]): Promise<void> {
    for (const seq of seqs) {
      const event = this.#events[seq - 1];
      if (event !== undefined) event.done = true;
    }
  }

  async pruneEvents(buckets: readonly number[], beforeMs: number, limit: number): Promise<number> {
    const bounded = clampLimit(limit, storeBatchSizeMax);
    const wanted = new Set(buckets);
    let pruned = 0;
    for (const [i, event] of this.#events.entries()) {
      if (pruned >= bounded) break;
      if (event !== undefined && event.done && wanted.has(event.bucket) && event.receivedAtMs < beforeMs) {
        this.#events[i] = undefined;
        this.#eventIds.delete(event.eventId);
        pruned += 1;
      }
    }
    return pruned;
  }

  async countEvents(): Promise<number> {
    return this.#events.filter((e) => e !== undefined).length;
  }
}
