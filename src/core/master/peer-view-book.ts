/**
 * The primary master's copy of the other masters' heartbeat views (the second opinion the heartbeat
 * path needs). One fetch per master in flight, one every heartbeat interval; an unanswered fetch is
 * abandoned after a heartbeat interval. A view is used only while fresh (see `peerAgrees`).
 */
import { masterNodesMax, masterPeersMax } from '../limits.js';
import { compareIds, type ClusterNode, type PeerView } from './cluster-view.js';
import type { PeerObservation } from './coreapp-health.js';
import type { PeerViewEvent } from './master-events.js';

interface Peer {
  internalUrl: string | null;
  lastSentAtMs: number;
  pending: { readonly requestId: number; readonly issuedAtMs: number } | null;
  view: { readonly silenceByCoreapp: ReadonlyMap<string, number>; readonly receivedAtMs: number } | null;
}

export interface PeerTarget {
  readonly masterId: string;
  readonly internalUrl: string;
}

export class PeerViewBook {
  readonly #peers = new Map<string, Peer>();

  /** Follows the node list: the other masters, at most `masterPeersMax` (lowest ids). */
  sync(masters: readonly ClusterNode[]): void {
    const kept = [...masters].sort((a, b) => compareIds(a.id, b.id)).slice(0, masterPeersMax);
    const listed = new Set(kept.map((m) => m.id));
    for (const id of [...this.#peers.keys()]) if (!listed.has(id)) this.#peers.delete(id);
    for (const master of kept) {
      const peer = this.#peers.get(master.id);
      if (peer !== undefined) peer.internalUrl = master.internalUrl;
      else this.#peers.set(master.id, { internalUrl: master.internalUrl, lastSentAtMs: Number.NEGATIVE_INFINITY, pending: null, view: null });
    }
  }

  /** Forgets every view (a pause, or this master stopped being primary). */
  clear(): void {
    for (const peer of this.#peers.values()) {
      peer.view = null;
      peer.pending = null;
      peer.lastSentAtMs = Number.NEGATIVE_INFINITY;
    }
  }

  due(nowMs: number, intervalMs: number): PeerTarget[] {
    const targets: PeerTarget[] = [];
    for (const [masterId, peer] of [...this.#peers.entries()].sort(([a], [b]) => compareIds(a, b))) {
      if (peer.internalUrl === null) continue;
      if (peer.pending !== null && nowMs - peer.pending.issuedAtMs < intervalMs) continue;
      if (nowMs - peer.lastSentAtMs < intervalMs) continue;
      targets.push({ masterId, internalUrl: peer.internalUrl });
    }
    return targets;
  }

  sent(masterId: string, requestId: number, nowMs: number): void {
    const peer = this.#peers.get(masterId);
    if (peer === undefined) return;
    peer.pending = { requestId, issuedAtMs: nowMs };
    peer.lastSentAtMs = nowMs;
  }

  onResult(event: PeerViewEvent): void {
    const peer = this.#peers.get(event.masterId);
    if (peer === undefined || peer.pending?.requestId !== event.requestId) return;
    peer.pending = null;
    if (event.view === null) return;
    peer.view = { silenceByCoreapp: silenceMap(event.view), receivedAtMs: event.atMs };
  }

  /** Every other master's latest observation of one coreapp. */
  observations(coreappId: string): PeerObservation[] {
    const found: PeerObservation[] = [];
    for (const peer of this.#peers.values()) {
      const silence = peer.view?.silenceByCoreapp.get(coreappId);
      if (peer.view !== null && silence !== undefined) found.push({ silenceMs: silence, receivedAtMs: peer.view.receivedAtMs });
    }
    return found;
  }
}

function silenceMap(view: PeerView): Map<string, number> {
  const map = new Map<string, number>();
  for (const entry of view.coreapps.slice(0, masterNodesMax)) {
    if (Number.isFinite(entry.silenceMs) && entry.silenceMs >= 0) map.set(entry.coreappId, entry.silenceMs);
  }
  return map;
}
