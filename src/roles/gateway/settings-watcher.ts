/**
 * Keeps this node's view of the cluster settings current. Every node polls the settings store's
 * version (one cheap read) and reloads when it moved, so a `PATCH /v1/settings/application` on any
 * webapp reaches every node within one poll interval, without a restart.
 */
import { accountFromStored, ACCOUNT_SETTINGS_KEY, type AccountRecord } from '../../core/account.js';
import { APPLICATION_SETTINGS_KEY, settingsFromStored, type ApplicationSettings } from '../../core/app-settings.js';
import type { SettingsStore } from '../../ports/settings-store.js';

export class SettingsWatcher {
  readonly #store: SettingsStore;
  readonly #intervalMs: number;
  #version = -1;
  #application: ApplicationSettings = settingsFromStored(undefined);
  #account: AccountRecord | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #listeners = new Set<() => void>();

  constructor(store: SettingsStore, intervalMs: number) {
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  /** Loads the settings once, then keeps polling until `stop()`. */
  async start(): Promise<void> {
    await this.refresh();
    const tick = () => {
      this.refresh()
        .catch(() => {}) // The database may be briefly unreachable; the next poll retries.
        .finally(() => {
          if (this.#timer !== null) this.#timer = setTimeout(tick, this.#intervalMs);
        });
    };
    this.#timer = setTimeout(tick, this.#intervalMs);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Re-reads the settings if their version moved; returns true when something changed. */
  async refresh(): Promise<boolean> {
    const snapshot = await this.#store.snapshot();
    if (snapshot.version === this.#version) return false;
    this.#version = snapshot.version;
    this.#application = settingsFromStored(snapshot.values[APPLICATION_SETTINGS_KEY]);
    this.#account = accountFromStored(snapshot.values[ACCOUNT_SETTINGS_KEY]);
    for (const listener of this.#listeners) listener();
    return true;
  }

  application(): ApplicationSettings {
    return this.#application;
  }

  account(): AccountRecord | null {
    return this.#account;
  }

  /** Calls `listener` after every change (registration, a PATCH of the settings). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
