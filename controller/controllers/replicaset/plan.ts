// The ReplicaSet controller's decision for one ReplicaSet, as Kubernetes' syncReplicaSet.

import type { Pod, ReplicaSet, ReplicaSetStatus } from '../../../proto/resources';
import { controllerReferenceTo, eventFor, isControlledBy, refOf, sameJson } from '../meta';
import { isActive, isAvailable, isBeingDeleted, isReady, isTerminated, nextAvailableDelay } from '../pods';
import { deletionOrder } from './rank';
import { BURST_REPLICAS, REPLICASET_CONTROLLER, type ReplicaSetAction, type ReplicaSetPlan } from './types';

/**
 * Plan one step for a ReplicaSet (defaults applied), given the pods it controls (others are
 * ignored) and a generator of pod name suffixes (5 random characters of [a-z0-9]).
 */
export function plan(replicaSet: ReplicaSet, pods: readonly Pod[], now: Date, randomSuffix: () => string): ReplicaSetPlan {
  const owned = pods.filter((p) => isControlledBy(p, replicaSet));
  const active = owned.filter(isActive);
  const actions: ReplicaSetAction[] = [];
  const events: ReplicaSetAction[] = [];
  const event = (reason: string, message: string) =>
    events.push({ type: 'event', event: eventFor(replicaSet, REPLICASET_CONTROLLER, 'Normal', reason, message) });

  if (!isBeingDeleted(replicaSet)) {
    // Pods that ended are no replicas: remove them so that they do not pile up.
    for (const pod of owned.filter((p) => isTerminated(p) && !isBeingDeleted(p))) {
      actions.push({ type: 'delete-pod', pod: refOf(pod), reason: 'terminated' });
      event('SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    }
    const diff = active.length - (replicaSet.spec.replicas ?? 1);
    if (diff < 0) {
      const taken = new Set(owned.map((p) => p.metadata.name));
      for (let i = 0; i < Math.min(-diff, BURST_REPLICAS); i++) {
        const pod = podFromTemplate(replicaSet, uniqueName(replicaSet, taken, randomSuffix));
        taken.add(pod.metadata.name);
        actions.push({ type: 'create-pod', pod });
        event('SuccessfulCreate', createdMessage(pod.metadata.name));
      }
    } else if (diff > 0) {
      for (const pod of deletionOrder(active, active).slice(0, Math.min(diff, BURST_REPLICAS))) {
        actions.push({ type: 'delete-pod', pod: refOf(pod), reason: 'surplus' });
        event('SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      }
    }
  }

  const minReadySeconds = replicaSet.spec.minReadySeconds ?? 0;
  const status: ReplicaSetStatus = {
    replicas: active.length,
    readyReplicas: active.filter(isReady).length,
    availableReplicas: active.filter((p) => isAvailable(p, minReadySeconds, now)).length,
  };
  if (replicaSet.metadata.generation !== undefined) status.observedGeneration = replicaSet.metadata.generation;
  if (!sameJson(replicaSet.status ?? {}, status)) {
    actions.push({ type: 'update-replicaset-status', replicaSet: refOf(replicaSet), status });
  }
  actions.push(...events);
  const result: ReplicaSetPlan = { actions };
  const requeue = nextAvailableDelay(active, minReadySeconds, now);
  if (requeue !== undefined) result.requeueAfterMs = requeue;
  return result;
}

/** The SuccessfulCreate event's message; the loop leaves it out for a pod the registry refused. */
export const createdMessage = (name: string) => `Created pod: ${name}`;

function uniqueName(rs: ReplicaSet, taken: Set<string | undefined>, randomSuffix: () => string): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = `${rs.metadata.name}-${randomSuffix()}`;
    if (!taken.has(name)) return name;
  }
  throw new Error(`replica set ${rs.metadata.name}: the name generator gave 100 names in a row that are taken`);
}

/** A pod of the template: its labels and annotations, its spec, unscheduled, controlled by the ReplicaSet. */
export function podFromTemplate(rs: ReplicaSet, name: string): Pod & { metadata: { name: string } } {
  const template = structuredClone(rs.spec.template);
  const spec = template.spec;
  delete spec.nodeName;
  const metadata: Pod['metadata'] & { name: string } = {
    name,
    namespace: rs.metadata.namespace,
    ownerReferences: [controllerReferenceTo(rs)],
  };
  if (template.metadata?.labels) metadata.labels = template.metadata.labels;
  if (template.metadata?.annotations) metadata.annotations = template.metadata.annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: { phase: 'Pending' } };
}
