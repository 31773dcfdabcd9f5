/** Small helpers for tests that drive `MasterMachine` by hand: picking effects, building nodes and maps. */
import { expect } from 'vitest';
import type { ClusterNode, ShardMapView } from '../../../src/core/master/cluster-view.js';
import type { MasterEffect } from '../../../src/core/master/master-effects.js';

export type Kind = MasterEffect['kind'];
export type Of<K extends Kind> = Extract<MasterEffect, { kind: K }>;

export function only<K extends Kind>(effects: readonly MasterEffect[], kind: K): Of<K>[] {
  return effects.filter((e): e is Of<K> => e.kind === kind);
}

export function one<K extends Kind>(effects: readonly MasterEffect[], kind: K): Of<K> {
  const found = only(effects, kind);
  expect(found, `exactly one ${kind} in ${JSON.stringify(effects.map((e) => e.kind))}`).toHaveLength(1);
  return found[0] as Of<K>;
}

export const coreappNode = (id: string, startedAtMs: number, lastSeenAtMs = 50_000): ClusterNode => ({ id, role: 'coreapp', internalUrl: `http://${id}`, startedAtMs, lastSeenAtMs });

export function shardMap(owners: (string | null)[], epochs: number[]): ShardMapView {
  return { generation: 1, shards: owners.length, state: 'active', assignments: owners.map((owner, shard) => ({ shard, owner, epoch: epochs[shard] ?? 1 })) };
}
