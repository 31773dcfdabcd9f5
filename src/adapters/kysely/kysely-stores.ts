/** Builds every SQL store over one open Database (which it closes on `close()`). */
import type { Stores } from '../../ports/stores.js';
import { Database } from './database.js';
import { KyselyCallbackStore } from './kysely-callback-store.js';
import { KyselyCloudStore } from './kysely-cloud-store.js';
import { KyselyEventLogStore } from './kysely-event-log-store.js';
import { KyselyInboundStore } from './kysely-inbound-store.js';
import { KyselyLeaseStore } from './kysely-lease-store.js';
import { KyselyMessageStore } from './kysely-message-store.js';
import { KyselyNodeStore } from './kysely-node-store.js';
import { KyselySettingsStore } from './kysely-settings-store.js';
import { KyselyShardMapStore } from './kysely-shard-map-store.js';
import { KyselyUserStore } from './kysely-user-store.js';

export function createKyselyStores(database: Database): Stores {
  return {
    leases: new KyselyLeaseStore(database),
    nodes: new KyselyNodeStore(database),
    shardMap: new KyselyShardMapStore(database),
    messages: new KyselyMessageStore(database),
    inbound: new KyselyInboundStore(database),
    callbacks: new KyselyCallbackStore(database),
    settings: new KyselySettingsStore(database),
    users: new KyselyUserStore(database),
    events: new KyselyEventLogStore(database),
    cloud: new KyselyCloudStore(database),
    inTransaction: (work) =>
      database.db.transaction().execute((trx) => {
        const bound = new Database(trx, database.dialect, database.description);
        return work({ messages: new KyselyMessageStore(bound), inbound: new KyselyInboundStore(bound), callbacks: new KyselyCallbackStore(bound) });
      }),
    nowMs: () => database.nowMs(),
    close: () => database.close(),
  };
}
