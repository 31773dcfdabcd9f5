/**
 * The coreapp's ownership decisions, as pure functions: whether to take a promotion it is offered,
 * whether a demotion applies, whether the shard map backs an ownership, what it claims in a heartbeat
 * answer, and when a pause or a slow decision needs a look at the map before sending.
 * The coreapp role (`src/roles/coreapp/`) and the deterministic simulation (`test/simulation/`) both
 * decide with these, so the simulation checks the logic that runs in production.
 *
 * Invariants:
 * - a coreapp owns at most one shard: a promotion for another shard while it owns one is refused,
 *   unless it belongs to a newer generation (the old ownership is released first);
 * - an ownership is claimed (in heartbeat answers) only after the shard-map row was verified;
 * - a demotion revokes only the ownership it names or an older one of the same shard, so a late
 *   demote never stops a newer ownership;
 * - serving needs the map row to name this coreapp under exactly the ownership's epoch in a
 *   generation that is not retired.
 */

/** One ownership: (generation, shard) under a fencing epoch. */
export interface OwnershipFence {
  readonly generation: number;
  readonly shard: number;
  readonly epoch: number;
}

/** The subset of the shard map these decisions read (the runtime converts its store record). */
export interface ShardRows {
  readonly generation: number;
  readonly retired: boolean;
  readonly assignments: readonly { readonly shard: number; readonly owner: string | null; readonly epoch: number }[];
}

/**
 * What to do with a promotion offered while owning `owned` (null: nothing):
 * `take` it, ignore it as `already` held, `refuse` it (another shard of the same or a newer
 * generation is owned), or `replace` the owned one (same shard under a newer epoch or generation,
 * or any shard of a newer generation) — release first, then take.
 */
export type PromotionDecision = 'take' | 'already' | 'refuse' | 'replace';

export function decidePromotion(owned: OwnershipFence | null, offered: OwnershipFence): PromotionDecision {
  if (owned === null) return 'take';
  if (sameOwnership(owned, offered)) return 'already';
  const newerOfSame = owned.shard === offered.shard && (offered.generation > owned.generation || offered.epoch > owned.epoch);
  if (!newerOfSame && owned.generation >= offered.generation) return 'refuse';
  return 'replace';
}

/** A demote for `revoked` stops `owned` only if it names the same shard and generation at `owned`'s epoch or a later one. */
export function demotionApplies(owned: OwnershipFence | null, revoked: OwnershipFence): boolean {
  return owned !== null && owned.generation === revoked.generation && owned.shard === revoked.shard && owned.epoch <= revoked.epoch;
}

/** The map names `nodeId` the owner of the shard under exactly this ownership, in a live generation. */
export function mapNamesOwner(map: ShardRows | null, nodeId: string, owned: OwnershipFence): boolean {
  if (!mapHoldsEpoch(map, owned)) return false;
  return map?.assignments.find((a) => a.shard === owned.shard)?.owner === nodeId;
}

/** The map still holds this ownership's epoch for its shard in a live generation (the worker's fence check). */
export function mapHoldsEpoch(map: ShardRows | null, owned: OwnershipFence): boolean {
  if (map === null || map.generation !== owned.generation || map.retired) return false;
  return map.assignments.find((a) => a.shard === owned.shard)?.epoch === owned.epoch;
}

/** What a heartbeat answer claims: only a verified ownership (an unverified one is not claimed). */
export function claimOf(owned: (OwnershipFence & { readonly verified: boolean }) | null): OwnershipFence | null {
  if (owned === null || !owned.verified) return null;
  return { generation: owned.generation, shard: owned.shard, epoch: owned.epoch };
}

/** The pause threshold: `coreappPauseRecheckMs`, or one heartbeat interval if shorter. */
export function pauseRecheckMs(recheckMaxMs: number, heartbeatMs: number): number {
  return Math.min(recheckMaxMs, heartbeatMs);
}

/**
 * The shard may have moved on since a serving coreapp last knew it owned it, so the map must be read
 * before anything is sent, when either:
 * - its event loop stood still longer than `pauseMs` (`stallMs`: a SIGSTOP, a VM freeze, a long GC).
 *   While the loop stands still the heartbeats go unanswered and the heartbeat path can fail the
 *   coreapp over; this is measured by the loop's own ticks, so a slow database (the loop running,
 *   only a query waiting) is not taken for a pause;
 * - the decision took longer than `slowMs` of wall time however busy the loop was (`elapsedMs`): a
 *   wait that long, for instance on a database cut off or hung, may span a failover decided on the
 *   database path.
 */
export function mustRecheckOwnership(stallMs: number, elapsedMs: number, pauseMs: number, slowMs: number): boolean {
  return stallMs > pauseMs || elapsedMs > slowMs;
}

/** The wall-time bound of `mustRecheckOwnership`: one database-liveness interval, and never below the pause threshold. */
export function slowDecisionMs(pauseMs: number, dbLivenessMs: number): number {
  return Math.max(pauseMs, dbLivenessMs);
}

export function sameOwnership(a: OwnershipFence, b: OwnershipFence): boolean {
  return a.generation === b.generation && a.shard === b.shard && a.epoch === b.epoch;
}
