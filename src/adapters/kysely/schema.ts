/**
 * The database schema as Kysely sees it. Times are integers in milliseconds since the Unix epoch
 * (`*_ms`); booleans are 0/1 integers; JSON is text. PostgreSQL returns BIGINT as a string, so every
 * store maps rows through `Number()`.
 */
import type { Generated } from 'kysely';

type BigIntColumn = number | string | bigint;

export interface LeasesTable {
  name: string;
  holder: string | null;
  epoch: BigIntColumn;
  expires_at_ms: BigIntColumn;
}

export interface NodesTable {
  id: string;
  role: string;
  hostname: string;
  internal_url: string | null;
  started_at_ms: BigIntColumn;
  last_seen_at_ms: BigIntColumn;
  status: string;
  shard: number | null;
}

export interface ShardGenerationsTable {
  generation: number;
  shards: number;
  state: string;
  created_at_ms: BigIntColumn;
}

export interface ShardMapTable {
  generation: number;
  shard: number;
  owner: string | null;
  epoch: BigIntColumn;
  updated_at_ms: BigIntColumn;
}

export interface SettingsTable {
  name: string;
  value: string;
  version: BigIntColumn;
  updated_at_ms: BigIntColumn;
}

export interface MessagesTable {
  seq: Generated<BigIntColumn>;
  id: string;
  generation: number;
  shard: number;
  recipient: string;
  payload: string;
  status: string;
  epoch: BigIntColumn | null;
  idempotency_key: string | null;
  error_code: number | null;
  created_at_ms: BigIntColumn;
  updated_at_ms: BigIntColumn;
}

export interface InboundMessagesTable {
  seq: Generated<BigIntColumn>;
  id: string;
  shard: number;
  sender: string;
  payload: string;
  status: string;
  received_at_ms: BigIntColumn;
}

export interface CallbacksTable {
  seq: Generated<BigIntColumn>;
  event_id: string;
  shard: number;
  contact: string;
  kind: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at_ms: BigIntColumn;
  last_error: string | null;
  created_at_ms: BigIntColumn;
}

export interface UsersTable {
  username: string;
  password_hash: string;
  role: string;
  must_change_password: number;
  created_at_ms: BigIntColumn;
  updated_at_ms: BigIntColumn;
}

export interface TokensTable {
  token_hash: string;
  username: string;
  created_at_ms: BigIntColumn;
  expires_at_ms: BigIntColumn;
  revoked: number;
}

export interface ClusterEventsTable {
  seq: Generated<BigIntColumn>;
  at_ms: BigIntColumn;
  kind: string;
  node_id: string | null;
  data: string;
}

export interface CloudSendsTable {
  message_id: string;
  state: string;
  epoch: BigIntColumn;
  wamid: string | null;
  updated_at_ms: BigIntColumn;
}

export interface CloudEventsTable {
  seq: Generated<BigIntColumn>;
  event_id: string;
  bucket: number;
  contact: string;
  payload: string;
  done: number;
  received_at_ms: BigIntColumn;
}

export interface Schema {
  leases: LeasesTable;
  nodes: NodesTable;
  shard_generations: ShardGenerationsTable;
  shard_map: ShardMapTable;
  settings: SettingsTable;
  messages: MessagesTable;
  inbound_messages: InboundMessagesTable;
  callbacks: CallbacksTable;
  users: UsersTable;
  tokens: TokensTable;
  cluster_events: ClusterEventsTable;
  cloud_sends: CloudSendsTable;
  cloud_events: CloudEventsTable;
}
