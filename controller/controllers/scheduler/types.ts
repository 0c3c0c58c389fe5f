// The scheduler: binds each pending pod to a node. A node is feasible when it is Ready, not
// cordoned (spec.unschedulable) and has no taint the pod does not tolerate, carries the pod's
// nodeSelector labels and matches its required node affinity, and has room: the
// requests (cpu, memory) of the pods already on it plus this pod's fit in its allocatable, and
// its pod count stays below allocatable.pods. Among feasible nodes the pod goes where the fewest
// pods of its owner run (spreading replicas), then where the least is requested, then by node
// name, so that the same inputs always give the same plan. Pods placed earlier in a plan count
// for later ones: a plan is what the cluster looks like after all its bindings.
//
// Then the pod's topology spread constraints, pod affinity and anti-affinity (and the existing
// pods' anti-affinity) must hold (placement.ts); among the nodes that pass, the pod's preferences
// (preferred affinities, PreferNoSchedule taints, ScheduleAnyway spreading) come first, then the
// spreading and requests above. Pods for another schedulerName are left alone.
//
// Pods are placed highest priority (spec.priority, from their PriorityClass) first, then oldest. A
// pod that fits nowhere may preempt pods of lower priority (preempt.ts): they are deleted and the
// pod, nominated to their node (status.nominatedNodeName), waits for them to go.
//
// A pod's claims count too (volumes.ts): a node must reach its bound volumes, and claims that
// wait for their first consumer are given the chosen node before the pod is bound to it.
//
// plan() is pure; the executor writes each binding (spec.nodeName) and, for unschedulable pods,
// a PodScheduled=False condition and a FailedScheduling event with the reason.

import type { Pod } from '../../../proto/resources';

export const SCHEDULER_NAME = 'default-scheduler';

export interface Binding {
  pod: Pod;
  nodeName: string;
}

export interface Unschedulable {
  pod: Pod;
  /** Kubernetes' form: `0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.` */
  reason: string;
}

/** A pod whose WaitForFirstConsumer claims are given its node first; it is bound once they are. */
export interface ClaimSelection {
  pod: Pod;
  nodeName: string;
  claims: { namespace: string; name: string }[];
}

/** Room made for a pod of higher priority: its victims go, and it waits for them, nominated to the node. */
export interface PreemptionPlan {
  pod: Pod;
  nodeName: string;
  victims: Pod[];
}

export interface SchedulePlan {
  bindings: Binding[];
  unschedulable: Unschedulable[];
  claimSelections: ClaimSelection[];
  preemptions: PreemptionPlan[];
  /** Pods held by their schedulingGates: PodScheduled=False, SchedulingGated, and no event. */
  gated: Pod[];
}

/** Why a node cannot take a pod, in Kubernetes' words (counted per reason in the message). */
export const FitReason = {
  NotReady: 'node(s) were not ready',
  Unschedulable: 'node(s) were unschedulable',
  NodeSelector: "node(s) didn't match Pod's node affinity/selector",
  PodAffinity: "node(s) didn't match pod affinity rules",
  PodAntiAffinity: "node(s) didn't match pod anti-affinity rules",
  ExistingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
  Spread: "node(s) didn't match pod topology spread constraints",
  SpreadMissingLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
  TooManyPods: 'Too many pods',
  InsufficientCpu: 'Insufficient cpu',
  InsufficientMemory: 'Insufficient memory',
  VolumeNodeAffinity: 'node(s) had volume node affinity conflict',
  NoVolumeToBind: "node(s) didn't find available persistent volumes to bind",
} as const;
