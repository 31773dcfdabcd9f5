/**
 * Which coreapp becomes the primary of which shard, and which coreapps must be told to stop: pure
 * functions of the shard map, the coreapps' health and what they say they own. Invariants:
 *
 * - a coreapp owns at most one shard: a candidate owns no shard in the map, claims none, and is
 *   chosen for at most one shard per plan; a map that names one coreapp for several shards (left by
 *   a deposed master's late write) is repaired — the coreapp keeps the shard it claims, else its
 *   lowest, and the others get new primaries;
 * - only a `healthy` coreapp is promoted; an owner is replaced only when `unhealthy` (never while
 *   `unknown`), or when the shard has no owner;
 * - ties are broken explicitly: healthy first, then the longest uptime (smallest `startedAtMs`), then
 *   the lowest node id by code units; shards are served in ascending order. Never by Map or input order.
 */
import type { CoreappHealth } from './coreapp-health.js';
import { compareIds, type OwnershipClaim, type ShardMapView, type ShardOwner } from './cluster-view.js';

export interface CoreappCandidate {
  readonly id: string;
  readonly health: CoreappHealth;
  /** Store clock; smaller is a longer uptime. */
  readonly startedAtMs: number;
  /** What the coreapp last said it owns; null when it owns nothing (or has not answered). */
  readonly claim: OwnershipClaim | null;
}

export interface PromotionInput {
  readonly map: ShardMapView;
  /** Every coreapp in the node list, with its health. An owner missing from it counts as unhealthy. */
  readonly coreapps: readonly CoreappCandidate[];
  /** Shards with a promotion in flight (or of unknown outcome): left alone. */
  readonly busyShards: ReadonlySet<number>;
  /** Coreapps being promoted (or of unknown outcome): not candidates. */
  readonly busyCoreapps: ReadonlySet<string>;
}

export type PromotionReason = 'unowned' | 'unhealthy' | 'duplicate';

export interface ShardNeed {
  readonly shard: number;
  /** The epoch the promotion's compare-and-set expects. */
  readonly expectedEpoch: number;
  /** The owner being replaced, or null. */
  readonly replaces: string | null;
  readonly reason: PromotionReason;
}

export interface PlannedPromotion extends ShardNeed {
  readonly coreappId: string;
}

const HEALTH_RANK: Readonly<Record<CoreappHealth, number>> = { healthy: 0, unknown: 1, unhealthy: 2 };

/** Healthy first, then longest uptime, then lowest node id. */
export function compareCandidates(a: CoreappCandidate, b: CoreappCandidate): number {
  return HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || a.startedAtMs - b.startedAtMs || compareIds(a.id, b.id);
}

function byShard(map: ShardMapView): ShardOwner[] {
  return [...map.assignments].sort((a, b) => a.shard - b.shard);
}

/**
 * For a coreapp named owner of several shards: the shard it keeps — the one it claims under the
 * map's epoch, else the lowest. Returns owner → kept shard for every owner.
 */
export function keptShards(map: ShardMapView, coreapps: readonly CoreappCandidate[]): Map<string, number> {
  const claims = new Map(coreapps.map((c) => [c.id, c.claim]));
  const kept = new Map<string, number>();
  for (const row of byShard(map)) {
    if (row.owner === null) continue;
    const claim = claims.get(row.owner) ?? null;
    const claimsThis = claim !== null && claim.generation === map.generation && claim.shard === row.shard && claim.epoch === row.epoch;
    if (!kept.has(row.owner) || claimsThis) kept.set(row.owner, row.shard);
  }
  return kept;
}

/** The shards that need a new primary, in ascending shard order, with why. */
export function shardsNeedingPrimary(input: PromotionInput): ShardNeed[] {
  const health = new Map(input.coreapps.map((c) => [c.id, c.health]));
  const kept = keptShards(input.map, input.coreapps);
  const needs: ShardNeed[] = [];
  for (const row of byShard(input.map)) {
    if (input.busyShards.has(row.shard)) continue;
    const base = { shard: row.shard, expectedEpoch: row.epoch, replaces: row.owner };
    if (row.owner === null) needs.push({ ...base, reason: 'unowned' });
    else if (kept.get(row.owner) !== row.shard) needs.push({ ...base, reason: 'duplicate' });
    else if ((health.get(row.owner) ?? 'unhealthy') === 'unhealthy') needs.push({ ...base, reason: 'unhealthy' });
  }
  return needs;
}

/** Healthy coreapps that own nothing (in the map or by their own claim) and are not busy, best first. */
export function rankCandidates(input: PromotionInput): CoreappCandidate[] {
  const owners = new Set(input.map.assignments.map((a) => a.owner));
  return input.coreapps
    .filter((c) => c.health === 'healthy' && c.claim === null && !owners.has(c.id) && !input.busyCoreapps.has(c.id))
    .sort(compareCandidates);
}

/** One promotion per shard in need, while candidates last; each candidate is used once. */
export function planPromotions(input: PromotionInput): PlannedPromotion[] {
  const candidates = rankCandidates(input);
  const plans: PlannedPromotion[] = [];
  for (const need of shardsNeedingPrimary(input)) {
    const candidate = candidates[plans.length];
    if (candidate === undefined) break;
    plans.push({ ...need, coreappId: candidate.id });
  }
  return plans;
}

export type DemotionReason = 'stale_generation' | 'no_such_shard' | 'stale_epoch' | 'not_owner';

export interface PlannedDemotion {
  readonly coreappId: string;
  readonly claim: OwnershipClaim;
  readonly reason: DemotionReason;
}

/** Why `coreappId`'s claim is stale against `map`, or null if it is current — or newer than the map. */
export function staleClaimReason(map: ShardMapView, coreappId: string, claim: OwnershipClaim): DemotionReason | null {
  // A claim from a later generation or epoch than the map means the map we hold is old: never demote on it.
  if (claim.generation > map.generation) return null;
  if (claim.generation < map.generation) return 'stale_generation';
  const row = map.assignments.find((a) => a.shard === claim.shard);
  if (row === undefined) return 'no_such_shard';
  if (claim.epoch > row.epoch) return null;
  if (claim.epoch < row.epoch) return 'stale_epoch';
  return row.owner === coreappId ? null : 'not_owner';
}

/** The coreapps whose claims the map contradicts, by node id. */
export function planDemotions(
  map: ShardMapView,
  claims: readonly { readonly coreappId: string; readonly claim: OwnershipClaim }[],
): PlannedDemotion[] {
  const demotions: PlannedDemotion[] = [];
  for (const { coreappId, claim } of claims) {
    const reason = staleClaimReason(map, coreappId, claim);
    if (reason !== null) demotions.push({ coreappId, claim, reason });
  }
  return demotions.sort((a, b) => compareIds(a.coreappId, b.coreappId));
}
