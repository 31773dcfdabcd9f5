/**
 * Every store a node uses, bundled: what a role receives from its composition root. Both
 * `createKyselyStores` and `createMemoryStores` build one.
 */
import type { CallbackStore } from './callback-store.js';
import type { CloudStore } from './cloud-store.js';
import type { EventLogStore } from './event-log-store.js';
import type { InboundStore } from './inbound-store.js';
import type { LeaseStore } from './lease-store.js';
import type { MessageStore } from './message-store.js';
import type { NodeStore } from './node-store.js';
import type { SettingsStore } from './settings-store.js';
import type { ShardMapStore } from './shard-map-store.js';
import type { UserStore } from './user-store.js';

/** The stores of the message pipeline, as seen inside one transaction. */
export interface PipelineStores {
  readonly messages: MessageStore;
  readonly inbound: InboundStore;
  readonly callbacks: CallbackStore;
}

export interface Stores {
  readonly leases: LeaseStore;
  readonly nodes: NodeStore;
  readonly shardMap: ShardMapStore;
  readonly messages: MessageStore;
  readonly inbound: InboundStore;
  readonly callbacks: CallbackStore;
  readonly settings: SettingsStore;
  readonly users: UserStore;
  readonly events: EventLogStore;
  /** The Cloud API adapter's send claims and webhook inbox (unused with the simulator). */
  readonly cloud: CloudStore;
  /**
   * Runs `work` with the pipeline stores bound to one transaction: its writes commit together — one
   * durable commit for many messages or events (group commit) — or not at all if it throws.
   * `work` must not call other stores or start transactions of its own. (The in-memory twin applies
   * writes at once and cannot roll them back.)
   */
  inTransaction<T>(work: (tx: PipelineStores) => Promise<T>): Promise<T>;
  /** The store's clock (the database clock for SQL stores). */
  nowMs(): Promise<number>;
  close(): Promise<void>;
}
