// Revision history: old ReplicaSets beyond revisionHistoryLimit go, lowest revision first, but
// only those at 0 replicas with no pods left and whose scale-down their controller has seen.

import { isBeingDeleted } from '../pods';
import { revisionNumber } from './revision';
import type { Rollout } from './rollout';

export function cleanupHistory(w: Rollout): void {
  const limit = w.deployment.spec.revisionHistoryLimit;
  if (limit === undefined) return;
  const alive = w.oldRevisions.filter((r) => !isBeingDeleted(r.rs));
  const excess = alive.length - limit;
  if (excess <= 0) return;
  const byRevision = [...alive].sort((a, b) => revisionNumber(a.rs) - revisionNumber(b.rs) || a.createdAt - b.createdAt);
  for (const rev of byRevision.slice(0, excess)) {
    // As observed, not as this pass left it: one scaled down just now is deleted on a later pass,
    // once its controller has seen the change and its pods are gone.
    const rs = rev.original;
    const observed = rs !== undefined && (rs.status?.observedGeneration ?? 0) >= (rs.metadata.generation ?? 0);
    if (!observed || (rs.spec.replicas ?? 0) !== 0 || w.spec(rev) !== 0 || rev.pods.length > 0) continue;
    w.deleted.push(rev);
  }
}
