/**
 * The in-memory twin of KyselySettingsStore. Values are kept as JSON text and parsed on every read,
 * so callers get fresh copies and the same JSON round-trip as from SQL. The store-wide version is a
 * counter that every `set` and `remove` call bumps (even one that changes nothing), and the name
 * `__version` is refused as in SQL, where it names the counter row.
 */
import type { SettingsSnapshot, SettingsStore } from '../../ports/settings-store.js';

const RESERVED_NAME = '__version';

export class MemorySettingsStore implements SettingsStore {
  readonly #values = new Map<string, string>();
  #version = 0;

  async set(values: Readonly<Record<string, unknown>>, _nowMs: number): Promise<number> {
    // Encode everything first: a value without a JSON encoding refuses the whole write.
    const encoded = Object.entries(values).map(([name, value]) => [checkedName(name), encodeValue(name, value)] as const);
    for (const [name, text] of encoded) this.#values.set(name, text);
    return ++this.#version;
  }

  async remove(keys: readonly string[], _nowMs: number): Promise<number> {
    const names = keys.map(checkedName);
    for (const name of names) this.#values.delete(name);
    return ++this.#version;
  }

  async get(key: string): Promise<unknown> {
    const text = this.#values.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  async snapshot(): Promise<SettingsSnapshot> {
    const entries = [...this.#values].map(([name, text]) => [name, JSON.parse(text)] as const);
    return { version: this.#version, values: Object.fromEntries(entries) };
  }
}

function checkedName(name: string): string {
  if (name === RESERVED_NAME) throw new Error(`'${RESERVED_NAME}' is reserved for the settings version`);
  return name;
}

function encodeValue(name: string, value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`setting '${name}' has no JSON encoding (${typeof value})`);
  return text;
}
