/**
 * SettingsStore on SQL. The store-wide version lives in a reserved row (`__version`) that every
 * write bumps first, inside the write's transaction:
 *
 * - the bump is an UPDATE of one row, so it takes that row's lock (SQLite: the write lock) before
 *   anything else; concurrent writers queue behind it and each gets the next version, never the same
 *   one (a `select max(version) + 1` would hand two PostgreSQL/MySQL writers the same number);
 * - every key a `set` writes carries the new version, so the counter is always the table's maximum
 *   and `snapshot().version` is `max(version)` over all rows, read with the values in one statement;
 * - `remove` bumps the counter too: deleting the newest key can never make the version a reader
 *   sees go backwards.
 *
 * Every call is a write and gets a new version, even one that changes nothing (an empty `set`, a
 * `remove` of absent keys): readers reload needlessly at worst, and no call has to inspect the table
 * before deciding whether to lock it. Values are JSON text; a value JSON cannot encode is refused
 * before the transaction starts, so a `set` is all-or-nothing.
 */
import type { Kysely } from 'kysely';
import type { SettingsSnapshot, SettingsStore } from '../../ports/settings-store.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';

type Db = Kysely<Schema>;

/** The counter row's name; no setting may use it. */
const SETTINGS_VERSION_ROW = '__version';

export class KyselySettingsStore implements SettingsStore {
  readonly #database: Database;
  #counterReady = false;

  constructor(database: Database) {
    this.#database = database;
  }

  async set(values: Readonly<Record<string, unknown>>, nowMs: number): Promise<number> {
    const encoded = Object.entries(values).map(([name, value]) => ({ name: checkedName(name), value: encodeValue(name, value) }));
    return this.#write(nowMs, async (trx, version) => {
      if (encoded.length === 0) return;
      const rows = encoded.map((row) => ({ ...row, version, updated_at_ms: nowMs }));
      const insert = trx.insertInto('settings').values(rows);
      const fixed = { version, updated_at_ms: nowMs };
      if (this.#database.dialect === 'mysql') {
        await insert.onDuplicateKeyUpdate((eb) => ({ value: eb.fn<string>('values', [eb.ref('value')]), ...fixed })).execute();
      } else {
        await insert.onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), ...fixed }))).execute();
      }
    });
  }

  async remove(keys: readonly string[], nowMs: number): Promise<number> {
    const names = keys.map(checkedName);
    return this.#write(nowMs, async (trx) => {
      if (names.length > 0) await trx.deleteFrom('settings').where('name', 'in', names).execute();
    });
  }

  async get(key: string): Promise<unknown> {
    if (key === SETTINGS_VERSION_ROW) return undefined;
    const row = await this.#database.db.selectFrom('settings').select('value').where('name', '=', key).executeTakeFirst();
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  async snapshot(): Promise<SettingsSnapshot> {
    const rows = await this.#database.db.selectFrom('settings').select(['name', 'value', 'version']).execute();
    let version = 0;
    const entries: [string, unknown][] = [];
    for (const row of rows) {
      version = Math.max(version, Number(row.version));
      if (row.name !== SETTINGS_VERSION_ROW) entries.push([row.name, JSON.parse(row.value)]);
    }
    // fromEntries defines own properties, so even a key named `__proto__` survives.
    return { version, values: Object.fromEntries(entries) };
  }

  /** Runs `body` in a transaction that first takes the next store version. */
  async #write(nowMs: number, body: (trx: Db, version: number) => Promise<void>): Promise<number> {
    await this.#ensureCounter();
    return this.#database.db.transaction().execute(async (trx) => {
      const version = await this.#bump(trx, nowMs);
      await body(trx, version);
      return version;
    });
  }

  async #bump(trx: Db, nowMs: number): Promise<number> {
    const update = trx
      .updateTable('settings')
      .set((eb) => ({ version: eb('version', '+', 1), updated_at_ms: nowMs }))
      .where('name', '=', SETTINGS_VERSION_ROW);
    if (this.#database.supportsUpdateReturning) {
      return Number((await update.returning('version').executeTakeFirstOrThrow()).version);
    }
    await update.execute();
    // The row is locked by this transaction since the UPDATE, so this reads the value it wrote.
    const row = await trx.selectFrom('settings').select('version').where('name', '=', SETTINGS_VERSION_ROW).executeTakeFirstOrThrow();
    return Number(row.version);
  }

  /** Creates the counter row (version 0) once, so that every write starts with an UPDATE. */
  async #ensureCounter(): Promise<void> {
    if (this.#counterReady) return;
    const insert = this.#database.db
      .insertInto('settings')
      .values({ name: SETTINGS_VERSION_ROW, value: 'null', version: 0, updated_at_ms: 0 });
    if (this.#database.dialect === 'mysql') await insert.ignore().execute();
    else await insert.onConflict((oc) => oc.column('name').doNothing()).execute();
    this.#counterReady = true;
  }
}

function checkedName(name: string): string {
  if (name === SETTINGS_VERSION_ROW) throw new Error(`'${SETTINGS_VERSION_ROW}' is reserved for the settings version`);
  return name;
}

function encodeValue(name: string, value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`setting '${name}' has no JSON encoding (${typeof value})`);
  return text;
}
