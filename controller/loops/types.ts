// The control loops: each controller's pure planner (controller/controllers, controller/scheduler)
// run by a work queue over the informers' caches, its actions carried out against the registry.
//
// Lifecycle: informers list and watch every kind the loops read; change handlers only enqueue
// keys; a worker re-reads the current state from the caches, plans, executes, and then waits until
// the caches reflect its own writes, so that its next pass never acts on a view older than what
// it did (no duplicate pods). A failed action fails the pass: the key is retried with back-off.

import type { Deployment, Lease, Node, Pod, ReplicaSet } from '../../proto/resources';
import type { Clock, EventRecorder, Registry } from '../objects';
import type { Informer } from '../cache/informer';

export interface Caches {
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
  deployments: Informer<Deployment>;
  nodes: Informer<Node>;
  leases: Informer<Lease>;
}

export interface LoopContext {
  registry: Registry;
  clock: Clock;
  caches: Caches;
  record: EventRecorder;
}

export interface ControlLoopOptions {
  registry: Registry;
  clock: Clock;
  nodeGracePeriodMs: number;
  podEvictionTimeoutMs: number;
}

export interface ControlLoops {
  stop(): void;
}
