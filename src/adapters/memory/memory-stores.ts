/** Builds every in-memory twin over one Clock: the world of the unit tests and the seeded simulation. */
import type { Clock } from '../../ports/clock.js';
import type { Stores } from '../../ports/stores.js';
import { MemoryCallbackStore } from './memory-callback-store.js';
import { MemoryCloudStore } from './memory-cloud-store.js';
import { MemoryEventLogStore } from './memory-event-log-store.js';
import { MemoryInboundStore } from './memory-inbound-store.js';
import { MemoryLeaseStore } from './memory-lease-store.js';
import { MemoryMessageStore } from './memory-message-store.js';
import { MemoryNodeStore } from './memory-node-store.js';
import { MemorySettingsStore } from './memory-settings-store.js';
import { MemoryShardMapStore } from './memory-shard-map-store.js';
import { MemoryUserStore } from './memory-user-store.js';

export function createMemoryStores(clock: Clock): Stores {
  const leases = new MemoryLeaseStore(clock);
  const shardMap = new MemoryShardMapStore((fence) => leases.holds(fence.name, fence.holder, fence.epoch));
  const pipeline = { messages: new MemoryMessageStore(shardMap), inbound: new MemoryInboundStore(), callbacks: new MemoryCallbackStore() };
  return {
    leases,
    nodes: new MemoryNodeStore(clock),
    shardMap,
    ...pipeline,
    // Memory writes are immediate; there is nothing to commit or roll back.
    inTransaction: (work) => work(pipeline),
    settings: new MemorySettingsStore(),
    users: new MemoryUserStore(),
    events: new MemoryEventLogStore(),
    cloud: new MemoryCloudStore(pipeline.messages, shardMap, clock),
    nowMs: async () => clock.nowMs(),
    close: async () => {},
  };
}
