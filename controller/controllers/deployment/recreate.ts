// Recreate, as Kubernetes' rolloutRecreate: every old revision to 0 first; the new revision is
// created and scaled up only once no old pod is left running (terminating ones included: the
// point of Recreate is that old and new never run side by side).

import type { DeploymentStatus } from '../../../proto/resources';
import { isTerminated } from '../pods';
import { cleanupHistory } from './cleanup';
import { syncNewRevision } from './revision';
import type { Rollout } from './rollout';
import { isComplete, rolloutStatus } from './status';

export function rolloutRecreate(w: Rollout): DeploymentStatus {
  syncNewRevision(w, false);
  let scaledDown = false;
  for (const rev of w.oldRevisions) {
    if (w.spec(rev) > 0) scaledDown = w.scale(rev, 0) || scaledDown;
  }
  if (scaledDown || oldPodsRunning(w)) return rolloutStatus(w);
  const rev = w.newRevision ?? syncNewRevision(w, true)!;
  w.scale(rev, w.replicas);
  const status = rolloutStatus(w);
  if (isComplete(w, status)) cleanupHistory(w);
  return status;
}

function oldPodsRunning(w: Rollout): boolean {
  return w.oldRevisions.some((rev) => rev.pods.some((p) => !isTerminated(p)));
}
