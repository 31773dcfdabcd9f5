/**
 * Cluster-wide settings (the `/v1/settings/application` values and other cluster config), stored
 * as JSON per key. Every write bumps the store-wide `version`, so a node can tell with one read
 * whether anything changed since it last looked.
 */
export interface SettingsSnapshot {
  /** Highest version of any write; 0 when nothing was ever written. */
  readonly version: number;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface SettingsStore {
  /** Writes the given keys atomically; returns the new store version. Values must be JSON-serialisable. */
  set(values: Readonly<Record<string, unknown>>, nowMs: number): Promise<number>;
  /** Removes keys (back to their defaults); returns the new store version. */
  remove(keys: readonly string[], nowMs: number): Promise<number>;
  get(key: string): Promise<unknown>;
  snapshot(): Promise<SettingsSnapshot>;
}
