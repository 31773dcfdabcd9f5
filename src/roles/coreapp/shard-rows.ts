import type { ShardRows } from '../../core/coreapp/ownership.js';
import type { ShardMap } from '../../ports/shard-map-store.js';

/** The stored shard map as the pure ownership decisions (`src/core/coreapp/ownership.ts`) read it. */
export function shardRows(map: ShardMap | null): ShardRows | null {
  if (map === null) return null;
  return { generation: map.generation.generation, retired: map.generation.state === 'retired', assignments: map.assignments };
}
