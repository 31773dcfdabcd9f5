/**
 * How a webapp tells the primary coreapp of a shard that new messages wait in the database. It is a
 * hint, never the only path: coreapps also poll, so a lost notification delays a message but never
 * loses it. In one process it calls the coreapp directly; in a cluster it is an internal RPC.
 */
export interface ShardDispatch {
  notify(shard: number): void;
}
