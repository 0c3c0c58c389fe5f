// The controllers' shared vocabulary.
//
// Every controller is split in two: a pure planner, `plan(desired, observed, now) -> Plan`, and an
// executor that carries out the plan's actions against the store. Planners read frozen inputs
// (objects from the informers' caches are shared: never change one) and return new objects only.
// They are level-based: run on the current state at any time, as often as wanted, they return
// what remains to be done, so a missed event, a restart or a duplicate run is harmless. An action
// that fails (conflict, not found) is no reason to patch the plan: requeue and plan again.

import type { ObjectReference } from '../../proto/resources';

/** What a planner decided: the actions to carry out, in order, and when to look again. */
export interface Plan<A> {
  actions: A[];
  /**
   * Look at this object again after this many milliseconds even if nothing changes (a pod turns
   * available after minReadySeconds, a progress deadline or a lease expires). Absent: only on change.
   */
  requeueAfterMs?: number;
}

/** An object to act on, precise enough for a conditional write (uid, resourceVersion). */
export interface ObjectRef {
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** An Event to record (the shape of controller/objects/events.ts' EventRecord). */
export interface EventSpec {
  involvedObject: ObjectReference;
  type: 'Normal' | 'Warning';
  /** CamelCase, as Kubernetes: ScalingReplicaSet, SuccessfulCreate, NodeNotReady... */
  reason: string;
  message: string;
  source: { component: string; host?: string };
}

/** An event as an action. */
export interface EventAction {
  type: 'event';
  event: EventSpec;
}
