// The node lifecycle controller: a node is Ready while its agent renews its Lease (namespace
// berth-node-lease, named after the node). A lease not renewed within the grace period makes the
// node Ready=Unknown (NodeStatusUnknown) and its pods Ready=False (out of their Services'
// endpoints); renewed again, Ready=True (AgentReady), and the agent reports its pods again. A node not Ready
// for longer than the eviction timeout is lost: the pods bound to it are evicted (their
// ReplicaSets replace them elsewhere; a pod tolerating node.kubernetes.io/unreachable:NoExecute
// stays its tolerationSeconds, or for ever without) and the node's epoch (Lease spec.leaseTransitions) is bumped
// once, so that its agent, should it come back, is refused until it registers again and stops the
// pods that were replaced meanwhile.
//
// "Once per loss" is kept in the Lease itself: the bump stamps spec.acquireTime with the time of
// the bump, later than the last renewal; registering sets acquireTime = renewTime again, and
// renewals move renewTime past it. So acquireTime > renewTime reads "already declared lost".
// Those lease rules are the node sessions' (controller/nodes/rules.ts): this planner uses them.
//
// Taints, as Kubernetes' node lifecycle and taint manager: a node not heard from carries
// node.kubernetes.io/unreachable (NoSchedule and NoExecute) until it is heard from again; a pod on
// a node with a NoExecute taint it does not tolerate is deleted, at once or after its
// tolerationSeconds (counted from the taint's timeAdded).

import type { Condition, Lease, Taint } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const NODE_CONTROLLER = 'node-controller';

export interface NodeLifecycleOptions {
  /** How long after the last renewal a lease still counts (strictly longer: NotReady). */
  gracePeriodMs: number;
  /** How long a node may be not Ready before its pods are evicted (strictly longer). */
  evictionTimeoutMs: number;
}

export const DEFAULT_NODE_LIFECYCLE: NodeLifecycleOptions = { gracePeriodMs: 4_000, evictionTimeoutMs: 10_000 };

export const NodeReason = {
  /** Ready=Unknown: the lease expired. */
  NodeStatusUnknown: 'NodeStatusUnknown',
  /** Ready=True: the agent renews its lease. */
  AgentReady: 'AgentReady',
} as const;

export type NodeAction =
  /** Replace the node's condition of this type (status.conditions). */
  | { type: 'set-node-condition'; node: ObjectRef; condition: Condition }
  /**
   * Delete a pod bound to a lost node. Its agent cannot confirm the stop, so the executor should
   * not wait for it (the epoch bump makes a returning agent stop it).
   */
  | { type: 'evict-pod'; pod: ObjectRef; nodeName: string }
  /**
   * Set a pod's Ready condition False: its node stopped renewing, so its endpoints must stop
   * receiving traffic now, long before the eviction (Kubernetes' MarkPodsNotReady).
   */
  | { type: 'mark-pod-not-ready'; pod: ObjectRef; condition: Condition }
  /**
   * Delete, without waiting for an agent, a pod bound to a node that does not exist (deleted, or
   * never was): Kubernetes' pod garbage collector. The executor confirms the node's absence first.
   */
  | { type: 'delete-orphaned-pod'; pod: ObjectRef; nodeName: string }
  /** Set the node's taints (the unreachable ones this controller adds and takes away; the others as they are). */
  | { type: 'set-node-taints'; node: ObjectRef; taints: Taint[] }
  /** Delete (gracefully: its agent is there) a pod that does not tolerate a NoExecute taint of its node. */
  | { type: 'taint-evict-pod'; pod: ObjectRef; nodeName: string }
  /** Write the Lease with its epoch bumped (conditional on its resourceVersion). */
  | { type: 'bump-node-epoch'; nodeName: string; lease: Lease }
  | EventAction;

export type NodePlan = Plan<NodeAction>;
