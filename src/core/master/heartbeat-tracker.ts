/**
 * One master's heartbeats to the coreapps: when to send the next, what came back, and the
 * observations the health rules read. Every master keeps one (secondaries too: their observations
 * are the peer views the primary master asks for). Times are the master's own clock.
 *
 * Invariants: at most one heartbeat per coreapp in flight (one unanswered for a heartbeat interval
 * is abandoned, and its late answer ignored); a coreapp's silence is counted only from the first
 * heartbeat sent since watching (re)started — at start, after a pause (`restart()`), or when the
 * coreapp first appears — so a master never finds a coreapp silent for longer than it has been asking.
 */
import { compareIds, type ClusterNode, type OwnershipClaim, type PeerView } from './cluster-view.js';
import { silenceMs, type HeartbeatObservation } from './coreapp-health.js';
import type { HeartbeatResultEvent } from './master-events.js';

interface Watch {
  internalUrl: string | null;
  watchSinceMs: number | null;
  lastAnswerAtMs: number | null;
  lastSentAtMs: number;
  pending: { readonly requestId: number; readonly issuedAtMs: number } | null;
  /** The latest answer's claim, and whether the caller has taken it yet. */
  claim: OwnershipClaim | null;
  answerFresh: boolean;
}

/** An answer the caller has not acted on yet. */
export interface FreshAnswer {
  readonly coreappId: string;
  readonly claim: OwnershipClaim | null;
  readonly atMs: number;
}

export interface HeartbeatTarget {
  readonly coreappId: string;
  readonly internalUrl: string;
}

export class HeartbeatTracker {
  readonly #watches = new Map<string, Watch>();

  /** Follows the node list: new coreapps are watched, departed ones forgotten. */
  sync(coreapps: readonly ClusterNode[]): void {
    const listed = new Set(coreapps.map((c) => c.id));
    for (const id of [...this.#watches.keys()]) if (!listed.has(id)) this.#watches.delete(id);
    for (const node of coreapps) {
      const watch = this.#watches.get(node.id);
      if (watch !== undefined) watch.internalUrl = node.internalUrl;
      else this.#watches.set(node.id, newWatch(node.internalUrl));
    }
  }

  /** After a pause: nothing seen before counts; watching starts again with the next heartbeat. */
  restart(): void {
    for (const [id, watch] of this.#watches) this.#watches.set(id, newWatch(watch.internalUrl));
  }

  /** The coreapps to heartbeat now, by node id. */
  due(nowMs: number, heartbeatMs: number): HeartbeatTarget[] {
    const targets: HeartbeatTarget[] = [];
    for (const [coreappId, watch] of this.#sorted()) {
      if (watch.internalUrl === null) continue;
      if (watch.pending !== null && nowMs - watch.pending.issuedAtMs < heartbeatMs) continue;
      if (nowMs - watch.lastSentAtMs < heartbeatMs) continue;
      targets.push({ coreappId, internalUrl: watch.internalUrl });
    }
    return targets;
  }

  sent(coreappId: string, requestId: number, nowMs: number): void {
    const watch = this.#watches.get(coreappId);
    if (watch === undefined) return;
    watch.pending = { requestId, issuedAtMs: nowMs };
    watch.lastSentAtMs = nowMs;
    watch.watchSinceMs ??= nowMs;
  }

  onResult(event: HeartbeatResultEvent): void {
    const watch = this.#watches.get(event.coreappId);
    if (watch === undefined || watch.pending?.requestId !== event.requestId) return;
    watch.pending = null;
    if (event.outcome !== 'answered') return;
    watch.lastAnswerAtMs = Math.max(watch.lastAnswerAtMs ?? event.atMs, event.atMs);
    watch.claim = event.owns;
    watch.answerFresh = true;
  }

  observation(coreappId: string): HeartbeatObservation | null {
    const watch = this.#watches.get(coreappId);
    return watch === undefined ? null : { watchSinceMs: watch.watchSinceMs, lastAnswerAtMs: watch.lastAnswerAtMs };
  }

  /** What the coreapp said it owns in its latest answer (null: nothing, or no answer yet). */
  claim(coreappId: string): OwnershipClaim | null {
    return this.#watches.get(coreappId)?.claim ?? null;
  }

  /** The answers that arrived since the last call, by node id (the latest per coreapp). */
  takeFreshAnswers(): FreshAnswer[] {
    const fresh: FreshAnswer[] = [];
    for (const [coreappId, watch] of this.#sorted()) {
      if (!watch.answerFresh || watch.lastAnswerAtMs === null) continue;
      watch.answerFresh = false;
      fresh.push({ coreappId, claim: watch.claim, atMs: watch.lastAnswerAtMs });
    }
    return fresh;
  }

  /** This master's observations as durations, for the primary master. */
  view(masterId: string, nowMs: number): PeerView {
    const coreapps: { coreappId: string; silenceMs: number }[] = [];
    for (const [coreappId, watch] of this.#sorted()) {
      const silence = silenceMs(watch, nowMs);
      if (silence !== null) coreapps.push({ coreappId, silenceMs: silence });
    }
    return { masterId, coreapps };
  }

  #sorted(): [string, Watch][] {
    return [...this.#watches.entries()].sort(([a], [b]) => compareIds(a, b));
  }
}

function newWatch(internalUrl: string | null): Watch {
  return {
    internalUrl,
    watchSinceMs: null,
    lastAnswerAtMs: null,
    lastSentAtMs: Number.NEGATIVE_INFINITY,
    pending: null,
    claim: null,
    answerFresh: false,
  };
}
