/**
 * The in-memory twin of KyselyNodeStore: a Map of frozen records judged by a Clock. Registration
 * replaces the whole record (new times, no shard), and lists are ordered by id in code-unit order,
 * exactly as the SQL store orders them.
 */
import type { Clock } from '../../ports/clock.js';
import type { NewNode, NodeList, NodeRecord, NodeStore } from '../../ports/node-store.js';

export class MemoryNodeStore implements NodeStore {
  readonly #clock: Clock;
  readonly #nodes = new Map<string, NodeRecord>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async register(node: NewNode): Promise<NodeRecord> {
    const nowMs = this.#clock.nowMs();
    const record: NodeRecord = Object.freeze({
      id: node.id,
      role: node.role,
      hostname: node.hostname,
      internalUrl: node.internalUrl,
      startedAtMs: nowMs,
      lastSeenAtMs: nowMs,
      status: node.status,
      shard: null,
    });
    this.#nodes.set(node.id, record);
    return record;
  }

  async touch(id: string, update: { readonly status?: string; readonly shard?: number | null } = {}): Promise<boolean> {
    const current = this.#nodes.get(id);
    if (current === undefined) return false;
    this.#nodes.set(
      id,
      Object.freeze({
        ...current,
        lastSeenAtMs: this.#clock.nowMs(),
        status: update.status ?? current.status,
        shard: update.shard === undefined ? current.shard : update.shard,
      }),
    );
    return true;
  }

  async get(id: string): Promise<NodeRecord | null> {
    return this.#nodes.get(id) ?? null;
  }

  async list(): Promise<NodeList> {
    const nodes = [...this.#nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nowMs: this.#clock.nowMs(), nodes };
  }

  async remove(id: string): Promise<boolean> {
    return this.#nodes.delete(id);
  }
}
