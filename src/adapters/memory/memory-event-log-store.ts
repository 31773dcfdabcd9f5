/**
 * The in-memory twin of KyselyEventLogStore: an array in which the event with `seq` n sits at index
 * n - 1, so seqs start at 1 and grow by one. `data` is kept as JSON text and parsed on every read,
 * giving callers fresh copies and the same JSON round-trip as SQL. Reads are bounded by
 * `eventLogReadMax`, as in SQL.
 */
import { clampLimit } from '../../core/bounds.js';
import { eventLogReadMax } from '../../core/limits.js';
import type { ClusterEvent, EventLogStore, NewClusterEvent } from '../../ports/event-log-store.js';

interface StoredEvent {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: string;
  readonly nodeId: string | null;
  readonly dataJson: string;
}

export class MemoryEventLogStore implements EventLogStore {
  readonly #events: StoredEvent[] = [];

  async append(event: NewClusterEvent): Promise<number> {
    const seq = this.#events.length + 1;
    this.#events.push({ seq, atMs: event.atMs, kind: event.kind, nodeId: event.nodeId, dataJson: JSON.stringify(event.data) });
    return seq;
  }

  async list(afterSeq: number, limit: number): Promise<readonly ClusterEvent[]> {
    // Events with seq > afterSeq start at index floor(afterSeq) (seq n is at index n - 1).
    const start = Math.min(Math.max(0, Math.floor(afterSeq)), this.#events.length);
    return this.#events.slice(start, start + clampLimit(limit, eventLogReadMax)).map(toEvent);
  }

  async latest(limit: number): Promise<readonly ClusterEvent[]> {
    const count = clampLimit(limit, eventLogReadMax);
    return count === 0 ? [] : this.#events.slice(-count).map(toEvent);
  }
}

function toEvent(event: StoredEvent): ClusterEvent {
  return {
    seq: event.seq,
    atMs: event.atMs,
    kind: event.kind,
    nodeId: event.nodeId,
    data: JSON.parse(event.dataJson) as Record<string, unknown>,
  };
}
