// The controllers: deployment, replicaset, scheduler, node lifecycle, garbage collector, service
// accounts, node IPAM, endpoint slices and the service allocation repair, one folder each, and
// their shared vocabulary here.
//
// Every controller is split in two: a pure planner, `plan(desired, observed, now) -> Plan`, and
// beside it its loop (loop.ts), whose executor carries out the plan's actions against the
// registry. Planners read frozen inputs (objects from the informers' caches are shared: never
// change one) and return new objects only. They are level-based: run on the current state at any
// time, as often as wanted, they return what remains to be done, so a missed event, a restart or a
// duplicate run is harmless. An action that fails (conflict, not found) is no reason to patch the
// plan: requeue and plan again.
//
// Lifecycle: while this controller leads, index.ts starts every loop through run-controller.ts
// (shared caches, one work queue per loop, workers that wait for the caches to reflect their own
// writes); when leadership ends, all stop together.
//
// Imports: planners import only proto/, this folder's shared pure helpers (conditions, meta, pods,
// types) and nodes/rules.ts; loops add objects/ and cache/. A planner folder's index.ts exports
// its pure decisions only, so that importing a planner loads no I/O.

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
