// Kubernetes' Priority admission: a pod gets the value of the PriorityClass it names
// (spec.priority) and that class's preemption policy; a pod that names none gets the global
// default class's, or 0. Naming a class that does not exist refuses the pod. Pure.

import { BerthError } from '../../proto/errors';
import type { Pod, PriorityClass } from '../../proto/resources';

/** The classes every cluster has, for the system's own pods. */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClass[] = [
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-cluster-critical' }, value: 2_000_000_000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-node-critical' }, value: 2_000_001_000, description: 'Used for system critical pods that must not be moved from their current node.' },
];

/** The pod with its priority resolved from `classes`; throws permission-denied when it names a class that does not exist. */
export function withPriority(pod: Pod, classes: readonly PriorityClass[]): Pod {
  const named = pod.spec.priorityClassName;
  const pc = named
    ? classes.find((c) => c.metadata.name === named)
    : [...classes].filter((c) => c.globalDefault).sort((a, b) => a.value - b.value)[0];
  if (named && !pc) throw new BerthError('permission-denied', `pods "${pod.metadata.name}" is forbidden: no PriorityClass with name ${named} was found`);
  const spec = { ...pod.spec, priority: pc?.value ?? 0 };
  if (pc) {
    spec.priorityClassName = pc.metadata.name!;
    spec.preemptionPolicy = pod.spec.preemptionPolicy ?? pc.preemptionPolicy ?? 'PreemptLowerPriority';
  } else {
    spec.preemptionPolicy = pod.spec.preemptionPolicy ?? 'PreemptLowerPriority';
  }
  return { ...pod, spec };
}
