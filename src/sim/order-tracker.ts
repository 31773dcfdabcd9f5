/**
 * Per-recipient order: the network must receive a recipient's messages in the gateway's sequence
 * order. The send frame carries the gateway's per-shard sequence number, and one recipient always
 * maps to one shard of a shard count, so sequences are compared per (account, recipient) within one
 * shard count; when the account's shard count changes, the recipient's history starts afresh (a new
 * generation may number its shards anew). A message whose sequence is not strictly greater than the
 * last one received for its recipient is an order violation: B arrived before A although A's
 * sequence is lower (or two messages share a sequence).
 */
export interface OrderViolation {
  readonly previousId: string;
  readonly previousSeq: number;
}

interface LastSeen {
  shards: number;
  seq: number;
  id: string;
}

export class OrderTracker {
  private readonly last = new Map<string, LastSeen>();

  /** Records a newly received message; returns the violation it makes, or null. */
  observe(account: string, recipient: string, shards: number, seq: number, id: string): OrderViolation | null {
    const key = `${account}|${recipient}`;
    const seen = this.last.get(key);
    if (seen === undefined) {
      this.last.set(key, { shards, seq, id });
      return null;
    }
    if (seen.shards !== shards || seq > seen.seq) {
      seen.shards = shards;
      seen.seq = seq;
      seen.id = id;
      return null;
    }
    // Keep the highest sequence seen: a later message must exceed it too.
    return { previousId: seen.id, previousSeq: seen.seq };
  }

  clear(): void {
    this.last.clear();
  }
}
