// The object layer: Kubernetes-shaped objects (Pods, Deployments, Nodes, Leases, Events...) over
// the key-value store. It owns where an object lives (keys.ts), the metadata the server keeps
// (uid, resourceVersion, generation, creationTimestamp), compare-and-swap writes, graceful pod
// deletion and object watches (registry.ts), and the operations built on them that every caller
// shares: server-side apply, delete with dependents, events, list/watch filters.
//
// Lifecycle: one Registry per controller process, made over the opened store by the composition
// root (server.ts) and handed to the API handlers, node sessions, informers, controllers and
// leader election; it holds no state of its own beyond the store, so any number of controllers may
// share one etcd. Objects it hands out are fresh copies.
//
// Imports: the store, admission/ (pure Pod Security checks) and proto/ only. No gRPC and no wire
// types: handlers convert before calling.

import type { Resource } from '../../proto/resources';

export type Clock = () => Date;

export type ObjectFilter = (obj: Resource) => boolean;

export interface ObjectEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Resource;
  /** The store revision of this change. */
  revision: number;
}

export interface ObjectWatchCallbacks {
  onEvent(event: ObjectEvent): void;
  /** `gone` (resume point compacted: relist) or `unavailable`. */
  onError(err: Error): void;
}

export interface ListOptions {
  namespace?: string;
  filter?: ObjectFilter;
}

export interface DeleteOptions {
  /** Delete only if still at this resource version. */
  resourceVersion?: string;
  /**
   * Skip graceful deletion: a pod bound to a node is normally only marked (deletionTimestamp) and
   * removed once its agent reports its containers gone.
   */
  force?: boolean;
}
