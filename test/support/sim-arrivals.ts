/** Every message the simulator at `simUrl` took, in arrival order, with its arrival time and shard (paged `GET /sim/messages`). */
export async function simArrivals(simUrl: string): Promise<{ id: string; atMs: number; shard: number }[]> {
  const out: { id: string; atMs: number; shard: number }[] = [];
  let after = 0;
  for (;;) {
    const page = (await (await fetch(`${simUrl}/sim/messages?after=${after}&limit=10000`)).json()) as {
      ids: string[];
      arrived_at_ms: number[];
      shards: number[];
      next_after: number | null;
    };
    page.ids.forEach((id, i) => out.push({ id, atMs: page.arrived_at_ms[i] as number, shard: page.shards[i] as number }));
    if (page.next_after === null) return out;
    after = page.next_after;
  }
}
