/**
 * NodeStore on SQL. Every instant the store records or reports (`startedAtMs`, `lastSeenAtMs`,
 * `NodeList.nowMs`) is read from the database clock, so nodes whose own clocks disagree are all
 * judged on one time line. `register` is one upsert that replaces the whole row (a re-registration
 * is a new start: new times, no shard); `touch` is one UPDATE.
 *
 * Lists are sorted here by UTF-16 code units rather than by the database: collations differ between
 * dialects (MariaDB's default is case-insensitive, PostgreSQL's follows the server's locale), and the
 * order every caller sees must not depend on where the rows live.
 */
import type { Kysely, Selectable } from 'kysely';
import type { NewNode, NodeList, NodeRecord, NodeRole, NodeStore } from '../../ports/node-store.js';
import type { Database } from './database.js';
import type { NodesTable, Schema } from './schema.js';

type Db = Kysely<Schema>;

const NODE_COLUMNS = ['id', 'role', 'hostname', 'internal_url', 'started_at_ms', 'last_seen_at_ms', 'status', 'shard'] as const;
const NODE_ROLES: readonly NodeRole[] = ['master', 'coreapp', 'webapp', 'single'];

export class KyselyNodeStore implements NodeStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  /**
   * With RETURNING (SQLite, PostgreSQL) the upsert reports its own row; on MySQL the upsert and the
   * read share a transaction so the caller gets exactly the row it wrote.
   */
  async register(node: NewNode): Promise<NodeRecord> {
    if (this.#database.supportsUpdateReturning) {
      const row = await this.#upsert(this.#database.db, node).returning(NODE_COLUMNS).executeTakeFirstOrThrow();
      return toRecord(row);
    }
    return this.#database.db.transaction().execute(async (trx) => {
      await this.#upsert(trx, node).execute();
      return toRecord(await selectNode(trx, node.id).executeTakeFirstOrThrow());
    });
  }

  async touch(id: string, update: { readonly status?: string; readonly shard?: number | null } = {}): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('nodes')
      .set({
        last_seen_at_ms: this.#database.nowMsSql(),
        ...(update.status !== undefined ? { status: update.status } : {}),
        ...(update.shard !== undefined ? { shard: update.shard } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    // mysql2 connects with FOUND_ROWS, so MySQL counts matched rows here even if nothing changed.
    return Number(result.numUpdatedRows) > 0;
  }

  async get(id: string): Promise<NodeRecord | null> {
    const row = await selectNode(this.#database.db, id).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  /** Reads the clock in the same statement as the rows; an empty table needs a read of its own. */
  async list(): Promise<NodeList> {
    const rows = await this.#database.db
      .selectFrom('nodes')
      .select([...NODE_COLUMNS, this.#database.nowMsSql().as('now_ms')])
      .execute();
    const first = rows[0];
    const nowMs = first === undefined ? await this.#database.nowMs() : Number(first.now_ms);
    return { nowMs, nodes: rows.map(toRecord).sort(byId) };
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.#database.db.deleteFrom('nodes').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Inserts the node's row or replaces every column of an existing one, both at the database's now. */
  #upsert(db: Db, node: NewNode) {
    const now = this.#database.nowMsSql();
    const columns = {
      role: node.role,
      hostname: node.hostname,
      internal_url: node.internalUrl,
      started_at_ms: now,
      last_seen_at_ms: now,
      status: node.status,
      shard: null,
    };
    const insert = db.insertInto('nodes').values({ id: node.id, ...columns });
    if (this.#database.dialect === 'mysql') return insert.onDuplicateKeyUpdate(columns);
    return insert.onConflict((oc) => oc.column('id').doUpdateSet(columns));
  }
}

function selectNode(db: Db, id: string) {
  return db.selectFrom('nodes').select(NODE_COLUMNS).where('id', '=', id);
}

function toRecord(row: Selectable<NodesTable>): NodeRecord {
  return {
    id: row.id,
    role: toRole(row.role),
    hostname: row.hostname,
    internalUrl: row.internal_url,
    startedAtMs: Number(row.started_at_ms),
    lastSeenAtMs: Number(row.last_seen_at_ms),
    status: row.status,
    shard: row.shard === null ? null : Number(row.shard),
  };
}

function toRole(value: string): NodeRole {
  const role = NODE_ROLES.find((r) => r === value);
  if (role === undefined) throw new Error(`nodes row has an unknown role '${value}'`);
  return role;
}

/** Code-unit order, the same in every dialect and in the memory twin. */
function byId(a: NodeRecord, b: NodeRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
