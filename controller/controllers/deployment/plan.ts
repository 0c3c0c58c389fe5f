// The deployment controller's decision for one Deployment, as Kubernetes' syncDeployment: paused
// or resized -> scale only; otherwise one step of the strategy's rollout; then the status.

import type { Deployment, DeploymentStatus, Pod, ReplicaSet } from '../../../proto/resources';
import { isEmptySelector } from '../../../proto/resources';
import { getCondition, newCondition, setCondition } from '../conditions';
import { isBeingDeleted, nextAvailableDelay } from '../pods';
import { isRollingUpdate } from './fenceposts';
import { rolloutRecreate } from './recreate';
import { hasProgressDeadline } from './revision';
import { rolloutRolling } from './rolling';
import { Rollout } from './rollout';
import { isScalingEvent, sync } from './scale';
import { calculateStatus, requeueDelay } from './status';
import { Reason, type DeploymentPlan } from './types';

/**
 * Plan one step for a Deployment (defaults applied), given the ReplicaSets it controls and their
 * pods (others are ignored). Pure: the inputs are not changed, the actions carry new objects.
 */
export function plan(deployment: Deployment, replicaSets: readonly ReplicaSet[], pods: readonly Pod[], now: Date): DeploymentPlan {
  const w = new Rollout(deployment, replicaSets, pods, now);
  if (isBeingDeleted(deployment)) return w.finish(calculateStatus(w));
  if (isEmptySelector(deployment.spec.selector)) {
    // It would adopt every pod in the namespace: refuse, and say so.
    w.event('Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
    const status: DeploymentStatus = { ...structuredClone(deployment.status ?? {}) };
    if (deployment.metadata.generation !== undefined) status.observedGeneration = deployment.metadata.generation;
    return w.finish(status);
  }
  checkPausedCondition(w);
  let status: DeploymentStatus;
  if (deployment.spec.paused || isScalingEvent(w)) status = sync(w);
  else if (isRollingUpdate(deployment)) status = rolloutRolling(w);
  else status = rolloutRecreate(w);
  const allPods = w.revisions.flatMap((r) => r.pods);
  return w.finish(status, requeueDelay(w, status, nextAvailableDelay(allPods, w.minReadySeconds, now)));
}

/** Progressing=Unknown while paused (DeploymentPaused) and on resume (DeploymentResumed). */
function checkPausedCondition(w: Rollout): void {
  if (!hasProgressDeadline(w)) return;
  const c = getCondition(w.status.conditions, 'Progressing');
  // A reported timeout stays until the rollout moves again.
  if (c?.reason === Reason.ProgressDeadlineExceeded) return;
  const pausedReported = c?.reason === Reason.DeploymentPaused;
  if (w.deployment.spec.paused && !pausedReported) {
    const paused = newCondition('Progressing', 'Unknown', Reason.DeploymentPaused, 'Deployment is paused', w.now);
    w.status = { ...w.status, conditions: setCondition(w.status.conditions, paused) };
  } else if (!w.deployment.spec.paused && pausedReported) {
    const resumed = newCondition('Progressing', 'Unknown', Reason.DeploymentResumed, 'Deployment is resumed', w.now);
    w.status = { ...w.status, conditions: setCondition(w.status.conditions, resumed) };
  }
}
