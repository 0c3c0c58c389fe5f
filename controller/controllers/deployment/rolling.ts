// RollingUpdate, step by step as Kubernetes' rolloutRolling: grow the new revision while the
// total stays within replicas + maxSurge; shrink old ones while the available pods stay at least
// replicas - maxUnavailable, removing old unhealthy pods first (they cost no availability and
// would otherwise block the rollout).

import type { DeploymentStatus } from '../../../proto/resources';
import { maxUnavailable } from './fenceposts';
import { newReplicaSetReplicas, syncNewRevision } from './revision';
import { byCreation, type Revision, type Rollout } from './rollout';
import { cleanupHistory } from './cleanup';
import { isComplete, rolloutStatus } from './status';

/** One step of the rollout; returns the Deployment's new status. */
export function rolloutRolling(w: Rollout): DeploymentStatus {
  syncNewRevision(w, true);
  const moved = reconcileNew(w) || reconcileOld(w);
  const status = rolloutStatus(w);
  if (!moved && isComplete(w, status)) cleanupHistory(w);
  return status;
}

/** Scale the new revision toward replicas within the surge; true if it was scaled. */
function reconcileNew(w: Rollout): boolean {
  const rev = w.newRevision!;
  const current = w.spec(rev);
  if (current === w.replicas) return false;
  if (current > w.replicas) return w.scale(rev, w.replicas);
  return w.scale(rev, newReplicaSetReplicas(w, rev));
}

/** Scale old revisions down as far as availability allows; true if any was scaled. */
function reconcileOld(w: Rollout): boolean {
  const old = w.oldRevisions.filter((r) => w.spec(r) > 0);
  if (old.length === 0) return false;
  const all = [...old, w.newRevision!];
  const allPods = all.reduce((n, r) => n + w.spec(r), 0);
  const minAvailable = w.replicas - maxUnavailable(w.deployment);
  const newUnavailable = w.spec(w.newRevision) - w.available(w.newRevision);
  // Pods we may remove without going below minAvailable, counting the new revision's not yet
  // available pods as already missing.
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = cleanupUnhealthy(w, old, maxScaledDown);
  const scaled = scaleDownOld(w, old);
  return cleaned + scaled > 0;
}

/** Remove old revisions' unavailable replicas, oldest revision first, at most `max`. */
function cleanupUnhealthy(w: Rollout, old: Revision[], max: number): number {
  let total = 0;
  for (const rev of [...old].sort(byCreation)) {
    if (total >= max) break;
    const spec = w.spec(rev);
    const unhealthy = spec - w.available(rev);
    if (spec === 0 || unhealthy === 0) continue;
    const count = Math.min(max - total, unhealthy);
    w.scale(rev, spec - count);
    total += count;
  }
  return total;
}

/** Remove available old replicas while more than minAvailable are available, oldest first. */
function scaleDownOld(w: Rollout, old: Revision[]): number {
  const minAvailable = w.replicas - maxUnavailable(w.deployment);
  const available = [...old, w.newRevision!].reduce((n, r) => n + w.available(r), 0);
  if (available <= minAvailable) return 0;
  const wanted = available - minAvailable;
  let total = 0;
  for (const rev of [...old].sort(byCreation)) {
    if (total >= wanted) break;
    const spec = w.spec(rev);
    if (spec === 0) continue;
    const count = Math.min(spec, wanted - total);
    w.scale(rev, spec - count);
    total += count;
  }
  return total;
}
