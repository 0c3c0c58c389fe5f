// The ReplicaSet controller keeps spec.replicas pods of its template: it creates the missing
// ones, deletes the surplus (the least useful first), replaces pods that ended (Failed or
// Succeeded), and reports how many exist, are ready and are available. Pods being deleted are no
// longer counted: their replacement starts while they stop.

import type { Pod, ReplicaSetStatus } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const REPLICASET_CONTROLLER = 'replicaset-controller';

/** Pod annotation: a lower cost is deleted first on scale-down (Kubernetes' pod-deletion-cost). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

/** At most this many pods created or deleted by one plan (Kubernetes' burstReplicas). */
export const BURST_REPLICAS = 500;

export type ReplicaSetAction =
  /** Create a pod (complete object, unscheduled). */
  | { type: 'create-pod'; pod: Pod }
  /** Delete a pod: a surplus replica, or one that ended. */
  | { type: 'delete-pod'; pod: ObjectRef; reason: 'surplus' | 'terminated' }
  /** Write the ReplicaSet's status (only when it changed). */
  | { type: 'update-replicaset-status'; replicaSet: ObjectRef; status: ReplicaSetStatus }
  | EventAction;

export type ReplicaSetPlan = Plan<ReplicaSetAction>;
