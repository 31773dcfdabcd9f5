/**
 * What the WhatsApp Cloud API adapter keeps in the database (docs/cloud-api.md, docs/architecture.md
 * "Fencing without a connection"):
 *
 * - **Send claims** (`cloud_sends`): before a coreapp posts a message to the Cloud API it claims it, in
 *   one statement conditioned on its epoch in the shard map and on the message still being
 *   `accepted`. Nothing upstream enforces one sender per shard with the Cloud API, so this claim is
 *   the fence: a deposed coreapp's claim changes nothing and it stops. The claim then records the
 *   Cloud `wamid` once the API answered, so statuses map back to our id and a message already
 *   accepted by the Cloud API is never posted again (the Cloud API does not de-duplicate).
 *   A claim still `posting` (its sender died or its answer was lost) is in doubt: it is not posted
 *   again until a Cloud status proves it arrived (then it is `accepted`) or `reclaimAfterMs` passed.
 * - **Inbox** (`cloud_events`): every status and inbound message of the Cloud webhook, stored by the
 *   webapp before it answers 200, de-duplicated by event id, keyed by the contact's bucket (see
 *   `cloudEventBucket`) so the primary coreapp of the contact's shard reads it, in arrival order, and
 *   marks it done once its effects are durable.
 */
import type { ShardFence } from './message-store.js';

export type ClaimResult =
  /** The caller may post the message now. */
  | { readonly kind: 'claimed' }
  /** The Cloud API already has it (wamid known): never post again. */
  | { readonly kind: 'accepted'; readonly wamid: string | null }
  /** Another attempt is posting it or its outcome is unknown (since `sinceMs`): wait. */
  | { readonly kind: 'in_doubt'; readonly sinceMs: number }
  /** The message is no longer `accepted` (sent, failed, or unknown): nothing to post. */
  | { readonly kind: 'not_pending' }
  /** The caller's epoch is not the shard's epoch any more: it must stop sending. */
  | { readonly kind: 'fenced' };

export interface AcceptedSend {
  readonly messageId: string;
  readonly wamid: string;
}

export interface NewCloudEvent {
  /** Stable id of the fact (`status:<wamid>:<status>`, `message:<wamid>`): stored once. */
  readonly eventId: string;
  /** `cloudEventBucket(contact)`, 0–31. */
  readonly bucket: number;
  readonly contact: string;
  /** The event as JSON text. */
  readonly payload: string;
  readonly receivedAtMs: number;
}

export interface StoredCloudEvent extends NewCloudEvent {
  readonly seq: number;
}

export interface CloudStore {
  /**
   * Claims `messageId` for posting under `fence`, in one conditional statement (the epoch in the
   * shard map and the message's status `accepted` are checked where the claim is written). A claim
   * `posting` for longer than `reclaimAfterMs` is taken over the same way. `nowMs` must come from
   * `nowMs()` (the database clock), so coreapps on machines with different clocks agree on a claim's age.
   */
  claimSend(messageId: string, fence: ShardFence, nowMs: number, reclaimAfterMs: number): Promise<ClaimResult>;
  /**
   * The Cloud API accepted each message as its `wamid`: the claims become `accepted` (idempotent),
   * in one transaction. Entries already accepted are skipped without a write (a read decides), so
   * settling every status of a message costs no write once its send was recorded.
   */
  recordAccepted(entries: readonly AcceptedSend[], nowMs: number): Promise<void>;
  /** The post definitely failed (the API answered an error): drop a `posting` claim of `epoch`. */
  release(messageId: string, epoch: number): Promise<void>;
  /** Our message id for a Cloud `wamid`, or null when unknown. */
  messageIdOf(wamid: string): Promise<string | null>;
  /** Stores events, skipping event ids already stored; returns how many were new. */
  insertEvents(events: readonly NewCloudEvent[]): Promise<number>;
  /** Events not done in `buckets`, in arrival (`seq`) order, at most `limit`. */
  pendingEvents(buckets: readonly number[], limit: number): Promise<readonly StoredCloudEvent[]>;
  /** Marks events done (their effects are durable). Idempotent. */
  markEventsDone(seqs: readonly number[]): Promise<void>;
  /**
   * Deletes done events of `buckets` received before `beforeMs`, at most `limit`; returns how many.
   * Meta redelivers a webhook for at most 7 days, so done events older than that can no longer be
   * replayed and need not be remembered.
   */
  pruneEvents(buckets: readonly number[], beforeMs: number, limit: number): Promise<number>;
  /** The store's clock: the database clock for SQL stores. */
  nowMs(): Promise<number>;
  /** How many events are stored, done or not (for operators and tests). */
  countEvents(): Promise<number>;
}
