// The DaemonSet controller keeps one pod of a DaemonSet's template on every node its template's
// nodeSelector matches, as Kubernetes': a node that joins gets its pod, a node that leaves (or
// stops matching) loses it, a failed daemon pod is replaced. Each pod is bound to its node by the
// controller (spec.nodeName) and tolerates the node being unreachable: the node lifecycle does not
// evict it. A changed template rolls out node by node: RollingUpdate replaces old pods keeping at
// most maxUnavailable nodes without an available pod (maxSurge: starting the new pod first);
// OnDelete replaces a pod only once it is deleted. Pods carry the template's hash in
// controller-revision-hash, as Kubernetes' do.

import type { DaemonSetStatus, Pod } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const DAEMONSET_CONTROLLER = 'daemonset-controller';

/** The label naming the template a daemon pod was made from. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

export type DaemonSetAction =
  | { type: 'create-pod'; pod: Pod }
  | { type: 'delete-pod'; pod: ObjectRef; reason: 'not-wanted' | 'duplicate' | 'failed' | 'rolling-update' }
  | { type: 'update-daemonset-status'; daemonSet: ObjectRef; status: DaemonSetStatus }
  | EventAction;

export type DaemonSetPlan = Plan<DaemonSetAction>;
