/**
 * EventLogStore on SQL: an append-only table whose auto-increment `seq` is the readers' cursor.
 * `data` is stored as JSON text. Every read is bounded by `eventLogReadMax`, whatever the caller
 * asks for.
 *
 * Known limit: on PostgreSQL and MySQL two appends that run at the same time may commit out of
 * `seq` order, so a reader that polls `list(afterSeq)` exactly between the two commits can step over
 * the smaller seq. The log is written rarely (lease changes, promotions) and mostly by the primary
 * master, so this is tolerated rather than paid for with a table lock on every append.
 */
import { clampLimit } from '../../core/bounds.js';
import type { Kysely, Selectable } from 'kysely';
import { eventLogReadMax } from '../../core/limits.js';
import type { ClusterEvent, EventLogStore, NewClusterEvent } from '../../ports/event-log-store.js';
import type { Database } from './database.js';
import type { ClusterEventsTable, Schema } from './schema.js';

type Db = Kysely<Schema>;

export class KyselyEventLogStore implements EventLogStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  async append(event: NewClusterEvent): Promise<number> {
    const insert = this.#database.db.insertInto('cluster_events').values({
      at_ms: event.atMs,
      kind: event.kind,
      node_id: event.nodeId,
      data: JSON.stringify(event.data),
    });
    // PostgreSQL reports the generated key only through RETURNING; MySQL has no RETURNING but an insert id.
    if (this.#database.supportsUpdateReturning) return Number((await insert.returning('seq').executeTakeFirstOrThrow()).seq);
    const result = await insert.executeTakeFirstOrThrow();
    if (result.insertId === undefined) throw new Error('cluster_events insert reported no id');
    return Number(result.insertId);
  }

  async list(afterSeq: number, limit: number): Promise<readonly ClusterEvent[]> {
    const rows = await selectEvents(this.#database.db).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(clampLimit(limit, eventLogReadMax)).execute();
    return rows.map(toEvent);
  }

  async latest(limit: number): Promise<readonly ClusterEvent[]> {
    const rows = await selectEvents(this.#database.db).orderBy('seq', 'desc').limit(clampLimit(limit, eventLogReadMax)).execute();
    return rows.reverse().map(toEvent);
  }
}

function selectEvents(db: Db) {
  return db.selectFrom('cluster_events').select(['seq', 'at_ms', 'kind', 'node_id', 'data']);
}

function toEvent(row: Selectable<ClusterEventsTable>): ClusterEvent {
  return {
    seq: Number(row.seq),
    atMs: Number(row.at_ms),
    kind: row.kind,
    nodeId: row.node_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
