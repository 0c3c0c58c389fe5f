// The Deployment's status from its revisions' pods, and its conditions: Available (enough pods
// available: replicas - maxUnavailable) and Progressing (the rollout moves; lastUpdateTime moves
// only when it does; ProgressDeadlineExceeded once it has not moved for progressDeadlineSeconds).

import type { DeploymentStatus } from '../../../proto/resources';
import { getCondition, newCondition, removeCondition, replaceCondition, setCondition } from '../conditions';
import { timeOf } from '../meta';
import { maxUnavailable } from './fenceposts';
import { hasProgressDeadline } from './revision';
import type { Rollout } from './rollout';
import { Reason } from './types';

/** Counts and the Available condition (Kubernetes' calculateStatus). */
export function calculateStatus(w: Rollout): DeploymentStatus {
  const revs = w.revisions;
  const available = revs.reduce((n, r) => n + r.availablePods, 0);
  const total = revs.reduce((n, r) => n + w.spec(r), 0);
  const status: DeploymentStatus = {};
  if (w.deployment.metadata.generation !== undefined) status.observedGeneration = w.deployment.metadata.generation;
  status.replicas = revs.reduce((n, r) => n + r.activePods, 0);
  status.updatedReplicas = w.newRevision?.activePods ?? 0;
  status.readyReplicas = revs.reduce((n, r) => n + r.readyPods, 0);
  status.availableReplicas = available;
  // Negative while scaling down with more pods available than wanted: none are missing.
  status.unavailableReplicas = Math.max(0, total - available);
  const condition = available >= w.replicas - maxUnavailable(w.deployment)
    ? newCondition('Available', 'True', Reason.MinimumReplicasAvailable, 'Deployment has minimum availability.', w.now)
    : newCondition('Available', 'False', Reason.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', w.now);
  status.conditions = setCondition(w.status.conditions, condition);
  return status;
}

/** All replicas updated, available, and no old ones left, for the current generation. */
export function isComplete(w: Rollout, status: DeploymentStatus): boolean {
  return status.updatedReplicas === w.replicas
    && status.replicas === w.replicas
    && status.availableReplicas === w.replicas
    && (status.observedGeneration ?? 0) >= (w.deployment.metadata.generation ?? 0);
}

/** Whether anything moved since the last status: more updated, ready or available pods, or fewer old ones. */
function madeProgress(w: Rollout, status: DeploymentStatus): boolean {
  const before = w.deployment.status ?? {};
  const oldBefore = (before.replicas ?? 0) - (before.updatedReplicas ?? 0);
  const oldNow = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (status.updatedReplicas ?? 0) > (before.updatedReplicas ?? 0)
    || oldNow < oldBefore
    || (status.readyReplicas ?? 0) > (before.readyReplicas ?? 0)
    || (status.availableReplicas ?? 0) > (before.availableReplicas ?? 0);
}

function timedOut(w: Rollout, status: DeploymentStatus): boolean {
  const c = getCondition(status.conditions, 'Progressing');
  if (!c || c.reason === Reason.NewReplicaSetAvailable || c.reason === Reason.ProgressDeadlineExceeded) return false;
  const from = timeOf(c.lastUpdateTime);
  if (from === undefined) return false;
  return from + (w.deployment.spec.progressDeadlineSeconds ?? 0) * 1000 < w.now.getTime();
}

/** The status after a rollout step, with the Progressing condition estimated (syncRolloutStatus). */
export function rolloutStatus(w: Rollout): DeploymentStatus {
  const status = calculateStatus(w);
  if (!hasProgressDeadline(w)) {
    status.conditions = removeCondition(status.conditions, 'Progressing');
    return status;
  }
  const current = getCondition(w.status.conditions, 'Progressing');
  const newName = w.newRevision?.rs.metadata.name;
  // A finished rollout on a resync: nothing to estimate.
  const alreadyComplete = status.replicas === status.updatedReplicas && current?.reason === Reason.NewReplicaSetAvailable;
  if (alreadyComplete) return status;
  if (isComplete(w, status)) {
    const msg = newName ? `ReplicaSet "${newName}" has successfully progressed.` : `Deployment "${w.deployment.metadata.name}" has successfully progressed.`;
    status.conditions = setCondition(status.conditions, newCondition('Progressing', 'True', Reason.NewReplicaSetAvailable, msg, w.now));
  } else if (madeProgress(w, status)) {
    const msg = newName ? `ReplicaSet "${newName}" is progressing.` : `Deployment "${w.deployment.metadata.name}" is progressing.`;
    const c = newCondition('Progressing', 'True', Reason.ReplicaSetUpdated, msg, w.now);
    // Progress moves lastUpdateTime even when the reason stays; the transition time stays while True.
    if (current?.status === 'True' && current.lastTransitionTime) c.lastTransitionTime = current.lastTransitionTime;
    status.conditions = replaceCondition(status.conditions, c);
  } else if (timedOut(w, status)) {
    const msg = newName ? `ReplicaSet "${newName}" has timed out progressing.` : `Deployment "${w.deployment.metadata.name}" has timed out progressing.`;
    status.conditions = setCondition(status.conditions, newCondition('Progressing', 'False', Reason.ProgressDeadlineExceeded, msg, w.now));
  }
  return status;
}

/**
 * When to look again without any change: when the progress deadline passes (a rollout that
 * stops moving must be reported), or when a ready pod turns available after minReadySeconds.
 */
export function requeueDelay(w: Rollout, status: DeploymentStatus, podsTurnAvailableMs: number | undefined): number | undefined {
  let delay = podsTurnAvailableMs;
  const c = getCondition(status.conditions, 'Progressing');
  const rollingOut = hasProgressDeadline(w) && !w.deployment.spec.paused && c !== undefined
    && c.reason !== Reason.ProgressDeadlineExceeded && c.reason !== Reason.NewReplicaSetAvailable && !isComplete(w, status);
  const from = timeOf(c?.lastUpdateTime);
  if (rollingOut && from !== undefined) {
    const deadline = from + (w.deployment.spec.progressDeadlineSeconds ?? 0) * 1000;
    const untilDeadline = Math.max(1, deadline - w.now.getTime() + 1);
    delay = delay === undefined ? untilDeadline : Math.min(delay, untilDeadline);
  }
  return delay;
}
