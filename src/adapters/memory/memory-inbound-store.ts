/** The in-memory twin of KyselyInboundStore: rows keyed by upstream id, seq assigned 1, 2, 3, … */
import type { InboundStore, NewInboundMessage, StoredInboundMessage } from '../../ports/inbound-store.js';

export class MemoryInboundStore implements InboundStore {
  readonly #rows = new Map<string, StoredInboundMessage>();
  #lastSeq = 0;

  async insert(message: NewInboundMessage): Promise<{ readonly message: StoredInboundMessage; readonly created: boolean }> {
    const existing = this.#rows.get(message.id);
    if (existing !== undefined) return { message: existing, created: false };
    const { id, shard, sender, payload, receivedAtMs } = message;
    const stored = Object.freeze({ id, shard, sender, payload, receivedAtMs, seq: ++this.#lastSeq, status: 'received' as const });
    this.#rows.set(id, stored);
    return { message: stored, created: true };
  }

  async get(id: string): Promise<StoredInboundMessage | null> {
    return this.#rows.get(id) ?? null;
  }

  async markRead(id: string): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined) return false;
    if (row.status !== 'read') this.#rows.set(id, Object.freeze({ ...row, status: 'read' as const }));
    return true;
  }
}
